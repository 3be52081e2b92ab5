/**
 * `lakehouse-open`: opening a lakehouse of 1,000,000 users and 1,000,000 sessions, from a fresh
 * process until the first successful `verifyToken`, with the resident memory it then holds.
 *
 * This file also generates the lakehouses the auth and lakehouse benchmarks share
 * ({@link ensureLakehouse}): tables written directly through the engine in large commits (the
 * users with precomputed argon2id hashes), never through thousands of registrations.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { AuthService } from '../src/auth/auth-service.js'
import { normalizeEmail, normalizeUsername } from '../src/auth/identity.js'
import { Argon2Hasher } from '../src/auth/password-hasher.js'
import { TokenService } from '../src/auth/tokens.js'
import { systemClock } from '../src/common/clock.js'
import { DeltaTable } from '../src/delta/index.js'
import { DeltaStore } from '../src/lakehouse/delta-store.js'
import { LakehouseConfig } from '../src/lakehouse/lakehouse-config.js'
import type { SessionEntry } from '../src/lakehouse/rows.js'
import { defineBenchmark, type BenchmarkContext } from './lib/benchmark.js'
import type { Dataset } from './lib/data.js'
import { formatDuration } from './lib/format.js'
import { DATA_DIR } from './lib/paths.js'
import { summarize } from './lib/stats.js'
import { startNodeWorker } from './lib/worker.js'

// ------------------------------------------------------------------ shared lakehouse data sets

/** The HS256 secret of every benchmark lakehouse (tokens are signed with it in the workers). */
export const BENCH_SECRET = 'polarway-bench-secret-0123456789-abcdefghij'

/** Distinct argon2id hashes the generated users share (user `i` has password `i % count`). */
const PASSWORD_HASHES = 8

/**
 * The password of generated user `i`.
 * @param i - the user's number
 * @returns its password
 */
export function benchPassword(i: number): string {
  return `bench password number ${i % PASSWORD_HASHES}`
}

/**
 * The username of generated user `i`.
 * @param i - the user's number
 * @returns its username
 */
export function benchUsername(i: number): string {
  return `user_${String(i).padStart(7, '0')}`
}

/** What a generated lakehouse holds. */
export interface LakehouseSpec {
  /** Users (role `registered`, active, approved), one admin first. */
  readonly users: number
  /** Sessions (unexpired, over 30 expiry days), spread round-robin over the users. */
  readonly sessions: number
  /**
   * Users layout: rows per file after z-ordering the users by `user_id`; undefined leaves the
   * files as appended (unsorted).
   */
  readonly usersPerFile?: number
}

/** Facts recorded with a generated lakehouse. */
export interface LakehouseFacts {
  readonly users: number
  readonly sessions: number
  readonly userFiles: number
  readonly userBytes: number
  readonly sessionFiles: number
  readonly sessionBytes: number
  readonly usersVersion: number
}

/**
 * Bump when the generator's output changes (the stamp then regenerates every data set).
 * 2: the lakehouse has the `session_activity` table.
 */
const GENERATOR_VERSION = 2

/** Rows per append commit while generating. */
const BATCH_ROWS = 50_000

/**
 * The configuration of a benchmark lakehouse at `basePath`.
 * @param basePath - the lakehouse directory
 * @returns the configuration (test environment, fixed secret)
 */
export function benchConfig(basePath: string): LakehouseConfig {
  return (
    LakehouseConfig.builder()
      .basePath(basePath)
      .jwtSecret(BENCH_SECRET)
      .environment('test')
      // The generated sessions were created when the data set was (days or months before a
      // run): with the default 30 minutes they would all be idle. The longest timeout keeps the
      // idle check in every verification, and makes each of them note the session's use (the
      // recorded time is older than the resolution), the costlier case.
      .sessionIdleMinutes(24 * 366 * 60)
      .build()
  )
}

/**
 * A token service with the benchmark lakehouse's secret, issuer and audience.
 * @param config - the lakehouse configuration
 * @returns the service
 */
export function benchTokens(config: LakehouseConfig): TokenService {
  return new TokenService({
    secret: new TextEncoder().encode(BENCH_SECRET),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    clock: systemClock,
  })
}

async function dirBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0
  let bytes = 0
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue
    files++
    bytes += (await fs.stat(path.join(entry.parentPath, entry.name))).size
  }
  return { files, bytes }
}

async function generateLakehouse(
  dir: string,
  spec: LakehouseSpec,
  log: (message: string) => void,
): Promise<LakehouseFacts> {
  const store = await DeltaStore.open(benchConfig(dir), { autoRefresh: false })
  await store.close()
  const hasher = new Argon2Hasher()
  const hashes = await Promise.all(
    Array.from({ length: PASSWORD_HASHES }, (_, k) => hasher.hash(benchPassword(k))),
  )
  const now = Date.now()
  const userIds: string[] = []
  const users = await DeltaTable.open(path.join(dir, 'users'))
  for (let start = 0; start < spec.users; start += BATCH_ROWS) {
    const rows: Record<string, unknown>[] = []
    for (let i = start; i < Math.min(spec.users, start + BATCH_ROWS); i++) {
      const id = randomUUID()
      userIds.push(id)
      const username = benchUsername(i)
      const email = `${username}@example.com`
      const created = new Date(now - (spec.users - i) * 1000)
      rows.push({
        user_id: id,
        username,
        username_key: normalizeUsername(username).key,
        email,
        email_key: normalizeEmail(email).key,
        password_hash: hashes[i % PASSWORD_HASHES],
        role: i === 0 ? 'admin' : 'registered',
        subscription_tier: i === 0 ? 'professional' : 'free',
        first_name: 'Bench',
        last_name: `User ${i}`,
        is_active: true,
        created_at: created,
        updated_at: created,
        last_login: null,
        preferences_json: i % 4 === 0 ? '{"theme":"dark"}' : null,
        approved_at: created,
        approved_by: 'system',
        rejected_at: null,
      })
    }
    await users.append(rows)
    log(`users: ${Math.min(spec.users, start + BATCH_ROWS).toLocaleString('en')}`)
  }
  if (spec.usersPerFile !== undefined) {
    const appended = await dirBytes(path.join(dir, 'users'))
    const targetFileSize = Math.ceil(appended.bytes / Math.ceil(spec.users / spec.usersPerFile))
    log(`users: z-ordering by user_id into files of ~${spec.usersPerFile} rows`)
    await users.optimize({ zOrder: ['user_id'], targetFileSize })
    await users.vacuum({ retentionHours: 0, enforceRetentionDuration: false })
  }
  await users.checkpoint()
  const sessions = await DeltaTable.open(path.join(dir, 'sessions'))
  const day = 86_400_000
  for (let start = 0; start < spec.sessions; start += BATCH_ROWS) {
    const rows: Record<string, unknown>[] = []
    for (let i = start; i < Math.min(spec.sessions, start + BATCH_ROWS); i++) {
      const u = i % spec.users
      // Far enough in the future that a data set stays valid for a year of reruns.
      const expires = new Date(now + 400 * day + (i % 30) * day)
      rows.push({
        session_id: randomUUID(),
        token_hash: createHash('sha256').update(`bench token ${i}`).digest('hex'),
        user_id: userIds[u],
        username: benchUsername(u),
        role: u === 0 ? 'admin' : 'registered',
        created_at: new Date(now - (i % 86_400) * 1000),
        expires_at: expires,
        is_revoked: false,
        revoked_at: null,
        ip_address: `10.0.${(i >> 8) & 255}.${i & 255}`,
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
        expires_date: expires.toISOString().slice(0, 10),
      })
    }
    await sessions.append(rows)
    log(`sessions: ${Math.min(spec.sessions, start + BATCH_ROWS).toLocaleString('en')}`)
  }
  if (spec.sessions > 0) await sessions.checkpoint()
  const u = await dirBytes(path.join(dir, 'users'))
  const s = await dirBytes(path.join(dir, 'sessions'))
  const live = await DeltaTable.open(path.join(dir, 'users'))
  return {
    users: spec.users,
    sessions: spec.sessions,
    userFiles: live.snapshot.numFiles,
    userBytes: u.bytes,
    sessionFiles: (await DeltaTable.open(path.join(dir, 'sessions'))).snapshot.numFiles,
    sessionBytes: s.bytes,
    usersVersion: live.version,
  }
}

/**
 * The generated lakehouse of a spec under `bench/.data/lakehouse/<name>`, made once and reused
 * while the spec and the generator version are unchanged. Benchmarks that write copy it first
 * ({@link copyLakehouse}).
 * @param context - the benchmark context
 * @param name - data set name
 * @param spec - what it holds
 * @returns the data set
 */
export function ensureLakehouse(
  context: BenchmarkContext,
  name: string,
  spec: LakehouseSpec,
): Promise<Dataset> {
  return context.dataset({
    name: `lakehouse/${name}`,
    params: { ...spec, generator: GENERATOR_VERSION },
    generate: (dir) => generateLakehouse(dir, spec, (message) => context.log(message)),
  })
}

/**
 * A writable copy of a generated lakehouse: the logs are copied, the immutable data files are
 * hard-linked (the engine never writes a data file in place; vacuum only unlinks).
 * @param from - the generated lakehouse
 * @param to - the copy's directory (replaced)
 */
export async function copyLakehouse(from: string, to: string): Promise<void> {
  await fs.rm(to, { recursive: true, force: true })
  for (const entry of await fs.readdir(from, { withFileTypes: true, recursive: true })) {
    const source = path.join(entry.parentPath, entry.name)
    const target = path.join(to, path.relative(from, source))
    if (entry.isDirectory()) {
      await fs.mkdir(target, { recursive: true })
    } else if (entry.isFile()) {
      await fs.mkdir(path.dirname(target), { recursive: true })
      if (entry.name.endsWith('.parquet') && !source.includes('_delta_log')) {
        await fs.link(source, target)
      } else {
        await fs.copyFile(source, target)
      }
    }
  }
}

/** Scratch directory of the benchmarks that write (git-ignored with the rest of `.data`). */
export const SCRATCH_DIR = path.join(DATA_DIR, 'scratch')

// ------------------------------------------------------------------ the open benchmark

const OPEN_SPEC: LakehouseSpec = { users: 1_000_000, sessions: 1_000_000, usersPerFile: 1_000 }

interface OpenReply {
  /** DeltaStore.open (tables + live views). */
  readonly storeNs: number
  /** AuthService.create (indexes, failed-login window). */
  readonly serviceNs: number
  /** From the start of the open to the first successful verifyToken. */
  readonly firstVerifyNs: number
  /** CPU time of the process over the same span (user + system, all threads). */
  readonly cpuNs: number
  readonly rssOpen: number
  readonly rssAfterGc: number
  readonly heapUsedAfterGc: number
  readonly users: number
  readonly sessions: number
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`

export default defineBenchmark({
  name: 'lakehouse-open',
  title: 'Open a lakehouse of 1M users and 1M sessions: time to the first verifyToken, memory',
  usesPython: false,
  description: `
A lakehouse of ${OPEN_SPEC.users.toLocaleString('en')} users (z-ordered by \`user_id\` into files of
a target of ${OPEN_SPEC.usersPerFile?.toLocaleString('en')} rows; DuckDB's output gives fewer, see below) and ${OPEN_SPEC.sessions.toLocaleString('en')} unexpired sessions
(30 expiry-day partitions, 50,000-row commits), both tables checkpointed, generated through the
engine. Each repetition is a fresh Node process (\`--expose-gc\`) that runs
\`DeltaStore.open(config)\` (opens the five tables and builds the users and sessions live views
from every live file), \`AuthService.create(store)\` (secondary indexes, failed-login window, the session uses of the last idle period),
then \`verifyToken\` of a token signed for one of the sessions, until it succeeds. Reported: the
time from the start of the open to that first successful verification (and its parts), the
process's CPU time over the same span, and the resident set size (\`process.memoryUsage().rss\`)
right after it and after \`global.gc()\`. No baseline and no target: this measures what a
process pays before it can serve.`,
  async run(context) {
    const data = await ensureLakehouse(context, '1m', OPEN_SPEC)
    const facts = data.facts as LakehouseFacts
    const reps = context.quick ? 2 : 5
    const replies: OpenReply[] = []
    // A copy per repetition (logs copied, data hard-linked): verifying a token notes the
    // session's use, which closing the service writes, and the data set must stay as generated.
    const copy = path.join(SCRATCH_DIR, 'lakehouse-open')
    for (let i = 0; i < reps; i++) {
      context.log(`open ${i + 1}/${reps}`)
      await copyLakehouse(data.dir, copy)
      const worker = startNodeWorker('lakehouse-open', ['--expose-gc'])
      try {
        replies.push(await worker.call<OpenReply>('open', { path: copy }))
      } finally {
        await worker.close()
      }
    }
    await fs.rm(copy, { recursive: true, force: true })
    const med = (f: (r: OpenReply) => number): number => summarize(replies.map(f)).p50
    const row = (label: string, f: (r: OpenReply) => number, fmt: (x: number) => string) =>
      `| ${label} | **${fmt(med(f))}** | ${fmt(Math.min(...replies.map(f)))} | ${fmt(Math.max(...replies.map(f)))} |`
    const markdown = [
      '| measure | median | min | max |',
      '| --- | ---: | ---: | ---: |',
      row('open → first successful verifyToken', (r) => r.firstVerifyNs, formatDuration),
      row('… of which `DeltaStore.open` (tables + views)', (r) => r.storeNs, formatDuration),
      row('… of which `AuthService.create`', (r) => r.serviceNs, formatDuration),
      row('process CPU time over the same span', (r) => r.cpuNs, formatDuration),
      row('RSS after the first verifyToken', (r) => r.rssOpen, mib),
      row('RSS after `gc()`', (r) => r.rssAfterGc, mib),
      row('V8 heap used after `gc()`', (r) => r.heapUsedAfterGc, mib),
      '',
      `${reps} fresh processes. Data set: ${facts.users.toLocaleString('en')} users in ` +
        `${facts.userFiles} files (${mib(facts.userBytes)}, ${Math.round(facts.users / facts.userFiles)} rows per file), ${facts.sessions.toLocaleString('en')} sessions in ` +
        `${facts.sessionFiles} files (${mib(facts.sessionBytes)}); generated in ${(data.generateMs / 1000).toFixed(0)} s. ` +
        `Views after open: ${replies[0]?.users.toLocaleString('en')} users, ${replies[0]?.sessions.toLocaleString('en')} sessions.`,
    ].join('\n')
    return {
      summary:
        `first verifyToken after ${formatDuration(med((r) => r.firstVerifyNs))}, ` +
        `RSS ${mib(med((r) => r.rssOpen))} (${mib(med((r) => r.rssAfterGc))} after gc)`,
      markdown,
    }
  },
  workerHandlers: {
    async open(args): Promise<OpenReply> {
      const config = benchConfig(String(args.path))
      const tokens = benchTokens(config)
      const cpu0 = process.cpuUsage()
      const t0 = process.hrtime.bigint()
      const store = await DeltaStore.open(config, { autoRefresh: false })
      const t1 = process.hrtime.bigint()
      const auth = await AuthService.create(store, { backgroundSync: false })
      const t2 = process.hrtime.bigint()
      // The first session of the view: any token of a live session must verify.
      let session: SessionEntry | undefined
      for (const s of store.sessions.values()) {
        session = s
        break
      }
      if (!session) throw new Error('bench lakehouse-open: no session in the view')
      const user = store.users.get(session.userId)
      if (!user) throw new Error('bench lakehouse-open: the session has no user')
      const { token } = tokens.sign(
        {
          sub: session.userId,
          sid: session.sessionId,
          role: user.record.role,
          username: user.record.username,
        },
        3600,
      )
      auth.verifyToken(token)
      const t3 = process.hrtime.bigint()
      const cpu = process.cpuUsage(cpu0)
      const rssOpen = process.memoryUsage().rss
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      const after = process.memoryUsage()
      const reply: OpenReply = {
        storeNs: Number(t1 - t0),
        serviceNs: Number(t2 - t1),
        firstVerifyNs: Number(t3 - t0),
        cpuNs: (cpu.user + cpu.system) * 1000,
        rssOpen,
        rssAfterGc: after.rss,
        heapUsedAfterGc: after.heapUsed,
        users: store.users.size,
        sessions: store.sessions.size,
      }
      await auth.close()
      await store.close()
      return reply
    },
  },
})

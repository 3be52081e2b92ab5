/**
 * `lakehouse-role-change`: changing the role of one user among 1,000,000 with
 * `AuthService.setRole`, against a bare engine update of one row of the same table.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { AuthService, SYSTEM_ACTOR } from '../src/auth/auth-service.js'
import { col } from '../src/delta/index.js'
import { DeltaStore } from '../src/lakehouse/delta-store.js'
import {
  benchConfig,
  copyLakehouse,
  ensureLakehouse,
  SCRATCH_DIR,
  type LakehouseFacts,
  type LakehouseSpec,
} from './lakehouse-open.bench.js'
import { defineBenchmark } from './lib/benchmark.js'
import { comparisonTable, formatDuration, summarizeComparisons } from './lib/format.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, type Worker } from './lib/worker.js'

/** The same data set as `lakehouse-open` (generated once, shared). */
const SPEC: LakehouseSpec = { users: 1_000_000, sessions: 1_000_000, usersPerFile: 1_000 }

/** Target: setRole p50 at most this. */
const TARGET_MS = 50

const WORK_DIR = path.join(SCRATCH_DIR, 'lakehouse-role-change')

interface OpReply {
  readonly ns: number
  readonly cpuNs: number
  /** Size of the data file the update replaced. */
  readonly bytesRemoved: number
  /** Bytes of the data files the update wrote. */
  readonly bytesWritten: number
  /** Rows copied unchanged into the new file. */
  readonly rowsCopied: number
}

interface SetupReply {
  readonly openNs: number
  readonly users: number
  readonly files: number
}

// Worker state.
let store: DeltaStore | undefined
let auth: AuthService | undefined
let userIds: string[] = []
let seed = 12345

/** A deterministic pseudo-random user (never the admin, user 0). */
function nextUser(): string {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return userIds[1 + (seed % (userIds.length - 1))]!
}

function opened(): { store: DeltaStore; auth: AuthService } {
  if (!store || !auth) throw new Error('bench lakehouse-role-change: setup first')
  return { store, auth }
}

/** Times one update of a random user; the rewrite is measured once the view holds it. */
async function timedUpdate(
  run: (userId: string) => Promise<unknown>,
  afterwards: () => Promise<unknown> = () => Promise.resolve(),
): Promise<OpReply> {
  const s = opened().store
  const users = s.table('users')
  const userId = nextUser()
  const before = s.users.fileOf(userId)
  const bytesRemoved = before === undefined ? 0 : (users.snapshot.file(before)?.size ?? 0)
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await run(userId)
  const ns = Number(process.hrtime.bigint() - t0)
  const cpu = process.cpuUsage(cpu0)
  await afterwards()
  const after = s.users.fileOf(userId)
  if (after === undefined || after === before) {
    throw new Error(`bench lakehouse-role-change: user ${userId} was not rewritten`)
  }
  return {
    ns,
    cpuNs: (cpu.user + cpu.system) * 1000,
    bytesRemoved,
    bytesWritten: users.snapshot.file(after)?.size ?? 0,
    rowsCopied: (s.users.keysOf(after)?.length ?? 1) - 1,
  }
}

let flip = false

export default defineBenchmark({
  name: 'lakehouse-role-change',
  title: 'setRole of one user among 1,000,000 vs a bare engine update',
  usesPython: false,
  description: `
The ${SPEC.users.toLocaleString('en')}-user lakehouse of \`lakehouse-open\` (users z-ordered by \`user_id\`
into small files (the row count per file is under the table), so that the \`user_id\` stats of one
file cover a narrow range; ${SPEC.sessions.toLocaleString('en')} sessions), copied (data files
hard-linked) and opened with \`DeltaStore.open\` + \`AuthService.create\` in a fresh Node process.
One repetition of **ours** is \`await auth.setRole(SYSTEM_ACTOR, userId, role)\` for a random
user, alternating \`trader\`/\`registered\`: a users transaction (view advanced, last-admin check
with the admins' files declared as read, copy-on-write \`update\` of \`user_id = id\`, whose
\`user_id\` stats prune the candidates to one file), then the view update and a durable audit
event. The **baseline** is the engine alone on another random user of the same table:
\`await usersTable.update(col('user_id').eq(id), { role, updated_at })\` (its view catch-up runs
after the timing). Sides interleave in the same process. Target: ours p50 ≤ ${TARGET_MS} ms. Bytes
rewritten: the size of the data file each update replaced and of the file it wrote.`,
  async run(context) {
    const data = await ensureLakehouse(context, '1m', SPEC)
    const facts = data.facts as LakehouseFacts
    const worker: Worker = startNodeWorker('lakehouse-role-change')
    try {
      context.log('copying and opening the 1M-user lakehouse')
      const info = await worker.call<SetupReply>('setup', { source: data.dir })
      const replies = new Map<string, OpReply[]>([
        ['ours', []],
        ['engine', []],
      ])
      const side = (name: string, op: string): Side => ({
        name,
        async once() {
          const reply = await worker.call<OpReply>(op)
          replies.get(name)!.push(reply)
          return reply.ns
        },
      })
      const reps = context.reps({ warmup: 5, iterations: 60 }, { warmup: 3, iterations: 15 })
      const [ours, engine] = await interleave(
        [side('ours', 'setRole'), side('engine', 'engineUpdate')],
        reps,
      )
      const summaries = summarizeComparisons([
        { label: 'role change of one user', ours: ours!, baseline: engine! },
      ])
      const measured = (name: string): OpReply[] => replies.get(name)!.slice(-reps.iterations)
      const med = (name: string, f: (r: OpReply) => number): number =>
        summarize(measured(name).map(f)).p50
      const kib = (b: number): string => `${(b / 1024).toFixed(0)} KiB`
      const p50 = summaries[0]!.ours.p50
      const markdown = [
        comparisonTable(summaries, { ours: 'setRole', baseline: 'engine update' }),
        '',
        `Target p50 ≤ ${TARGET_MS} ms: ${p50 <= TARGET_MS * 1e6 ? 'met' : 'not met'} (${formatDuration(p50)}).`,
        '',
        '| per operation (median) | setRole | engine update |',
        '| --- | ---: | ---: |',
        `| process CPU time | ${formatDuration(med('ours', (r) => r.cpuNs))} | ${formatDuration(med('engine', (r) => r.cpuNs))} |`,
        `| bytes of the replaced file | ${kib(med('ours', (r) => r.bytesRemoved))} | ${kib(med('engine', (r) => r.bytesRemoved))} |`,
        `| bytes written | ${kib(med('ours', (r) => r.bytesWritten))} | ${kib(med('engine', (r) => r.bytesWritten))} |`,
        `| rows copied unchanged | ${med('ours', (r) => r.rowsCopied)} | ${med('engine', (r) => r.rowsCopied)} |`,
        '',
        `Users table: ${info.users.toLocaleString('en')} users in ${info.files.toLocaleString('en')} files ` +
          `(${Math.round(info.users / info.files)} rows per file on average) ` +
          `(${(facts.userBytes / 2 ** 20).toFixed(0)} MiB); the lakehouse opened in ` +
          `${(info.openNs / 1e9).toFixed(1)} s. Load average at the end: ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(' / ')}.`,
      ].join('\n')
      return {
        summary:
          `setRole p50 ${formatDuration(p50)} (engine update ${formatDuration(summaries[0]!.baseline.p50)}), ` +
          `rewrites ${kib(med('ours', (r) => r.bytesWritten))}`,
        markdown,
      }
    } finally {
      await worker.call('close').catch(() => undefined)
      await worker.close()
      await fs.rm(WORK_DIR, { recursive: true, force: true })
    }
  },
  workerHandlers: {
    async setup(args): Promise<SetupReply> {
      await copyLakehouse(String(args.source), WORK_DIR)
      const t0 = process.hrtime.bigint()
      store = await DeltaStore.open(benchConfig(WORK_DIR), { autoRefresh: false })
      auth = await AuthService.create(store, { backgroundSync: false })
      const openNs = Number(process.hrtime.bigint() - t0)
      userIds = [...store.users.values()]
        .map((u) => u.record.userId)
        .sort((a, b) => (a < b ? -1 : 1))
      return { openNs, users: userIds.length, files: store.table('users').snapshot.numFiles }
    },
    setRole: () =>
      timedUpdate(async (userId) => {
        flip = !flip
        await opened().auth.setRole(SYSTEM_ACTOR, userId, flip ? 'trader' : 'registered')
      }),
    engineUpdate() {
      const s = opened().store
      flip = !flip
      const role = flip ? 'trader' : 'registered'
      return timedUpdate(
        (userId) =>
          s.table('users').update(col('user_id').eq(userId), { role, updated_at: new Date() }),
        () => s.afterWrite('users'),
      )
    },
    async close() {
      await auth?.close()
      await store?.close()
      return null
    },
  },
})

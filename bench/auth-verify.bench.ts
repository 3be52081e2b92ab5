/**
 * `auth-verify`: in-process token verification with 100,000 active sessions, against a bare
 * fast-jwt verification of the same tokens in the same process.
 * @module
 */
import { createVerifier } from 'fast-jwt'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { AuthService } from '../src/auth/auth-service.js'
import { LakehouseClient } from '../src/client.js'
import {
  BENCH_SECRET,
  benchConfig,
  benchTokens,
  copyLakehouse,
  ensureLakehouse,
  SCRATCH_DIR,
  type LakehouseFacts,
  type LakehouseSpec,
} from './lakehouse-open.bench.js'
import { defineBenchmark } from './lib/benchmark.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, type Worker } from './lib/worker.js'

const SPEC: LakehouseSpec = { users: 10_000, sessions: 100_000 }

/** Distinct tokens verified in rotation (sessions sampled evenly over the view). */
const TOKENS = 10_000

/** Verifications per repetition. */
const BATCH = 20_000

/** Targets: verifications per second on one core, and the ratio to bare fast-jwt. */
const TARGET_PER_S = 100_000
const TARGET_RATIO = 0.8

const SIDES = ['fast-jwt', 'service', 'client', 'uncached'] as const
type SideName = (typeof SIDES)[number]

const LABELS: Record<SideName, string> = {
  'fast-jwt':
    'bare fast-jwt `createVerifier({ algorithms: [HS256], allowedIss, allowedAud, cache: false })`',
  service:
    '`auth.verifyToken(token)` (sync: signature, claims, session and user views, idle timeout noting the use)',
  client: '`await client.verifyToken(token)` (async wrapper of the same)',
  uncached:
    '`auth.verifyToken(token)` with the verified-token memory off (`verifiedTokenCacheSize: 0`): one HMAC per call',
}

interface BatchReply {
  /** Wall time of the batch. */
  readonly ns: number
  /** Process CPU time (user + system) of the batch. */
  readonly cpuNs: number
}

interface SetupReply {
  readonly sessions: number
  readonly users: number
  readonly openNs: number
}

// Worker state.
let client: LakehouseClient | undefined
let uncached: AuthService | undefined
let tokens: string[] = []
let bare: ((token: string) => unknown) | undefined
let cursor = 0

async function setup(args: Record<string, unknown>): Promise<SetupReply> {
  const config = benchConfig(String(args.path))
  const start = process.hrtime.bigint()
  client = await LakehouseClient.open(config, { autoRefresh: false })
  const openNs = Number(process.hrtime.bigint() - start)
  const signer = benchTokens(config)
  const sessions = [...client.store.sessions.values()]
  const step = Math.max(1, Math.floor(sessions.length / TOKENS))
  tokens = []
  for (let i = 0; i < TOKENS && i * step < sessions.length; i++) {
    const s = sessions[i * step]!
    const user = client.store.users.get(s.userId)
    if (!user) throw new Error(`bench auth-verify: session ${s.sessionId} has no user`)
    const { token } = signer.sign(
      { sub: s.userId, sid: s.sessionId, role: user.record.role, username: user.record.username },
      24 * 3600,
    )
    tokens.push(token)
  }
  // Spread consecutive verifications over the sessions (no two neighbours share cache lines).
  for (let i = tokens.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1)
    ;[tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!]
  }
  uncached = await AuthService.create(client.store, {
    backgroundSync: false,
    verifiedTokenCacheSize: 0,
  })
  bare = createVerifier({
    key: Buffer.from(BENCH_SECRET),
    algorithms: ['HS256'],
    allowedIss: config.jwtIssuer,
    allowedAud: config.jwtAudience,
    cache: false,
  })
  // Every side must accept every token.
  for (const t of tokens) {
    bare(t)
    client.auth.verifyToken(t)
    uncached.verifyToken(t)
  }
  return { sessions: client.store.sessions.size, users: client.store.users.size, openNs }
}

async function runBatch(args: Record<string, unknown>): Promise<BatchReply> {
  const side = args.side as SideName
  const n = Number(args.n)
  const c = client
  const verify = bare
  if (!c || !verify) throw new Error('bench auth-verify: setup first')
  const auth = c.auth
  const list = tokens
  const count = list.length
  let i = cursor
  let sink = 0
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  if (side === 'fast-jwt') {
    for (let k = 0; k < n; k++) {
      sink += (verify(list[i]!) as { exp: number }).exp
      if (++i === count) i = 0
    }
  } else if (side === 'service' || side === 'uncached') {
    const service = side === 'service' ? auth : uncached
    if (!service) throw new Error('bench auth-verify: setup first')
    for (let k = 0; k < n; k++) {
      sink += service.verifyToken(list[i]!).claims.exp
      if (++i === count) i = 0
    }
  } else {
    for (let k = 0; k < n; k++) {
      sink += (await c.verifyToken(list[i]!)).claims.exp
      if (++i === count) i = 0
    }
  }
  const ns = Number(process.hrtime.bigint() - t0)
  const cpu = process.cpuUsage(cpu0)
  cursor = i
  if (sink === 0) throw new Error('bench auth-verify: nothing verified')
  return { ns, cpuNs: (cpu.user + cpu.system) * 1000 }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en')

export default defineBenchmark({
  name: 'auth-verify',
  title: 'verifyToken with 100,000 active sessions vs bare fast-jwt',
  usesPython: false,
  description: `
A lakehouse of ${SPEC.users.toLocaleString('en')} users and ${SPEC.sessions.toLocaleString('en')} unexpired
sessions written through the engine (two 50,000-row commits), opened once with
\`LakehouseClient.open\` in a fresh Node process (the views load every session). HS256 tokens
are signed with the lakehouse's secret (\`TokenService.sign\`) for ${TOKENS.toLocaleString('en')}
sessions sampled evenly over the view, and verified in rotation (shuffled), ${BATCH.toLocaleString('en')}
per repetition, on three sides interleaved in the same process: ${SIDES.map((s) => LABELS[s]).join('; ')}.
The service and client sides check the signature, \`typ\`, \`iss\`, \`aud\`, \`exp\`, \`iat\`, \`nbf\`
and the claim types, then the session (exists, same user, not revoked, not expired), the user
(active, not rejected) in the live views and the idle timeout (the generated sessions' last use is
older than the activity resolution, so every call also notes a use: the costlier case), and return the user's current role; fast-jwt checks the
signature, \`iss\`, \`aud\`, \`exp\` and \`nbf\`. The service remembers tokens whose signature
and static claims it verified (a bounded map keyed by the exact token, 16,384 by default; all
${TOKENS.toLocaleString('en')} rotating tokens fit), so a repeated token costs a map lookup instead
of an HMAC; time claims, session and user are checked on every call. The last side turns that
memory off. Rates are verifications per second of **process CPU
time** (user + system of the repetition; the machine is shared, so wall time mostly measures other
processes), with wall-clock rates alongside. Targets: service ≥ ${fmt(TARGET_PER_S)}/s on one core and
≥ ${TARGET_RATIO}× the bare fast-jwt rate.`,
  async run(context) {
    const data = await ensureLakehouse(context, 'auth-10k', SPEC)
    const facts = data.facts as LakehouseFacts
    // A copy (logs copied, data hard-linked): the service writes the sessions' noted uses when
    // it closes, and the data set must stay as generated.
    const copy = path.join(SCRATCH_DIR, 'auth-verify')
    await copyLakehouse(data.dir, copy)
    const worker: Worker = startNodeWorker('auth-verify')
    try {
      const info = await worker.call<SetupReply>('setup', { path: copy })
      const walls = new Map<SideName, number[]>(SIDES.map((s) => [s, []]))
      const sides: Side[] = SIDES.map((side) => ({
        name: side,
        async once() {
          const reply = await worker.call<BatchReply>('batch', { side, n: BATCH })
          walls.get(side)!.push(reply.ns)
          return reply.cpuNs
        },
      }))
      const reps = context.reps({ warmup: 5, iterations: 30 }, { warmup: 2, iterations: 8 })
      const samples = await interleave(sides, reps)
      const rate = (ns: number): number => BATCH / (ns / 1e9)
      const rows = SIDES.map((side, i) => {
        const cpu = summarize(samples[i]!.samples)
        // interleave's warmups also went through once(): the measured walls are the last ones.
        const wall = summarize(walls.get(side)!.slice(-reps.iterations))
        return { side, cpu: rate(cpu.p50), cpuBest: rate(cpu.min), wall: rate(wall.p50) }
      })
      const base = rows[0]!
      const lines = [
        '| side | verifications/s (CPU, median) | ratio to fast-jwt | best repetition (CPU) | verifications/s (wall, median) |',
        '| --- | ---: | ---: | ---: | ---: |',
        ...rows.map(
          (r) =>
            `| ${LABELS[r.side]} | **${fmt(r.cpu)}** | ${(r.cpu / base.cpu).toFixed(2)}× | ${fmt(r.cpuBest)} | ${fmt(r.wall)} |`,
        ),
      ]
      const service = rows[1]!
      const clientRow = rows[2]!
      const met = (r: (typeof rows)[number]): string =>
        r.cpu >= TARGET_PER_S && r.cpu / base.cpu >= TARGET_RATIO
          ? 'met'
          : `not met (${fmt(r.cpu)}/s, ${(r.cpu / base.cpu).toFixed(2)}×)`
      const markdown = [
        lines.join('\n'),
        '',
        `Targets (≥ ${fmt(TARGET_PER_S)}/s and ≥ ${TARGET_RATIO}× fast-jwt): service ${met(service)}; client ${met(clientRow)}.`,
        '',
        `${reps.iterations} repetitions of ${BATCH.toLocaleString('en')} verifications per side, after ${reps.warmup} warmups. ` +
          `Views: ${info.users.toLocaleString('en')} users, ${info.sessions.toLocaleString('en')} sessions ` +
          `(${facts.sessionFiles} session files), opened in ${(info.openNs / 1e9).toFixed(1)} s. ` +
          `Load average at the end: ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(' / ')}.`,
      ].join('\n')
      return {
        summary:
          `service ${fmt(service.cpu)}/s (${(service.cpu / base.cpu).toFixed(2)}× fast-jwt ${fmt(base.cpu)}/s), ` +
          `client ${fmt(clientRow.cpu)}/s (${(clientRow.cpu / base.cpu).toFixed(2)}×), CPU-time rates`,
        markdown,
      }
    } finally {
      await worker.call('close').catch(() => undefined)
      await worker.close()
      await fs.rm(copy, { recursive: true, force: true })
    }
  },
  workerHandlers: {
    setup,
    batch: runBatch,
    async close() {
      await uncached?.close()
      uncached = undefined
      await client?.close()
      client = undefined
      return null
    },
  },
})

/**
 * `group-commit`: durable append throughput of the group-commit queue under many concurrent
 * producers (`table.appendQueued`), with the acknowledgement latency each producer sees, and the
 * I/O floor of one durable commit on the same disk in the same run.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { DeltaTable, MemoryStore } from '../src/delta/index.js'
import { floorCommit } from './lib/io-floor.js'
import { defineBenchmark } from './lib/benchmark.js'
import { formatDuration } from './lib/format.js'
import { describeRunDir, makeRunDir } from './lib/run-dir.js'
import { summarize } from './lib/stats.js'
import { startNodeWorker } from './lib/worker.js'

/** The target of the main case: durable rows per second with 100 producers on 2 cores. */
const TARGET_ROWS_PER_S = 50_000

interface RunReply {
  readonly label: string
  readonly producers: number
  readonly seconds: number
  readonly rows: number
  readonly commits: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly checkpoints: number
  readonly files: number
  /** Process CPU time per commit (all threads), ms. */
  readonly cpuUserMs: number
  readonly cpuSysMs: number
}

interface FloorReply {
  readonly seconds: number
  readonly commits: number
  readonly p50: number
  readonly p99: number
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en')

export default defineBenchmark({
  name: 'group-commit',
  title: 'Group commit: durable rows/s with concurrent producers',
  usesPython: false,
  description: `
N producers share one table handle; each appends one row at a time with
\`await table.appendQueued([row])\` and starts its next row when the promise resolves, for a fixed
time, into a fresh table (schema \`id long, producer int, payload string\`). An acknowledgement
means the data file and the commit file are fsync-ed (with their directories). Reported: durable
rows/s, commits/s, rows per commit, and the acknowledgement latency each producer saw (p50, p99,
max). With one outstanding row per producer a commit holds at most N rows, so rows/s is at most
N divided by the commit latency (Little's law): the target of 50,000 rows/s with 100 producers
needs a complete durable commit every 2 ms. The **I/O floor** row times only the file-system
calls of one durable commit, serially, on the same disk (a 1.5 KB data file written and
\`fdatasync\`-ed with its directory, in parallel with a commit file staged and \`fsync\`-ed, then
hard-linked and its directory \`fsync\`-ed, the calls made as the local store makes them): the
best any implementation of this protocol can do per commit here, one commit at a time. The
floor and the producers run at different moments of a disk whose latency varies, so a run
can beat the floor's estimate. The in-memory case runs the same producers against \`MemoryStore\` (no file
system at all): the CPU ceiling of the commit path. CPU/commit is the process's user and system
CPU time (all threads) divided by the commits. Each run writes to a fresh directory placed away
from the files earlier runs deleted, and reports what creating a file cost there
(\`bench/lib/run-dir.ts\`: on ext4 without a journal, creating files next to many files deleted in
the last minutes costs 20 times more system CPU). No baseline: delta-rs has no group commit (its
one-commit-per-append latency is in \`append-latency\`).`,
  async run(context) {
    const runDir = await makeRunDir('group-commit')
    const workDir = runDir.path
    const seconds = context.quick ? 3 : 10
    const cases: { producers: number; memory: boolean }[] = [
      { producers: 100, memory: false },
      { producers: 1000, memory: false },
      { producers: 100, memory: true },
    ]
    const node = startNodeWorker('group-commit')
    try {
      const floor = await node.call<FloorReply>('floor', {
        path: path.join(workDir, 'floor'),
        seconds: Math.min(seconds, 5),
      })
      const runs: RunReply[] = []
      for (const c of cases) {
        context.log(`${c.producers} producers${c.memory ? ', in memory' : ''} for ${seconds} s`)
        runs.push(
          await node.call<RunReply>('run', {
            path: path.join(workDir, `p${c.producers}${c.memory ? '-memory' : ''}`),
            producers: c.producers,
            seconds,
            memory: c.memory,
          }),
        )
      }
      const header =
        '| case | rows/s | commits/s | rows/commit | ack p50 | ack p99 | ack max | CPU/commit (user + sys) | checkpoints | files at end |'
      const lines = [
        header,
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ]
      for (const r of runs) {
        lines.push(
          `| ${r.label}, ${r.seconds.toFixed(1)} s | **${fmt(r.rows / r.seconds)}** | ` +
            `${fmt(r.commits / r.seconds)} | ${(r.rows / r.commits).toFixed(1)} | ` +
            `${formatDuration(r.p50)} | ${formatDuration(r.p99)} | ${formatDuration(r.max)} | ` +
            `${r.cpuUserMs.toFixed(2)} + ${r.cpuSysMs.toFixed(2)} ms | ${r.checkpoints} | ${fmt(r.files)} |`,
        )
      }
      const floorRate = floor.commits / floor.seconds
      lines.push(
        `| I/O floor: one durable commit at a time | ≤ ${fmt(floorRate * 100)} (at 100 rows/commit) | ` +
          `${fmt(floorRate)} | – | ${formatDuration(floor.p50)} | ${formatDuration(floor.p99)} | – | – | – | – |`,
      )
      const main = runs[0]
      if (!main) throw new Error('bench group-commit: no run')
      const rate = main.rows / main.seconds
      const markdown = [
        lines.join('\n'),
        '',
        describeRunDir(runDir),
        '',
        `Target with 100 producers: ${fmt(TARGET_ROWS_PER_S)} rows/s ` +
          `(${rate >= TARGET_ROWS_PER_S ? 'met' : `not met: ${(rate / TARGET_ROWS_PER_S).toFixed(2)}× of it`}).`,
      ].join('\n')
      return {
        summary:
          `100 producers: ${fmt(rate)} rows/s, ${fmt(main.commits / main.seconds)} commits/s, ` +
          `ack p50 ${formatDuration(main.p50)} p99 ${formatDuration(main.p99)}; ` +
          `I/O floor ${fmt(floorRate)} commits/s`,
        markdown,
      }
    } finally {
      await node.close()
      await runDir.remove()
    }
  },
  workerHandlers: {
    async run(args): Promise<RunReply> {
      const producers = Number(args.producers)
      const seconds = Number(args.seconds)
      const memory = args.memory === true
      const table = await DeltaTable.create(memory ? new MemoryStore() : String(args.path), {
        schema: {
          type: 'struct',
          fields: [
            { name: 'id', type: 'long', nullable: false, metadata: {} },
            { name: 'producer', type: 'integer', nullable: false, metadata: {} },
            { name: 'payload', type: 'string', nullable: true, metadata: {} },
          ],
        },
      })
      const latencies: number[] = []
      const checkpoints = new Set<number>()
      const cpu = process.cpuUsage()
      const start = process.hrtime.bigint()
      const end = start + BigInt(seconds * 1e9)
      await Promise.all(
        Array.from({ length: producers }, async (_, p) => {
          let id = BigInt(p) << 32n
          while (process.hrtime.bigint() < end) {
            const row = { id: id++, producer: p, payload: `event from producer ${p}` }
            const t0 = process.hrtime.bigint()
            const result = await table.appendQueued([row])
            latencies.push(Number(process.hrtime.bigint() - t0))
            if (result.checkpoint) checkpoints.add(result.checkpoint.version)
          }
        }),
      )
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9
      await table.close()
      const used = process.cpuUsage(cpu)
      const s = summarize(latencies)
      return {
        label: `${producers} producers${memory ? ', in-memory store (no I/O)' : ''}`,
        producers,
        seconds: elapsed,
        rows: latencies.length,
        commits: table.version,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        checkpoints: checkpoints.size,
        files: table.snapshot.numFiles,
        cpuUserMs: used.user / 1000 / table.version,
        cpuSysMs: used.system / 1000 / table.version,
      }
    },
    async floor(args): Promise<FloorReply> {
      const dir = String(args.path)
      const log = path.join(dir, '_delta_log')
      await fs.mkdir(log, { recursive: true })
      const latencies: number[] = []
      const start = process.hrtime.bigint()
      const end = start + BigInt(Number(args.seconds) * 1e9)
      for (let v = 0; process.hrtime.bigint() < end; v++) {
        const t0 = process.hrtime.bigint()
        await floorCommit(dir, v)
        latencies.push(Number(process.hrtime.bigint() - t0))
      }
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9
      const s = summarize(latencies)
      return { seconds: elapsed, commits: latencies.length, p50: s.p50, p99: s.p99 }
    },
  },
})

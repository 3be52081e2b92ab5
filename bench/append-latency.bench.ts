/**
 * `append-latency`: the latency of a durable one-row append commit, ours
 * (`table.append([row])` on an open handle) against delta-rs
 * (`write_deltalake(path, one_row_table, mode="append")`), each appending to its own fresh
 * table on the same disk, repetitions alternating.
 * @module
 */
import * as path from 'node:path'
import { DeltaTable } from '../src/delta/index.js'
import { defineBenchmark } from './lib/benchmark.js'
import {
  comparisonTable,
  formatDuration,
  formatRatio,
  summarizeComparisons,
  type Comparison,
} from './lib/format.js'
import { describeRunDir, makeRunDir } from './lib/run-dir.js'
import { interleave, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

interface AppendReply {
  readonly ns: number
  readonly version: number
}

/** Tables opened by the Node worker, by path (the handle stays open, as in a server). */
const tables = new Map<string, DeltaTable>()

function appendSide(name: string, worker: Worker, table: string, versions: number[]): Side {
  let id = 0
  return {
    name,
    async once() {
      const reply = await worker.call<AppendReply>('append', { path: table, id: id++ })
      versions.push(reply.version)
      return reply.ns
    },
  }
}

export default defineBenchmark({
  name: 'append-latency',
  title: 'Durable one-row append commit latency',
  usesPython: true,
  description: `
Each side appends one row per commit to its own table, created empty just before (schema
\`id long, payload string, created_at timestamp\`), on the same disk; repetitions alternate
between the sides. Ours: \`table.append([row])\` on a handle opened once (it probes for newer
commits, writes the data file, commits with put-if-absent, fsyncs data, commit file and their
directories before resolving, and writes a checkpoint every 10 commits). delta-rs:
\`write_deltalake(path, one_row_table, mode="append")\` by path (it loads the table, writes the
data file and commits; its local object store does not fsync: \`strace\` shows no \`fsync\` or
\`fdatasync\` call during \`write_deltalake\`, only the rename of the data file and the hard link of
the commit file; it checkpoints every 100 commits). A durable commit costs us two sequential
file-system barriers that delta-rs does not pay.
The row objects and the one-row pyarrow table are built outside the timing. The p99 includes
our checkpoints.`,
  async run(context) {
    const runDir = await makeRunDir('append-latency')
    const oursTable = path.join(runDir.path, 'ours')
    const theirsTable = path.join(runDir.path, 'delta-rs')
    const node = startNodeWorker('append-latency')
    const python = await startPythonWorker('append_latency.py')
    try {
      await node.call('create', { path: oursTable })
      await python.call('create', { path: theirsTable })
      const oursVersions: number[] = []
      const theirVersions: number[] = []
      const reps = context.reps({ warmup: 10, iterations: 300 }, { warmup: 3, iterations: 40 })
      context.log(`${reps.iterations} appends per side`)
      const [ours, theirs] = await interleave(
        [
          appendSide('ours', node, oursTable, oursVersions),
          appendSide('delta-rs', python, theirsTable, theirVersions),
        ],
        reps,
      )
      const expected = reps.warmup + reps.iterations
      if (oursVersions.at(-1) !== expected || theirVersions.at(-1) !== expected) {
        throw new Error(
          `bench append-latency: expected version ${expected} on both sides, got ` +
            `${oursVersions.at(-1)} and ${theirVersions.at(-1)}`,
        )
      }
      const comparison: Comparison = { label: 'append 1 row', ours: ours!, baseline: theirs! }
      const [summary] = summarizeComparisons([comparison])
      if (!summary) throw new Error('bench append-latency: no summary')
      const markdown = [
        comparisonTable([summary], { ours: 'ours', baseline: 'delta-rs' }),
        '',
        `Target: our median at most 0.5× delta-rs's. Both tables end at version ${expected}.`,
        '',
        describeRunDir(runDir),
      ].join('\n')
      return {
        summary:
          `append 1 row ${formatRatio(summary.ours.p50, summary.baseline.p50)} ` +
          `(${formatDuration(summary.ours.p50)} vs ${formatDuration(summary.baseline.p50)}; ` +
          `p99 ${formatDuration(summary.ours.p99)} vs ${formatDuration(summary.baseline.p99)})`,
        markdown,
      }
    } finally {
      await Promise.all([node.close(), python.close()])
      await runDir.remove()
    }
  },
  workerHandlers: {
    async create(args) {
      const location = String(args.path)
      tables.set(
        location,
        await DeltaTable.create(location, {
          schema: {
            type: 'struct',
            fields: [
              { name: 'id', type: 'long', nullable: false, metadata: {} },
              { name: 'payload', type: 'string', nullable: true, metadata: {} },
              { name: 'created_at', type: 'timestamp', nullable: true, metadata: {} },
            ],
          },
        }),
      )
      return {}
    },
    async append(args): Promise<AppendReply> {
      const table = tables.get(String(args.path))
      if (!table) throw new Error(`bench append-latency: table ${String(args.path)} not created`)
      const id = Number(args.id)
      const row = { id: BigInt(id), payload: `event-${id}`, created_at: new Date() }
      const start = process.hrtime.bigint()
      const result = await table.append([row])
      const ns = Number(process.hrtime.bigint() - start)
      return { ns, version: result.version }
    },
  },
})

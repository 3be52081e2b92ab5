/**
 * `skipping`: a point query `user_id = X` on the 1,000,000-row audit-like table before and after
 * our Z-ORDER on `(user_id, action)`: the fraction of files read and the query time of
 * `table.toRows({ filter })`.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { col, DeltaTable } from '../src/delta/index.js'
import { defineBenchmark } from './lib/benchmark.js'
import { comparisonTable, formatDuration, formatRatio, summarizeComparisons } from './lib/format.js'
import { DATA_DIR } from './lib/paths.js'
import { interleave, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'
import { AUDIT, auditDataset, TARGET_FILES, Z_COLUMNS, type AuditFacts } from './zorder.bench.js'

const WORK_DIR = path.join(DATA_DIR, 'skipping', 'work')

/** Target: a point filter reads at most this fraction of the files after z-order. */
const MAX_FRACTION = 0.1

interface QueryReply {
  readonly ns: number
  readonly rows: number
  readonly touched: number
  readonly files: number
}

/** Tables opened by the Node worker (open once, as a server would). */
const tables = new Map<string, DeltaTable>()

function querySide(
  name: string,
  worker: Worker,
  dir: string,
  users: readonly string[],
  seen: Map<string, QueryReply>,
): Side {
  let i = 0
  return {
    name,
    async once() {
      const user = users[i++ % users.length]!
      const reply = await worker.call<QueryReply>('query', { path: dir, value: user })
      seen.set(user, reply)
      return reply.ns
    },
  }
}

async function touchedFiles(
  dir: string,
  users: readonly string[],
): Promise<{ files: number; touched: number[] }> {
  const table = await DeltaTable.open(dir)
  const touched: number[] = []
  for (const user of users)
    touched.push((await table.files({ filter: col('user_id').eq(user) })).length)
  return { files: table.snapshot.numFiles, touched }
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`
}

export default defineBenchmark({
  name: 'skipping',
  title: 'Stats skipping of a point filter before and after Z-ORDER',
  usesPython: true,
  description: `
The audit-like table of the \`zorder\` benchmark (${AUDIT.rows.toLocaleString('en')} rows appended by
\`deltalake\` in ${AUDIT.appends} chronological batches, so every file holds rows of almost every
user). "after z-order" is a copy z-ordered by us on \`(${Z_COLUMNS.join(', ')})\` with target size =
table bytes / ${TARGET_FILES}. One repetition is \`table.toRows({ filter: col('user_id').eq(X) })\`
on a handle opened once (stats skipping, then reading the remaining files with the filter), X
cycling through 5 users; both tables are queried alternately in one fresh Node process. The
comparison table's ratio is after / before (below 1.00× the z-ordered table is faster). For
reference, the fraction of files of a delta-rs \`optimize.z_order\` copy (same target size) that our
skipping keeps is listed too. Target: after z-order, at most ${pct(MAX_FRACTION)} of the files read.`,
  async run(context) {
    const data = await auditDataset(context)
    const facts = data.facts as AuditFacts
    const users = facts.probeUsers
    const target = Math.ceil(facts.bytes / TARGET_FILES)
    await fs.rm(WORK_DIR, { recursive: true, force: true })
    const after = path.join(WORK_DIR, 'ours')
    const rs = path.join(WORK_DIR, 'delta-rs')
    await fs.cp(data.dir, after, { recursive: true })
    await fs.cp(data.dir, rs, { recursive: true })
    context.log('z-ordering the copies')
    const zordered = await (
      await DeltaTable.open(after)
    ).optimize({
      zOrder: [...Z_COLUMNS],
      targetFileSize: target,
    })
    const python = await startPythonWorker('optimize.py')
    try {
      await python.call('zorder', { path: rs, columns: [...Z_COLUMNS], targetSize: target })
    } finally {
      await python.close()
    }
    const before = await touchedFiles(data.dir, users)
    const afterFiles = await touchedFiles(after, users)
    const rsFiles = await touchedFiles(rs, users)

    context.log('queries')
    const node = startNodeWorker('skipping')
    const seenAfter = new Map<string, QueryReply>()
    const seenBefore = new Map<string, QueryReply>()
    let comparison
    try {
      const reps = context.reps({ warmup: 1, iterations: 10 }, { warmup: 1, iterations: 2 })
      const [a, b] = await interleave(
        [
          querySide('after z-order', node, after, users, seenAfter),
          querySide('before z-order', node, data.dir, users, seenBefore),
        ],
        reps,
      )
      comparison = { label: 'user_id = X: toRows (after / before)', ours: a!, baseline: b! }
    } finally {
      await node.close()
    }
    for (const [user, reply] of seenAfter) {
      if (seenBefore.get(user)?.rows !== reply.rows) {
        throw new Error(`bench skipping: user ${user}: the two tables return different row counts`)
      }
    }
    await fs.rm(WORK_DIR, { recursive: true, force: true })

    const fraction = (t: { files: number; touched: number[] }): number =>
      t.touched.reduce((s, x) => s + x, 0) / t.touched.length / t.files
    const afterFraction = fraction(afterFiles)
    const summaries = summarizeComparisons([comparison])
    const row = (name: string, t: { files: number; touched: number[] }): string =>
      `| ${name} | ${t.files} | ${t.touched.join(', ')} | ${pct(fraction(t))} |`
    const markdown = [
      comparisonTable(summaries, { ours: 'after z-order', baseline: 'before z-order' }),
      '',
      '| table | files | files read per probe user | mean fraction |',
      '| --- | ---: | --- | ---: |',
      row('before z-order (arrival order)', before),
      row(`after our z-order (${zordered.engines.join('+')} engine)`, afterFiles),
      row('after delta-rs z-order (reference)', rsFiles),
      '',
      `Rows per probe user: ${[...seenAfter.values()].map((r) => r.rows).join(', ')}. ` +
        `Target ≤ ${pct(MAX_FRACTION)} of the files after z-order: ` +
        `${afterFraction <= MAX_FRACTION ? 'met' : 'missed'} (${pct(afterFraction)}).`,
    ].join('\n')
    const s = summaries[0]!
    const summary =
      `files read ${pct(fraction(before))} → ${pct(afterFraction)}; query ` +
      `${formatDuration(s.baseline.p50)} → ${formatDuration(s.ours.p50)} (${formatRatio(s.ours.p50, s.baseline.p50)})`
    return { summary, markdown }
  },
  workerHandlers: {
    async query(args): Promise<QueryReply> {
      const dir = String(args.path)
      let table = tables.get(dir)
      if (!table) {
        table = await DeltaTable.open(dir)
        tables.set(dir, table)
      }
      const filter = col('user_id').eq(String(args.value))
      const start = process.hrtime.bigint()
      const rows = await table.toRows({ filter })
      const ns = Number(process.hrtime.bigint() - start)
      const touched = (await table.files({ filter })).length
      return { ns, rows: rows.length, touched, files: table.snapshot.numFiles }
    },
  },
})

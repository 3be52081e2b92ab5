/**
 * `update`: UPDATE of one row, by id, in a 1,000,000-row table, ours (`table.update`) against
 * delta-rs (`DeltaTable.update`), each on its own copy of a table its own engine wrote with the
 * same rows; latency, and the bytes, files and rows each update rewrites.
 * @module
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { col, DeltaTable, type StructField, type StructType } from '../src/delta/index.js'
import { PARQUET_CREATED_BY } from '../src/delta/operations/write-files.js'
import { readParquetRows, replaceColumns } from '../src/delta/parquet/index.js'
import { collectStats, statsColumnsFor } from '../src/delta/stats/collect-stats.js'
import { dataFileKey } from '../src/delta/table/scan.js'
import { defineBenchmark, type BenchmarkContext } from './lib/benchmark.js'
import type { Dataset } from './lib/data.js'
import { comparisonTable, formatDuration, summarizeComparisons, summaryLine } from './lib/format.js'
import { DATA_DIR } from './lib/paths.js'
import { runPython } from './lib/python.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

/** Rows in the table. */
const ROWS = 1_000_000

/** Rows per append while generating (one data file per append, on both engines). */
const BATCH = 100_000

const WORK_DIR = path.join(DATA_DIR, 'update', 'work')

/** The new value of `note`. */
const NOTE = 'updated'

function field(name: string, type: 'long' | 'string' | 'double' | 'timestamp'): StructField {
  return { name, type, nullable: name !== 'id', metadata: {} }
}

/** `id long not null, user string, amount double, note string, ts timestamp`. */
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    field('id', 'long'),
    field('user', 'string'),
    field('amount', 'double'),
    field('note', 'string'),
    field('ts', 'timestamp'),
  ],
}

const BASE_MS = Date.UTC(2026, 0, 1)

/**
 * Rows `start .. end - 1` of the table; `bench/py/update_generate.py` computes the same values.
 * @param start - first id
 * @param end - id after the last
 * @returns the rows
 */
function rowsOf(start: number, end: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = []
  for (let i = start; i < end; i++) {
    rows.push({
      id: BigInt(i),
      user: `user-${i % 10007}`,
      amount: ((i * 37) % 100000) / 100,
      note: `note ${i}`,
      ts: new Date(BASE_MS + i * 1000),
    })
  }
  return rows
}

interface TableLayout {
  readonly version: number
  readonly files: number
  readonly bytes: number
  readonly rows: number
}

interface UpdateFacts {
  readonly ours: TableLayout
  readonly deltaRs: TableLayout
  readonly oursWriteMs: number
  readonly deltaRsWriteMs: number
  readonly identical: boolean
}

/**
 * Both tables under one data set: `ours/` written by our engine (`DeltaTable.create`, then
 * appends of {@link BATCH} rows in id order), `delta-rs/` by `write_deltalake` in the same
 * appends; the generator then checks that they hold identical rows.
 */
function dataset(context: BenchmarkContext): Promise<Dataset> {
  return context.dataset({
    name: 'update/table-1m',
    params: { rows: ROWS, batch: BATCH, schema: SCHEMA },
    // Our table is laid out by our Parquet writer: a change to it regenerates the table.
    sources: [
      'bench/update.bench.ts',
      'bench/py/update_generate.py',
      'src/delta/parquet/write-parquet.ts',
      'src/delta/parquet/write-direct.ts',
    ],
    async generate(dir): Promise<UpdateFacts> {
      const ours = path.join(dir, 'ours')
      const start = Date.now()
      const table = await DeltaTable.create(ours, { schema: SCHEMA })
      for (let first = 0; first < ROWS; first += BATCH) {
        await table.append(rowsOf(first, Math.min(ROWS, first + BATCH)))
        context.log(`ours: ${Math.min(ROWS, first + BATCH).toLocaleString('en')} rows`)
      }
      const oursWriteMs = Date.now() - start
      const facts = await runPython<Omit<UpdateFacts, 'oursWriteMs'>>(
        'bench/py/update_generate.py',
        [
          path.join(dir, 'delta-rs'),
          '--rows',
          String(ROWS),
          '--batch',
          String(BATCH),
          '--compare',
          ours,
        ],
        { streamStderr: true, timeoutMs: 30 * 60_000 },
      )
      return { ...facts, oursWriteMs }
    },
  })
}

/** Deterministic pseudo-random ids (the same sequence for both sides). */
function randomIds(count: number, seed: number): number[] {
  let s = seed
  const ids: number[] = []
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31
    ids.push(Math.floor((s / 2 ** 31) * ROWS))
  }
  return ids
}

interface UpdateReply {
  readonly ns: number
  /** Process CPU time of the update (all threads). */
  readonly cpuNs: number
  /** The version the update committed. */
  readonly version: number
  /** Whether a checkpoint was written inside the update (ours only). */
  readonly checkpoint?: boolean
}

/** What one committed update rewrote, from its commit file. */
interface Rewrite {
  readonly removedFiles: number
  readonly addedFiles: number
  readonly removedBytes: number
  readonly addedBytes: number
  readonly updatedRows: number
  readonly copiedRows: number
}

interface CommitLine {
  readonly add?: { readonly size: number }
  readonly remove?: { readonly path: string; readonly size?: number }
  readonly commitInfo?: {
    readonly operation?: string
    readonly operationMetrics?: Readonly<Record<string, string | number>>
  }
}

/**
 * Reads the add/remove actions and the metrics of the commit an update made. Our metrics are
 * `numUpdatedRows`/`numCopiedRows` (strings, as Spark), delta-rs's `num_updated_rows`/
 * `num_copied_rows` (numbers).
 */
async function readRewrite(dir: string, version: number): Promise<Rewrite> {
  const file = path.join(dir, '_delta_log', `${String(version).padStart(20, '0')}.json`)
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '')
  let removedFiles = 0
  let addedFiles = 0
  let removedBytes = 0
  let addedBytes = 0
  let metrics: Readonly<Record<string, string | number>> | undefined
  for (const line of lines) {
    const action = JSON.parse(line) as CommitLine
    if (action.add) {
      addedFiles++
      addedBytes += action.add.size
    } else if (action.remove) {
      removedFiles++
      removedBytes +=
        action.remove.size ??
        (await fs.stat(path.join(dir, decodeURIComponent(action.remove.path)))).size
    } else if (action.commitInfo) {
      if (action.commitInfo.operation !== 'UPDATE') {
        throw new Error(`bench update: ${file} is a ${action.commitInfo.operation} commit`)
      }
      metrics = action.commitInfo.operationMetrics
    }
  }
  const metric = (ours: string, theirs: string): number =>
    Number(metrics?.[ours] ?? metrics?.[theirs] ?? Number.NaN)
  return {
    removedFiles,
    addedFiles,
    removedBytes,
    addedBytes,
    updatedRows: metric('numUpdatedRows', 'num_updated_rows'),
    copiedRows: metric('numCopiedRows', 'num_copied_rows'),
  }
}

interface SideLog {
  readonly rewrites: Rewrite[]
  readonly cpuNs: number[]
  checkpoints: number
}

function updateSide(
  name: string,
  worker: Worker,
  dir: string,
  ids: readonly number[],
  log: SideLog,
): Side {
  let i = 0
  return {
    name,
    async once() {
      const id = ids[i++]
      if (id === undefined) throw new Error(`bench update: ${name}: ran out of ids`)
      const reply = await worker.call<UpdateReply>('update', { path: dir, id })
      const rewrite = await readRewrite(dir, reply.version)
      if (rewrite.updatedRows !== 1) {
        throw new Error(`bench update: ${name}: id ${id} updated ${rewrite.updatedRows} rows`)
      }
      log.rewrites.push(rewrite)
      log.cpuNs.push(reply.cpuNs)
      if (reply.checkpoint) log.checkpoints++
      return reply.ns
    },
  }
}

/** The ids whose note was updated, read back with our engine (not timed). */
async function updatedIds(dir: string): Promise<string> {
  const table = await DeltaTable.open(dir)
  const rows = await table.toRows({ columns: ['id'], filter: col('note').eq(NOTE) })
  return rows
    .map((r) => r.id as bigint)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .join(',')
}

interface AnatomyReply {
  /** Rows of the file holding the id. */
  readonly rows: number
  /** Medians in ns. */
  readonly getNs: number
  readonly decodeNs: number
  readonly encodeNs: number
  readonly statsNs: number
  readonly putNs: number
}

function median(values: readonly number[]): number {
  return summarize(values).p50
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(2)} MiB`
    : `${(bytes / 1024).toFixed(0)} KiB`
}

function rewriteRows(log: SideLog): string[] {
  const m = (f: (r: Rewrite) => number): number => median(log.rewrites.map(f))
  const range = (f: (r: Rewrite) => number): string => {
    const values = log.rewrites.map(f)
    const lo = Math.min(...values)
    const hi = Math.max(...values)
    return lo === hi ? '' : ` (${lo.toLocaleString('en')}–${hi.toLocaleString('en')})`
  }
  return [
    `${m((r) => r.removedFiles)}${range((r) => r.removedFiles)}`,
    `${kib(m((r) => r.removedBytes))}`,
    `${m((r) => r.addedFiles)}${range((r) => r.addedFiles)}`,
    `${kib(m((r) => r.addedBytes))}`,
    `${kib(m((r) => r.removedBytes + r.addedBytes))}`,
    `${m((r) => r.copiedRows).toLocaleString('en')}${range((r) => r.copiedRows)}`,
    formatDuration(median(log.cpuNs)),
  ]
}

/** Tables opened by the Node worker, once per path (as a server would). */
const tables = new Map<string, DeltaTable>()

async function openOnce(dir: string): Promise<DeltaTable> {
  let table = tables.get(dir)
  if (!table) {
    table = await DeltaTable.open(dir)
    tables.set(dir, table)
  }
  return table
}

function nsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start)
}

export default defineBenchmark({
  name: 'update',
  title: 'UPDATE of one row in a 1,000,000-row table',
  usesPython: true,
  description: `
A table of ${ROWS.toLocaleString('en')} rows (\`id long not null, user string, amount double, note
string, ts timestamp\`), laid out as each engine writes it: ours is \`DeltaTable.create\` then
${ROWS / BATCH} appends of ${BATCH.toLocaleString('en')} rows in id order (\`table.append\`), the
delta-rs one is \`write_deltalake(..., mode="append")\` of the same ${ROWS / BATCH} batches (both
tables checked identical row by row). Each engine writes one file per append at this size (ours
splits a write only beyond 1,000,000 rows), so both tables have ${ROWS / BATCH} files of
${BATCH.toLocaleString('en')} rows with disjoint id ranges, and the \`id\` min/max stats narrow a point update to one file. No
OPTIMIZE: with its default 100 MiB target (ours and delta-rs alike) it would fold the whole table
into one file, and every point update would rewrite all ${ROWS.toLocaleString('en')} rows. One
repetition updates one pseudo-random id X (the same sequence on both sides): ours \`await
table.update(col('id').eq(X), { note: '${NOTE}' })\` on a handle opened once (the timing covers its
refresh probe, reading the candidate file, rewriting it, and the commit; as the new value is a
constant, our rewrite reads only \`id\` and \`note\`, writes \`note\` anew and copies the other
column chunks byte for byte); delta-rs
\`dt.update(predicate=f"id = {X}", updates={"note": "'${NOTE}'"})\` on a \`DeltaTable\` opened once.
Each side works on its own copy of its table (\`fs.cp\`, once, not timed) in a fresh worker
process, updating it repeatedly; repetitions alternate. Bytes rewritten are read from each
commit's \`add\`/\`remove\` actions (sizes) and \`operationMetrics\` (rows copied). Our commits
are durable (the data file, the commit file and their directories are fsync-ed); delta-rs's local
object store does not fsync. Our post-commit checkpoint every 10 versions falls inside the update
that triggers it (delta-rs checkpoints every 100 versions, not reached here).`,
  async run(context) {
    const data = await dataset(context)
    const facts = data.facts as UpdateFacts
    await fs.rm(WORK_DIR, { recursive: true, force: true })
    const oursDir = path.join(WORK_DIR, 'ours')
    const rsDir = path.join(WORK_DIR, 'delta-rs')
    await fs.cp(path.join(data.dir, 'ours'), oursDir, { recursive: true })
    await fs.cp(path.join(data.dir, 'delta-rs'), rsDir, { recursive: true })

    const reps = context.reps({ warmup: 2, iterations: 30 }, { warmup: 1, iterations: 5 })
    const ids = randomIds(reps.warmup + reps.iterations, 20261125)
    const oursLog: SideLog = { rewrites: [], cpuNs: [], checkpoints: 0 }
    const rsLog: SideLog = { rewrites: [], cpuNs: [], checkpoints: 0 }
    const node = startNodeWorker('update')
    const python = await startPythonWorker('update.py')
    let comparison
    let anatomy: AnatomyReply
    try {
      context.log('updates')
      const [o, b] = await interleave(
        [
          updateSide('ours', node, oursDir, ids, oursLog),
          updateSide('delta-rs', python, rsDir, ids, rsLog),
        ],
        reps,
      )
      comparison = { label: 'update one row by id', ours: o!, baseline: b! }
      context.log('anatomy of our rewrite')
      anatomy = await node.call<AnatomyReply>('anatomy', { path: oursDir, id: ids[0], reps: 5 })
    } finally {
      await Promise.all([node.close(), python.close()])
    }

    const expected = [...new Set(ids)]
      .sort((a, b) => a - b)
      .map(String)
      .join(',')
    for (const dir of [oursDir, rsDir]) {
      if ((await updatedIds(dir)) !== expected) {
        throw new Error(`bench update: ${dir}: the updated rows are not the ids updated`)
      }
    }
    await fs.rm(WORK_DIR, { recursive: true, force: true })

    const summaries = summarizeComparisons([comparison])
    const oursMedian = summaries[0]!.ours.p50
    const phases = anatomy.getNs + anatomy.decodeNs + anatomy.encodeNs + anatomy.statsNs
    const phase = (label: string, ns: number): string =>
      `| ${label} | ${formatDuration(ns)} | ${((ns / oursMedian) * 100).toFixed(0)}% |`
    const layout = (name: string, l: TableLayout, writeMs: number): string =>
      `${name} ${l.files} files, ${kib(l.bytes)}, ${l.rows.toLocaleString('en')} rows, ` +
      `version ${l.version}, written in ${(writeMs / 1000).toFixed(1)} s`
    const markdown = [
      comparisonTable(summaries, { ours: 'ours', baseline: 'delta-rs' }),
      '',
      'Per update (median over all repetitions, warmups included; range when it varies):',
      '',
      '| side | files removed | bytes removed | files added | bytes added | bytes rewritten (removed + added) | rows copied unchanged | process CPU time |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ours | ${rewriteRows(oursLog).join(' | ')} |`,
      `| delta-rs | ${rewriteRows(rsLog).join(' | ')} |`,
      '',
      `Our updates that wrote a post-commit checkpoint: ${oursLog.checkpoints} of ` +
        `${oursLog.rewrites.length}. CPU time is the process's, all threads (delta-rs runs ` +
        'multi-threaded; ours is the JS thread plus V8 GC helper threads and libuv I/O).',
      '',
      `Where our time goes: the steps of our rewrite of the ${anatomy.rows.toLocaleString('en')}-row ` +
        'file of one id, timed one by one in the same worker after the repetitions (median of 5), ' +
        'against our median update:',
      '',
      '| step | time | share of the median update |',
      '| --- | ---: | ---: |',
      phase('read the file (`store.get`)', anatomy.getNs),
      phase('decode `id` and `note` (`readParquetRows`, hyparquet)', anatomy.decodeNs),
      phase('write `note` anew and copy the other chunks (`replaceColumns`)', anatomy.encodeNs),
      phase('stats of `note` (`collectStats`)', anatomy.statsNs),
      phase(
        'rest: refresh, predicate, durable writes of file and commit, GC left over',
        Math.max(0, oursMedian - phases),
      ),
      '',
      `(A durable \`put\` of the new file alone: ${formatDuration(anatomy.putNs)}.)`,
      '',
      `Tables: ${layout('ours', facts.ours, facts.oursWriteMs)}; ` +
        `${layout('delta-rs', facts.deltaRs, facts.deltaRsWriteMs)}; identical rows: ` +
        `${facts.identical ? 'yes' : 'no'}. The ids updated read back identical on both copies ` +
        `after the run. Load average at the end: ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' / ')}.`,
    ].join('\n')
    return {
      summary:
        summaryLine(summaries) +
        `; bytes rewritten per update: ours ${kib(median(oursLog.rewrites.map((r) => r.removedBytes + r.addedBytes)))}, ` +
        `delta-rs ${kib(median(rsLog.rewrites.map((r) => r.removedBytes + r.addedBytes)))}`,
      markdown,
    }
  },
  workerHandlers: {
    async update(args): Promise<UpdateReply> {
      const table = await openOnce(String(args.path))
      const filter = col('id').eq(BigInt(Number(args.id)))
      const cpu = process.cpuUsage()
      const start = process.hrtime.bigint()
      const result = await table.update(filter, { note: NOTE })
      const ns = nsSince(start)
      const used = process.cpuUsage(cpu)
      return {
        ns,
        cpuNs: (used.user + used.system) * 1000,
        version: result.version,
        checkpoint: result.checkpoint !== undefined,
      }
    },
    /** The CPU-heavy steps of our rewrite of one file, timed one by one (not compared). */
    async anatomy(args): Promise<AnatomyReply> {
      const table = await openOnce(String(args.path))
      await table.refresh()
      const [file, ...more] = await table.files({ filter: col('id').eq(BigInt(Number(args.id))) })
      if (!file || more.length > 0) throw new Error('bench update: anatomy: expected one file')
      const snapshot = table.snapshot
      const store = table.store
      const key = dataFileKey(snapshot, store, file.path)
      const statsColumns = statsColumnsFor(
        snapshot.schema,
        snapshot.metadata.configuration,
        snapshot.partitionColumns,
      )
      const touched = statsColumns.filter((p) => p[0] === 'note')
      const times = { get: [] as number[], decode: [] as number[], encode: [] as number[] }
      const stats: number[] = []
      const put: number[] = []
      let rows = 0
      for (let i = 0; i < Number(args.reps); i++) {
        let start = process.hrtime.bigint()
        const data = await store.get(key)
        times.get.push(nsSince(start))
        start = process.hrtime.bigint()
        const decoded = await readParquetRows(data, {
          schema: snapshot.schema,
          columns: ['id', 'note'],
          fileName: key,
        })
        times.decode.push(nsSince(start))
        rows = decoded.length
        const notes = decoded.map((r) => (r.id === BigInt(Number(args.id)) ? NOTE : r.note))
        start = process.hrtime.bigint()
        const bytes = replaceColumns(data, snapshot.schema, new Map([['note', notes]]), {
          createdBy: PARQUET_CREATED_BY,
        })
        times.encode.push(nsSince(start))
        if (bytes === undefined) throw new Error('bench update: anatomy: no column path')
        start = process.hrtime.bigint()
        collectStats(
          notes.map((note) => ({ note })),
          snapshot.schema,
          touched,
        )
        stats.push(nsSince(start))
        const scratch = `anatomy-${randomUUID()}.parquet`
        start = process.hrtime.bigint()
        await store.put(scratch, bytes)
        put.push(nsSince(start))
        await store.delete(scratch)
      }
      return {
        rows,
        getNs: median(times.get),
        decodeNs: median(times.decode),
        encodeNs: median(times.encode),
        statsNs: median(stats),
        putNs: median(put),
      }
    },
  },
})

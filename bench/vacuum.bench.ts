/**
 * `vacuum`: VACUUM of a table with 10,000 unreferenced data files, ours
 * (`DeltaTable.open(path).vacuum({ retentionHours: 0, enforceRetentionDuration: false })`, FULL
 * mode) against delta-rs (`DeltaTable(path).vacuum(retention_hours=0,
 * enforce_retention_duration=False, dry_run=False)`, its default LITE mode, and with
 * `full=True`), each on its own fresh copy of the same table.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { DeltaTable } from '../src/delta/index.js'
import { finishCommit } from '../src/delta/operations/finish-commit.js'
import { writeDataFiles } from '../src/delta/operations/write-files.js'
import { Transaction } from '../src/delta/transaction/transaction.js'
import { defineBenchmark, type BenchmarkContext } from './lib/benchmark.js'
import { freshCopy, type Dataset } from './lib/data.js'
import {
  comparisonTable,
  formatDuration,
  summarizeComparisons,
  summaryLine,
  type Comparison,
} from './lib/format.js'
import { DATA_DIR } from './lib/paths.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

const UNREFERENCED = 10_000
const COMMITS = 100
const DAYS = 10

interface GenerateFacts {
  readonly version: number
  readonly unreferencedFiles: number
  readonly liveFiles: number
  readonly bytes: number
}

interface VacuumReply {
  readonly ns: number
  /** Of which opening the table. */
  readonly openNs: number
  readonly deleted: number
}

/**
 * The table: partitioned by `day` (10 values); 100 commits of 100 one-row files each, then an
 * overwrite with one row per day, which leaves the 10,000 appended files unreferenced.
 */
async function generate(dir: string): Promise<GenerateFacts> {
  const table = await DeltaTable.create(dir, {
    schema: {
      type: 'struct',
      fields: [
        { name: 'id', type: 'long', nullable: true, metadata: {} },
        { name: 'day', type: 'date', nullable: true, metadata: {} },
        { name: 'payload', type: 'string', nullable: true, metadata: {} },
      ],
    },
    partitionColumns: ['day'],
  })
  const perCommit = UNREFERENCED / COMMITS
  const day = (i: number): string => `2026-01-${String(1 + (i % DAYS)).padStart(2, '0')}`
  for (let c = 0; c < COMMITS; c++) {
    await table.refresh()
    const rows = Array.from({ length: perCommit }, (_, i) => {
      const id = c * perCommit + i
      return { id: BigInt(id), day: day(id), payload: `event-${id}` }
    })
    const snapshot = table.snapshot
    const txn = new Transaction(table.store, snapshot, table.clock, {
      operation: 'WRITE',
      operationParameters: { mode: 'Append' },
    })
    txn.addActions(
      await writeDataFiles(table.store, snapshot, rows, { now: Date.now(), maxRowsPerFile: 1 }),
    )
    await finishCommit(table.store, txn, table.clock, {})
  }
  await table.refresh()
  await table.overwrite(
    Array.from({ length: DAYS }, (_, i) => ({ id: BigInt(-i), day: day(i), payload: 'x' })),
  )
  const unreferenced = table.snapshot.tombstones().length
  const bytes = table.snapshot.tombstones().reduce((s, r) => s + (r.size ?? 0), 0)
  return {
    version: table.version,
    unreferencedFiles: unreferenced,
    liveFiles: table.snapshot.numFiles,
    bytes,
  }
}

function dataset(context: BenchmarkContext): Promise<Dataset> {
  return context.dataset({
    name: 'vacuum/table',
    params: { unreferenced: UNREFERENCED, commits: COMMITS, days: DAYS, version: 1 },
    generate,
  })
}

function vacuumSide(
  name: string,
  worker: Worker,
  source: string,
  args: Record<string, unknown>,
  counts: Set<number>,
  openNs: number[],
): Side {
  return {
    name,
    async once() {
      const dryRun = args.dryRun === true
      const dir = dryRun
        ? source
        : await freshCopy(source, path.join(DATA_DIR, 'vacuum', 'work'), { flush: true })
      try {
        const reply = await worker.call<VacuumReply>('vacuum', { ...args, path: dir })
        counts.add(reply.deleted)
        openNs.push(reply.openNs)
        return reply.ns
      } finally {
        if (!dryRun) await fs.rm(dir, { recursive: true, force: true })
      }
    },
  }
}

/** Runs `fn` (which spawns a process) with extra environment variables, then restores them. */
function withEnv<T>(env: Readonly<Record<string, string>>, fn: () => T): T {
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const)
  Object.assign(process.env, env)
  try {
    return fn()
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

interface CaseResult extends Comparison {
  readonly deleted: number
  readonly oursOpenP50: number
  readonly baselineOpenP50: number
}

interface Case {
  readonly label: string
  /** Environment of our worker process (e.g. a larger libuv thread pool). */
  readonly oursEnv?: Readonly<Record<string, string>>
  readonly ours: Record<string, unknown>
  readonly baseline: Record<string, unknown>
  readonly baselineName: string
}

const CASES: readonly Case[] = [
  {
    label: 'vacuum (delete 10,000 files)',
    ours: { dryRun: false },
    baseline: { dryRun: false, full: false },
    baselineName: 'delta-rs LITE',
  },
  {
    label: 'vacuum (delete 10,000 files)',
    ours: { dryRun: false },
    baseline: { dryRun: false, full: true },
    baselineName: 'delta-rs FULL',
  },
  {
    label: 'vacuum (delete 10,000 files), ours with UV_THREADPOOL_SIZE=32',
    oursEnv: { UV_THREADPOOL_SIZE: '32' },
    ours: { dryRun: false },
    baseline: { dryRun: false, full: false },
    baselineName: 'delta-rs LITE',
  },
  {
    label: 'dry run (list 10,000 files)',
    ours: { dryRun: true },
    baseline: { dryRun: true, full: false },
    baselineName: 'delta-rs LITE',
  },
  {
    label: 'dry run (list 10,000 files)',
    ours: { dryRun: true },
    baseline: { dryRun: true, full: true },
    baselineName: 'delta-rs FULL',
  },
]

async function compareCase(
  context: BenchmarkContext,
  source: string,
  c: Case,
): Promise<CaseResult> {
  const label = `${c.label} vs ${c.baselineName}`
  const node = withEnv(c.oursEnv ?? {}, () => startNodeWorker('vacuum'))
  const python = await startPythonWorker('vacuum.py')
  try {
    const counts = new Set<number>()
    const oursOpen: number[] = []
    const baselineOpen: number[] = []
    const ours = vacuumSide('ours', node, source, c.ours, counts, oursOpen)
    const baseline = vacuumSide(c.baselineName, python, source, c.baseline, counts, baselineOpen)
    const reps = context.reps({ warmup: 1, iterations: 10 }, { warmup: 1, iterations: 3 })
    const [oursSamples, baselineSamples] = await interleave([ours, baseline], reps)
    if (counts.size !== 1) {
      throw new Error(
        `bench vacuum: ${label}: the sides deleted different numbers of files: ${[...counts].join('/')}`,
      )
    }
    return {
      label,
      ours: oursSamples!,
      baseline: baselineSamples!,
      deleted: [...counts][0]!,
      oursOpenP50: summarize(oursOpen).p50,
      baselineOpenP50: summarize(baselineOpen).p50,
    }
  } finally {
    await Promise.all([node.close(), python.close()])
  }
}

export default defineBenchmark({
  name: 'vacuum',
  title: 'VACUUM of 10,000 unreferenced files',
  usesPython: true,
  description: `
A table partitioned by \`day\` (${DAYS} values), written by our engine: ${COMMITS} commits of
${UNREFERENCED / COMMITS} one-row files each, then an overwrite with one row per day, which leaves
${UNREFERENCED.toLocaleString('en')} files unreferenced (tombstones) and ${DAYS} live. One repetition
opens a fresh copy of that table and vacuums it with retention 0: ours
\`(await DeltaTable.open(path)).vacuum({ retentionHours: 0, enforceRetentionDuration: false })\`
(FULL mode: lists the whole directory; files of expired tombstones need no \`stat\`), delta-rs \`DeltaTable(path).vacuum(retention_hours=0,
enforce_retention_duration=False, dry_run=False)\` (default LITE mode: deletes the files of expired
tombstones without listing) and with \`full=True\`. Both commit \`VACUUM START\`/\`END\`. The copy
(\`fs.cp\`, then \`sync\` so that no writeback of the copy runs during the timing; page cache warm)
is made before and removed after each repetition, outside the timing;
dry runs use the original table. Each side runs in its own fresh process and times itself;
repetitions alternate. One case runs our worker with \`UV_THREADPOOL_SIZE=32\`: Node's default pool
of 4 threads bounds how many \`unlink\` calls run at once, and on a busy disk each takes around a
millisecond, so parallelism decides (delta-rs deletes on tokio's blocking pool).`,
  async run(context) {
    const data = await dataset(context)
    const facts = data.facts as GenerateFacts
    const rows: CaseResult[] = []
    for (const c of CASES) {
      context.log(`${c.label} vs ${c.baselineName}`)
      rows.push(await compareCase(context, data.dir, c))
    }
    await fs.rm(path.join(DATA_DIR, 'vacuum', 'work'), { recursive: true, force: true })
    const summaries = summarizeComparisons(rows)
    const markdown = [
      comparisonTable(summaries, { ours: 'ours', baseline: 'delta-rs' }),
      '',
      'Of which opening the table (median): ' +
        rows
          .map(
            (r) =>
              `${r.label}: ours ${formatDuration(r.oursOpenP50)}, ` +
              `delta-rs ${formatDuration(r.baselineOpenP50)}`,
          )
          .join('; ') +
        '.',
      '',
      'Files deleted (listed) per case: ' +
        rows.map((r) => `${r.label} ${r.deleted.toLocaleString('en')}`).join('; ') +
        '.',
      '',
      `Table: version ${facts.version}, ${facts.unreferencedFiles.toLocaleString('en')} unreferenced ` +
        `files (${(facts.bytes / 1024 / 1024).toFixed(1)} MiB), ${facts.liveFiles} live files; ` +
        `generated in ${(data.generateMs / 1000).toFixed(0)} s.`,
    ].join('\n')
    return { summary: summaryLine(summaries), markdown }
  },
  workerHandlers: {
    async vacuum(args): Promise<VacuumReply> {
      const start = process.hrtime.bigint()
      const table = await DeltaTable.open(String(args.path))
      const opened = process.hrtime.bigint()
      const result = await table.vacuum({
        retentionHours: 0,
        enforceRetentionDuration: false,
        dryRun: args.dryRun === true,
      })
      const ns = Number(process.hrtime.bigint() - start)
      return { ns, openNs: Number(opened - start), deleted: result.filesDeleted.length }
    },
  },
})

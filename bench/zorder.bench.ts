/**
 * `zorder`: Z-ORDER of a 1,000,000-row audit-like table on two columns, ours
 * (`table.optimize({ zOrder })`, and the in-process engine forced) against delta-rs
 * (`optimize.z_order(...)`), each on its own fresh copy of the same table written by delta-rs.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { col, DeltaTable } from '../src/delta/index.js'
import { executeOptimize } from '../src/delta/operations/optimize/execute.js'
import type { RewriteEngineChoice } from '../src/delta/operations/optimize/rewriter.js'
import { defineBenchmark, type BenchmarkContext } from './lib/benchmark.js'
import { freshCopy, type Dataset } from './lib/data.js'
import {
  comparisonTable,
  formatDuration,
  formatRatio,
  summarizeComparisons,
  summaryLine,
  type Comparison,
} from './lib/format.js'
import { DATA_DIR } from './lib/paths.js'
import { runPython } from './lib/python.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

/** Parameters of the audit-like table shared with the `skipping` benchmark. */
export const AUDIT = { rows: 1_000_000, appends: 64, users: 10_000, seed: 1 } as const

/** The z-order columns. */
export const Z_COLUMNS = ['user_id', 'action'] as const

/** Files the z-ordered table is cut into: target size = table bytes / this. */
export const TARGET_FILES = 64

/** Facts the generator reports. */
export interface AuditFacts {
  readonly version: number
  readonly files: number
  readonly bytes: number
  readonly rows: number
  readonly probeUsers: readonly string[]
}

/**
 * The audit-like table: `user_id` (UUID strings of 10,000 users), `action` (20 values), `ts`
 * (timestamp, increasing), `details` (string), appended by delta-rs in 64 chronological batches.
 * @param context - the benchmark context
 * @returns the data set
 */
export function auditDataset(context: BenchmarkContext): Promise<Dataset> {
  return context.dataset({
    name: 'optimize/audit-1m',
    params: AUDIT,
    sources: ['bench/py/optimize_generate.py'],
    generate: (dir) =>
      runPython<AuditFacts>(
        'bench/py/optimize_generate.py',
        [
          'audit',
          dir,
          '--rows',
          String(AUDIT.rows),
          '--appends',
          String(AUDIT.appends),
          '--users',
          String(AUDIT.users),
          '--seed',
          String(AUDIT.seed),
        ],
        { streamStderr: true, timeoutMs: 30 * 60_000 },
      ),
  })
}

const WORK_DIR = path.join(DATA_DIR, 'zorder', 'work')

interface ZOrderReply {
  readonly ns: number
  readonly added: number
  readonly removed: number
  readonly engine?: string
}

/** Files a point filter on `user_id` touches, per probe user, in a z-ordered copy. */
async function touched(dir: string, users: readonly string[]): Promise<number[]> {
  const table = await DeltaTable.open(dir)
  const counts: number[] = []
  for (const user of users)
    counts.push((await table.files({ filter: col('user_id').eq(user) })).length)
  return counts
}

interface Layout {
  readonly files: number
  readonly touched: number[]
}

function zorderSide(
  name: string,
  worker: Worker,
  source: string,
  args: Record<string, unknown>,
  users: readonly string[],
  layouts: Layout[],
  engines: Set<string>,
): Side {
  return {
    name,
    async once() {
      const dir = await freshCopy(source, WORK_DIR)
      try {
        const reply = await worker.call<ZOrderReply>('zorder', { ...args, path: dir })
        if (reply.removed !== AUDIT.appends) {
          throw new Error(`bench zorder: ${name} removed ${reply.removed} files`)
        }
        if (reply.engine) engines.add(reply.engine)
        if (layouts.length === 0)
          layouts.push({ files: reply.added, touched: await touched(dir, users) })
        return reply.ns
      } finally {
        await fs.rm(dir, { recursive: true, force: true })
      }
    },
  }
}

function median(values: readonly number[]): number {
  return summarize(values).p50
}

export default defineBenchmark({
  name: 'zorder',
  title: 'Z-ORDER of 1,000,000 rows on two columns',
  usesPython: true,
  description: `
An audit-like table written by \`deltalake\` in ${AUDIT.appends} chronological appends
(${AUDIT.appends} files, ${AUDIT.rows.toLocaleString('en')} rows): \`user_id\` (UUID strings of
${AUDIT.users.toLocaleString('en')} users), \`action\` (20 values), \`ts\` (timestamp, microseconds),
\`details\` (a ~60-byte JSON string). One repetition z-orders a fresh copy (\`fs.cp\`, not timed) on
\`(${Z_COLUMNS.join(', ')})\` with target size = table bytes / ${TARGET_FILES}, the table opened before
the timing on both sides. Ours: \`table.optimize({ zOrder, targetFileSize })\` (\`auto\`: DuckDB
here, as the rewrite holds many rows per file); delta-rs: \`table.optimize.z_order(columns,
target_size=...)\`. Both sides in fresh processes; repetitions alternate. The in-process
(hyparquet) engine is measured alone, few repetitions. After the first repetition of each side,
the files a point filter \`user_id = X\` touches are counted with our stats skipping, for 5 users.
Target: ratio ≤ 1.50×.`,
  async run(context) {
    const data = await auditDataset(context)
    const facts = data.facts as AuditFacts
    const target = Math.ceil(facts.bytes / TARGET_FILES)
    const args = { columns: [...Z_COLUMNS], targetSize: target }
    const users = facts.probeUsers
    const rows: Comparison[] = []
    const layouts: Record<string, Layout[]> = { ours: [], 'delta-rs': [], hyparquet: [] }
    const engines = new Set<string>()
    context.log('ours (auto) vs delta-rs')
    {
      const node = startNodeWorker('zorder')
      const python = await startPythonWorker('optimize.py')
      try {
        const ours = zorderSide(
          'ours',
          node,
          data.dir,
          { ...args, engine: 'auto' },
          users,
          layouts.ours!,
          engines,
        )
        const baseline = zorderSide(
          'delta-rs',
          python,
          data.dir,
          args,
          users,
          layouts['delta-rs']!,
          new Set(),
        )
        const reps = context.reps({ warmup: 1, iterations: 5 }, { warmup: 1, iterations: 1 })
        const [o, b] = await interleave([ours, baseline], reps)
        rows.push({ label: 'z-order 1M rows: ours (auto)', ours: o!, baseline: b! })
      } finally {
        await Promise.all([node.close(), python.close()])
      }
    }
    let hyparquetNote = ''
    if (!context.quick) {
      context.log('ours (hyparquet), alone')
      const node = startNodeWorker('zorder')
      try {
        const side = zorderSide(
          'hyparquet',
          node,
          data.dir,
          { ...args, engine: 'hyparquet' },
          users,
          layouts.hyparquet!,
          new Set(),
        )
        const [h] = await interleave([side], { warmup: 1, iterations: 1 })
        const all = [h!.first, ...h!.samples]
        hyparquetNote =
          `In-process engine (hyparquet), measured alone: ${all.map(formatDuration).join(', ')} ` +
          `(first, then measured); ${formatRatio(median(h!.samples), summarize(rows[0]!.baseline.samples).p50)} ` +
          'of the delta-rs median above.'
      } finally {
        await node.close()
      }
    }
    await fs.rm(WORK_DIR, { recursive: true, force: true })
    const summaries = summarizeComparisons(rows)
    const layoutLine = (name: string, l: Layout | undefined): string =>
      l === undefined
        ? ''
        : `| ${name} | ${l.files} | ${l.touched.join(', ')} | ${((median(l.touched) / l.files) * 100).toFixed(1)}% |`
    const markdown = [
      comparisonTable(summaries, { ours: 'ours', baseline: 'delta-rs' }),
      '',
      `Engine that ran (auto): ${[...engines].join('/')}.`,
      ...(hyparquetNote ? ['', hyparquetNote] : []),
      '',
      'Layout after z-order: files written, and files a point filter `user_id = X` touches (our stats skipping, 5 probe users):',
      '',
      '| z-ordered by | files | touched per probe | median fraction |',
      '| --- | ---: | --- | ---: |',
      ...[
        layoutLine('ours (auto)', layouts.ours![0]),
        layoutLine('ours (hyparquet)', layouts.hyparquet![0]),
        layoutLine('delta-rs', layouts['delta-rs']![0]),
      ].filter((line) => line !== ''),
      '',
      `Table: ${facts.rows.toLocaleString('en')} rows, ${facts.files} files, ` +
        `${(facts.bytes / 1024 / 1024).toFixed(1)} MiB; target size ${(target / 1024).toFixed(0)} KiB; ` +
        `generated in ${(data.generateMs / 1000).toFixed(0)} s.`,
    ].join('\n')
    return { summary: summaryLine(summaries), markdown }
  },
  workerHandlers: {
    async zorder(args): Promise<ZOrderReply> {
      const table = await DeltaTable.open(String(args.path))
      const engine = String(args.engine) as RewriteEngineChoice
      const options = {
        zOrder: (args.columns as string[]).map(String),
        targetFileSize: Number(args.targetSize),
      }
      const start = process.hrtime.bigint()
      let result
      if (engine === 'auto') {
        result = await table.optimize(options)
      } else {
        await table.refresh()
        result = (
          await executeOptimize(table.store, table.snapshot, table.clock, options, { engine })
        ).result
      }
      const ns = Number(process.hrtime.bigint() - start)
      return {
        ns,
        added: result.metrics.numFilesAdded,
        removed: result.metrics.numFilesRemoved,
        engine: result.engines.join('+'),
      }
    },
  },
})

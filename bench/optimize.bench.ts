/**
 * `optimize`: OPTIMIZE compaction of 1,000 one-row files into one, ours (`table.optimize()`, and
 * each rewrite engine forced) against delta-rs (`DeltaTable(path).optimize.compact()`), each on
 * its own fresh copy of the same table written by delta-rs.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { DeltaTable } from '../src/delta/index.js'
import { executeOptimize } from '../src/delta/operations/optimize/execute.js'
import type { RewriteEngineChoice } from '../src/delta/operations/optimize/rewriter.js'
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
import { runPython } from './lib/python.js'
import { interleave, summarize, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

const FILES = 1000
const WORK_DIR = path.join(DATA_DIR, 'optimize', 'work')

interface TableVariant {
  readonly name: string
  readonly label: string
  /** Generator arguments after the table path. */
  readonly args: readonly string[]
  /** Files in the table (all compacted into one). */
  readonly files: number
}

const VARIANTS: readonly TableVariant[] = [
  {
    name: 'small-1000',
    label: `${FILES} one-row files: id long, name string, value double`,
    args: ['small', '--files', String(FILES)],
    files: FILES,
  },
  {
    name: 'small-1000-ts',
    label: `${FILES} one-row files, plus ts timestamp (microseconds)`,
    args: ['small', '--files', String(FILES), '--timestamps'],
    files: FILES,
  },
  {
    name: 'audit-4x62k',
    label: '4 files of 62,500 rows of the audit-like table of the zorder benchmark (2.7 MiB)',
    args: ['audit', '--rows', '250000', '--appends', '4', '--users', '10000', '--seed', '2'],
    files: 4,
  },
]

interface GenerateFacts {
  readonly version: number
  readonly files: number
}

interface CompactReply {
  readonly ns: number
  readonly added: number
  readonly removed: number
  readonly engine?: string
  /** Time of a checkpoint written right after (ours only, not part of `ns`). */
  readonly checkpointNs?: number
}

function dataset(context: BenchmarkContext, variant: TableVariant): Promise<Dataset> {
  return context.dataset({
    name: `optimize/${variant.name}`,
    params: { args: variant.args, createFirst: true },
    sources: ['bench/py/optimize_generate.py'],
    generate: (dir) =>
      runPython<GenerateFacts>(
        'bench/py/optimize_generate.py',
        [variant.args[0] as string, dir, ...variant.args.slice(1)],
        { streamStderr: true, timeoutMs: 30 * 60_000 },
      ),
  })
}

function compactSide(
  name: string,
  worker: Worker,
  source: string,
  args: Record<string, unknown>,
  outcomes: Set<string>,
  engines: Set<string>,
  checkpoints: number[],
): Side {
  return {
    name,
    async once() {
      const dir = await freshCopy(source, WORK_DIR)
      try {
        const reply = await worker.call<CompactReply>('compact', { ...args, path: dir })
        outcomes.add(`${reply.removed}->${reply.added}`)
        if (reply.engine) engines.add(reply.engine)
        if (reply.checkpointNs !== undefined) checkpoints.push(reply.checkpointNs)
        return reply.ns
      } finally {
        await fs.rm(dir, { recursive: true, force: true })
      }
    },
  }
}

interface Row extends Comparison {
  readonly engine: string
  readonly checkpoints: readonly number[]
}

async function compareCase(
  context: BenchmarkContext,
  variant: TableVariant,
  source: string,
  engine: RewriteEngineChoice,
): Promise<Row> {
  const label = `${variant.name}: ours (${engine})`
  const node = startNodeWorker('optimize')
  const python = await startPythonWorker('optimize.py')
  try {
    const outcomes = new Set<string>()
    const engines = new Set<string>()
    const checkpoints: number[] = []
    const ours = compactSide('ours', node, source, { engine }, outcomes, engines, checkpoints)
    const baseline = compactSide('delta-rs', python, source, {}, outcomes, new Set(), [])
    const reps = context.reps({ warmup: 2, iterations: 15 }, { warmup: 1, iterations: 3 })
    const [oursSamples, baselineSamples] = await interleave([ours, baseline], reps)
    if (outcomes.size !== 1 || !outcomes.has(`${variant.files}->1`)) {
      throw new Error(`bench optimize: ${label}: unexpected outcomes ${[...outcomes].join(', ')}`)
    }
    return {
      label,
      ours: oursSamples!,
      baseline: baselineSamples!,
      engine: [...engines].join('/'),
      checkpoints,
    }
  } finally {
    await Promise.all([node.close(), python.close()])
  }
}

export default defineBenchmark({
  name: 'optimize',
  title: 'OPTIMIZE: compact 1,000 one-row files into one (and 4 larger files)',
  usesPython: true,
  description: `
Tables written by \`deltalake\`. \`small-1000\` and \`small-1000-ts\`: \`DeltaTable.create\`
(version 0, no file), then ${FILES.toLocaleString('en')} one-row appends
(\`write_deltalake(..., mode="append")\`: ${FILES.toLocaleString('en')} data files, versions
1-${FILES}) of \`id long, name string, value double\`, the second with \`ts timestamp\` (microseconds)
too. \`audit-4x62k\`: 4 appends of 62,500 rows of the audit-like table of the \`zorder\` benchmark,
where rows, not files, dominate. One repetition compacts a fresh copy (\`fs.cp\`, made before and
removed after the repetition, not timed) into one file; the table is opened before the timing
starts, on both sides. Ours: \`table.optimize()\` (\`auto\`: in process, hyparquet reading and
the engine's writer writing, unless the rewrite holds many rows per file, which goes to
DuckDB), and \`executeOptimize\` with each engine forced
(\`hyparquet\`, \`duckdb\`); the timing covers the refresh probe, planning, rewriting and the commit.
No OPTIMIZE commit here lands on a post-commit checkpoint version of either engine (ours every 10
versions, delta-rs every 100); a checkpoint written right after is timed separately (below).
delta-rs: \`table.optimize.compact()\`. Each case runs both sides in fresh processes (DuckDB's
one-time load falls into ours' "first"); repetitions alternate. Target: ratio ≤ 1.00× for
\`small-1000: ours (auto)\`.`,
  async run(context) {
    const rows: Row[] = []
    const notes: string[] = []
    for (const variant of VARIANTS) {
      const data = await dataset(context, variant)
      const facts = data.facts as GenerateFacts
      notes.push(
        `- \`${variant.name}\`: ${variant.label}; version ${facts.version}, ${facts.files} files; ` +
          `generated in ${(data.generateMs / 1000).toFixed(0)} s.`,
      )
      for (const engine of ['auto', 'hyparquet', 'duckdb'] as const) {
        context.log(`${variant.name} ${engine}`)
        rows.push(await compareCase(context, variant, data.dir, engine))
      }
    }
    await fs.rm(WORK_DIR, { recursive: true, force: true })
    const summaries = summarizeComparisons(rows)
    const markdown = [
      comparisonTable(summaries, { ours: 'ours', baseline: 'delta-rs' }),
      '',
      'Engine that ran per case: ' + rows.map((r) => `${r.label} → ${r.engine}`).join('; ') + '.',
      '',
      'Our checkpoint right after the compaction (not in the timings above; median per case): ' +
        rows
          .filter((r) => r.checkpoints.length > 0)
          .map((r) => `${r.label} ${formatDuration(summarize(r.checkpoints).p50)}`)
          .join('; ') +
        '.',
      '',
      'Tables:',
      ...notes,
    ].join('\n')
    return { summary: summaryLine(summaries), markdown }
  },
  workerHandlers: {
    async compact(args): Promise<CompactReply> {
      const table = await DeltaTable.open(String(args.path))
      const engine = String(args.engine) as RewriteEngineChoice
      const start = process.hrtime.bigint()
      let result
      if (engine === 'auto') {
        result = await table.optimize()
      } else {
        await table.refresh()
        result = (await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine }))
          .result
      }
      const ns = Number(process.hrtime.bigint() - start)
      const checkpointStart = process.hrtime.bigint()
      await table.checkpoint()
      const checkpointNs = Number(process.hrtime.bigint() - checkpointStart)
      return {
        ns,
        added: result.metrics.numFilesAdded,
        removed: result.metrics.numFilesRemoved,
        engine: result.engines.join('+'),
        checkpointNs,
      }
    },
  },
})

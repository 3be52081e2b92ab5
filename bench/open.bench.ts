/**
 * `open`: opening a snapshot of a table with a long log and listing its active files, ours
 * (`DeltaTable.open` + `files()`) against delta-rs (`DeltaTable(path)` + `file_uris()` or
 * `get_add_actions()`), plus where our time goes, stage by stage.
 * @module
 */
import { createHash } from 'node:crypto'
import type { AddAction } from '../src/delta/actions/actions.js'
import { decodeCheckpoint } from '../src/delta/checkpoint/decode-checkpoint.js'
import { DeltaTable } from '../src/delta/index.js'
import { buildLogSegment } from '../src/delta/log/log-segment.js'
import { ReplayState } from '../src/delta/log/replay.js'
import { readCommits } from '../src/delta/snapshot/snapshot.js'
import { openStore } from '../src/delta/storage/open-store.js'
import { defineBenchmark, type BenchmarkContext } from './lib/benchmark.js'
import type { Dataset } from './lib/data.js'
import {
  comparisonTable,
  formatDuration,
  formatRatio,
  summarizeComparisons,
  type Comparison,
} from './lib/format.js'
import { runPython } from './lib/python.js'
import { interleave, summarize, timeNs, type Side } from './lib/stats.js'
import { startNodeWorker, startPythonWorker, type Worker } from './lib/worker.js'

const COMMITS = 10_000
const CHECKPOINT_INTERVAL = 100
const OLD_VERSION = 5_000

interface TableVariant {
  readonly name: string
  readonly label: string
  /** Every n-th commit is a one-row delete (0: appends only). */
  readonly deleteEvery: number
}

const VARIANTS: readonly TableVariant[] = [
  { name: 'appends', label: 'appends', deleteEvery: 0 },
  { name: 'mixed', label: 'appends + every 10th a delete', deleteEvery: 10 },
]

interface GenerateFacts {
  readonly version: number
  readonly checkpoints: number
  readonly explicitCheckpoints: number
  readonly activeFiles: number
}

interface Digest {
  readonly files: number
  readonly sha256: string
}

interface OpenReply {
  readonly ns: number
  readonly files: number
}

function dataset(context: BenchmarkContext, variant: TableVariant): Promise<Dataset> {
  return context.dataset({
    name: `open/${variant.name}`,
    params: {
      commits: COMMITS,
      checkpointInterval: CHECKPOINT_INTERVAL,
      deleteEvery: variant.deleteEvery,
    },
    sources: ['bench/py/open_generate.py'],
    generate: (dir) =>
      runPython<GenerateFacts>(
        'bench/py/open_generate.py',
        [
          dir,
          '--commits',
          String(COMMITS),
          '--interval',
          String(CHECKPOINT_INTERVAL),
          '--delete-every',
          String(variant.deleteEvery),
        ],
        { streamStderr: true },
      ),
  })
}

function openSide(
  name: string,
  worker: Worker,
  args: Record<string, unknown>,
): Side & {
  readonly counts: Set<number>
} {
  const counts = new Set<number>()
  return {
    name,
    counts,
    async once() {
      const reply = await worker.call<OpenReply>('open', args)
      counts.add(reply.files)
      return reply.ns
    },
  }
}

/** The delta-rs listings measured, each against ours. */
const LISTINGS = ['file_uris', 'get_add_actions'] as const

interface CaseResult {
  readonly label: string
  readonly files: number
  /** One comparison per delta-rs listing, in LISTINGS order. */
  readonly comparisons: readonly Comparison[]
}

async function compareOpen(
  context: BenchmarkContext,
  label: string,
  path: string,
  version: number | null,
): Promise<CaseResult> {
  // Fresh processes per case: the first repetition of each side is equally cold.
  const node = startNodeWorker('open')
  const pythons = await Promise.all(LISTINGS.map(() => startPythonWorker('open.py')))
  try {
    const ours = openSide('ours', node, { path, version })
    const baselines = LISTINGS.map((listing, i) =>
      openSide(`delta-rs ${listing}`, pythons[i]!, { path, version, listing }),
    )
    const reps = context.reps({ warmup: 5, iterations: 40 }, { warmup: 2, iterations: 10 })
    const [oursSamples, ...baselineSamples] = await interleave([ours, ...baselines], reps)
    const [oursDigest, baselineDigest] = await Promise.all([
      node.call<Digest>('digest', { path, version }),
      pythons[0]!.call<Digest>('digest', { path, version }),
    ])
    if (oursDigest.sha256 !== baselineDigest.sha256) {
      throw new Error(
        `bench open: ${label}: the sides list different active files ` +
          `(ours ${oursDigest.files}, delta-rs ${baselineDigest.files})`,
      )
    }
    const counts = new Set([ours, ...baselines].flatMap((side) => [...side.counts]))
    if (counts.size !== 1) {
      const seen = [ours, ...baselines].map((side) => `${side.name} ${[...side.counts].join('/')}`)
      throw new Error(
        `bench open: ${label}: the sides list different numbers of active files: ${seen.join(', ')}`,
      )
    }
    return {
      label,
      files: [...counts][0]!,
      comparisons: LISTINGS.map((listing, i) => ({
        label: `${label} vs \`${listing}()\``,
        ours: oursSamples!,
        baseline: baselineSamples[i]!,
      })),
    }
  } finally {
    await Promise.all([node.close(), ...pythons.map((python) => python.close())])
  }
}

/** The stages of our open, in order; their medians roughly add up to the whole open. */
const STAGES = [
  ['segment', '`_last_checkpoint` + log listing + segment selection'],
  ['checkpointRead', 'checkpoint file read (bytes)'],
  ['checkpointDecode', 'checkpoint decode (Parquet columns to actions)'],
  ['commits', 'commit files after the checkpoint (read + JSON parse)'],
  ['replay', 'log replay (live files map)'],
  ['files', '`files()` listing (sorted by path)'],
] as const

type StageName = (typeof STAGES)[number][0]

/** Median ns of each stage of our open over `iterations` runs (after 3 warmups). */
async function measureStages(args: Record<string, unknown>): Promise<Record<StageName, number>> {
  const path = String(args.path)
  const version = typeof args.version === 'number' ? args.version : undefined
  const iterations = Number(args.iterations ?? 20)
  const samples: Record<StageName, number[]> = {
    segment: [],
    checkpointRead: [],
    checkpointDecode: [],
    commits: [],
    replay: [],
    files: [],
  }
  for (let i = 0; i < iterations + 3; i++) {
    const keep = i >= 3
    const t: Partial<Record<StageName, number>> = {}
    const store = openStore(path)
    const location = store.location
    let segment!: Awaited<ReturnType<typeof buildLogSegment>>
    t.segment = await timeNs(async () => {
      segment = await buildLogSegment(store, location, version === undefined ? {} : { version })
    })
    const keys = segment.checkpoint?.keys ?? []
    let parts: Uint8Array[] = []
    t.checkpointRead = await timeNs(async () => {
      parts = await Promise.all(keys.map((key) => store.get(key)))
    })
    let actions: ReturnType<typeof decodeCheckpoint>['actions'] = []
    t.checkpointDecode = await timeNs(() => {
      actions = parts.flatMap((data, j) => decodeCheckpoint(data, keys[j]!).actions)
    })
    let commits: Awaited<ReturnType<typeof readCommits>> = []
    t.commits = await timeNs(async () => {
      commits = await readCommits(store, location, segment.commits)
    })
    const state = new ReplayState()
    t.replay = await timeNs(() => {
      state.apply(actions)
      for (const c of commits) state.apply(c)
    })
    t.files = await timeNs(() => {
      const byPath = (a: AddAction, b: AddAction): number =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0
      return [...state.files.values()].sort(byPath)
    })
    if (keep) for (const [name] of STAGES) samples[name].push(t[name] ?? 0)
  }
  const out = {} as Record<StageName, number>
  for (const [name] of STAGES) out[name] = summarize(samples[name]).p50
  return out
}

function stagesTable(
  rows: readonly { label: string; stages: Record<StageName, number> }[],
): string {
  const header = ['stage', ...rows.map((r) => r.label)]
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const [name, description] of STAGES) {
    lines.push(
      `| ${description} | ${rows.map((r) => formatDuration(r.stages[name])).join(' | ')} |`,
    )
  }
  const total = (r: (typeof rows)[number]): number =>
    STAGES.reduce((sum, [name]) => sum + r.stages[name], 0)
  lines.push(
    `| **sum of medians** | ${rows.map((r) => `**${formatDuration(total(r))}**`).join(' | ')} |`,
  )
  return lines.join('\n')
}

/** A table to open. */
interface BenchTable {
  readonly name: string
  readonly dir: string
  /** The older version opened by time travel. */
  readonly oldVersion: number
  /** A markdown list item describing the table. */
  readonly note: string
}

/**
 * The generated tables, or the existing table named by `BENCH_OPEN_TABLE` (a directory; its
 * older version is `BENCH_OPEN_VERSION`, default half the latest), for trying the benchmark on
 * other data without generating anything.
 */
async function tables(context: BenchmarkContext): Promise<BenchTable[]> {
  const dir = process.env.BENCH_OPEN_TABLE
  if (dir !== undefined && dir !== '') {
    const latest = (await DeltaTable.open(dir)).version
    const oldVersion = Number(process.env.BENCH_OPEN_VERSION ?? Math.floor(latest / 2))
    return [
      {
        name: 'custom',
        dir,
        oldVersion,
        note: `- \`custom\`: \`BENCH_OPEN_TABLE=${dir}\`, latest version ${latest}.`,
      },
    ]
  }
  const out: BenchTable[] = []
  for (const variant of VARIANTS) {
    const data = await dataset(context, variant)
    const facts = data.facts as GenerateFacts
    out.push({
      name: variant.name,
      dir: data.dir,
      oldVersion: OLD_VERSION,
      note:
        `- \`${variant.name}\` (${variant.label}): latest version ${facts.version}, ` +
        `${facts.checkpoints} checkpoints (${facts.explicitCheckpoints} created explicitly), ` +
        `${facts.activeFiles} active files; generated in ${(data.generateMs / 1000).toFixed(0)} s.`,
    })
  }
  return out
}

export default defineBenchmark({
  name: 'open',
  title: 'open a snapshot and list its active files',
  usesPython: true,
  description: `
Tables of ${COMMITS.toLocaleString('en')} commits in delta-rs's format: appends of 1-3 rows of
long/string/timestamp/double; the \`mixed\` table makes every 10th commit a one-row delete (a remove
tombstone plus the rewritten file). Version 0 is \`write_deltalake\`'s; the later commits are written
by \`bench/py/open_generate.py\` exactly as delta-rs writes an append or a \`delete\` (one delta-rs
commit per version would take time quadratic in the log length), and delta-rs itself writes the
checkpoints (\`create_checkpoint()\` at versions 99, 199, ..., \`delta.checkpointInterval=${CHECKPOINT_INTERVAL}\`).
One repetition is a fresh open plus
a listing of every active file: ours \`await DeltaTable.open(path[, { version }])\` then
\`await t.files()\`; delta-rs \`DeltaTable(path[, version=v])\` then either \`file_uris()\` (URI strings) or
\`get_add_actions(flatten=False)\` (an Arrow batch of the add actions), whichever is cheaper
(both are measured). Both sides run in their own fresh process and time themselves
(\`process.hrtime.bigint()\` / \`time.perf_counter_ns()\`); repetitions alternate between the sides.
"first" is the first open in the fresh process (code cold, OS page cache warm). Target: ratio ≤ 1.00×.`,
  async run(context) {
    const cases: CaseResult[] = []
    const stageRows: { label: string; stages: Record<StageName, number> }[] = []
    const notes: string[] = []
    for (const table of await tables(context)) {
      notes.push(table.note)
      for (const version of [null, table.oldVersion]) {
        const label = `${table.name}: open ${version === null ? 'latest' : `v${version}`}`
        context.log(label)
        cases.push(await compareOpen(context, label, table.dir, version))
        const worker = startNodeWorker('open')
        try {
          const iterations = context.quick ? 5 : 20
          const stages = await worker.call<Record<StageName, number>>('stages', {
            path: table.dir,
            version,
            iterations,
          })
          stageRows.push({ label, stages })
        } finally {
          await worker.close()
        }
      }
    }
    const summaries = summarizeComparisons(cases.flatMap((c) => c.comparisons))
    const markdown = [
      comparisonTable(summaries, { ours: 'ours', baseline: 'delta-rs' }),
      '',
      'Each case runs ours and both delta-rs listings interleaved in one loop; the two rows of a ' +
        'case share our samples. Active files listed per case: ' +
        cases.map((c) => `${c.label} ${c.files.toLocaleString('en')}`).join('; ') +
        '.',
      '',
      'Tables:',
      ...notes,
      '',
      '### Where our time goes',
      '',
      'Medians of each stage of our open, measured separately in a fresh process after the ' +
        'comparison (same code path as `DeltaTable.open` + `files()`, timed stage by stage):',
      '',
      stagesTable(stageRows),
    ].join('\n')
    // The console line: each case against the faster delta-rs listing.
    const summary = cases
      .map((c) => {
        const rows = summaries.filter((s) => c.comparisons.some((x) => x.label === s.label))
        const best = rows.reduce((a, b) => (b.baseline.p50 < a.baseline.p50 ? b : a))
        return (
          `${c.label} ${formatRatio(best.ours.p50, best.baseline.p50)} ` +
          `(${formatDuration(best.ours.p50)} vs ${formatDuration(best.baseline.p50)})`
        )
      })
      .join('; ')
    return { summary, markdown }
  },
  workerHandlers: {
    stages: measureStages,
    async digest(args): Promise<Digest> {
      const path = String(args.path)
      const version = typeof args.version === 'number' ? args.version : undefined
      const table = await DeltaTable.open(path, version === undefined ? {} : { version })
      const paths = (await table.files()).map((f) => f.path).sort()
      const sha256 = createHash('sha256').update(paths.join('\n')).digest('hex')
      return { files: paths.length, sha256 }
    },
    async open(args): Promise<OpenReply> {
      const path = String(args.path)
      const version = typeof args.version === 'number' ? args.version : undefined
      const start = process.hrtime.bigint()
      const table = await DeltaTable.open(path, version === undefined ? {} : { version })
      const files = await table.files()
      const ns = Number(process.hrtime.bigint() - start)
      return { ns, files: files.length }
    },
  },
})

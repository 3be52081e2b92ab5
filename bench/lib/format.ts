/**
 * Markdown formatting of benchmark results: durations, ratios and comparison tables.
 * @module
 */
import { summarize, type SideSamples, type Summary } from './stats.js'

/**
 * Formats a duration given in ns with a unit that keeps three significant digits.
 * @param ns - nanoseconds
 * @returns e.g. `412 µs`, `12.3 ms`, `1.52 s`
 */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns)
  if (abs < 1e3) return `${ns.toFixed(0)} ns`
  if (abs < 1e6) return `${precise(ns / 1e3)} µs`
  if (abs < 1e9) return `${precise(ns / 1e6)} ms`
  return `${precise(ns / 1e9)} s`
}

function precise(x: number): string {
  const abs = Math.abs(x)
  return x.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2)
}

/**
 * Formats ours/baseline as a ratio; below 1 means we are faster.
 * @param ours - our value
 * @param baseline - the baseline's value
 * @returns e.g. `0.84×`
 */
export function formatRatio(ours: number, baseline: number): string {
  return `${(ours / baseline).toFixed(2)}×`
}

/** One compared case: our samples and the baseline's, from the same run and data. */
export interface Comparison {
  /** Row label, e.g. `open latest`. */
  readonly label: string
  readonly ours: SideSamples
  readonly baseline: SideSamples
}

/** A comparison with its summaries. */
export interface ComparisonSummary {
  readonly label: string
  readonly ours: Summary
  readonly baseline: Summary
  readonly oursFirst: number
  readonly baselineFirst: number
  /** ours median / baseline median. */
  readonly ratio: number
}

/**
 * Summarizes comparisons.
 * @param comparisons - the cases
 * @returns one summary per case
 */
export function summarizeComparisons(comparisons: readonly Comparison[]): ComparisonSummary[] {
  return comparisons.map((c) => {
    const ours = summarize(c.ours.samples)
    const baseline = summarize(c.baseline.samples)
    return {
      label: c.label,
      ours,
      baseline,
      oursFirst: c.ours.first,
      baselineFirst: c.baseline.first,
      ratio: ours.p50 / baseline.p50,
    }
  })
}

/**
 * A markdown table comparing ours with the baseline: medians and their ratio first, then p99,
 * min and the first (cold-ish) repetition of each side.
 * @param rows - summarized cases
 * @param names - column names of the two sides
 * @returns markdown lines
 */
export function comparisonTable(
  rows: readonly ComparisonSummary[],
  names: { readonly ours: string; readonly baseline: string },
): string {
  const header = [
    'case',
    'ratio (median)',
    `${names.ours} median`,
    `${names.baseline} median`,
    `${names.ours} p99`,
    `${names.baseline} p99`,
    'ratio (p99)',
    `${names.ours} min`,
    `${names.baseline} min`,
    `${names.ours} first`,
    `${names.baseline} first`,
    'n',
  ]
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const r of rows) {
    const cells = [
      r.label,
      `**${formatRatio(r.ours.p50, r.baseline.p50)}**`,
      formatDuration(r.ours.p50),
      formatDuration(r.baseline.p50),
      formatDuration(r.ours.p99),
      formatDuration(r.baseline.p99),
      formatRatio(r.ours.p99, r.baseline.p99),
      formatDuration(r.ours.min),
      formatDuration(r.baseline.min),
      formatDuration(r.oursFirst),
      formatDuration(r.baselineFirst),
      String(r.ours.n),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/**
 * The one-line summary of comparisons: label, median ratio and both medians, per case.
 * @param summaries - the summarized comparisons
 * @returns `label 0.83× (960 ms vs 1.16 s); ...`
 */
export function summaryLine(summaries: readonly ComparisonSummary[]): string {
  return summaries
    .map(
      (s) =>
        `${s.label} ${formatRatio(s.ours.p50, s.baseline.p50)} ` +
        `(${formatDuration(s.ours.p50)} vs ${formatDuration(s.baseline.p50)})`,
    )
    .join('; ')
}

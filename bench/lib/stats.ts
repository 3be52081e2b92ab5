/**
 * Timing statistics: sample collection with warmups, interleaving of compared sides, and
 * summaries (median, p99, min, ...). Samples are nanoseconds as plain numbers (exact up to
 * 104 days, far beyond any benchmark).
 * @module
 */

/** Summary of one side's samples, in nanoseconds. */
export interface Summary {
  readonly n: number
  readonly min: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

/** Repetition counts of a measurement. */
export interface RepetitionOptions {
  /**
   * Unmeasured repetitions first (JIT, caches), counting the first repetition, which is
   * recorded apart as the cold-ish time; at least one.
   */
  readonly warmup: number
  /** Measured repetitions. */
  readonly iterations: number
}

/** One compared side: `once()` performs one repetition and returns its duration in ns. */
export interface Side {
  readonly name: string
  once(): Promise<number>
}

/** Samples of one side: the first (cold-ish) repetition apart from the measured ones. */
export interface SideSamples {
  readonly name: string
  /** The very first repetition of this side (before warmups), in ns. */
  readonly first: number
  /** Measured repetitions, in run order. */
  readonly samples: readonly number[]
}

/**
 * The value at quantile `q` of sorted samples (nearest rank, so p99 of 30 samples is the max).
 * @param sorted - ascending samples
 * @param q - quantile in [0, 1]
 * @returns the sample at that rank
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('bench stats: quantile of no samples')
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]!
}

/**
 * Summarizes samples. The median of an even count is the mean of the two middle samples.
 * @param samples - durations in ns
 * @returns the summary
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) throw new Error('bench stats: no samples to summarize')
  const mid = n >> 1
  const p50 = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return {
    n,
    min: sorted[0]!,
    p50,
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[n - 1]!,
    mean: sorted.reduce((s, x) => s + x, 0) / n,
  }
}

/**
 * Times one call in this process.
 * @param fn - the work
 * @returns its duration in ns
 */
export async function timeNs(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start)
}

/**
 * Runs several sides in alternation so that drifting machine noise (other load, thermal, page
 * cache) spreads evenly over them: each round runs every side once, and odd rounds run them in
 * reverse order. The first repetition of each side is recorded separately as its cold-ish time.
 * @param sides - the compared sides
 * @param options - warmup and measured repetitions (per side)
 * @returns the samples of each side, in the order of `sides`
 */
export async function interleave(
  sides: readonly Side[],
  options: RepetitionOptions,
): Promise<SideSamples[]> {
  const first: number[] = []
  for (const side of sides) first.push(await side.once())
  for (let i = 1; i < options.warmup; i++) for (const side of sides) await side.once()
  // The measured rounds.
  const samples = sides.map(() => [] as number[])
  for (let round = 0; round < options.iterations; round++) {
    const order = sides.map((_, i) => (round % 2 === 0 ? i : sides.length - 1 - i))
    for (const i of order) samples[i]!.push(await sides[i]!.once())
  }
  return sides.map((side, i) => ({ name: side.name, first: first[i]!, samples: samples[i]! }))
}

/**
 * Measures one side alone (warmups, then measured repetitions).
 * @param side - the work
 * @param options - repetitions
 * @returns its samples
 */
export async function measure(side: Side, options: RepetitionOptions): Promise<SideSamples> {
  const [result] = await interleave([side], options)
  return result!
}

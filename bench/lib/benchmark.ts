/**
 * The contract of one benchmark. A benchmark is one file `bench/<name>.bench.ts` whose default
 * export is `defineBenchmark({...})`, plus one line in `bench/registry.ts`.
 * @module
 */
import type { Dataset, DatasetSpec } from './data.js'
import type { RepetitionOptions } from './stats.js'

/** What the runner hands a benchmark. */
export interface BenchmarkContext {
  /** `--quick`: fewer repetitions (results are marked as quick). */
  readonly quick: boolean
  /** Progress output (stderr). */
  log(message: string): void
  /**
   * Picks the repetition counts for this run.
   * @param full - counts of a normal run
   * @param quick - counts under `--quick`
   */
  reps(full: RepetitionOptions, quick: RepetitionOptions): RepetitionOptions
  /** Returns a cached data set, generating it when missing or stale. */
  dataset<P>(spec: DatasetSpec<P>): Promise<Dataset>
}

/** What a benchmark reports. */
export interface BenchmarkResult {
  /** One line for the console (e.g. the ratios). */
  readonly summary: string
  /** The body of its RESULTS.md section (tables, notes). */
  readonly markdown: string
}

/** A request handler of a Node worker process (see lib/worker.ts). */
export type WorkerHandler = (args: Record<string, unknown>) => unknown

/** One benchmark. */
export interface Benchmark {
  /** Registry name, used on the command line and in RESULTS.md markers. */
  readonly name: string
  /** Section title. */
  readonly title: string
  /** What is measured against which baseline (markdown, printed under the title). */
  readonly description: string
  /** Whether it needs the Python venv (its versions are then recorded). */
  readonly usesPython: boolean
  /** Runs the benchmark. */
  run(context: BenchmarkContext): Promise<BenchmarkResult>
  /** Handlers served by `startNodeWorker(name)`, for measurements in a fresh Node process. */
  readonly workerHandlers?: Readonly<Record<string, WorkerHandler>>
}

/**
 * Identity helper that type-checks a benchmark definition.
 * @param benchmark - the definition
 * @returns the same object
 */
export function defineBenchmark(benchmark: Benchmark): Benchmark {
  return benchmark
}

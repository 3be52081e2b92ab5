/**
 * Every benchmark, in run order: name -> lazy import of `bench/<name>.bench.ts`.
 * Adding a benchmark is one file plus one line here.
 * @module
 */
import type { Benchmark } from './lib/benchmark.js'

type Loader = () => Promise<{ default: Benchmark }>

/** Registered benchmarks. */
export const BENCHMARKS: Readonly<Record<string, Loader>> = {
  open: () => import('./open.bench.js'),
  vacuum: () => import('./vacuum.bench.js'),
  'append-latency': () => import('./append-latency.bench.js'),
  'group-commit': () => import('./group-commit.bench.js'),
  'lakehouse-open': () => import('./lakehouse-open.bench.js'),
  'auth-verify': () => import('./auth-verify.bench.js'),
  'auth-login': () => import('./auth-login.bench.js'),
  'lakehouse-role-change': () => import('./lakehouse-role-change.bench.js'),
  optimize: () => import('./optimize.bench.js'),
  zorder: () => import('./zorder.bench.js'),
  skipping: () => import('./skipping.bench.js'),
  update: () => import('./update.bench.js'),
}

/**
 * Loads a registered benchmark.
 * @param name - its registry name
 * @returns the benchmark
 * @throws Error for an unknown name
 */
export async function loadBenchmark(name: string): Promise<Benchmark> {
  const load = BENCHMARKS[name]
  if (!load) {
    throw new Error(
      `bench: unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(', ')})`,
    )
  }
  const { default: benchmark } = await load()
  if (benchmark.name !== name) {
    throw new Error(`bench: registry entry ${name} loads benchmark ${benchmark.name}`)
  }
  return benchmark
}

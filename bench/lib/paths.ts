/**
 * Well-known locations of the benchmark framework.
 * @module
 */
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The `bench/` directory. */
export const BENCH_DIR: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The repository root. */
export const REPO_ROOT: string = path.resolve(BENCH_DIR, '..')

/** Generated data (git-ignored), reused between runs. */
export const DATA_DIR: string = path.join(BENCH_DIR, '.data')

/** The results file. */
export const RESULTS_FILE: string = path.join(BENCH_DIR, 'RESULTS.md')

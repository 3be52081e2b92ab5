/**
 * The Python interoperability oracle (delta-rs `deltalake`, pyarrow, polars, duckdb) for tests.
 *
 * `bash scripts/python-oracle.sh` creates `.venv` and pip-installs the pinned packages on first
 * use (tens of seconds, more on a slow network) and is instant afterwards. It runs at most once
 * per test-file process (the promise is cached), under a cross-process lock so that parallel
 * vitest workers do not build the same venv at the same time.
 *
 * When the oracle cannot be set up (no python3, no network for pip, ...):
 * - with `CI=true` the suites that need it FAIL (collection throws with the reason);
 * - otherwise they are skipped, and the reason is printed with `console.warn`.
 *
 * The decision is made while vitest collects the tests, so no test starts without an oracle.
 * Two equivalent ways to write a suite:
 *
 * ```ts
 * // 1. describeWithOracle: the suite body receives the oracle (an async describe factory).
 * describeWithOracle('reads tables written by delta-rs', (oracle) => {
 *   it('...', async () => { const out = await oracle.runJson('tests/support/py/x.py', [dir]) })
 * })
 *
 * // 2. top-level await in the test module (vitest ESM supports it), then skipIf.
 * const oracle = await getOracle() // throws under CI=true, warns and returns undefined otherwise
 * describe.skipIf(!oracle)('...', () => { it('...', async () => { await oracle!.run(...) }) })
 * ```
 * @module
 */
import { execFile } from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'vitest'

/** Repository root (two levels above this file). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Upper bound for creating the venv and installing the packages. */
export const ORACLE_SETUP_TIMEOUT_MS = 15 * 60_000

/** Default time limit of one oracle script run. */
const DEFAULT_RUN_TIMEOUT_MS = 120_000

/** Options of {@link Oracle.run}. */
export interface OracleRunOptions {
  /** Kill the script after this many milliseconds (default two minutes). */
  readonly timeoutMs?: number
}

/** A ready Python environment with the pinned interop packages. */
export interface Oracle {
  /** Absolute path of the venv's python. */
  readonly python: string
  /**
   * Runs a Python script of the repository.
   * @param scriptRelPath - script path relative to the repository root (or absolute)
   * @param args - command-line arguments
   * @param options - time limit
   * @returns the script's stdout
   * @throws Error with the exit status and stderr when the script fails or times out
   */
  run(scriptRelPath: string, args?: readonly string[], options?: OracleRunOptions): Promise<string>
  /**
   * Like {@link Oracle.run}, parsing stdout as JSON.
   * @returns the parsed output (not validated: the type parameter is the caller's claim)
   * @throws Error as `run`, or when stdout is not JSON
   */
  runJson<T>(
    scriptRelPath: string,
    args?: readonly string[],
    options?: OracleRunOptions,
  ): Promise<T>
}

/** The outcome of setting up the oracle: the oracle, or why there is none. */
export type OracleStatus =
  | { readonly oracle: Oracle; readonly reason?: undefined }
  | { readonly oracle: undefined; readonly reason: string }

interface ExecResult {
  readonly stdout: string
  readonly stderr: string
}

function exec(file: string, args: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: repoRoot,
        timeout: timeoutMs,
        maxBuffer: 1024 * 1024 * 1024,
        encoding: 'utf8',
        env: {
          ...process.env,
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONHASHSEED: '0',
          PYTHONIOENCODING: 'utf-8',
        },
      },
      (error, stdout, stderr) => {
        if (error) {
          const status = error.killed
            ? `killed after ${timeoutMs} ms`
            : `exit code ${String(error.code ?? error.signal)}`
          const detail = stderr.trim() || error.message
          reject(
            new Error(`${path.basename(file)} ${args.join(' ')}: ${status}\n${detail}`, {
              cause: error,
            }),
          )
        } else {
          resolve({ stdout, stderr })
        }
      },
    )
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `fn` while holding a lock directory (mkdir is atomic), so that only one process at a time
 * creates the venv. A lock older than the setup timeout is considered abandoned.
 */
async function withSetupLock<T>(fn: () => Promise<T>): Promise<T> {
  const lockDir = path.join(repoRoot, '.tmp', 'python-oracle.lock')
  await fs.mkdir(path.dirname(lockDir), { recursive: true })
  const deadline = Date.now() + ORACLE_SETUP_TIMEOUT_MS
  for (;;) {
    try {
      await fs.mkdir(lockDir)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const stats = await fs.stat(lockDir).catch(() => undefined)
      if (stats !== undefined && Date.now() - stats.mtimeMs > ORACLE_SETUP_TIMEOUT_MS) {
        await fs.rm(lockDir, { recursive: true, force: true })
        continue
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for the lock ${lockDir}`, { cause: error })
      }
      await sleep(250)
    }
  }
  try {
    return await fn()
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true })
  }
}

function makeOracle(python: string): Oracle {
  const run = async (
    scriptRelPath: string,
    args: readonly string[] = [],
    options: OracleRunOptions = {},
  ): Promise<string> => {
    const script = path.resolve(repoRoot, scriptRelPath)
    const { stdout } = await exec(
      python,
      [script, ...args],
      options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    )
    return stdout
  }
  return {
    python,
    run,
    async runJson<T>(
      scriptRelPath: string,
      args: readonly string[] = [],
      options: OracleRunOptions = {},
    ): Promise<T> {
      const stdout = await run(scriptRelPath, args, options)
      try {
        return JSON.parse(stdout) as T
      } catch (cause) {
        throw new Error(`oracle: ${scriptRelPath} did not print JSON: ${stdout.slice(0, 500)}`, {
          cause,
        })
      }
    },
  }
}

async function setUp(): Promise<OracleStatus> {
  try {
    const python = await withSetupLock(async () => {
      const { stdout } = await exec(
        'bash',
        [path.join(repoRoot, 'scripts', 'python-oracle.sh')],
        ORACLE_SETUP_TIMEOUT_MS,
      )
      const lines = stdout.trim().split('\n')
      return lines[lines.length - 1]?.trim() ?? ''
    })
    if (python === '') throw new Error('scripts/python-oracle.sh printed no python path')
    await exec(python, ['-c', 'import deltalake, pyarrow, polars, duckdb'], 120_000)
    return { oracle: makeOracle(python) }
  } catch (error) {
    return { oracle: undefined, reason: error instanceof Error ? error.message : String(error) }
  }
}

let cached: Promise<OracleStatus> | undefined

/**
 * Sets up the oracle once per process and reports the outcome; never throws.
 * @returns the oracle, or the reason it is unavailable
 */
export function loadOracle(): Promise<OracleStatus> {
  cached ??= setUp()
  return cached
}

function unavailable(reason: string, what: string): Error | undefined {
  const message = `python oracle unavailable for ${what}: ${reason}`
  if (process.env.CI === 'true')
    return new Error(`${message} (CI=true: failing instead of skipping)`)
  console.warn(`[skip] ${message}`)
  return undefined
}

/**
 * The oracle, or `undefined` (after printing why) when it cannot be set up outside CI.
 * @returns the oracle or undefined
 * @throws Error when the oracle cannot be set up and `CI=true`
 */
export async function getOracle(): Promise<Oracle | undefined> {
  const status = await loadOracle()
  if (status.oracle !== undefined) return status.oracle
  const error = unavailable(status.reason, 'this test file')
  if (error) throw error
  return undefined
}

/**
 * A `describe` whose body receives the oracle; without an oracle the suite holds one skipped
 * test naming the reason (or, under `CI=true`, fails to collect).
 * @param name - suite name
 * @param fn - defines the tests; may be async
 */
export function describeWithOracle(
  name: string,
  fn: (oracle: Oracle) => void | Promise<void>,
): void {
  describe(name, async () => {
    const status = await loadOracle()
    if (status.oracle === undefined) {
      const error = unavailable(status.reason, `"${name}"`)
      if (error) throw error
      it.skip(`needs the python oracle (${status.reason.split('\n')[0]})`, () => undefined)
      return
    }
    await fn(status.oracle)
  })
}

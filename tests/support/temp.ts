/**
 * Temporary directories for tests. Every directory is created under `os.tmpdir()` with
 * `fs.mkdtemp` and remembered; importing this module registers an `afterAll` that removes the
 * directories the test file created, so suites need no cleanup code of their own (calling
 * `cleanupTempDirs` or `removeTempDir` earlier is fine).
 *
 * ```ts
 * const dir = await makeTempDir('my-suite-')
 * ```
 * @module
 */
import { rmSync } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll } from 'vitest'

const created = new Set<string>()
let exitHookInstalled = false

/** Safety net for suites that forget `cleanupTempDirs`: remove leftovers when the worker exits. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const dir of created) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * Creates a fresh, empty directory under the system temp directory.
 * @param prefix - start of the directory name (`polarway-` is prepended)
 * @returns the absolute path (with symlinks resolved, so it compares equal to what fs returns)
 */
export async function makeTempDir(prefix = 'test-'): Promise<string> {
  const base = await fs.realpath(os.tmpdir())
  const dir = await fs.mkdtemp(path.join(base, `polarway-${prefix}`))
  created.add(dir)
  installExitHook()
  return dir
}

// Every test file that imports this module removes its leftovers when it finishes (vitest
// evaluates the module once per test file, during collection, where top-level hooks attach to
// the file). The exit hook above covers processes that end without running hooks.
afterAll(cleanupTempDirs)

/**
 * Removes one directory made by {@link makeTempDir} (recursively; a missing directory is fine).
 * @param dir - the directory
 */
export async function removeTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 })
  created.delete(dir)
}

/**
 * Removes every directory made by {@link makeTempDir} in this process that is still present.
 * Waits for all removals and then rethrows the first failure.
 */
export async function cleanupTempDirs(): Promise<void> {
  const results = await Promise.allSettled([...created].map((dir) => removeTempDir(dir)))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}

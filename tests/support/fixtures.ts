/**
 * Access to the golden Delta tables in `../shared/fixtures/delta` (beside the repository,
 * read-only, catalogued by its MANIFEST.md; each table root is `<name>/delta`).
 *
 * When the folder is missing:
 * - with `CI=true` the suites that need it FAIL (collection throws);
 * - otherwise they are skipped, and the reason is printed with `console.warn`.
 *
 * ```ts
 * const available = fixturesAvailable('golden tables') // decided while collecting
 * describe.skipIf(!available)('golden tables', () => { ... })
 * // or
 * describeWithFixtures('golden tables', (root) => { ... })
 * ```
 *
 * Tests never write into the shared folder: {@link copyFixture} gives each test its own copy.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'vitest'
import { makeTempDir } from './temp.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * The folder holding the golden tables, resolved from this file (not from the working
 * directory).
 * @returns the absolute path of `../shared/fixtures/delta`
 */
export function fixturesRoot(): string {
  return path.resolve(repoRoot, '../shared/fixtures/delta')
}

function missingReason(root: string): string | undefined {
  if (!existsSync(root)) return `${root} does not exist`
  if (!statSync(root).isDirectory()) return `${root} is not a directory`
  return undefined
}

/**
 * The fixtures folder, or `undefined` (after printing why) when it is missing outside CI.
 * @param what - what needs the fixtures, for the printed reason
 * @returns the absolute path of the fixtures folder, or undefined
 * @throws Error when the folder is missing and `CI=true`
 */
export function requireFixtures(what = 'fixture tests'): string | undefined {
  const root = fixturesRoot()
  const reason = missingReason(root)
  if (reason === undefined) return root
  const message = `golden fixtures unavailable for ${what}: ${reason}`
  if (process.env.CI === 'true')
    throw new Error(`${message} (CI=true: failing instead of skipping)`)
  console.warn(`[skip] ${message}`)
  return undefined
}

/**
 * Whether the fixtures folder exists, with the semantics of {@link requireFixtures}.
 * @param what - what needs the fixtures, for the printed reason
 * @returns true when the fixtures can be used
 * @throws Error when the folder is missing and `CI=true`
 */
export function fixturesAvailable(what = 'fixture tests'): boolean {
  return requireFixtures(what) !== undefined
}

/**
 * A `describe` whose body receives the fixtures root; without fixtures the suite holds one
 * skipped test naming the reason (or, under `CI=true`, fails to collect).
 * @param name - suite name
 * @param fn - defines the tests
 */
export function describeWithFixtures(name: string, fn: (root: string) => void): void {
  const root = requireFixtures(`"${name}"`)
  if (root === undefined) {
    describe.skip(name, () => {
      it(`needs ${fixturesRoot()}`, () => undefined)
    })
  } else {
    describe(name, () => fn(root))
  }
}

/**
 * The table root of a fixture in the shared (read-only) folder. Read it, never write to it.
 * @param name - fixture folder name
 * @returns the absolute path of `<name>/delta`
 */
export function fixtureTablePath(name: string): string {
  return path.join(fixturesRoot(), name, 'delta')
}

/**
 * Copies a directory tree, keeping modification times to the sub-millisecond (`fs.cp` with
 * `preserveTimestamps` rounds them to whole milliseconds, which can move a commit's time) and
 * making the copy writable even though the source is read-only.
 */
async function copyTree(source: string, target: string): Promise<void> {
  await fs.mkdir(target, { mode: 0o755 })
  for (const entry of await fs.readdir(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name)
    const to = path.join(target, entry.name)
    if (entry.isDirectory()) {
      await copyTree(from, to)
    } else if (entry.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(from), to)
    } else {
      await fs.copyFile(from, to)
      await fs.chmod(to, 0o644)
      const stats = await fs.stat(from)
      await fs.utimes(to, stats.atimeMs / 1000, stats.mtimeMs / 1000)
    }
  }
  const stats = await fs.stat(source)
  await fs.utimes(target, stats.atimeMs / 1000, stats.mtimeMs / 1000)
}

/**
 * Copies a fixture table (`<name>/delta`) into a fresh temp directory made with
 * `makeTempDir` (removed by `cleanupTempDirs`). Modification times are preserved exactly and the
 * copy is writable, so tests may commit to it.
 * @param name - fixture folder name
 * @returns the table root of the copy
 * @throws Error when the fixture does not exist
 */
export async function copyFixture(name: string): Promise<string> {
  const source = fixtureTablePath(name)
  if (!existsSync(source)) throw new Error(`fixture "${name}" not found: ${source} does not exist`)
  const dir = await makeTempDir(`fixture-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`)
  const target = path.join(dir, name)
  await copyTree(source, target)
  return target
}

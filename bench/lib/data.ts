/**
 * Generated benchmark data under `bench/.data/` (git-ignored). A data set is regenerated only
 * when its parameters change: a stamp file next to it records the parameters (and a hash of the
 * generator scripts) it was made with.
 * @module
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { DATA_DIR, REPO_ROOT } from './paths.js'

/** A data set description. */
export interface DatasetSpec<P> {
  /** Directory name under `bench/.data/` (may contain `/`). */
  readonly name: string
  /** Everything the generator's output depends on (compared as JSON). */
  readonly params: P
  /** Generator source files (repository-relative); their content is part of the stamp. */
  readonly sources?: readonly string[]
  /**
   * Writes the data set into `dir` (an empty temporary directory, renamed into place on
   * success).
   * @returns facts about the data worth recording (row counts, versions, ...)
   */
  generate(dir: string): Promise<unknown>
}

/** A ready data set. */
export interface Dataset {
  readonly dir: string
  /** Whatever `generate` returned when the data was made. */
  readonly facts: unknown
  /** Whether this run generated it. */
  readonly generated: boolean
  /** Generation time in ms (of the run that generated it). */
  readonly generateMs: number
}

interface Stamp {
  readonly key: string
  readonly facts: unknown
  readonly generateMs: number
}

async function stampKey(spec: DatasetSpec<unknown>): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(spec.params))
  for (const source of spec.sources ?? []) {
    hash.update(source).update(await fs.readFile(path.resolve(REPO_ROOT, source)))
  }
  return hash.digest('hex')
}

/**
 * Returns the data set, generating it first when it is missing or stale.
 * @param spec - the data set
 * @param log - progress messages
 * @returns its directory and facts
 */
export async function ensureDataset<P>(
  spec: DatasetSpec<P>,
  log: (message: string) => void,
): Promise<Dataset> {
  const dir = path.join(DATA_DIR, spec.name)
  const stampFile = `${dir}.stamp.json`
  const key = await stampKey(spec)
  try {
    const stamp = JSON.parse(await fs.readFile(stampFile, 'utf8')) as Stamp
    if (stamp.key === key) {
      return { dir, facts: stamp.facts, generated: false, generateMs: stamp.generateMs }
    }
    log(`data set ${spec.name}: parameters changed, regenerating`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    log(`data set ${spec.name}: generating`)
  }
  await fs.rm(stampFile, { force: true })
  await fs.rm(dir, { recursive: true, force: true })
  const temp = `${dir}.tmp`
  await fs.rm(temp, { recursive: true, force: true })
  await fs.mkdir(temp, { recursive: true })
  const start = Date.now()
  const facts = await spec.generate(temp)
  const generateMs = Date.now() - start
  await fs.rename(temp, dir)
  const stamp: Stamp = { key, facts, generateMs }
  await fs.writeFile(stampFile, `${JSON.stringify({ ...stamp, params: spec.params }, null, 2)}\n`)
  log(`data set ${spec.name}: generated in ${(generateMs / 1000).toFixed(1)} s`)
  return { dir, facts, generated: true, generateMs }
}

let copies = 0

/**
 * A fresh copy of a table directory under `workDir`, for one repetition that changes it (made
 * before and removed after the timing by the caller).
 * @param source - the table to copy
 * @param workDir - where copies go
 * @param options - `flush`: run `sync` after copying, so that the first fsync of a timed
 *   commit (ours fsyncs, delta-rs's local store does not) does not wait for the writeback of
 *   the whole copy
 * @returns the copy's directory
 */
export async function freshCopy(
  source: string,
  workDir: string,
  options: { readonly flush?: boolean } = {},
): Promise<string> {
  const dir = path.join(workDir, `copy-${process.pid}-${copies++}`)
  await fs.rm(dir, { recursive: true, force: true })
  await fs.cp(source, dir, { recursive: true })
  if (options.flush === true) await promisify(execFile)('sync')
  return dir
}

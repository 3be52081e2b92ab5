/**
 * A fresh directory for the files one benchmark run writes, placed away from the files earlier
 * runs deleted, and the measured cost of creating a file in it.
 *
 * Why it matters: on ext4 without a journal (the root file system of the VM the results were
 * measured on), the inode allocator does not reuse an inode deleted in the last 60 seconds
 * (360 while its inode-table block is unwritten): it tests the free inodes of the block group
 * one by one and skips those. After a run deletes its tables (tens of thousands of files), creating
 * a file in the same block group costs 0.15–0.22 ms of system CPU instead of under 0.01 ms, for
 * up to six minutes; a durable commit creates two files (its data file and its commit file). The
 * directories of a benchmark's runs are therefore made inside `bench/.data/runs`, which carries
 * the ext4 `T` attribute (`chattr +T`, "top of a directory hierarchy"): the allocator then places
 * each new run directory in a block group of its own choosing, with more free inodes than
 * average, instead of next to its parent. The creation cost is measured at the start of every
 * run and printed with its results, so that a run made in a slowed group shows it.
 * @module
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DATA_DIR } from './paths.js'

/** The parent of the run directories. */
const RUNS_DIR = path.join(DATA_DIR, 'runs')

/** Files created by the creation probe. */
const PROBE_FILES = 256

/** A run directory. */
export interface RunDir {
  /** Absolute path; exists and is empty but for the probe's `.create-probe` directory. */
  readonly path: string
  /** Whether `bench/.data/runs` carries the `T` attribute (see the module documentation). */
  readonly spread: boolean
  /** Wall time of creating one empty file there, µs (mean of the probe's files). */
  readonly createUs: number
  /** Removes the directory and everything in it. */
  remove(): Promise<void>
}

/** Sets the `T` attribute on `dir`; `false` when `chattr` is missing or the file system refuses. */
function spreadSubdirectories(dir: string): boolean {
  const result = spawnSync('chattr', ['+T', dir], { stdio: 'ignore' })
  return result.status === 0
}

/**
 * Creates {@link PROBE_FILES} empty files in `dir` and returns the mean wall time per file, µs
 * (the slow case is system CPU, but the process's CPU counters are too coarse for 2 ms).
 */
function probeCreation(dir: string): number {
  fs.mkdirSync(dir)
  const start = process.hrtime.bigint()
  for (let i = 0; i < PROBE_FILES; i++) fs.closeSync(fs.openSync(path.join(dir, `f${i}`), 'wx'))
  return Number(process.hrtime.bigint() - start) / 1000 / PROBE_FILES
}

/**
 * Makes a fresh directory `bench/.data/runs/<name>-<time>-<pid>` for one run, after removing
 * what earlier runs of `name` left behind (a run removes its own directory when it ends, unless
 * it was killed).
 * @param name - the benchmark's name (no `/`)
 * @param parent - where to make it instead of `bench/.data/runs` (tests)
 * @returns the directory
 */
export async function makeRunDir(name: string, parent: string = RUNS_DIR): Promise<RunDir> {
  fs.mkdirSync(parent, { recursive: true })
  const spread = spreadSubdirectories(parent)
  for (const entry of fs.readdirSync(parent)) {
    if (entry.startsWith(`${name}-`)) {
      await fs.promises.rm(path.join(parent, entry), { recursive: true, force: true })
    }
  }
  const dir = path.join(parent, `${name}-${Date.now()}-${process.pid}`)
  fs.mkdirSync(dir)
  const createUs = probeCreation(path.join(dir, '.create-probe'))
  return {
    path: dir,
    spread,
    createUs,
    remove: () => fs.promises.rm(dir, { recursive: true, force: true }),
  }
}

/**
 * One sentence on where a run wrote and what creating a file cost there, for its results.
 * @param dir - the run directory
 * @returns markdown
 */
export function describeRunDir(dir: RunDir): string {
  const placement = dir.spread
    ? 'a fresh directory placed by the ext4 allocator away from earlier runs (`chattr +T` on its parent)'
    : 'a fresh directory (its parent could not be given the ext4 `T` attribute)'
  return (
    `Files written to ${placement}; creating an empty file there took ` +
    `${dir.createUs.toFixed(1)} µs at the start of the run (about 10 µs normally, 150–220 µs ` +
    `next to many files deleted minutes before: see \`bench/lib/run-dir.ts\`).`
  )
}

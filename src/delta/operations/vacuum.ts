/**
 * VACUUM and targeted purges: physical deletion of data files (digest section 7.5).
 *
 * VACUUM runs in FULL mode, like Spark: it lists the whole table directory and deletes every
 * file that {@link planVacuum} selects (unreferenced by the latest snapshot and by unexpired
 * tombstones, older than the retention, not hidden), then removes directories left empty.
 * Planning is separate from execution: a dry run returns the plan of a real run.
 *
 * A real run records itself in the log, as delta-rs and Spark do, with two commits holding only
 * `commitInfo`: `VACUUM START` (parameters `retentionCheckEnabled`, `specifiedRetentionMillis`,
 * `defaultRetentionMillis`; metrics `numFilesToDelete`, `sizeOfDataToDelete`) before the first
 * deletion, and `VACUUM END` (parameter `status` `COMPLETED` or `FAILED`; metrics
 * `numDeletedFiles`, `numVacuumedDirectories`) after the last. Both are skipped when there is
 * no file to delete. Such commits change no table state, so a concurrent commit never makes
 * them wrong: after a conflict they are simply retried on the newer snapshot.
 *
 * `purgeFiles` deletes named files that the latest version no longer references, regardless of
 * retention (GDPR erasure rewrites the rows, then purges the old files at once), and records a
 * `PURGE FILES` commit before deleting, so every deletion has a record in the log.
 * @module
 */
import { forEachBounded } from '../concurrency.js'
import type { Dirent } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as nodePath from 'node:path'
import type { Action, RemoveAction } from '../actions/actions.js'
import type { Clock } from '../clock.js'
import { CommitConflictError, DeltaError, isDeltaError } from '../errors.js'
import { LOG_DIR, parseLogKey } from '../log/log-path.js'
import { readCommit, type Snapshot } from '../snapshot/snapshot.js'
import { checkWriteSupported } from '../snapshot/table-features.js'
import { LocalFsStore } from '../storage/local-fs-store.js'
import type { ObjectMeta, ObjectStore } from '../storage/object-store.js'
import { Transaction } from '../transaction/transaction.js'
import { finishCommit, type Finished, type FinishedWrite } from './finish-commit.js'
import {
  dataFileKeyOf,
  expiredTombstoneFiles,
  isHiddenPath,
  isHiddenPathComponent,
  needsMetadata,
  planVacuum,
  protectedKeys,
  resolveVacuumRetention,
  type ListedFile,
  type VacuumOptions,
  type VacuumPlan,
} from './vacuum-plan.js'

export {
  isHiddenPath,
  planVacuum,
  resolveVacuumRetention,
  type VacuumFile,
  type VacuumOptions,
  type VacuumPlan,
  type VacuumRetention,
} from './vacuum-plan.js'

/** How many deletions run at once. */
const DELETE_CONCURRENCY = 32

/** How many files are stat-ed at once while listing a local table. */
const STAT_CONCURRENCY = 64

/** How many times a commitInfo-only commit is retried on a newer snapshot after a conflict. */
const MAX_RECORD_ATTEMPTS = 10

/**
 * Slack between writers' clocks and the store's modification times when looking for commits
 * whose tombstones a checkpoint may have dropped.
 */
const CLOCK_SKEW_MS = 3_600_000

/** Result of a vacuum (or of its dry run). */
export interface VacuumResult {
  /** True for a dry run: nothing was deleted or committed. */
  readonly dryRun: boolean
  /**
   * Keys of the files deleted (for a dry run: that a real run would delete), sorted. A file
   * that vanished before its deletion (a concurrent vacuum) is not listed.
   */
  readonly filesDeleted: readonly string[]
  /** Bytes of the files in {@link VacuumResult.filesDeleted}. */
  readonly bytesDeleted: number
  /** Directories removed (for a dry run: planned), deepest first. */
  readonly directoriesDeleted: readonly string[]
  /** The plan the run executed. */
  readonly plan: VacuumPlan
  /** Version of the `VACUUM START` commit (undefined for a dry run or nothing to delete). */
  readonly startVersion?: number
  /** Version of the `VACUUM END` commit. */
  readonly endVersion?: number
}

/** Result of a targeted purge. */
export interface PurgeResult {
  /** Keys of the files deleted, sorted. */
  readonly filesDeleted: readonly string[]
  /** Keys of requested files that did not exist (already purged or vacuumed). */
  readonly filesMissing: readonly string[]
  /** Bytes deleted. */
  readonly bytesDeleted: number
  /** Version of the `PURGE FILES` commit (undefined when nothing existed to purge). */
  readonly version?: number
}

/**
 * Runs `fn` over `items` with bounded concurrency and waits for every call.
 * @returns the settled results, in item order
 */
async function settleBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const out = new Array<PromiseSettledResult<R>>(items.length)
  // The task never throws, so every item runs.
  await forEachBounded(items, concurrency, async (item, i) => {
    try {
      out[i] = { status: 'fulfilled', value: await fn(item) }
    } catch (reason) {
      out[i] = { status: 'rejected', reason }
    }
  })
  return out
}

/**
 * Commits a commit holding only `commitInfo`. It changes no table state, so a conflict reported
 * by the transaction (a concurrent metadata or protocol change) only means "retry on the newer
 * snapshot"; the writer protocol check runs again on that snapshot.
 */
async function recordOperation(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  operation: string,
  parameters: Readonly<Record<string, unknown>>,
  metrics: Record<string, number>,
): Promise<FinishedWrite> {
  let current = snapshot
  for (let attempt = 1; ; attempt++) {
    const txn = new Transaction(store, current, clock, {
      operation,
      operationParameters: parameters,
    })
    try {
      return await finishCommit(store, txn, clock, metrics)
    } catch (error) {
      if (!(error instanceof CommitConflictError) || attempt >= MAX_RECORD_ATTEMPTS) throw error
      current = await current.update(store)
    }
  }
}

/** Files and directories of a table, as far as a vacuum needs them. */
interface TableListing {
  /** Files; metadata only where `wanted(key)` said so. */
  readonly files: ListedFile[]
  /** Directories with modification times (stores with directories only). */
  readonly directories: ObjectMeta[] | undefined
}

/**
 * Lists a table for a vacuum. A local table is walked directly: one `readdir` per directory,
 * hidden directories (`_delta_log` among them) are listed but not entered, and only files that
 * `wanted` selects are stat-ed (a table whose files are mostly live needs few stat calls). Other
 * stores are listed recursively with their metadata.
 */
async function listTable(
  store: ObjectStore,
  partitionColumns: readonly string[],
  wanted: (key: string) => boolean,
): Promise<TableListing> {
  if (!(store instanceof LocalFsStore)) {
    return { files: await store.list('', { recursive: true }), directories: undefined }
  }
  const names: string[] = []
  const directories: ObjectMeta[] = []
  const walk = async (dirKey: string, absolute: string): Promise<void> => {
    let entries: Dirent[]
    try {
      entries = await fs.readdir(absolute, { withFileTypes: true })
    } catch (error) {
      if (isMissing(error)) return
      throw storageError(store, 'list', dirKey || '.', error)
    }
    const subdirs: Promise<void>[] = []
    for (const entry of entries) {
      // Names that are no valid key cannot be addressed (the store leaves them out too).
      if (entry.name.includes('\\')) continue
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`
      if (entry.isFile() || entry.isSymbolicLink()) names.push(key)
      else if (entry.isDirectory()) {
        const path = nodePath.join(absolute, entry.name)
        subdirs.push(
          fs.stat(path).then(
            async (stats) => {
              directories.push({ key, size: 0, lastModified: Math.floor(stats.mtimeMs) })
              if (!isHiddenPathComponent(entry.name, partitionColumns)) await walk(key, path)
            },
            (error: unknown) => {
              if (!isMissing(error)) throw storageError(store, 'stat directory', key, error)
            },
          ),
        )
      }
    }
    const settled = await Promise.allSettled(subdirs)
    for (const s of settled) if (s.status === 'rejected') throw s.reason
  }
  await walk('', store.location)
  const files: ListedFile[] = []
  const candidates: string[] = []
  for (const key of names) {
    if (wanted(key)) candidates.push(key)
    else files.push({ key })
  }
  const stats = await settleBounded(candidates, STAT_CONCURRENCY, (key) =>
    fs.stat(nodePath.join(store.location, ...key.split('/'))),
  )
  for (let i = 0; i < candidates.length; i++) {
    const s = stats[i]!
    const key = candidates[i]!
    if (s.status === 'fulfilled') {
      // A symbolic link to a directory is not a file.
      if (s.value.isFile()) {
        files.push({ key, size: s.value.size, lastModified: Math.floor(s.value.mtimeMs) })
      }
    } else if (!isMissing(s.reason)) throw storageError(store, 'stat', key, s.reason)
  }
  return { files, directories }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** Removes an empty directory of a local table; false when it is gone or not empty. */
async function removeDirectory(store: ObjectStore, key: string): Promise<boolean> {
  if (!(store instanceof LocalFsStore)) return false
  try {
    await fs.rmdir(nodePath.join(store.location, ...key.split('/')))
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // Not empty: someone wrote into it after the listing; keep it.
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return false
    throw storageError(store, 'remove directory', key, error)
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error
    ? reason
    : new DeltaError('INTERNAL', `delta vacuum: non-Error failure: ${String(reason)}`)
}

function storageError(store: ObjectStore, op: string, key: string, cause: unknown): DeltaError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new DeltaError(
    'STORAGE_ERROR',
    `delta vacuum: ${op} "${key}" in ${store.location} failed: ${detail}`,
    { cause, context: { table: store.location, key } },
  )
}

/**
 * Tombstones that a checkpoint may have dropped although the vacuum retention still protects
 * them: a checkpoint keeps tombstones for the table's `delta.deletedFileRetentionDuration`, so
 * with a longer vacuum retention the removes of recent commits are read back from their files.
 */
async function recoverTombstones(
  store: ObjectStore,
  snapshot: Snapshot,
  retentionMs: number,
  cutoff: number,
): Promise<RemoveAction[]> {
  if (retentionMs <= snapshot.config.deletedFileRetentionMs) return []
  const commits = []
  for (const meta of await store.list(LOG_DIR)) {
    const f = parseLogKey(meta.key)
    if (f?.type !== 'commit' || f.version > snapshot.version) continue
    if (meta.lastModified > cutoff - CLOCK_SKEW_MS) commits.push({ version: f.version, key: f.key })
  }
  const read = await settleBounded(commits, DELETE_CONCURRENCY, (c) =>
    readCommit(store, snapshot.location, c),
  )
  const actions: Action[][] = []
  for (const r of read) {
    if (r.status === 'fulfilled') actions.push(r.value)
    // A commit removed by log cleanup meanwhile: its version is no longer readable anyway.
    else if (!isDeltaError(r.reason, 'VERSION_NOT_FOUND')) throw r.reason
  }
  return actions.flat().filter((a): a is RemoveAction => a.kind === 'remove')
}

/**
 * Lists the table and plans a vacuum of a snapshot.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param now - current time
 * @param options - retention options
 * @returns the plan
 * @throws DeltaError `INVALID_ARGUMENT`, `RETENTION_TOO_SHORT`, `STORAGE_ERROR`;
 *   UnsupportedProtocolError when the table needs writer features this engine lacks
 * @internal
 */
export async function buildVacuumPlan(
  store: ObjectStore,
  snapshot: Snapshot,
  now: number,
  options: VacuumOptions,
): Promise<VacuumPlan> {
  // vacuumProtocolCheck: vacuum must understand every writer feature, since features can
  // reference files the plan would otherwise consider unreferenced.
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
  const retention = resolveVacuumRetention(snapshot, options)
  const cutoff = now - retention.retentionMs
  const parts = snapshot.partitionColumns
  const extraTombstones = await recoverTombstones(store, snapshot, retention.retentionMs, cutoff)
  const keep = protectedKeys(snapshot, store.location, cutoff, extraTombstones)
  const expired = expiredTombstoneFiles(snapshot, store.location, cutoff)
  // Files of expired tombstones that record their size need no stat call.
  const listing = await listTable(
    store,
    parts,
    (key) => needsMetadata(key, parts, keep) && expired.get(key) === undefined,
  )
  return planVacuum({
    snapshot,
    location: store.location,
    listing: listing.files,
    directories: listing.directories,
    retention,
    now,
    extraTombstones,
    protectedKeys: keep,
    expiredFiles: expired,
  })
}

/**
 * VACUUM: deletes the files a plan selects and records the run in the log.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source (retention cut-off, commit timestamps)
 * @param options - retention, dry run, enforcement of the retention floor
 * @returns the deleted files (or those a real run would delete) and the snapshot after the run
 * @throws DeltaError `INVALID_ARGUMENT` (bad retention), `RETENTION_TOO_SHORT`,
 *   `STORAGE_ERROR` (a deletion failed: `VACUUM END` records status `FAILED` first),
 *   `UNSUPPORTED_FEATURE`; UnsupportedProtocolError
 * @internal
 */
export async function vacuumTable(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  options: VacuumOptions,
): Promise<Finished<VacuumResult>> {
  let current = snapshot
  let plan: VacuumPlan
  let start: FinishedWrite | undefined
  for (let attempt = 1; ; attempt++) {
    plan = await buildVacuumPlan(store, current, clock.now(), options)
    if (options.dryRun || plan.files.length === 0) break
    try {
      start = await commitVacuumStart(store, current, clock, plan)
      break
    } catch (error) {
      // A metadata or protocol change won the race: plan again on the new state.
      if (!(error instanceof CommitConflictError) || attempt >= MAX_RECORD_ATTEMPTS) throw error
      current = await current.update(store)
    }
  }
  if (options.dryRun) {
    return {
      result: {
        dryRun: true,
        filesDeleted: plan.files.map((f) => f.key),
        bytesDeleted: plan.sizeInBytes,
        directoriesDeleted: plan.directories,
        plan,
      },
      snapshot: current,
    }
  }
  if (!start) {
    // Nothing to delete: no commits (as delta-rs), but empty directories may still go.
    const directoriesDeleted = await removeDirectories(store, plan.directories)
    return {
      result: { dryRun: false, filesDeleted: [], bytesDeleted: 0, directoriesDeleted, plan },
      snapshot: current,
    }
  }
  // Commits that raced with VACUUM START: files they made live again (e.g. a RESTORE) are kept,
  // and a protocol this engine no longer supports stops the run before any deletion.
  let failure: Error | undefined
  const s = start.snapshot
  try {
    checkWriteSupported(s.protocol, s.metadata, s.schema, s.location)
  } catch (error) {
    failure = asError(error)
  }
  const referenced = new Set<string>()
  const keep = (snapshot: Snapshot): void => {
    for (const f of snapshot.files()) {
      const key = dataFileKeyOf(f.path, store.location)
      if (key !== undefined) referenced.add(key)
    }
  }
  keep(s)
  // And commits after VACUUM START, up to the deletions: a RESTORE committed meanwhile makes
  // files live again. (One committed during the deletions themselves can still lose files, as
  // with Spark's VACUUM: do not restore a version whose files a running VACUUM may delete.)
  if (failure === undefined) {
    try {
      keep(await s.update(store))
    } catch (error) {
      failure = asError(error)
    }
  }
  const toDelete = failure ? [] : plan.files.filter((f) => !referenced.has(f.key))
  const settled = await settleBounded(toDelete, DELETE_CONCURRENCY, (f) => store.delete(f.key))
  const filesDeleted: string[] = []
  let bytesDeleted = 0
  settled.forEach((s, i) => {
    const file = toDelete[i]!
    if (s.status === 'rejected') failure ??= asError(s.reason)
    else if (s.value) {
      filesDeleted.push(file.key)
      bytesDeleted += file.size
    }
  })
  let directoriesDeleted: string[] = []
  if (failure === undefined) {
    try {
      directoriesDeleted = await removeDirectories(store, plan.directories)
    } catch (error) {
      failure = asError(error)
    }
  }
  let end: FinishedWrite
  try {
    end = await recordOperation(
      store,
      start.snapshot,
      clock,
      'VACUUM END',
      { status: failure === undefined ? 'COMPLETED' : 'FAILED' },
      { numDeletedFiles: filesDeleted.length, numVacuumedDirectories: directoriesDeleted.length },
    )
  } catch (error) {
    // The first failure is the one to report (a failed deletion explains a failed END).
    throw failure ?? error
  }
  if (failure !== undefined) throw failure
  return {
    result: {
      dryRun: false,
      filesDeleted,
      bytesDeleted,
      directoriesDeleted,
      plan,
      startVersion: start.result.version,
      endVersion: end.result.version,
    },
    snapshot: end.snapshot,
  }
}

function commitVacuumStart(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  plan: VacuumPlan,
): Promise<FinishedWrite> {
  const r = plan.retention
  const txn = new Transaction(store, snapshot, clock, {
    operation: 'VACUUM START',
    operationParameters: {
      retentionCheckEnabled: r.retentionCheckEnabled,
      specifiedRetentionMillis: r.specifiedRetentionMs,
      defaultRetentionMillis: r.defaultRetentionMs,
    },
  })
  return finishCommit(store, txn, clock, {
    numFilesToDelete: plan.files.length,
    sizeOfDataToDelete: plan.sizeInBytes,
  })
}

/** Removes planned directories, deepest first (a parent only after its children). */
async function removeDirectories(store: ObjectStore, dirs: readonly string[]): Promise<string[]> {
  const removed: string[] = []
  for (const dir of dirs) if (await removeDirectory(store, dir)) removed.push(dir)
  return removed
}

function invalidPurge(snapshot: Snapshot, path: unknown, why: string): DeltaError {
  return new DeltaError(
    'INVALID_ARGUMENT',
    `delta purge: cannot purge ${JSON.stringify(path)} from table ${snapshot.location}: ${why}`,
    { context: { table: snapshot.location, path: String(path) } },
  )
}

/** Validates one purge path and returns its store key. */
function purgeKey(snapshot: Snapshot, location: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw invalidPurge(snapshot, path, 'not a non-empty path')
  }
  let key: string | undefined
  try {
    key = dataFileKeyOf(path, location)
  } catch (cause) {
    throw invalidPurge(snapshot, path, `malformed path (${(cause as Error).message})`)
  }
  if (key === undefined) throw invalidPurge(snapshot, path, 'it is outside the table')
  const segments = key.split('/')
  if (
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw invalidPurge(snapshot, path, 'it escapes the table root')
  }
  if (isHiddenPath(key, snapshot.partitionColumns)) {
    throw invalidPurge(snapshot, path, 'it is in _delta_log or a hidden path, not a data file')
  }
  return key
}

/**
 * Deletes data files that the latest version no longer references, ignoring the retention, and
 * records a `PURGE FILES` commit (parameter `paths`: the requested paths; metrics
 * `numPurgedFiles`, `sizeOfPurgedData`, `numMissingFiles`) before deleting. Older versions that
 * needed the files then fail to read with `DATA_FILE_NOT_FOUND`.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source
 * @param paths - data file paths as written in the log (`add.path` / `remove.path`)
 * @returns the deleted and the already missing files, and the snapshot after the commit
 * @throws DeltaError `INVALID_ARGUMENT` naming the first path that is still referenced by the
 *   latest version, in `_delta_log` or hidden, outside the table, or malformed (nothing is
 *   deleted then); `STORAGE_ERROR` (after the commit; purge again to finish);
 *   UnsupportedProtocolError
 * @internal
 */
export async function purgeFiles(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  paths: readonly string[],
): Promise<Finished<PurgeResult>> {
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
  const requested: readonly unknown[] = paths
  if (!Array.isArray(requested)) throw invalidPurge(snapshot, paths, 'paths must be an array')
  const live = new Set<string>()
  for (const f of snapshot.files()) {
    const key = dataFileKeyOf(f.path, store.location)
    if (key !== undefined) live.add(key)
  }
  const keys = new Map<string, string>()
  for (const path of requested) {
    const key = purgeKey(snapshot, store.location, path)
    if (live.has(key)) {
      throw invalidPurge(
        snapshot,
        path,
        `version ${snapshot.version} still references it (remove it from the table first)`,
      )
    }
    if (!keys.has(key)) keys.set(key, path as string)
  }
  const entries = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const heads = await settleBounded(entries, DELETE_CONCURRENCY, ([key]) => store.head(key))
  const existing: { key: string; path: string; size: number }[] = []
  const filesMissing: string[] = []
  for (let i = 0; i < entries.length; i++) {
    const [key, path] = entries[i]!
    const h = heads[i]!
    if (h.status === 'rejected') throw h.reason
    if (h.value) existing.push({ key, path, size: h.value.size })
    else filesMissing.push(key)
  }
  if (existing.length === 0) {
    return {
      result: { filesDeleted: [], filesMissing, bytesDeleted: 0 },
      snapshot,
    }
  }
  const size = existing.reduce((s, f) => s + f.size, 0)
  const committed = await recordOperation(
    store,
    snapshot,
    clock,
    'PURGE FILES',
    { paths: existing.map((f) => f.path) },
    {
      numPurgedFiles: existing.length,
      sizeOfPurgedData: size,
      numMissingFiles: filesMissing.length,
    },
  )
  // A commit that won the race against the record (a RESTORE) may reference a file again.
  const byKey = new Map(existing.map((e) => [e.key, e]))
  for (const f of committed.snapshot.files()) {
    const key = dataFileKeyOf(f.path, store.location)
    const hit = key === undefined ? undefined : byKey.get(key)
    if (hit) {
      throw invalidPurge(
        committed.snapshot,
        hit.path,
        `version ${committed.snapshot.version} references it again (nothing was deleted)`,
      )
    }
  }
  const settled = await settleBounded(existing, DELETE_CONCURRENCY, (f) => store.delete(f.key))
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) throw failed.reason
  const filesDeleted: string[] = []
  let bytesDeleted = 0
  settled.forEach((s, i) => {
    const f = existing[i]!
    if (s.status === 'fulfilled' && s.value) {
      filesDeleted.push(f.key)
      bytesDeleted += f.size
    } else filesMissing.push(f.key)
  })
  return {
    result: { filesDeleted, filesMissing, bytesDeleted, version: committed.result.version },
    snapshot: committed.snapshot,
  }
}

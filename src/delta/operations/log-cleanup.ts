/**
 * Log (metadata) cleanup: deletes expired commit, checkpoint and checksum files from
 * `_delta_log/` (digest section 7.6; Spark's `MetadataCleanup`).
 *
 * Enabled by `delta.enableExpiredLogCleanup` (default true); commits older than
 * `delta.logRetentionDuration` (default 30 days) are expired. The cutoff is `now - retention`
 * (Spark rounds it down to UTC midnight; delta-rs does not; neither does this). A commit's time
 * is its file's modification time, made monotonic the way history and time travel do.
 *
 * Procedure: take the newest commit older than the cutoff, then the newest complete classic
 * (single-file or multi-part) checkpoint at or below it: the safe checkpoint `C`. Delete every
 * commit, checkpoint (each part, complete or not, and UUID-named ones) and `.crc` file of a
 * version strictly below `C`, and every compaction file `X.Y.compacted.json` with `X <= C`
 * (readers never need one: the commits it summarizes stay). `C` and its own commit file stay,
 * so every version from `C` to the latest can still be opened, and `C`'s commitInfo remains in
 * the history. Without such a checkpoint no log file is deleted. Files are deleted oldest first,
 * so an interrupted cleanup leaves a log that still starts cleanly.
 *
 * Temp files a writer left in `_delta_log/` when it died between staging a commit file and
 * linking it (dot-prefixed, ending in `.tmp`) are deleted once they are older than the cutoff
 * too: no commit in progress is that old, and readers never look at them.
 * @module
 */
import { readLastCheckpoint } from '../checkpoint/last-checkpoint.js'
import { readCheckpoint } from '../checkpoint/read-checkpoint.js'
import { DeltaError } from '../errors.js'
import type { Clock } from '../clock.js'
import { LOG_DIR, parseLogKey, type LogFile } from '../log/log-path.js'
import { completeCheckpoints } from '../log/log-segment.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import { checkWriteSupported } from '../snapshot/table-features.js'
import type { ObjectMeta, ObjectStore } from '../storage/object-store.js'

/** How many log files are deleted at once. */
const DELETE_CONCURRENCY = 16

/** Options of log cleanup. */
export interface LogCleanupOptions {
  /** Return what would be deleted, without deleting. */
  readonly dryRun?: boolean
}

/** Result of log cleanup. */
export interface LogCleanupResult {
  /** True for a dry run. */
  readonly dryRun: boolean
  /** False when `delta.enableExpiredLogCleanup` is false (nothing was considered). */
  readonly enabled: boolean
  /** `now - delta.logRetentionDuration`, epoch milliseconds. */
  readonly cutoff: number
  /**
   * The safe checkpoint: files of versions below it were deleted. Undefined when no checkpoint
   * qualifies (then nothing was deleted).
   */
  readonly checkpointVersion: number | undefined
  /**
   * Keys of the log files deleted (for a dry run: that would be): stale temp files first, then
   * log files oldest first.
   */
  readonly deletedFiles: readonly string[]
}

/** The plan of one cleanup: the safe checkpoint and the files below it. */
export interface LogCleanupPlan {
  readonly cutoff: number
  readonly checkpointVersion: number | undefined
  /** Keys to delete: stale temp files, then log files oldest version first. */
  readonly files: readonly string[]
}

interface TimedLogFile {
  readonly file: LogFile
  readonly lastModified: number
}

/**
 * Plans a cleanup from a listing of `_delta_log/` (pure).
 * @param listing - the log directory's files with modification times
 * @param latestVersion - the latest version of the table (newer files are ignored)
 * @param cutoff - commits with a (monotonized) time before this are expired
 * @param hintVersion - the version `_last_checkpoint` names, if any
 * @returns the safe checkpoint and the files to delete
 */
export function planLogCleanup(
  listing: readonly { key: string; lastModified: number }[],
  latestVersion: number,
  cutoff: number,
  hintVersion?: number,
): LogCleanupPlan {
  const temps = listing
    .filter((meta) => isStaleTemp(meta.key, meta.lastModified, cutoff))
    .map((meta) => meta.key)
    .sort(compare)
  const plan = planExpiredLogFiles(listing, latestVersion, cutoff, hintVersion)
  return temps.length === 0 ? plan : { ...plan, files: [...temps, ...plan.files] }
}

/** A writer's temp file (`.<name>.<id>.tmp`) in `_delta_log/`, older than the cutoff. */
function isStaleTemp(key: string, lastModified: number, cutoff: number): boolean {
  const name = key.slice(LOG_DIR.length)
  return (
    key.startsWith(LOG_DIR) &&
    !name.includes('/') &&
    name.startsWith('.') &&
    name.endsWith('.tmp') &&
    lastModified < cutoff
  )
}

/** The expired commit, checkpoint and checksum files below the safe checkpoint. */
function planExpiredLogFiles(
  listing: readonly { key: string; lastModified: number }[],
  latestVersion: number,
  cutoff: number,
  hintVersion: number | undefined,
): LogCleanupPlan {
  const files: TimedLogFile[] = []
  for (const meta of listing) {
    const file = parseLogKey(meta.key)
    if (file) files.push({ file, lastModified: meta.lastModified })
  }
  const commits = files
    .filter((f) => f.file.type === 'commit' && f.file.version <= latestVersion)
    .sort((a, b) => a.file.version - b.file.version)
  let newestExpired: number | undefined
  let prev = Number.NEGATIVE_INFINITY
  for (const c of commits) {
    const ts = c.lastModified > prev ? c.lastModified : prev + 1
    prev = ts
    if (ts < cutoff) newestExpired = c.file.version
    else break
  }
  if (newestExpired === undefined) return { cutoff, checkpointVersion: undefined, files: [] }
  // Never below the checkpoint `_last_checkpoint` names: delta-kernel fails on a hint whose
  // checkpoint is gone.
  const limit = hintVersion === undefined ? newestExpired : Math.min(newestExpired, hintVersion)
  const checkpointVersion = newestCompleteCheckpoint(files, limit)
  if (checkpointVersion === undefined) return { cutoff, checkpointVersion, files: [] }
  const doomed = files.filter(({ file }) => {
    switch (file.type) {
      case 'commit':
      case 'checkpoint':
      case 'crc':
        return file.version < checkpointVersion
      case 'compacted':
        return file.version <= checkpointVersion
    }
  })
  doomed.sort((a, b) => a.file.version - b.file.version || compare(a.file.key, b.file.key))
  return { cutoff, checkpointVersion, files: doomed.map((f) => f.file.key) }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The newest complete classic or multi-part checkpoint at or below `maxVersion`. */
function newestCompleteCheckpoint(
  files: readonly TimedLogFile[],
  maxVersion: number,
): number | undefined {
  const parts = new Map<string, Set<number>>()
  let best: number | undefined
  for (const { file } of files) {
    if (file.type !== 'checkpoint' || file.version > maxVersion) continue
    if (file.flavor === 'classic') {
      if (best === undefined || file.version > best) best = file.version
    } else if (file.flavor === 'multipart') {
      const id = `${file.version}/${file.parts}`
      const set = parts.get(id) ?? new Set<number>()
      set.add(file.part ?? 0)
      parts.set(id, set)
      if (set.size === file.parts && (best === undefined || file.version > best)) {
        best = file.version
      }
    }
    // V2 (UUID-named) checkpoints may need sidecars this engine does not read: never the
    // safe point, though they are deleted below one.
  }
  return best
}

/**
 * Whether readers can start from the checkpoint of `version`: its single file, or every part
 * of a complete multi-part set, is non-empty and reads as a checkpoint.
 */
async function checkpointReadable(
  store: ObjectStore,
  location: string,
  listing: readonly ObjectMeta[],
  version: number,
): Promise<boolean> {
  const sizes = new Map(listing.map((meta) => [meta.key, meta.size]))
  const files: LogFile[] = []
  for (const meta of listing) {
    const file = parseLogKey(meta.key)
    if (file?.type === 'checkpoint' && file.version === version) files.push(file)
  }
  for (const ref of completeCheckpoints(files).get(version) ?? []) {
    if (ref.flavor === 'v2' || ref.keys.some((key) => sizes.get(key) === 0)) continue
    try {
      await readCheckpoint(store, location, ref)
      return true
    } catch (error) {
      if (!(error instanceof DeltaError)) throw error
    }
  }
  return false
}

/**
 * Deletes expired log files of a table (see the module documentation).
 * @param store - the table's store
 * @param snapshot - the latest snapshot (its table properties apply)
 * @param clock - time source
 * @param options - dry run
 * @returns the safe checkpoint and the deleted files
 * @throws DeltaError `STORAGE_ERROR` (files deleted before the failure stay deleted; the log is
 *   still consistent); UnsupportedProtocolError when the table needs writer features this
 *   engine lacks
 * @internal
 */
export async function cleanupExpiredLogs(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  options: LogCleanupOptions,
): Promise<LogCleanupResult> {
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
  const dryRun = options.dryRun ?? false
  const cutoff = clock.now() - snapshot.config.logRetentionMs
  if (!snapshot.config.enableExpiredLogCleanup) {
    return { dryRun, enabled: false, cutoff, checkpointVersion: undefined, deletedFiles: [] }
  }
  const [all, hint] = await Promise.all([store.list(LOG_DIR), readLastCheckpoint(store)])
  let listing: readonly ObjectMeta[] = all
  let plan = planLogCleanup(listing, snapshot.version, cutoff, hint?.version)
  // The safe checkpoint is where readers will start once the files below it are gone: it must
  // be one they can read (a writer that crashed mid-way may have left an empty or truncated
  // file under a checkpoint's name). An unreadable one is passed over for an older one.
  while (
    plan.files.length > 0 &&
    plan.checkpointVersion !== undefined &&
    !(await checkpointReadable(store, snapshot.location, listing, plan.checkpointVersion))
  ) {
    const bad = plan.checkpointVersion
    listing = listing.filter((meta) => {
      const file = parseLogKey(meta.key)
      return !(file?.type === 'checkpoint' && file.version === bad)
    })
    plan = planLogCleanup(listing, snapshot.version, cutoff, hint?.version)
  }
  if (!dryRun) {
    // Oldest first, a bounded window at a time: a crash leaves a log whose oldest files are gone.
    for (let i = 0; i < plan.files.length; i += DELETE_CONCURRENCY) {
      const batch = plan.files.slice(i, i + DELETE_CONCURRENCY)
      const settled = await Promise.allSettled(batch.map((key) => store.delete(key)))
      for (const s of settled) if (s.status === 'rejected') throw s.reason
    }
  }
  return {
    dryRun,
    enabled: true,
    cutoff,
    checkpointVersion: plan.checkpointVersion,
    deletedFiles: plan.files,
  }
}

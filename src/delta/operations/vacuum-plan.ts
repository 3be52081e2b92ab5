/**
 * VACUUM planning (digest section 7.5; Spark's FULL mode): which files and directories of a
 * table a vacuum deletes. The decision is a pure function of the snapshot, a listing of the
 * table directory and the clock, so a dry run reports exactly what a real run deletes.
 *
 * A file is deleted when all of these hold:
 * - no component of its path is hidden (see {@link isHiddenPathComponent}), so `_delta_log/`,
 *   temp files and foreign tools' folders are never touched;
 * - it is not protected: protected are the live `add` files of the snapshot and every tombstone
 *   that has not expired (`deletionTimestamp > now - retention`; a tombstone without a timestamp
 *   counts as expired, as in delta-kernel);
 * - its modification time is older than `now - retention` (a concurrent writer's data files that
 *   no commit references yet are recent, and so survive), or it is named by an expired tombstone
 *   (a file that was committed and then removed before the cutoff cannot be a write in progress,
 *   whatever its modification time says, e.g. after a copy; these are exactly the files
 *   delta-rs's LITE mode deletes, and the listing needs no `stat` for them).
 *
 * Unreferenced files older than the retention, such as the output of a failed write, are
 * deleted as well; this is what FULL mode adds to delta-rs's default LITE mode.
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#add-file-and-remove-file
 * @module
 */
import type { RemoveAction } from '../actions/actions.js'
import { DeltaError, InternalError } from '../errors.js'
import { LOG_DIR } from '../log/log-path.js'
import { escapePartitionPathComponent, resolveDataFilePath } from '../schema/paths.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectMeta } from '../storage/object-store.js'

/** Milliseconds per hour. */
export const HOUR_MS = 3_600_000

/** Options of a vacuum. */
export interface VacuumOptions {
  /**
   * Retention in hours (fractions allowed): files are deleted only when no version of the last
   * `retentionHours` needs them and they are older than that. Default: the table's
   * `delta.deletedFileRetentionDuration` (7 days unless set).
   */
  readonly retentionHours?: number
  /** Compute and return the plan; delete nothing and commit nothing. */
  readonly dryRun?: boolean
  /**
   * Refuse a retention shorter than the table's `delta.deletedFileRetentionDuration`
   * (default true). A shorter retention can delete files that running readers or writers
   * still use.
   */
  readonly enforceRetentionDuration?: boolean
}

/** The retention a vacuum applies, as written to the `VACUUM START` commit. */
export interface VacuumRetention {
  /** Retention in milliseconds actually applied. */
  readonly retentionMs: number
  /** The table's `delta.deletedFileRetentionDuration` in milliseconds. */
  readonly defaultRetentionMs: number
  /** The retention the caller asked for, in milliseconds (undefined: the default). */
  readonly specifiedRetentionMs: number | undefined
  /** Whether the retention floor was enforced. */
  readonly retentionCheckEnabled: boolean
}

/** A file the plan deletes. */
export interface VacuumFile {
  /** Store key (the decoded path relative to the table root). */
  readonly key: string
  /** Size in bytes. */
  readonly size: number
  /**
   * Modification time, epoch milliseconds (undefined for a file named by an expired tombstone
   * whose time was not needed).
   */
  readonly lastModified?: number
}

/** What one vacuum deletes: a plain object, printed by dry runs. */
export interface VacuumPlan {
  /** Table location, for messages. */
  readonly table: string
  /** Version of the snapshot the plan was computed from. */
  readonly version: number
  /** The retention applied. */
  readonly retention: VacuumRetention
  /** The instant the plan was made (epoch milliseconds). */
  readonly now: number
  /** `now - retentionMs`: older files and tombstones are expired. */
  readonly cutoff: number
  /** Files to delete, sorted by key. */
  readonly files: readonly VacuumFile[]
  /** Sum of the sizes of {@link VacuumPlan.files}. */
  readonly sizeInBytes: number
  /**
   * Directories to remove once the files are gone, deepest first (only on stores with real
   * directories; empty otherwise).
   */
  readonly directories: readonly string[]
  /**
   * Files listed in the table directory (hidden ones included; a local listing does not enter
   * hidden directories).
   */
  readonly numFilesListed: number
  /** Listed files kept because a live file or an unexpired tombstone references them. */
  readonly numProtectedFiles: number
  /** Listed files kept only because they are newer than the cutoff. */
  readonly numRecentFiles: number
}

/** A listed file; `size` and `lastModified` may be missing when the plan cannot need them. */
export interface ListedFile {
  readonly key: string
  readonly size?: number
  readonly lastModified?: number
}

/** Inputs of {@link planVacuum}. */
export interface VacuumPlanInput {
  /** The latest snapshot. */
  readonly snapshot: Snapshot
  /** Store location (to relate absolute `file:` paths in the log to keys). */
  readonly location: string
  /**
   * Every file below the table root (a recursive listing). Size and modification time are
   * needed only for files that are neither hidden nor protected (see {@link needsMetadata});
   * files below hidden directories may be left out.
   */
  readonly listing: readonly ListedFile[]
  /**
   * Every directory below the table root (keys without trailing slash) with its modification
   * time, when the store has directories; undefined otherwise.
   */
  readonly directories?: readonly ObjectMeta[]
  /** The retention. */
  readonly retention: VacuumRetention
  /** The current time. */
  readonly now: number
  /**
   * Tombstones known from commit files beyond those in the snapshot (a checkpoint drops
   * tombstones older than the table's retention; a longer vacuum retention needs them back).
   */
  readonly extraTombstones?: readonly RemoveAction[]
  /** The protected keys, when the caller computed them already (else computed here). */
  readonly protectedKeys?: ReadonlySet<string>
  /** The result of {@link expiredTombstoneFiles}, when the caller computed it already. */
  readonly expiredFiles?: ReadonlyMap<string, number | undefined>
}

/**
 * Whether one component (directory or file name) of a path is hidden from VACUUM, following
 * Spark: names starting with `.` or `_` are hidden, except `_change_data*`, `_delta_index*`
 * and partition directories `<partition column>=…` (whose column name may start with `_`).
 * `metadata` is hidden too (Spark reserves it for Iceberg metadata of UniForm tables).
 * @param name - one path component
 * @param partitionColumns - the table's partition columns
 * @returns true when VACUUM must not touch the component or anything below it
 */
export function isHiddenPathComponent(name: string, partitionColumns: readonly string[]): boolean {
  if (name === 'metadata') return true
  if (!name.startsWith('.') && !name.startsWith('_')) return false
  if (name.startsWith('_change_data') || name.startsWith('_delta_index')) return false
  return !partitionColumns.some(
    (c) => name.startsWith(`${c}=`) || name.startsWith(`${escapePartitionPathComponent(c)}=`),
  )
}

/**
 * Whether a store key is hidden from VACUUM: anything in `_delta_log/`, or any component hidden
 * by {@link isHiddenPathComponent} (Spark tests every component, not only the first).
 * @param key - store key relative to the table root
 * @param partitionColumns - the table's partition columns
 * @returns true when VACUUM must not delete it
 */
export function isHiddenPath(key: string, partitionColumns: readonly string[]): boolean {
  if (key === LOG_DIR.slice(0, -1) || key.startsWith(LOG_DIR)) return true
  return key.split('/').some((c) => isHiddenPathComponent(c, partitionColumns))
}

/**
 * The store key of a data file named in the log, or undefined for an absolute URI outside the
 * table root (which a vacuum of this table cannot touch anyway).
 * @param path - `add.path` / `remove.path` as written in the log
 * @param location - the store location
 * @returns the key relative to the table root
 * @throws DeltaError `MALFORMED_ACTION` for malformed percent escapes
 */
export function dataFileKeyOf(path: string, location: string): string | undefined {
  const resolved = resolveDataFilePath(path)
  if ('relative' in resolved) return resolved.relative
  const root = location.replace(/\/+$/, '')
  const abs = resolved.absolute.replace(/^file:(\/\/)?/, '')
  return abs.startsWith(`${root}/`) ? abs.slice(root.length + 1) : undefined
}

/**
 * Validates the vacuum options and computes the retention.
 * @param snapshot - the latest snapshot (its `delta.deletedFileRetentionDuration`)
 * @param options - the caller's options
 * @returns the retention to apply
 * @throws DeltaError `INVALID_ARGUMENT` for a negative, NaN or infinite retention;
 *   `RETENTION_TOO_SHORT` for a retention below the table's unless
 *   `enforceRetentionDuration: false`
 */
export function resolveVacuumRetention(
  snapshot: Snapshot,
  options: VacuumOptions,
): VacuumRetention {
  const table = snapshot.location
  const defaultRetentionMs = snapshot.config.deletedFileRetentionMs
  const hours = options.retentionHours
  if (hours !== undefined && (typeof hours !== 'number' || !Number.isFinite(hours) || hours < 0)) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta vacuum: retentionHours ${String(hours)} for table ${table} is not a non-negative number`,
      { context: { table } },
    )
  }
  const specifiedRetentionMs = hours === undefined ? undefined : Math.round(hours * HOUR_MS)
  const retentionMs = specifiedRetentionMs ?? defaultRetentionMs
  const retentionCheckEnabled = options.enforceRetentionDuration ?? true
  if (retentionCheckEnabled && retentionMs < defaultRetentionMs) {
    throw new DeltaError(
      'RETENTION_TOO_SHORT',
      `delta vacuum: retention ${retentionMs / HOUR_MS} hours is shorter than the ` +
        `delta.deletedFileRetentionDuration of table ${table} (${defaultRetentionMs / HOUR_MS} hours); ` +
        'files still needed by running readers or writers could be deleted. Pass ' +
        'enforceRetentionDuration: false to vacuum anyway.',
      {
        context: {
          table,
          retentionHours: retentionMs / HOUR_MS,
          configuredRetentionHours: defaultRetentionMs / HOUR_MS,
        },
      },
    )
  }
  return { retentionMs, defaultRetentionMs, specifiedRetentionMs, retentionCheckEnabled }
}

/**
 * The keys a vacuum must keep: every live file and every unexpired tombstone of the snapshot
 * (plus `extraTombstones` that have not expired).
 * @param snapshot - the latest snapshot
 * @param location - the store location
 * @param cutoff - tombstones deleted at or before this instant are expired
 * @param extraTombstones - tombstones recovered from commit files
 * @returns store keys
 * @throws DeltaError `UNSUPPORTED_FEATURE` when a protected file has a deletion vector (its
 *   DV file would have to be protected too)
 */
export function protectedKeys(
  snapshot: Snapshot,
  location: string,
  cutoff: number,
  extraTombstones: readonly RemoveAction[] = [],
): Set<string> {
  const keys = new Set<string>()
  const protect = (path: string, dv: unknown): void => {
    if (dv) {
      throw new DeltaError(
        'UNSUPPORTED_FEATURE',
        `delta vacuum: table ${snapshot.location} has deletion vectors (${path}), which this engine does not vacuum`,
        { context: { table: snapshot.location } },
      )
    }
    const key = dataFileKeyOf(path, location)
    if (key !== undefined) keys.add(key)
  }
  for (const add of snapshot.files()) protect(add.path, add.deletionVector)
  for (const r of [...snapshot.tombstones(), ...extraTombstones]) {
    if ((r.deletionTimestamp ?? 0) > cutoff) protect(r.path, r.deletionVector)
  }
  return keys
}

/**
 * The files named by expired tombstones (`deletionTimestamp <= cutoff`; tombstones without a
 * timestamp are left out), with their size when
 * the tombstone records it. Protected files may be among them (a file removed, then re-added).
 * @param snapshot - the latest snapshot
 * @param location - the store location
 * @param cutoff - the retention cut-off
 * @returns key to size
 */
export function expiredTombstoneFiles(
  snapshot: Snapshot,
  location: string,
  cutoff: number,
): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>()
  for (const r of snapshot.tombstones()) {
    // Without a deletion timestamp nothing says when the file was removed: its modification
    // time must decide (it counts as expired for protection all the same).
    const at = r.deletionTimestamp
    if (at === undefined || at === null || at > cutoff) continue
    const key = dataFileKeyOf(r.path, location)
    if (key !== undefined) out.set(key, r.size ?? undefined)
  }
  return out
}

/**
 * Whether the plan needs the size and modification time of a listed file: only files that are
 * neither hidden nor protected are candidates for deletion (so a listing can skip stat calls for
 * the others).
 * @param key - store key
 * @param partitionColumns - the table's partition columns
 * @param protectedSet - the result of {@link protectedKeys}
 * @returns true for deletion candidates
 */
export function needsMetadata(
  key: string,
  partitionColumns: readonly string[],
  protectedSet: ReadonlySet<string>,
): boolean {
  return !protectedSet.has(key) && !isHiddenPath(key, partitionColumns)
}

/** Every proper ancestor directory of a key (`a/b/c` → `a`, `a/b`). */
function ancestors(key: string): string[] {
  const out: string[] = []
  for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) out.push(key.slice(0, i))
  return out
}

/**
 * Plans a vacuum: which files are deleted, and which directories are removed after them.
 *
 * A directory is removed when it is not hidden, its modification time is older than the cutoff
 * (nobody created or removed an entry in it during the retention window), and nothing remains
 * below it: no kept file and no kept directory.
 * @param input - snapshot, listings, retention and time
 * @returns the plan
 * @throws DeltaError `UNSUPPORTED_FEATURE` for deletion vectors; `MALFORMED_ACTION` for
 *   malformed paths in the log
 */
export function planVacuum(input: VacuumPlanInput): VacuumPlan {
  const { snapshot, retention, now } = input
  const cutoff = now - retention.retentionMs
  const parts = snapshot.partitionColumns
  const keep =
    input.protectedKeys ?? protectedKeys(snapshot, input.location, cutoff, input.extraTombstones)
  const expired = input.expiredFiles ?? expiredTombstoneFiles(snapshot, input.location, cutoff)
  const files: VacuumFile[] = []
  const kept: string[] = []
  let numProtectedFiles = 0
  let numRecentFiles = 0
  for (const meta of input.listing) {
    if (isHiddenPath(meta.key, parts)) kept.push(meta.key)
    else if (keep.has(meta.key)) {
      numProtectedFiles++
      kept.push(meta.key)
    } else if (expired.has(meta.key)) {
      const size = meta.size ?? expired.get(meta.key)
      if (size === undefined) throw new InternalError(`vacuum plan: no size for ${meta.key}`)
      files.push({ key: meta.key, size, lastModified: meta.lastModified })
    } else if (meta.lastModified === undefined || meta.size === undefined) {
      throw new InternalError(`vacuum plan: no size or modification time for ${meta.key}`)
    } else if (!(meta.lastModified < cutoff)) {
      numRecentFiles++
      kept.push(meta.key)
    } else {
      files.push({ key: meta.key, size: meta.size, lastModified: meta.lastModified })
    }
  }
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const directories: string[] = []
  if (input.directories) {
    const blocked = new Set<string>()
    for (const key of kept) for (const a of ancestors(key)) blocked.add(a)
    const candidates: string[] = []
    for (const dir of input.directories) {
      const bad = isHiddenPath(dir.key, parts) || !(dir.lastModified < cutoff)
      if (bad) {
        blocked.add(dir.key)
        for (const a of ancestors(dir.key)) blocked.add(a)
      } else candidates.push(dir.key)
    }
    for (const dir of candidates) if (!blocked.has(dir)) directories.push(dir)
    const depth = (k: string): number => k.split('/').length
    directories.sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : a > b ? 1 : 0))
  }
  return {
    table: snapshot.location,
    version: snapshot.version,
    retention,
    now,
    cutoff,
    files,
    sizeInBytes: files.reduce((s, f) => s + f.size, 0),
    directories,
    numFilesListed: input.listing.length,
    numProtectedFiles,
    numRecentFiles,
  }
}

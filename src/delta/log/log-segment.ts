/**
 * The log segment of a snapshot: the newest usable checkpoint at or below the target version
 * plus the contiguous commits after it ("Action Reconciliation" and "Checkpoints" in
 * PROTOCOL.md; digest section 1.3).
 *
 * `_last_checkpoint` is used only to start the listing late; if it is missing, stale, empty or
 * corrupt the whole log is listed. Gaps between the checkpoint and the target are errors.
 * A checkpoint with an empty (0-byte) or vanished file is passed over for the next one at the
 * same version or an older one, or for commit 0: the protocol replays from the newest complete,
 * non-empty checkpoint. Only the chosen checkpoint's files are looked up (listings carry no
 * sizes).
 * @module
 */
import { DeltaError, VersionNotFoundError } from '../errors.js'
import type { ObjectStore } from '../storage/object-store.js'
import { readLastCheckpoint } from '../checkpoint/last-checkpoint.js'
import { commitKey, LOG_DIR, padVersion, parseLogKey, type LogFile } from './log-path.js'

/** A complete checkpoint: one file, or every part of a multi-part checkpoint. */
export interface CheckpointRef {
  readonly version: number
  readonly flavor: 'classic' | 'multipart' | 'v2'
  /** All files of the checkpoint, in part order. */
  readonly keys: readonly string[]
}

/** A commit file. */
export interface CommitRef {
  readonly version: number
  readonly key: string
}

/** The files needed to reconstruct one version of a table. */
export interface LogSegment {
  /** The version this segment reconstructs. */
  readonly version: number
  /** The checkpoint replay starts from, if any. */
  readonly checkpoint: CheckpointRef | undefined
  /** Commits after the checkpoint up to `version`, ascending and contiguous. */
  readonly commits: readonly CommitRef[]
  /** The commit file at the checkpoint version, when it exists (for its commitInfo). */
  readonly checkpointCommit: CommitRef | undefined
}

/** Options of {@link buildLogSegment}. */
export interface LogSegmentOptions {
  /** Target version; the latest when omitted. */
  readonly version?: number
  /**
   * Use no checkpoint at or above this version (one that could not be read): the segment starts
   * at an older checkpoint or at commit 0.
   * @internal
   */
  readonly checkpointBelow?: number
}

interface Listing {
  readonly commits: Map<number, string>
  /** The complete checkpoints of each version, the preferred first. */
  readonly checkpoints: Map<number, CheckpointRef[]>
  readonly maxVersion: number
  readonly empty: boolean
}

/**
 * The complete checkpoints among log files, by version, the preferred first.
 * @internal
 */
export function completeCheckpoints(files: readonly LogFile[]): Map<number, CheckpointRef[]> {
  const classic = new Map<number, CheckpointRef>()
  const v2 = new Map<number, CheckpointRef>()
  // version -> parts -> part number -> key
  const multi = new Map<number, Map<number, Map<number, string>>>()
  for (const f of files) {
    if (f.type !== 'checkpoint') continue
    if (f.flavor === 'classic') {
      classic.set(f.version, { version: f.version, flavor: 'classic', keys: [f.key] })
    } else if (f.flavor === 'v2') {
      if (!v2.has(f.version)) v2.set(f.version, { version: f.version, flavor: 'v2', keys: [f.key] })
    } else {
      const byParts = multi.get(f.version) ?? new Map<number, Map<number, string>>()
      const parts = byParts.get(f.parts ?? 0) ?? new Map<number, string>()
      parts.set(f.part ?? 0, f.key)
      byParts.set(f.parts ?? 0, parts)
      multi.set(f.version, byParts)
    }
  }
  const out = new Map<number, CheckpointRef[]>()
  const add = (ref: CheckpointRef): void => {
    const refs = out.get(ref.version)
    if (refs === undefined) out.set(ref.version, [ref])
    else refs.push(ref)
  }
  // Preference for one version: classic, then the complete multi-part sets (most parts
  // first), then a V2 (UUID-named) checkpoint. All describe the same state.
  for (const ref of classic.values()) add(ref)
  for (const [version, byParts] of multi) {
    const complete = [...byParts.entries()]
      .filter(([parts, set]) => set.size === parts)
      .sort((a, b) => b[0] - a[0])
    for (const [parts, set] of complete) {
      const keys = Array.from({ length: parts }, (_, i) => set.get(i + 1) as string)
      add({ version, flavor: 'multipart', keys })
    }
  }
  for (const ref of v2.values()) add(ref)
  return out
}

const COMMIT_KEY_LENGTH = LOG_DIR.length + 25

/**
 * The version of a commit key (`_delta_log/<20 digits>.json`), else -1: what `parseLogKey`
 * returns for commits, without a regular expression and an object per key (a long log lists
 * tens of thousands of commit files).
 */
function commitVersion(key: string): number {
  if (key.length !== COMMIT_KEY_LENGTH || !key.startsWith(LOG_DIR) || !key.endsWith('.json')) {
    return -1
  }
  const start = LOG_DIR.length
  for (let i = start; i < start + 20; i++) {
    const c = key.charCodeAt(i)
    if (c < 48 || c > 57) return -1
  }
  return Number(key.slice(start, start + 20))
}

/** Listings repeated, at most, while commits are missing between listed ones. */
const RELISTS = 2
/** At most this many missing commits are then looked up by name. */
const MAX_GAP_PROBES = 64

/** The highest listed commit, and the commits missing below it (at most 65). */
function missingCommits(
  keys: Iterable<string>,
  from: number | undefined,
): { max: number; missing: number[] } {
  let min = from === undefined ? Infinity : from - 1
  let max = -1
  const listed = new Set<number>()
  for (const key of keys) {
    const v = commitVersion(key)
    if (v < 0) continue
    listed.add(v)
    if (from === undefined && v < min) min = v
    if (v > max) max = v
  }
  const missing: number[] = []
  for (let v = min + 1; v < max && missing.length <= MAX_GAP_PROBES; v++) {
    if (!listed.has(v)) missing.push(v)
  }
  return { max, missing }
}

/**
 * Lists the log without the gaps a race with writers leaves. A directory listing is not a
 * snapshot: one made while writers commit can leave out a commit created during it and still
 * return a later one (measured on ext4 with a fast writer: about one listing in 70). Such a
 * commit existed before the next listing began, so listing again finds it; the results are
 * merged (log files are immutable once published). Holes left after that are looked up by
 * name (at most 64). Holes still left that all lie above what the previous listing reached
 * come from the last listing's own race: the files from the lowest of them up are dropped,
 * which leaves what a listing made a moment earlier would have shown. A commit that is really
 * missing stays missing, for the caller's error.
 * @param list - one listing
 * @param keyOf - the key of a listed item
 * @param head - looks up one key
 * @param from - the first commit expected, when known (else the lowest listed)
 * @returns the merged items, in no particular order
 * @internal
 */
export async function listWithoutRaceGaps<T>(
  list: () => Promise<readonly T[]>,
  keyOf: (item: T) => string,
  head: (key: string) => Promise<T | undefined>,
  from?: number,
): Promise<T[]> {
  const byKey = new Map<string, T>()
  let reached = -1
  for (let attempt = 0; ; attempt++) {
    for (const item of await list()) byKey.set(keyOf(item), item)
    const { max, missing } = missingCommits(byKey.keys(), from)
    if (missing.length === 0) break
    if (attempt < RELISTS) {
      reached = max
      continue
    }
    if (missing.length <= MAX_GAP_PROBES) {
      for (const found of await Promise.all(missing.map((v) => head(commitKey(v))))) {
        if (found !== undefined) byKey.set(keyOf(found), found)
      }
    }
    const left = missingCommits(byKey.keys(), from).missing
    const lowest = left[0]
    if (lowest !== undefined && lowest > reached) {
      for (const key of [...byKey.keys()]) {
        const version = parseLogKey(key)?.version
        if (version !== undefined && version >= lowest) byKey.delete(key)
      }
    }
    break
  }
  return [...byKey.values()]
}

/**
 * Keys of the log (after `startAfter`), without the gaps of a listing race.
 * @param store - the table's store
 * @param options - `startAfter`
 * @param from - the first commit expected, when known
 * @returns the keys, in no particular order
 * @internal
 */
export function listKeysWithoutRaceGaps(
  store: ObjectStore,
  options: { readonly startAfter?: string },
  from?: number,
): Promise<string[]> {
  return listWithoutRaceGaps(
    () => store.listKeys(LOG_DIR, options),
    (key) => key,
    async (key) => ((await store.head(key)) === undefined ? undefined : key),
    from,
  )
}

async function listLog(store: ObjectStore, startAfter?: string): Promise<Listing> {
  const options = startAfter === undefined ? {} : { startAfter }
  const keys = await listKeysWithoutRaceGaps(store, options)
  const commits = new Map<number, string>()
  const others: LogFile[] = []
  let maxVersion = -1
  for (const key of keys) {
    const version = commitVersion(key)
    if (version >= 0) {
      commits.set(version, key)
      if (version > maxVersion) maxVersion = version
      continue
    }
    const f = parseLogKey(key)
    if (f) others.push(f)
  }
  const checkpoints = completeCheckpoints(others)
  for (const v of checkpoints.keys()) if (v > maxVersion) maxVersion = v
  return { commits, checkpoints, maxVersion, empty: commits.size === 0 && checkpoints.size === 0 }
}

/**
 * The earliest version that can be reconstructed from a full listing: 0 when `0.json` exists,
 * otherwise the oldest complete checkpoint followed by contiguous commits up to the latest.
 */
function earliestReconstructable(listing: Listing): number | undefined {
  if (listing.commits.has(0)) return 0
  const cps = [...listing.checkpoints.keys()].sort((a, b) => a - b)
  for (const cp of cps) {
    let ok = true
    for (let v = cp + 1; v <= listing.maxVersion; v++) {
      if (!listing.commits.has(v)) {
        ok = false
        break
      }
    }
    if (ok) return cp
  }
  return undefined
}

function select(
  listing: Listing,
  location: string,
  version: number | undefined,
  full: boolean,
): LogSegment | undefined {
  const target = version ?? listing.maxVersion
  if (target > listing.maxVersion) {
    if (!full) return undefined
    throw new VersionNotFoundError(
      `delta log: version ${target} of table ${location} does not exist (latest is ${listing.maxVersion})`,
      { earliest: earliestReconstructable(listing), latest: listing.maxVersion },
      { context: { table: location, version: target } },
    )
  }
  let checkpoint: CheckpointRef | undefined
  for (const [v, refs] of listing.checkpoints) {
    if (v <= target && (!checkpoint || v > checkpoint.version)) checkpoint = refs[0]
  }
  if (!checkpoint && !full) return undefined
  const first = checkpoint ? checkpoint.version + 1 : 0
  if (!checkpoint && !listing.commits.has(0)) {
    const earliest = earliestReconstructable(listing)
    if (earliest !== undefined && target < earliest) {
      throw new VersionNotFoundError(
        `delta log: version ${target} of table ${location} is no longer reconstructable ` +
          `(earliest available is ${earliest}, latest is ${listing.maxVersion})`,
        { earliest, latest: listing.maxVersion },
        { context: { table: location, version: target } },
      )
    }
    throw new DeltaError(
      'MALFORMED_LOG',
      `delta log: table ${location} has no commit 0 and no checkpoint to start from`,
      { context: { table: location } },
    )
  }
  const commits: CommitRef[] = []
  for (let v = first; v <= target; v++) {
    const key = listing.commits.get(v)
    if (key === undefined) {
      throw new DeltaError(
        'VERSIONS_NOT_CONTIGUOUS',
        `delta log: table ${location} is missing commit ${v} ` +
          `(versions must be contiguous from ${first} to ${target})`,
        { context: { table: location, missingVersion: v } },
      )
    }
    commits.push({ version: v, key })
  }
  const cpCommitKey = checkpoint ? listing.commits.get(checkpoint.version) : undefined
  return {
    version: target,
    checkpoint,
    commits,
    checkpointCommit:
      checkpoint && cpCommitKey !== undefined
        ? { version: checkpoint.version, key: cpCommitKey }
        : undefined,
  }
}

/** Whether every file of a checkpoint still exists and holds bytes. */
async function isNonEmpty(store: ObjectStore, checkpoint: CheckpointRef): Promise<boolean> {
  const metas = await Promise.all(checkpoint.keys.map((key) => store.head(key)))
  return metas.every((meta) => meta !== undefined && meta.size > 0)
}

/**
 * {@link select}, passing over checkpoints with an empty or vanished file (a writer that died
 * before writing it, a copy that lost it): the next one of the same version, else an older one,
 * else commit 0. Drops them from `listing`.
 */
async function selectNonEmpty(
  store: ObjectStore,
  listing: Listing,
  location: string,
  version: number | undefined,
  full: boolean,
): Promise<LogSegment | undefined> {
  for (;;) {
    const segment = select(listing, location, version, full)
    const checkpoint = segment?.checkpoint
    if (checkpoint === undefined || (await isNonEmpty(store, checkpoint))) return segment
    const refs = listing.checkpoints.get(checkpoint.version) ?? []
    refs.shift()
    if (refs.length === 0) listing.checkpoints.delete(checkpoint.version)
  }
}

/**
 * Lists the log and selects the files that reconstruct a version.
 * @param store - the table's store
 * @param location - table location for messages
 * @param options - target version (latest when omitted)
 * @returns the log segment
 * @throws DeltaError `TABLE_NOT_FOUND` when there is no log, `VERSIONS_NOT_CONTIGUOUS` on a
 *   gap, `MALFORMED_LOG` when the log has no start; VersionNotFoundError for versions outside
 *   the reconstructable range; DeltaError `INVALID_VERSION` for a negative or non-integer version
 */
export async function buildLogSegment(
  store: ObjectStore,
  location: string,
  options: LogSegmentOptions = {},
): Promise<LogSegment> {
  const { version, checkpointBelow } = options
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 0)) {
    throw new DeltaError(
      'INVALID_VERSION',
      `delta log: version ${String(version)} of table ${location} is not a non-negative integer`,
      { context: { table: location } },
    )
  }
  // The hint names the newest checkpoint, which a caller passing `checkpointBelow` could not use.
  const hint = checkpointBelow === undefined ? await readLastCheckpoint(store) : undefined
  if (hint && (version === undefined || hint.version <= version)) {
    const partial = await listLog(store, `${LOG_DIR}${padVersion(hint.version)}`)
    // Usable only if the listing holds a complete checkpoint at or after the hint; a hint that
    // names a deleted or partial checkpoint falls through to a full listing.
    if (partial.checkpoints.size > 0) {
      const segment = await selectNonEmpty(store, partial, location, version, false)
      if (segment) return segment
    }
  }
  const listing = await listLog(store)
  if (listing.empty) {
    throw new DeltaError(
      'TABLE_NOT_FOUND',
      `delta log: no Delta table at ${location} (no commits in ${LOG_DIR})`,
      { context: { table: location } },
    )
  }
  if (checkpointBelow !== undefined) {
    for (const v of [...listing.checkpoints.keys()]) {
      if (v >= checkpointBelow) listing.checkpoints.delete(v)
    }
  }
  const segment = await selectNonEmpty(store, listing, location, version, true)
  if (!segment) throw new DeltaError('INTERNAL', 'delta log: full listing selected nothing')
  return segment
}

/**
 * Lists every commit file of the log (ascending) with modification times, for history and
 * timestamp resolution.
 * @param store - the table's store
 * @returns commit versions, keys and file modification times
 */
export async function listCommitFiles(
  store: ObjectStore,
): Promise<{ version: number; key: string; lastModified: number }[]> {
  const metas = await listWithoutRaceGaps(
    () => store.list(LOG_DIR),
    (m) => m.key,
    (key) => store.head(key),
  )
  const out: { version: number; key: string; lastModified: number }[] = []
  for (const m of metas) {
    const f = parseLogKey(m.key)
    if (f?.type === 'commit')
      out.push({ version: f.version, key: m.key, lastModified: m.lastModified })
  }
  out.sort((a, b) => a.version - b.version)
  return out
}

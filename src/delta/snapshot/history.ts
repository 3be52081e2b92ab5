/**
 * Commit timestamps, timestamp-to-version resolution and table history (digest sections 2.2
 * and 7.7).
 *
 * The timestamp of a commit is its in-commit timestamp (ICT) when the table has them enabled
 * for that version, otherwise the commit file's modification time made monotonic the way
 * Spark does (a commit whose time is not after its predecessor's counts as predecessor + 1 ms).
 * History reports the same timestamps, so `open({ timestamp: entry.timestamp })` returns the
 * version of that entry.
 * @module
 */
import type { CommitInfoAction } from '../actions/actions.js'
import { DeltaError } from '../errors.js'
import { previewValue } from '../schema/values.js'
import { listCommitFiles } from '../log/log-segment.js'
import type { ObjectStore } from '../storage/object-store.js'
import { readCommit, readCommits, type Snapshot } from './snapshot.js'

/** One commit in the table history. */
export interface HistoryEntry {
  readonly version: number
  /** Commit timestamp (ICT, or monotonized file modification time). */
  readonly timestamp: Date
  readonly operation: string | undefined
  readonly operationParameters: Readonly<Record<string, unknown>>
  readonly operationMetrics: Readonly<Record<string, unknown>>
  readonly readVersion: number | undefined
  readonly isolationLevel: string | undefined
  readonly isBlindAppend: boolean | undefined
  readonly engineInfo: string | undefined
  readonly userMetadata: string | undefined
  /** The commitInfo object as written (empty when the commit has none). */
  readonly commitInfo: Readonly<Record<string, unknown>>
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/

/**
 * Parses a timestamp argument: a `Date`, epoch milliseconds, or an ISO-8601 string. A string
 * with a time part must carry a zone (`Z` or an offset); a bare date means UTC midnight.
 * @param value - the timestamp
 * @param location - table location for messages
 * @returns epoch milliseconds
 * @throws DeltaError `INVALID_TIMESTAMP`
 */
export function parseTimestampArg(value: Date | string | number, location: string): number {
  let ms = Number.NaN
  if (value instanceof Date) ms = value.getTime()
  else if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const m = ISO_RE.exec(value.trim())
    if (m) {
      const [, y, mo, d, h, mi, s, frac, zone] = m
      const monthOk = Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31
      if (monthOk && (h === undefined || zone !== undefined)) {
        const fracMs = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : ''
        const z =
          zone === undefined
            ? 'Z'
            : zone.length === 5
              ? `${zone.slice(0, 3)}:${zone.slice(3)}`
              : zone
        const text = `${y}-${mo}-${d}T${h ?? '00'}:${mi ?? '00'}:${s ?? '00'}${fracMs}${z}`
        ms = Date.parse(text)
        // Reject rolled-over dates such as 2026-02-31.
        const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
        if (check.getUTCDate() !== Number(d)) ms = Number.NaN
      }
    }
  }
  if (!Number.isFinite(ms)) {
    throw new DeltaError(
      'INVALID_TIMESTAMP',
      `delta time travel: ${previewValue(value)} is not a valid timestamp for table ${location} ` +
        '(use a Date, epoch milliseconds or ISO-8601 with a zone, e.g. 2026-02-10T00:00:00Z)',
      { context: { table: location } },
    )
  }
  return ms
}

function ictOf(info: CommitInfoAction | undefined): number | undefined {
  const v = info?.info.inCommitTimestamp
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** A commit file with its effective timestamp. */
interface TimedCommit {
  readonly version: number
  readonly key: string
  readonly timestamp: number
}

/** Versions at or after this one take their timestamp from ICT; undefined = no ICT. */
function ictStart(latest: Snapshot): number | undefined {
  if (!latest.config.enableInCommitTimestamps) return undefined
  return latest.config.inCommitTimestampEnablementVersion ?? 0
}

/**
 * Lists commits up to `upTo` with monotonized modification times (ICT is applied by callers).
 */
async function timedCommits(store: ObjectStore, upTo: number): Promise<TimedCommit[]> {
  const files = (await listCommitFiles(store)).filter((f) => f.version <= upTo)
  const out: TimedCommit[] = []
  let prev = Number.NEGATIVE_INFINITY
  for (const f of files) {
    const ts = f.lastModified > prev ? f.lastModified : prev + 1
    out.push({ version: f.version, key: f.key, timestamp: ts })
    prev = ts
  }
  return out
}

/**
 * Resolves a timestamp to the version of the last commit at or before it.
 * After the last commit (but not in the future) the latest version is returned, so that "as of
 * yesterday" works on a quiet table.
 * @param store - the table's store
 * @param latest - the latest snapshot (for ICT settings)
 * @param timestamp - epoch milliseconds
 * @param now - the current time, epoch milliseconds
 * @returns the version
 * @throws DeltaError `TIMESTAMP_BEFORE_FIRST_COMMIT`, `TIMESTAMP_IN_FUTURE`
 */
export async function versionAtTimestamp(
  store: ObjectStore,
  latest: Snapshot,
  timestamp: number,
  now: number,
): Promise<number> {
  const location = latest.location
  const iso = new Date(timestamp).toISOString()
  if (timestamp > now) {
    throw new DeltaError(
      'TIMESTAMP_IN_FUTURE',
      `delta time travel: ${iso} is in the future for table ${location}`,
      { context: { table: location, timestamp: iso } },
    )
  }
  const commits = await timedCommits(store, latest.version)
  const start = ictStart(latest)
  // Commits before ICT enablement keep file times; the ones after use ICT (monotonic by spec).
  const fileTimed = start === undefined ? commits : commits.filter((c) => c.version < start)
  const ictVersions = start === undefined ? [] : commits.filter((c) => c.version >= start)
  const enablementTs = latest.config.inCommitTimestampEnablementTimestamp
  if (
    ictVersions.length > 0 &&
    (fileTimed.length === 0 || enablementTs === undefined || timestamp >= enablementTs)
  ) {
    const ict = async (i: number): Promise<number> => {
      const c = ictVersions[i] as TimedCommit
      const actions = await readCommit(store, location, c)
      return (
        ictOf(actions.find((a): a is CommitInfoAction => a.kind === 'commitInfo')) ?? c.timestamp
      )
    }
    // Binary search for the last commit whose ICT <= timestamp.
    let lo = 0
    let hi = ictVersions.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if ((await ict(mid)) <= timestamp) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    if (found >= 0) return (ictVersions[found] as TimedCommit).version
    if (fileTimed.length === 0) throw beforeFirst(location, iso, ictVersions[0]?.version)
  }
  let found: TimedCommit | undefined
  for (const c of fileTimed) {
    if (c.timestamp <= timestamp) found = c
    else break
  }
  if (!found) throw beforeFirst(location, iso, fileTimed[0]?.version)
  return found.version
}

function beforeFirst(location: string, iso: string, first: number | undefined): DeltaError {
  return new DeltaError(
    'TIMESTAMP_BEFORE_FIRST_COMMIT',
    `delta time travel: ${iso} is before the earliest available commit` +
      `${first === undefined ? '' : ` (version ${first})`} of table ${location}`,
    { context: { table: location, timestamp: iso } },
  )
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function record(v: unknown): Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {}
}

/**
 * The history of a table, newest first, up to the snapshot's version.
 * @param store - the table's store
 * @param snapshot - history is read up to this snapshot's version
 * @param limit - maximum number of entries (all when omitted)
 * @returns history entries, newest first
 * @throws DeltaError `INVALID_ARGUMENT` for a bad limit; storage and log errors
 */
export async function readHistory(
  store: ObjectStore,
  snapshot: Snapshot,
  limit?: number,
): Promise<HistoryEntry[]> {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta history: limit ${previewValue(limit)} is not a non-negative integer`,
    )
  }
  const commits = await timedCommits(store, snapshot.version)
  const wanted = commits
    .slice(limit === undefined ? 0 : Math.max(0, commits.length - limit))
    .reverse()
  const actions = await readCommits(store, snapshot.location, wanted)
  const start = ictStart(snapshot)
  return wanted.map((c, i) => {
    const info = actions[i]?.find((a): a is CommitInfoAction => a.kind === 'commitInfo')
    const raw = info?.info ?? {}
    const ict = start !== undefined && c.version >= start ? ictOf(info) : undefined
    return {
      version: c.version,
      timestamp: new Date(ict ?? c.timestamp),
      operation: str(raw.operation),
      operationParameters: record(raw.operationParameters),
      operationMetrics: record(raw.operationMetrics),
      readVersion: typeof raw.readVersion === 'number' ? raw.readVersion : undefined,
      isolationLevel: str(raw.isolationLevel),
      isBlindAppend: typeof raw.isBlindAppend === 'boolean' ? raw.isBlindAppend : undefined,
      engineInfo: str(raw.engineInfo),
      userMetadata: str(raw.userMetadata),
      commitInfo: raw,
    }
  })
}

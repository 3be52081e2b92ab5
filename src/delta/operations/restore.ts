/**
 * RESTORE: one commit that brings the table back to the state of an earlier version (Spark's
 * `RESTORE TABLE … TO VERSION AS OF` / delta-rs `restore`).
 *
 * The commit removes (`dataChange=true`) every file live now but not in the target version and
 * re-adds (`dataChange=true`, the target's `add` otherwise unchanged) every file of the target
 * that is not live now; it carries the target's metadata when that differs from the current one.
 * Re-added files must still exist: a file removed by VACUUM or a purge makes the restore fail
 * with `DATA_FILE_NOT_FOUND` before anything is committed.
 *
 * The protocol is never downgraded: when the target's protocol asks for nothing beyond the
 * current one, no protocol action is written (the current one stays in force, as Spark does by
 * default); otherwise the commit carries the union of both (highest versions, all features).
 *
 * Operation `RESTORE`; parameters `version` (and `timestamp` when restoring to one); metrics
 * `numRemovedFiles`, `numRestoredFiles`, `removedFilesSize`, `restoredFilesSize`,
 * `tableSizeAfterRestore`, `numOfFilesAfterRestore`. Restoring to the current version is a no-op
 * (`skipped`, nothing committed).
 * @module
 */
import { forEachBounded } from '../concurrency.js'
import {
  fileActionKey,
  type AddAction,
  type MetadataAction,
  type ProtocolAction,
} from '../actions/actions.js'
import { actionToJson } from '../actions/serialize-action.js'
import type { Clock } from '../clock.js'
import { DeltaError, VersionNotFoundError } from '../errors.js'
import { parseTimestampArg, versionAtTimestamp } from '../snapshot/history.js'
import { Snapshot } from '../snapshot/snapshot.js'
import { checkWriteSupported, writerFeaturesOf } from '../snapshot/table-features.js'
import type { ObjectStore } from '../storage/object-store.js'
import { Transaction } from '../transaction/transaction.js'
import { finishCommit, type FinishedWrite } from './finish-commit.js'
import { dataFileKeyOf } from './vacuum-plan.js'
import { removeFor } from './write-files.js'

/** What to restore to: a version, or the version current at an instant. */
export type RestoreTarget =
  { readonly version: number } | { readonly timestamp: Date | string | number }

/** How many data files are checked for existence at once. */
const HEAD_CONCURRENCY = 32

/** Reader features implied by legacy reader version 2. */
const LEGACY_READER_FEATURES: readonly (readonly string[])[] = [[], [], ['columnMapping']]

function readerFeaturesOf(protocol: ProtocolAction): readonly string[] {
  if (protocol.minReaderVersion >= 3) return protocol.readerFeatures ?? []
  return LEGACY_READER_FEATURES[protocol.minReaderVersion] ?? []
}

/**
 * The protocol a restore must write, or undefined when the current protocol already covers the
 * target's (the usual case: protocols only grow). Never lower than the current protocol.
 * @param current - the protocol in force now
 * @param target - the protocol of the restored version
 * @returns the merged protocol, or undefined
 * @internal
 */
export function restoredProtocol(
  current: ProtocolAction,
  target: ProtocolAction,
): ProtocolAction | undefined {
  const curReader = new Set(readerFeaturesOf(current))
  const curWriter = new Set(writerFeaturesOf(current))
  const covered =
    target.minReaderVersion <= current.minReaderVersion &&
    target.minWriterVersion <= current.minWriterVersion &&
    readerFeaturesOf(target).every((f) => curReader.has(f)) &&
    writerFeaturesOf(target).every((f) => curWriter.has(f))
  if (covered) return undefined
  const minReaderVersion = Math.max(current.minReaderVersion, target.minReaderVersion)
  const minWriterVersion = Math.max(current.minWriterVersion, target.minWriterVersion)
  const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])]
  return {
    kind: 'protocol',
    minReaderVersion,
    minWriterVersion,
    ...(minReaderVersion >= 3
      ? { readerFeatures: union(readerFeaturesOf(current), readerFeaturesOf(target)) }
      : {}),
    ...(minWriterVersion >= 7
      ? { writerFeatures: union(writerFeaturesOf(current), writerFeaturesOf(target)) }
      : {}),
  }
}

function sameMetadata(a: MetadataAction, b: MetadataAction): boolean {
  return JSON.stringify(actionToJson(a)) === JSON.stringify(actionToJson(b))
}

async function resolveTargetVersion(
  store: ObjectStore,
  latest: Snapshot,
  clock: Clock,
  target: RestoreTarget,
): Promise<{ version: number; timestamp?: string }> {
  const location = latest.location
  if (typeof target !== 'object' || target === null) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta restore: give { version } or { timestamp } to restore table ${location}`,
      { context: { table: location } },
    )
  }
  const hasVersion = 'version' in target && target.version !== undefined
  const hasTimestamp = 'timestamp' in target && target.timestamp !== undefined
  if (hasVersion === hasTimestamp) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta restore: give either a version or a timestamp to restore table ${location}, not ${hasVersion ? 'both' : 'neither'}`,
      { context: { table: location } },
    )
  }
  if ('version' in target && hasVersion) {
    const version = target.version
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new DeltaError(
        'INVALID_VERSION',
        `delta restore: version ${String(version)} of table ${location} is not a non-negative integer`,
        { context: { table: location } },
      )
    }
    if (version > latest.version) {
      throw new VersionNotFoundError(
        `delta restore: version ${version} of table ${location} does not exist (latest is ${latest.version})`,
        { latest: latest.version },
        { context: { table: location, version } },
      )
    }
    return { version }
  }
  const ts = parseTimestampArg(
    (target as { timestamp: Date | string | number }).timestamp,
    location,
  )
  const version = await versionAtTimestamp(store, latest, ts, clock.now())
  return { version, timestamp: new Date(ts).toISOString() }
}

/**
 * Restores the table to a version or timestamp in one commit.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source
 * @param target - `{ version }` or `{ timestamp }`
 * @returns the commit's result (`skipped` when the target is the current version) and the
 *   snapshot after it
 * @throws VersionNotFoundError when the version does not exist or its log was cleaned up;
 *   DeltaError `DATA_FILE_NOT_FOUND` naming a data file of the target that was vacuumed or
 *   purged (nothing committed), `INVALID_ARGUMENT`, `INVALID_VERSION`, `INVALID_TIMESTAMP`,
 *   `TIMESTAMP_BEFORE_FIRST_COMMIT`, `TIMESTAMP_IN_FUTURE`, `APPEND_ONLY` (the restore would
 *   remove data), `COMMIT_CONFLICT`; UnsupportedProtocolError
 * @internal
 */
export async function restoreTable(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  target: RestoreTarget,
): Promise<FinishedWrite> {
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
  const { version, timestamp } = await resolveTargetVersion(store, snapshot, clock, target)
  const zero = {
    numRemovedFiles: 0,
    numRestoredFiles: 0,
    removedFilesSize: 0,
    restoredFilesSize: 0,
    tableSizeAfterRestore: snapshot.files().reduce((s, f) => s + f.size, 0),
    numOfFilesAfterRestore: snapshot.numFiles,
  }
  if (version === snapshot.version) {
    return { result: { version, skipped: true, metrics: zero }, snapshot }
  }
  const old = await Snapshot.load(store, { version })
  const live = new Map(snapshot.files().map((f) => [fileActionKey(f), f]))
  const wanted = new Map(old.files().map((f) => [fileActionKey(f), f]))
  const toRemove = [...live.values()].filter((f) => !wanted.has(fileActionKey(f)))
  const toAdd = [...wanted.values()].filter((f) => !live.has(fileActionKey(f)))
  await checkFilesExist(store, old, toAdd)

  const protocol = restoredProtocol(snapshot.protocol, old.protocol)
  const metadata = sameMetadata(snapshot.metadata, old.metadata) ? undefined : old.metadata
  if (protocol) {
    checkWriteSupported(protocol, metadata ?? snapshot.metadata, old.schema, snapshot.location)
  }
  const txn = new Transaction(store, snapshot, clock, {
    operation: 'RESTORE',
    operationParameters: { version, timestamp },
  })
  // A restore replaces the whole table state: any concurrent data change must conflict.
  txn.recordRead(undefined, snapshot.files())
  const now = clock.now()
  if (protocol) txn.addActions([protocol])
  if (metadata) txn.addActions([metadata])
  txn.addActions(toRemove.map((f) => removeFor(f, now, true)))
  txn.addActions(toAdd.map((f): AddAction => ({ ...f, dataChange: true })))
  const sum = (files: readonly AddAction[]): number => files.reduce((s, f) => s + f.size, 0)
  return finishCommit(store, txn, clock, {
    numRemovedFiles: toRemove.length,
    numRestoredFiles: toAdd.length,
    removedFilesSize: sum(toRemove),
    restoredFilesSize: sum(toAdd),
    tableSizeAfterRestore: sum([...wanted.values()]),
    numOfFilesAfterRestore: wanted.size,
  })
}

/** Fails with `DATA_FILE_NOT_FOUND` when a file to re-add no longer exists. */
async function checkFilesExist(
  store: ObjectStore,
  old: Snapshot,
  files: readonly AddAction[],
): Promise<void> {
  let missing: string | undefined
  await forEachBounded(files, HEAD_CONCURRENCY, async (f) => {
    if (missing !== undefined) return // one missing file decides; skip the other probes
    const key = dataFileKeyOf(f.path, store.location)
    if (key === undefined) return // absolute path elsewhere: not ours to check
    if (!(await store.head(key))) missing ??= key
  })
  if (missing !== undefined) {
    throw new DeltaError(
      'DATA_FILE_NOT_FOUND',
      `delta restore: cannot restore table ${old.location} to version ${old.version}: its data file ` +
        `${missing} no longer exists (removed by VACUUM or a purge)`,
      { context: { table: old.location, version: old.version, file: missing } },
    )
  }
}

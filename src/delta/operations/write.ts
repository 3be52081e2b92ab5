/**
 * Append and overwrite (digest section 7.1): new data files plus, for overwrite, `remove`s of
 * every live file, in one commit.
 * @module
 */
import type { Clock } from '../clock.js'
import type { Expression } from '../expr/expression.js'
import { replaceWhereRows } from './delete.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { dataFileKey } from '../table/scan.js'
import { Transaction } from '../transaction/transaction.js'
import {
  finishCommit,
  metricStrings,
  type FinishCommitOptions,
  type FinishedWrite,
} from './finish-commit.js'
import {
  prepareDataFiles,
  removeFor,
  writeDataFiles,
  type PreparedDataFiles,
} from './write-files.js'

/** Options of an append. */
export interface AppendOptions {
  /**
   * Idempotent write: the append is skipped when this application already committed this
   * version (or a later one) to the table.
   */
  readonly appTransaction?: { readonly appId: string; readonly version: number }
  /** `commitInfo.userMetadata`. */
  readonly userMetadata?: string
  /** Maximum commit attempts. */
  readonly maxAttempts?: number
}

/**
 * Appends rows in one commit.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source
 * @param rows - rows to append (validated against the schema)
 * @param options - idempotence, metadata
 * @returns the result and the snapshot after it
 * @throws DeltaError `SCHEMA_MISMATCH`, `COMMIT_CONFLICT`, `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`
 * @internal
 */
export async function appendRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  options: AppendOptions = {},
): Promise<FinishedWrite> {
  // The commit file is staged while the data files are made durable, and published after them.
  const prepared = prepareDataFiles(store, snapshot, rows, { now: clock.now() })
  return commitAppendFiles(store, snapshot, clock, rows.length, prepared, options)
}

/**
 * Commits data files being written by {@link prepareDataFiles} as one blind append.
 * @param store - the table's store
 * @param snapshot - the snapshot the files were encoded against
 * @param clock - time source
 * @param numRows - rows in the files
 * @param prepared - the add actions and the promise of their durability
 * @param options - idempotence, metadata, attempts, checkpoint policy
 * @returns the result and the snapshot after it
 * @internal
 */
export function commitAppendFiles(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  numRows: number,
  prepared: PreparedDataFiles,
  options: AppendOptions & Pick<FinishCommitOptions, 'checkpoint'> = {},
): Promise<FinishedWrite> {
  const { txn, metrics } = appendTransaction(store, snapshot, clock, numRows, prepared, options)
  return finishCommit(store, txn, clock, metrics, {
    dataWritten: prepared.written,
    dataGroup: prepared.group,
    checkpoint: options.checkpoint,
  })
}

/** The blind-append transaction of data files being written, and its metrics. */
function appendTransaction(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  numRows: number,
  prepared: PreparedDataFiles,
  options: AppendOptions,
): { txn: Transaction; metrics: Record<string, number> } {
  const txn = new Transaction(store, snapshot, clock, {
    operation: 'WRITE',
    operationParameters: { mode: 'Append', partitionBy: JSON.stringify(snapshot.partitionColumns) },
    appTransaction: options.appTransaction,
    userMetadata: options.userMetadata,
    maxAttempts: options.maxAttempts,
  })
  const { adds } = prepared
  txn.addActions(adds)
  const metrics = {
    numFiles: adds.length,
    numOutputRows: numRows,
    numOutputBytes: adds.reduce((s, a) => s + a.size, 0),
  }
  return { txn, metrics }
}

/** Options of an overwrite. */
export interface OverwriteOptions {
  /** Replace only the rows matching this predicate; every new row must match it. */
  readonly replaceWhere?: Expression
  /** `commitInfo.userMetadata`. */
  readonly userMetadata?: string
  /** Maximum commit attempts. */
  readonly maxAttempts?: number
}

/**
 * Replaces the content of the table (or, with `replaceWhere`, the matching rows) with `rows`
 * in one commit.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source
 * @param rows - the new content
 * @param options - metadata
 * @returns the result and the snapshot after it
 * @throws DeltaError `SCHEMA_MISMATCH`, `APPEND_ONLY`, `COMMIT_CONFLICT`, `STORAGE_ERROR`
 * @internal
 */
export async function overwriteRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  options: OverwriteOptions = {},
): Promise<FinishedWrite> {
  if (options.replaceWhere)
    return replaceWhereRows(store, snapshot, clock, rows, options.replaceWhere, options)
  const txn = new Transaction(store, snapshot, clock, {
    operation: 'WRITE',
    operationParameters: {
      mode: 'Overwrite',
      partitionBy: JSON.stringify(snapshot.partitionColumns),
    },
    userMetadata: options.userMetadata,
    maxAttempts: options.maxAttempts,
  })
  const live = snapshot.files()
  txn.recordRead(undefined, live)
  const now = clock.now()
  const adds = await writeDataFiles(store, snapshot, rows, { now })
  txn.addActions(live.map((f) => removeFor(f, now, true)))
  txn.addActions(adds)
  return finishCommit(store, txn, clock, {
    numFiles: adds.length,
    numOutputRows: rows.length,
    numOutputBytes: adds.reduce((s, a) => s + a.size, 0),
    numRemovedFiles: live.length,
  })
}

/**
 * Deletes data files being written by {@link prepareDataFiles} that no commit will reference,
 * once their writes have ended (failures are ignored: such files are left to VACUUM).
 * @param store - the table's store
 * @param snapshot - the snapshot they were written for
 * @param prepared - the files
 * @returns when they are gone
 * @internal
 */
export async function discardDataFiles(
  store: ObjectStore,
  snapshot: Snapshot,
  prepared: PreparedDataFiles,
): Promise<void> {
  await Promise.allSettled([prepared.written])
  await Promise.allSettled(
    prepared.adds.map((a) => store.delete(dataFileKey(snapshot, store, a.path))),
  )
}

/** Data files written ahead of their commit (see {@link stageAppend}). @internal */
export interface StagedFiles {
  /**
   * Commits the staged files as one blind append on `latest` (re-encoding the rows when the
   * table's metadata changed since staging). Call at most once, instead of `discard`.
   */
  commit(
    latest: Snapshot,
    options?: AppendOptions & Pick<FinishCommitOptions, 'checkpoint'>,
  ): Promise<FinishedWrite>
  /** Deletes the staged files (they were never referenced). Call at most once. */
  discard(): Promise<void>
}

/**
 * Encodes rows and starts writing their data files now, to be committed later: work a caller
 * can do while it waits for something else (a password check). The commit file of the
 * append's first attempt is written (and fsync-ed) under a temp name beside them, so that when
 * nothing else was committed meanwhile only linking it into place is left on the caller's
 * critical path; otherwise it is removed and the commit goes the usual way.
 * @param store - the table's store
 * @param snapshot - the snapshot to encode against (schema, partitioning, stats settings)
 * @param clock - time source
 * @param rows - rows in canonical form
 * @param options - `trusted`: the rows were validated already (they are validated again if
 *   the metadata changed before the commit)
 * @returns the staged files
 * @throws DeltaError `SCHEMA_MISMATCH` (synchronously, before anything is written);
 *   UnsupportedProtocolError when the table needs writer features we do not implement
 * @internal
 */
export function stageAppend(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  options: { readonly trusted?: boolean } = {},
): StagedFiles {
  const prepared = prepareDataFiles(store, snapshot, rows, {
    now: clock.now(),
    trusted: options.trusted,
  })
  // Failures reach the caller through commit (which awaits the writes) or are moot on discard.
  prepared.written.catch(() => undefined)
  const drop = (): Promise<void> => discardDataFiles(store, snapshot, prepared)
  let early: ReturnType<typeof appendTransaction> | undefined
  try {
    early = appendTransaction(store, snapshot, clock, rows.length, prepared, {})
    early.txn.setOperationMetrics(metricStrings(early.metrics))
    if (!early.txn.stageCommitFile()) early = undefined
  } catch (error) {
    void drop()
    throw error
  }
  return {
    async commit(latest, options = {}) {
      const staged = early
      early = undefined
      if (latest.metadata !== snapshot.metadata) {
        // Another writer changed the schema or the settings since staging: the files may not
        // fit any more. Encode again against the new metadata.
        await Promise.all([staged?.txn.abandon(), drop()])
        return commitAppendFiles(
          store,
          latest,
          clock,
          rows.length,
          prepareDataFiles(store, latest, rows, { now: clock.now() }),
          options,
        )
      }
      const plain =
        options.appTransaction === undefined &&
        options.userMetadata === undefined &&
        options.maxAttempts === undefined
      if (staged && plain && latest.version === snapshot.version) {
        return finishCommit(store, staged.txn, clock, staged.metrics, {
          dataWritten: prepared.written,
          dataGroup: prepared.group,
          checkpoint: options.checkpoint,
        })
      }
      // Others committed since staging (or the options changed the commit): the staged commit
      // file would lose the race for its version; commit on the latest snapshot instead.
      await staged?.txn.abandon()
      return commitAppendFiles(store, latest, clock, rows.length, prepared, options)
    },
    async discard() {
      const staged = early
      early = undefined
      await Promise.all([staged?.txn.abandon(), drop()])
    },
  }
}

/**
 * Committing an operation's transaction and running post-commit work: a checkpoint every
 * `delta.checkpointInterval` versions (default 10, as Spark). A failed post-commit checkpoint
 * does not fail the operation (its commit is already durable); it is reported in the result.
 * @module
 */
import type { Clock } from '../clock.js'
import { writeCheckpoint, type CheckpointResult } from '../checkpoint/write-checkpoint.js'
import { DeltaError, isDeltaError } from '../errors.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore, WriteGroup } from '../storage/object-store.js'
import type { Transaction } from '../transaction/transaction.js'

/** Options shared by delete, update and merge. */
export interface DmlOptions {
  /** `commitInfo.userMetadata`. */
  readonly userMetadata?: string
  /** Maximum commit attempts. */
  readonly maxAttempts?: number
}

/** Result of a write operation. */
export interface WriteResult {
  /** Version committed (or the current version when nothing was committed). */
  readonly version: number
  /** True when nothing was committed (no-op, or an idempotent write already applied). */
  readonly skipped: boolean
  /** Operation metrics, as written to `commitInfo.operationMetrics`. */
  readonly metrics: Readonly<Record<string, number>>
  /** The checkpoint written after the commit, if one was due. */
  readonly checkpoint?: CheckpointResult
  /** Why a due checkpoint could not be written (the commit itself succeeded). */
  readonly checkpointError?: DeltaError
}

/** An operation's result together with the snapshot after it. @internal */
export interface Finished<R> {
  readonly result: R
  readonly snapshot: Snapshot
}

/** Options of {@link finishCommit}. @internal */
export interface FinishCommitOptions {
  /** Data files still being written; the commit file is published after them. */
  readonly dataWritten?: Promise<unknown>
  /** Those writes as a group, when the store made one (see `CommitOptions.dataGroup`). */
  readonly dataGroup?: WriteGroup
  /**
   * `inline` (default): a due checkpoint is written before returning. `skip`: the caller
   * schedules checkpoints itself (the group-commit queue writes them in the background).
   */
  readonly checkpoint?: 'inline' | 'skip'
}

/** A write result together with the snapshot after it. @internal */
export type FinishedWrite = Finished<WriteResult>

/**
 * Whether a checkpoint is due after committing `version`.
 * @param snapshot - snapshot at that version
 * @returns true every `checkpointInterval` versions (not at version 0)
 */
export function checkpointDue(snapshot: Snapshot): boolean {
  return snapshot.version > 0 && snapshot.version % snapshot.config.checkpointInterval === 0
}

/**
 * Operation metrics as `commitInfo.operationMetrics` holds them: strings, the way Spark writes
 * them.
 * @param metrics - metric name to value
 * @returns metric name to string
 * @internal
 */
export function metricStrings(metrics: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)]))
}

/**
 * Commits the transaction with its metrics and writes a checkpoint when one is due.
 * @param store - the table's store
 * @param txn - the staged transaction
 * @param clock - time source
 * @param metrics - operation metrics (written as strings, the way Spark does)
 * @param options - data files still being written, checkpoint policy
 * @returns the result and the snapshot after the commit
 * @throws the transaction's commit errors
 * @internal
 */
export async function finishCommit(
  store: ObjectStore,
  txn: Transaction,
  clock: Clock,
  metrics: Record<string, number>,
  options: FinishCommitOptions = {},
): Promise<FinishedWrite> {
  txn.setOperationMetrics(metricStrings(metrics))
  const committed = await txn.commit({
    dataWritten: options.dataWritten,
    dataGroup: options.dataGroup,
  })
  if (committed.skipped) {
    return {
      result: { version: committed.version, skipped: true, metrics },
      snapshot: committed.snapshot,
    }
  }
  const snapshot = committed.snapshot
  if (options.checkpoint === 'skip' || !checkpointDue(snapshot)) {
    return { result: { version: committed.version, skipped: false, metrics }, snapshot }
  }
  try {
    const checkpoint = await writeCheckpoint(store, snapshot, clock.now())
    return { result: { version: committed.version, skipped: false, metrics, checkpoint }, snapshot }
  } catch (error) {
    const checkpointError = isDeltaError(error)
      ? error
      : new DeltaError(
          'STORAGE_ERROR',
          `delta checkpoint: writing checkpoint ${snapshot.version} failed`,
          { cause: error },
        )
    return {
      result: { version: committed.version, skipped: false, metrics, checkpointError },
      snapshot,
    }
  }
}

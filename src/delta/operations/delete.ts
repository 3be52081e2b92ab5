/**
 * DELETE, and overwrite with `replaceWhere` (digest sections 7.1 and 7.2), copy-on-write: the
 * files holding matching rows are removed, their other rows written to new files.
 *
 * Files matched entirely by a partition-only predicate, and every file of a DELETE without a
 * predicate, are removed without being read. Files without a matching row are untouched.
 * The read (predicate and candidate files) is recorded on the transaction, so a concurrent
 * commit that adds matching rows or removes a candidate file makes the commit fail with
 * `CommitConflictError` instead of losing its changes.
 *
 * A DELETE that matches no row commits nothing: the result is `skipped` at the read version.
 * @module
 */
import type { Clock } from '../clock.js'
import { DeltaError } from '../errors.js'
import { bindExpression, type BoundExpression } from '../expr/bind-expression.js'
import { evaluateOnRow } from '../expr/evaluate.js'
import { describeExpression, type Expression } from '../expr/expression.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { pruneFiles } from '../table/scan.js'
import { Transaction } from '../transaction/transaction.js'
import type { DmlOptions, FinishedWrite } from './finish-commit.js'
import { executeRewrite, isPartitionOnly, matchesWholeFile, type CopyOnWrite } from './rewrite.js'
import { validateRows } from './write-files.js'

/**
 * Deletes the rows matching `filter` (every row when it is undefined) in one commit.
 *
 * Metrics (`commitInfo.operationMetrics`, Spark names): `numDeletedRows`, `numRemovedFiles`,
 * `numAddedFiles`, `numCopiedRows` (rows rewritten unchanged). `operationParameters.predicate`
 * is the filter as text, or `true`.
 * @param store - the table's store
 * @param snapshot - the snapshot to delete from (normally the latest)
 * @param clock - time source
 * @param filter - rows to delete; undefined deletes every row
 * @param options - user metadata, commit attempts
 * @returns the result and the snapshot after it; `skipped: true` and the read version when no
 *   row matched
 * @throws DeltaError `COLUMN_NOT_FOUND` / `INVALID_EXPRESSION` for a bad filter, `APPEND_ONLY`,
 *   `DATA_FILE_NOT_FOUND`, `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`; CommitConflictError
 * @internal
 */
export function deleteRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  filter: Expression | undefined,
  options: DmlOptions,
): Promise<FinishedWrite> {
  return Promise.resolve().then(() => {
    const bound = filter === undefined ? undefined : bindExpression(filter, snapshot.schema)
    const txn = new Transaction(store, snapshot, clock, {
      operation: 'DELETE',
      operationParameters: {
        predicate: filter === undefined ? 'true' : describeExpression(filter),
      },
      userMetadata: options.userMetadata,
      maxAttempts: options.maxAttempts,
    })
    return executeRewrite(
      { store, clock, txn, operation: 'DELETE' },
      (cow) => removeMatchingRows(cow, txn, bound),
      (c) => ({
        numDeletedRows: c.deletedRows,
        numRemovedFiles: c.removedFiles,
        numAddedFiles: c.addedFiles,
        numCopiedRows: c.copiedRows,
      }),
    )
  })
}

/**
 * Replaces the rows matching `predicate` with `rows` in one commit (`WRITE`, mode `Overwrite`,
 * with `operationParameters.predicate`): the matching rows are deleted as by
 * {@link deleteRows}, and the new rows added. Every new row must satisfy the predicate.
 *
 * Metrics: `numFiles` (files written), `numOutputRows` (new plus copied rows),
 * `numOutputBytes`, `numRemovedFiles`, `numDeletedRows`, `numCopiedRows`.
 * @param store - the table's store
 * @param snapshot - the snapshot to write to
 * @param clock - time source
 * @param rows - the new rows
 * @param predicate - the rows to replace
 * @param options - user metadata, commit attempts
 * @returns the result and the snapshot after it; `skipped: true` when no row matched and there
 *   are no new rows
 * @throws DeltaError `SCHEMA_MISMATCH` for a bad row, `INVALID_ARGUMENT` naming the first row
 *   that does not satisfy the predicate, `COLUMN_NOT_FOUND` / `INVALID_EXPRESSION`,
 *   `APPEND_ONLY`, `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`; CommitConflictError
 * @internal
 */
export function replaceWhereRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  predicate: Expression,
  options: DmlOptions,
): Promise<FinishedWrite> {
  return Promise.resolve().then(() => {
    const bound = bindExpression(predicate, snapshot.schema)
    const canonical = validateRows(
      snapshot.schema,
      rows,
      snapshot.location,
      snapshot.partitionColumns,
    )
    canonical.forEach((row, i) => {
      if (evaluateOnRow(bound, row) !== true) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          `delta overwrite: row ${i} for table ${snapshot.location} does not satisfy the ` +
            `replaceWhere predicate ${describeExpression(predicate)}`,
          { context: { table: snapshot.location, row: i } },
        )
      }
    })
    const txn = new Transaction(store, snapshot, clock, {
      operation: 'WRITE',
      operationParameters: {
        mode: 'Overwrite',
        partitionBy: JSON.stringify(snapshot.partitionColumns),
        predicate: describeExpression(predicate),
      },
      userMetadata: options.userMetadata,
      maxAttempts: options.maxAttempts,
    })
    return executeRewrite(
      { store, clock, txn, operation: 'WRITE' },
      async (cow) => {
        await removeMatchingRows(cow, txn, bound)
        await cow.insertRows(canonical)
      },
      (c) => ({
        numFiles: c.addedFiles,
        numOutputRows: c.insertedRows + c.copiedRows,
        numOutputBytes: c.outputBytes,
        numRemovedFiles: c.removedFiles,
        numDeletedRows: c.deletedRows,
        numCopiedRows: c.copiedRows,
      }),
    )
  })
}

/**
 * The deletion shared by DELETE and replaceWhere: records the read, then removes whole files
 * where the predicate is decided by partition values (or absent) and rewrites the others.
 */
async function removeMatchingRows(
  cow: CopyOnWrite,
  txn: Transaction,
  bound: BoundExpression | undefined,
): Promise<void> {
  const snapshot = txn.snapshot
  const candidates = pruneFiles(snapshot, bound)
  txn.recordRead(bound, candidates)
  if (bound === undefined) {
    await cow.removeWholeFiles(candidates)
  } else if (isPartitionOnly(bound, snapshot)) {
    // Exact on partition values: a candidate either matches entirely or not at all.
    await cow.removeWholeFiles(candidates.filter((f) => matchesWholeFile(bound, f, snapshot)))
  } else {
    await cow.rewriteFiles(
      candidates,
      (row) => (evaluateOnRow(bound, row) === true ? null : undefined),
      { matches: bound, deletesMatches: true },
    )
  }
}

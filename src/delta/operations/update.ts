/**
 * UPDATE (digest section 7.2), copy-on-write: each file holding a matching row is removed and
 * its rows, updated or not, are written to new files (an updated partition column moves the row
 * to its new partition). Files without a matching row are untouched. When every assignment
 * sets a data column to a constant, a file the engine's writer laid out keeps its other column
 * chunks byte for byte in its replacement (`CopyOnWrite.updateFiles`).
 *
 * The read (predicate and candidate files) is recorded on the transaction, so a concurrent
 * commit that adds matching rows or removes a candidate file makes the commit fail with
 * `CommitConflictError` instead of losing its changes.
 *
 * An UPDATE that matches no row commits nothing: the result is `skipped` at the read version.
 * @module
 */
import type { Clock } from '../clock.js'
import { DeltaError } from '../errors.js'
import { bindExpression } from '../expr/bind-expression.js'
import { evaluateOnRow } from '../expr/evaluate.js'
import { describeExpression, type Expression } from '../expr/expression.js'
import { findField, type StructField } from '../schema/data-type.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { pruneFiles } from '../table/scan.js'
import { Transaction } from '../transaction/transaction.js'
import type { DmlOptions, FinishedWrite } from './finish-commit.js'
import {
  coerceColumnValue,
  executeRewrite,
  type RowClassifier,
  type RowPosition,
} from './rewrite.js'

/**
 * The assignments of an UPDATE: column name to its new value, or to a function computing the
 * new value from the current row (which it receives with every column in canonical form, before
 * any assignment is applied; it must not modify it). Values are coerced to the column type, as
 * in appends.
 */
export type UpdateSet = Readonly<Record<string, unknown>>

/** One resolved assignment. */
export type Assignment =
  | { readonly field: StructField; readonly value: unknown; readonly fn?: undefined }
  | {
      readonly field: StructField
      readonly fn: (row: Readonly<Record<string, unknown>>) => unknown
    }

/**
 * Updates the rows matching `filter` (every row when it is undefined) in one commit.
 *
 * Metrics (`commitInfo.operationMetrics`, Spark names): `numUpdatedRows`, `numCopiedRows` (rows
 * rewritten unchanged), `numRemovedFiles`, `numAddedFiles`. `operationParameters.predicate` is
 * the filter as text, or `true`.
 * @param store - the table's store
 * @param snapshot - the snapshot to update (normally the latest)
 * @param clock - time source
 * @param filter - rows to update; undefined updates every row
 * @param set - column to new value, or to `(row) => value`; column names resolve like
 *   expression columns (exact, else case-insensitive), top-level columns only
 * @param options - user metadata, commit attempts
 * @returns the result and the snapshot after it; `skipped: true` and the read version when no
 *   row matched
 * @throws DeltaError `COLUMN_NOT_FOUND` for a filter or `set` column that does not exist,
 *   `INVALID_EXPRESSION` for a bad filter, `INVALID_ARGUMENT` for an empty or malformed `set`,
 *   `SCHEMA_MISMATCH` naming the column (and the row, for a computed value) when a new value does
 *   not fit its column, `APPEND_ONLY`, `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`;
 *   CommitConflictError; whatever a `set` function throws
 * @internal
 */
export function updateRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  filter: Expression | undefined,
  set: UpdateSet,
  options: DmlOptions,
): Promise<FinishedWrite> {
  return Promise.resolve().then(() => {
    const bound = filter === undefined ? undefined : bindExpression(filter, snapshot.schema)
    const assignments = resolveAssignments(snapshot, set, 'delta update')
    const txn = new Transaction(store, snapshot, clock, {
      operation: 'UPDATE',
      operationParameters: {
        predicate: filter === undefined ? 'true' : describeExpression(filter),
      },
      userMetadata: options.userMetadata,
      maxAttempts: options.maxAttempts,
    })
    return executeRewrite(
      { store, clock, txn, operation: 'UPDATE' },
      async (cow) => {
        const candidates = pruneFiles(snapshot, bound)
        txn.recordRead(bound, candidates)
        const classify: RowClassifier = (row, at) =>
          bound === undefined || evaluateOnRow(bound, row) === true
            ? applyAssignments(snapshot, row, assignments, at)
            : undefined
        const constants = constantDataAssignments(snapshot, assignments)
        if (constants === undefined) {
          await cow.rewriteFiles(candidates, classify, bound && { matches: bound })
        } else await cow.updateFiles(candidates, bound, constants, classify)
      },
      (c) => ({
        numUpdatedRows: c.replacedRows,
        numCopiedRows: c.copiedRows,
        numRemovedFiles: c.removedFiles,
        numAddedFiles: c.addedFiles,
      }),
    )
  })
}

/**
 * Resolves an update's `set` against the schema: each column found (exact name, else
 * case-insensitive) once, constants coerced to their column.
 * @param snapshot - the snapshot updated
 * @param set - column to value or to a function of the row
 * @param who - the caller, for messages (`delta update`, `delta transaction`)
 * @returns the assignments
 * @throws DeltaError `INVALID_ARGUMENT` (not an object, a column twice, no column),
 *   `COLUMN_NOT_FOUND`, `SCHEMA_MISMATCH` (a constant that does not fit its column)
 * @internal
 */
export function resolveAssignments(snapshot: Snapshot, set: UpdateSet, who: string): Assignment[] {
  const location = snapshot.location
  if (typeof set !== 'object' || set === null || Array.isArray(set) || set instanceof Map) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${who}: the assignments for table ${location} must be an object of column to value`,
      { context: { table: location } },
    )
  }
  const seen = new Set<string>()
  const assignments: Assignment[] = []
  for (const [name, value] of Object.entries(set)) {
    const field = findField(snapshot.schema, name)
    if (!field) {
      throw new DeltaError(
        'COLUMN_NOT_FOUND',
        `${who}: column ${JSON.stringify(name)} does not exist in table ${location}`,
        { context: { table: location, column: name } },
      )
    }
    if (seen.has(field.name)) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `${who}: column ${JSON.stringify(field.name)} of table ${location} is assigned twice`,
        { context: { table: location, column: field.name } },
      )
    }
    seen.add(field.name)
    if (typeof value === 'function') {
      assignments.push({ field, fn: value as (row: Readonly<Record<string, unknown>>) => unknown })
    } else {
      const where = `update of column ${JSON.stringify(field.name)} of table ${location}`
      const partition = snapshot.partitionColumns.includes(field.name)
      assignments.push({ field, value: coerceColumnValue(field, value, where, partition) })
    }
  }
  if (assignments.length === 0) {
    throw new DeltaError('INVALID_ARGUMENT', `${who}: no column to update in table ${location}`, {
      context: { table: location },
    })
  }
  return assignments
}

/**
 * The assignments as column to value when every one sets a data column to a constant (the
 * rewrite may then replace those columns and copy the others); otherwise undefined.
 * @param snapshot - the snapshot updated (partition columns)
 * @param assignments - resolved assignments: a canonical `value`, or a function `fn`
 * @returns column name to value, or undefined
 * @internal
 */
export function constantDataAssignments(
  snapshot: Snapshot,
  assignments: readonly {
    readonly field: StructField
    readonly value?: unknown
    readonly fn?: unknown
  }[],
): ReadonlyMap<string, unknown> | undefined {
  const partitions = new Set(snapshot.partitionColumns)
  const out = new Map<string, unknown>()
  for (const a of assignments) {
    if (a.fn !== undefined || partitions.has(a.field.name)) return undefined
    out.set(a.field.name, a.value)
  }
  return out
}

/**
 * One updated row: the constants set, each function called with the row as it was and its
 * result coerced to the column.
 * @param snapshot - the snapshot updated (for messages)
 * @param row - the row read
 * @param assignments - resolved assignments
 * @param at - where the row is, for messages
 * @returns the new row
 * @throws DeltaError `SCHEMA_MISMATCH` naming the row and column; whatever a function throws
 * @internal
 */
export function applyAssignments(
  snapshot: Snapshot,
  row: Readonly<Record<string, unknown>>,
  assignments: readonly Assignment[],
  at: RowPosition,
): Record<string, unknown> {
  const current = Object.freeze({ ...row })
  const out: Record<string, unknown> = { ...row }
  for (const a of assignments) {
    if (a.fn === undefined) {
      out[a.field.name] = a.value
      continue
    }
    const where =
      `update of row ${at.index} of file ${at.file.path} column ${JSON.stringify(a.field.name)} ` +
      `of table ${snapshot.location}`
    const partition = snapshot.partitionColumns.includes(a.field.name)
    out[a.field.name] = coerceColumnValue(a.field, a.fn(current), where, partition)
  }
  return out
}

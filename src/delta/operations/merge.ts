/**
 * MERGE as an upsert by key (digest section 7.2), copy-on-write: target rows whose key equals a
 * source row's key are updated, deleted or left alone; source rows without a matching target
 * row are inserted (or ignored). Only files holding an updated or deleted row are rewritten.
 *
 * Keys are compared by typed equality after coercing the source to the column types (a source
 * `1` matches a long column's `1n`). A null key component never matches (SQL semantics), so a
 * source row with a null key is inserted when not-matched rows are inserted.
 *
 * Cardinality: two source rows with the same key are refused with `MERGE_CARDINALITY` (Spark
 * refuses a target row matched by several source rows). Several target rows matching one
 * source key are refused too: an upsert by key assumes the key identifies one row, and updating
 * several copies would hide duplicated data.
 *
 * Conflict detection and pruning use the read predicate `k IN (source keys)` (for several key
 * columns, the conjunction of one IN list per column: a superset of the keys). Above
 * {@link MAX_KEYS_IN_PREDICATE} distinct values in a key column, the merge reads (and records a
 * read of) the whole table instead. A concurrent commit adding a row with one of the source
 * keys, or removing a candidate file, makes the merge fail with `CommitConflictError`, so an
 * upsert can never create a duplicate key or lose a concurrent change.
 *
 * A merge that changes nothing commits nothing: the result is `skipped` at the read version.
 * @module
 */
import type { Clock } from '../clock.js'
import { DeltaError } from '../errors.js'
import { bindExpression, inListKey } from '../expr/bind-expression.js'
import { and, col, type Expression } from '../expr/expression.js'
import type { DataType, StructField, StructType } from '../schema/data-type.js'
import { findField } from '../schema/data-type.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { pruneFiles } from '../table/scan.js'
import { Transaction } from '../transaction/transaction.js'
import type { DmlOptions, FinishedWrite } from './finish-commit.js'
import {
  checkPartitionValues,
  coerceColumnValue,
  coercePartialRow,
  executeRewrite,
} from './rewrite.js'

/**
 * Above this many distinct values in one key column, the merge reads the whole table rather
 * than building an IN-list predicate (file skipping on huge IN lists costs more than it saves).
 */
export const MAX_KEYS_IN_PREDICATE = 10_000

/**
 * What to do with a target row whose key matches a source row: `update` (default) replaces it
 * by the source row (columns absent from the source row keep the target's value); `delete`
 * deletes it; `ignore` leaves it unchanged; a function receives both rows (canonical values;
 * it must not modify them) and returns the new row (columns it omits keep the target's value),
 * or null to delete the target row.
 */
export type WhenMatched =
  | 'update'
  | 'delete'
  | 'ignore'
  | ((
      target: Readonly<Record<string, unknown>>,
      source: Readonly<Record<string, unknown>>,
    ) => Record<string, unknown> | null)

/** Options of a merge. */
export interface MergeOptions extends DmlOptions {
  /** The key column(s): target and source rows match when all key columns are equal. */
  readonly on: string | readonly string[]
  /** What to do with matched target rows (default `update`). */
  readonly whenMatched?: WhenMatched
  /** What to do with source rows that match no target row (default `insert`). */
  readonly whenNotMatched?: 'insert' | 'ignore'
}

interface SourceRow {
  readonly index: number
  /** Canonical values of the columns present in the source row. */
  readonly row: Readonly<Record<string, unknown>>
  /** Key string, or undefined when a key component is null (never matches). */
  readonly key: string | undefined
}

/**
 * Merges `rows` into the table by key, in one commit.
 *
 * Metrics (`commitInfo.operationMetrics`, Spark names): `numSourceRows`,
 * `numTargetRowsInserted`, `numTargetRowsUpdated`, `numTargetRowsDeleted`,
 * `numTargetRowsCopied` (rows rewritten unchanged), `numTargetFilesAdded`,
 * `numTargetFilesRemoved`, `numOutputRows`. `operationParameters`: `predicate` (the key
 * condition), `matchedPredicates`, `notMatchedPredicates` and `notMatchedBySourcePredicates`
 * (JSON, in Spark's shapes).
 * @param store - the table's store
 * @param snapshot - the snapshot to merge into (normally the latest)
 * @param clock - time source
 * @param rows - source rows (partial rows allowed; inserted rows get null for absent columns)
 * @param options - keys, matched / not-matched actions, user metadata, commit attempts
 * @returns the result and the snapshot after it; `skipped: true` and the read version when
 *   nothing changed
 * @throws DeltaError `COLUMN_NOT_FOUND` for a missing key column, `INVALID_ARGUMENT` for bad
 *   options or a non-primitive key column, `SCHEMA_MISMATCH` naming the source row and column,
 *   `MERGE_CARDINALITY`, `APPEND_ONLY` when matched rows would be updated or deleted,
 *   `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`; CommitConflictError; whatever a `whenMatched`
 *   function throws
 * @internal
 */
export function mergeRows(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  options: MergeOptions,
): Promise<FinishedWrite> {
  return Promise.resolve().then(() => {
    const location = snapshot.location
    const keys = resolveKeys(snapshot, options.on)
    const whenMatched = options.whenMatched ?? 'update'
    const whenNotMatched = options.whenNotMatched ?? 'insert'
    checkActions(location, whenMatched, whenNotMatched)
    const source = prepareSource(snapshot, rows, keys)
    const byKey = new Map<string, SourceRow>()
    for (const s of source) {
      if (s.key === undefined) continue
      const first = byKey.get(s.key)
      if (first) {
        throw new DeltaError(
          'MERGE_CARDINALITY',
          `delta merge: source rows ${first.index} and ${s.index} have the same key ` +
            `${describeKey(keys, s.row)} (table ${location})`,
          { context: { table: location, row: s.index } },
        )
      }
      byKey.set(s.key, s)
    }
    const predicate = readPredicate(keys, [...byKey.values()])
    const bound = predicate === undefined ? undefined : bindExpression(predicate, snapshot.schema)
    const txn = new Transaction(store, snapshot, clock, {
      operation: 'MERGE',
      operationParameters: {
        predicate: keys
          .map((k) => `target.${quote(k.name)} = source.${quote(k.name)}`)
          .join(' AND '),
        matchedPredicates: matchedPredicates(whenMatched),
        notMatchedPredicates: whenNotMatched === 'insert' ? [{ actionType: 'insert' }] : [],
        notMatchedBySourcePredicates: [],
      },
      userMetadata: options.userMetadata,
      maxAttempts: options.maxAttempts,
    })
    return executeRewrite(
      { store, clock, txn, operation: 'MERGE' },
      async (cow) => {
        const candidates = pruneFiles(snapshot, bound)
        txn.recordRead(bound, candidates)
        // Source index -> the target row it matched, to refuse a second match.
        const matched = new Map<number, string>()
        await cow.rewriteFiles(candidates, (target, at) => {
          const key = keyOf(keys, target)
          const s = key === undefined ? undefined : byKey.get(key)
          if (!s) return undefined
          const here = `row ${at.index} of file ${at.file.path}`
          const previous = matched.get(s.index)
          if (previous !== undefined) {
            throw new DeltaError(
              'MERGE_CARDINALITY',
              `delta merge: source row ${s.index} (key ${describeKey(keys, s.row)}) matches ` +
                `several target rows of table ${location}: ${previous} and ${here}`,
              { context: { table: location, row: s.index } },
            )
          }
          matched.set(s.index, here)
          if (whenMatched === 'ignore') return undefined
          if (whenMatched === 'delete') return null
          if (whenMatched === 'update') {
            checkPartitionValues(snapshot, s.row, `source row ${s.index}`)
            return { ...target, ...s.row }
          }
          const result = whenMatched(Object.freeze({ ...target }), s.row)
          if (result === null) return null
          if (result === undefined) {
            throw new DeltaError(
              'INVALID_ARGUMENT',
              `delta merge: the whenMatched function returned undefined for source row ${s.index} ` +
                `of table ${location}; return a row, or null to delete`,
              { context: { table: location, row: s.index } },
            )
          }
          const what = `whenMatched result for source row ${s.index}`
          const values = coercePartialRow(snapshot.schema, result, what, location)
          checkPartitionValues(snapshot, values, what)
          return { ...target, ...values }
        })
        if (whenNotMatched === 'ignore') return
        const inserts = source
          .filter((s) => !matched.has(s.index))
          .map((s) => {
            checkPartitionValues(snapshot, s.row, `source row ${s.index}`)
            return completeRow(snapshot.schema, s, location)
          })
        await cow.insertRows(inserts)
      },
      (c) => ({
        numSourceRows: rows.length,
        numTargetRowsInserted: c.insertedRows,
        numTargetRowsUpdated: c.replacedRows,
        numTargetRowsDeleted: c.deletedRows,
        numTargetRowsCopied: c.copiedRows,
        numTargetFilesAdded: c.addedFiles,
        numTargetFilesRemoved: c.removedFiles,
        numOutputRows: c.insertedRows + c.replacedRows + c.copiedRows,
      }),
    )
  })
}

function invalid(location: string, message: string): DeltaError {
  return new DeltaError('INVALID_ARGUMENT', `delta merge: ${message} (table ${location})`, {
    context: { table: location },
  })
}

function resolveKeys(snapshot: Snapshot, on: string | readonly string[]): StructField[] {
  const location = snapshot.location
  const names: readonly unknown[] = typeof on === 'string' ? [on] : Array.isArray(on) ? on : []
  if (names.length === 0) throw invalid(location, '`on` must name at least one key column')
  const keys: StructField[] = []
  for (const name of names) {
    if (typeof name !== 'string') throw invalid(location, '`on` must hold column names')
    const field = findField(snapshot.schema, name)
    if (!field) {
      throw new DeltaError(
        'COLUMN_NOT_FOUND',
        `delta merge: key column ${JSON.stringify(name)} does not exist in table ${location}`,
        { context: { table: location, column: name } },
      )
    }
    if (typeof field.type !== 'string' || field.type === 'void') {
      throw invalid(location, `key column ${JSON.stringify(field.name)} must have a primitive type`)
    }
    if (keys.some((k) => k.name === field.name)) {
      throw invalid(location, `key column ${JSON.stringify(field.name)} is named twice`)
    }
    keys.push(field)
  }
  return keys
}

function checkActions(location: string, whenMatched: unknown, whenNotMatched: unknown): void {
  if (
    typeof whenMatched !== 'function' &&
    whenMatched !== 'update' &&
    whenMatched !== 'delete' &&
    whenMatched !== 'ignore'
  ) {
    throw invalid(location, `whenMatched must be 'update', 'delete', 'ignore' or a function`)
  }
  if (whenNotMatched !== 'insert' && whenNotMatched !== 'ignore') {
    throw invalid(location, `whenNotMatched must be 'insert' or 'ignore'`)
  }
}

function matchedPredicates(whenMatched: WhenMatched): { actionType: string }[] {
  if (whenMatched === 'ignore') return []
  if (whenMatched === 'update' || whenMatched === 'delete') return [{ actionType: whenMatched }]
  // A function may do either.
  return [{ actionType: 'update' }, { actionType: 'delete' }]
}

function prepareSource(
  snapshot: Snapshot,
  rows: readonly Record<string, unknown>[],
  keys: readonly StructField[],
): SourceRow[] {
  if (!Array.isArray(rows)) {
    throw new DeltaError(
      'SCHEMA_MISMATCH',
      `delta merge: source rows for table ${snapshot.location} must be an array`,
      { context: { table: snapshot.location } },
    )
  }
  return rows.map((input, index) => {
    const row = coercePartialRow(snapshot.schema, input, `source row ${index}`, snapshot.location)
    return { index, row, key: keyOf(keys, row) }
  })
}

/**
 * The identity of a key, equal for typed-equal values: each component is rendered with its
 * type-specific lookup key (`inListKey`) in an unambiguous text form.
 * @returns the key text, or undefined when a component is null
 */
function keyOf(
  keys: readonly StructField[],
  row: Readonly<Record<string, unknown>>,
): string | undefined {
  const parts: string[] = []
  for (const k of keys) {
    const v = row[k.name]
    if (v === null || v === undefined) return undefined
    parts.push(keyComponent(k.type, v))
  }
  return parts.join(',')
}

function keyComponent(type: DataType, value: unknown): string {
  const k = inListKey(type, value)
  switch (typeof k) {
    case 'bigint':
      return `${k}n`
    case 'number':
      return String(k) // -0 prints as 0; NaN as NaN
    case 'string':
      return JSON.stringify(k)
    default:
      return String(k)
  }
}

function describeKey(keys: readonly StructField[], row: Readonly<Record<string, unknown>>): string {
  return keys
    .map((k) => {
      const v = row[k.name]
      return `${k.name}=${typeof v === 'bigint' ? String(v) : v instanceof Date ? v.toISOString() : JSON.stringify(v ?? null)}`
    })
    .join(', ')
}

/** The read predicate: an IN list per key column, or undefined (whole table) when too large. */
function readPredicate(
  keys: readonly StructField[],
  matchable: readonly SourceRow[],
): Expression | undefined {
  const lists = keys.map((k) => {
    const distinct = new Map<string, unknown>()
    for (const s of matchable) {
      const v = s.row[k.name]
      distinct.set(keyComponent(k.type, v), v)
    }
    return { name: k.name, values: [...distinct.values()] }
  })
  if (lists.some((l) => l.values.length > MAX_KEYS_IN_PREDICATE)) return undefined
  // `col()` resolves a top-level name first, so key names need no quoting.
  const ins = lists.map((l) => col(l.name).in(l.values))
  return ins.length === 1 ? ins[0] : and(...ins)
}

function quote(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replaceAll('`', '``')}\``
}

/** A source row to insert, with null for absent columns (refused in non-nullable ones). */
function completeRow(schema: StructType, s: SourceRow, location: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of schema.fields) {
    const v = s.row[f.name]
    out[f.name] =
      v === undefined
        ? coerceColumnValue(
            f,
            null,
            `source row ${s.index} column ${JSON.stringify(f.name)} of table ${location}`,
          )
        : v
  }
  return out
}

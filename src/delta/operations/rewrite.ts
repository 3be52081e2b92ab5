/**
 * Copy-on-write rewriting of data files, shared by DELETE, UPDATE, MERGE and overwrite with
 * `replaceWhere` (digest section 7.2; "Add File and Remove File" in PROTOCOL.md).
 *
 * An operation decides, row by row, what happens to the rows of its candidate files: kept,
 * deleted, or replaced by a new row. Only a file holding at least one deleted or replaced row is
 * touched: it gets a `remove` (`dataChange=true`, path copied byte for byte from its `add`), and
 * its kept rows are written to new files together with the replaced and inserted rows (new
 * unique files, with stats and Hive-style partitioning, so a row whose partition column changed
 * lands in its new partition). A file whose rows all go away is removed without a replacement;
 * a file known to be deleted entirely (a partition-only predicate) is removed without being read.
 * Files without a deleted or replaced row are left alone: no `remove`, no `add`. An update that
 * sets columns to constants may instead copy a file with only those columns written anew
 * ({@link CopyOnWrite.updateFiles}): one new file per rewritten file, in its partition.
 *
 * New files are invisible until the commit that references them. When the commit certainly did
 * not happen (a failure before committing, a conflict, an append-only refusal, too many
 * attempts) they are deleted again, best effort; after an ambiguous storage failure of the
 * commit itself they are kept, since the commit may have landed (VACUUM removes orphans).
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#add-file-and-remove-file
 * @module
 */
import { forEachBounded } from '../concurrency.js'
import type { Action, AddAction, FileStats, RemoveAction } from '../actions/actions.js'
import type { Clock } from '../clock.js'
import { CommitConflictError, DeltaError, isDeltaError } from '../errors.js'
import type { BoundExpression } from '../expr/bind-expression.js'
import { evaluateOnRow } from '../expr/evaluate.js'
import { parseStats } from '../expr/skipping.js'
import { readParquetMetadata, readParquetRows, replaceColumns } from '../parquet/index.js'
import { findField, type StructField, type StructType } from '../schema/data-type.js'
import { parsePartitionValue } from '../schema/partition-values.js'
import { coerceValue } from '../schema/values.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { dataFileKey, readDataFile } from '../table/scan.js'
import type { Transaction } from '../transaction/transaction.js'
import { finishCommit, type FinishedWrite } from './finish-commit.js'
import { collectStats, replaceColumnStats, statsColumnsFor } from '../stats/collect-stats.js'
import {
  checkPartitionValue,
  DEFAULT_MAX_ROWS_PER_FILE,
  PARQUET_CREATED_BY,
  removeFor,
  writeDataFiles,
  writeEncodedFile,
} from './write-files.js'

/** How many candidate files are read concurrently. */
const READ_CONCURRENCY = 4

/** Rows buffered before they are written out (bounds memory on large rewrites). */
const FLUSH_ROWS = DEFAULT_MAX_ROWS_PER_FILE

/**
 * The fate of one row of a candidate file: `undefined` keeps it (copied when its file is
 * rewritten), `null` deletes it, a row replaces it. A replacement row must be complete and in
 * canonical form (validated by the caller): it is written without further checks.
 * @internal
 */
export type RowOutcome = Record<string, unknown> | null | undefined

/** Where a row comes from, for error messages. @internal */
export interface RowPosition {
  /** The file's `add`. */
  readonly file: AddAction
  /** Index of the row within the file. */
  readonly index: number
}

/**
 * Decides the fate of one row. The row holds every column (partition values included) in
 * canonical form; the function must not modify it.
 * @internal
 */
export type RowClassifier = (row: Readonly<Record<string, unknown>>, at: RowPosition) => RowOutcome

/** A data file's store key and bytes (as `readDataFile` gives them). */
interface DataFile {
  readonly key: string
  readonly data: Uint8Array
}

/** What a classifier changes at most (see {@link CopyOnWrite.rewriteFiles}). @internal */
export interface RewriteFilter {
  /** Rows that do not match are kept unchanged by the classifier. */
  readonly matches: BoundExpression
  /** The classifier deletes exactly the matching rows (a DELETE). */
  readonly deletesMatches?: boolean
}

/** What a rewrite did, for the operation metrics. @internal */
export interface RewriteCounts {
  /** Files removed (`remove` actions). */
  readonly removedFiles: number
  /** Files written (`add` actions). */
  readonly addedFiles: number
  /** Bytes of the files written. */
  readonly outputBytes: number
  /** Unchanged rows rewritten because they share a file with a changed row. */
  readonly copiedRows: number
  /** Rows deleted. */
  readonly deletedRows: number
  /** Rows replaced by a new version. */
  readonly replacedRows: number
  /** New rows (merge inserts, replaceWhere content). */
  readonly insertedRows: number
}

/**
 * Accumulates the `remove`s and `add`s of a copy-on-write operation. Use through
 * {@link executeRewrite}.
 * @internal
 */
export class CopyOnWrite {
  readonly #store: ObjectStore
  readonly #snapshot: Snapshot
  readonly #now: number
  readonly #operation: string
  readonly #removes: RemoveAction[] = []
  readonly #adds: AddAction[] = []
  #pending: Record<string, unknown>[] = []
  #copiedRows = 0
  #deletedRows = 0
  #replacedRows = 0
  #insertedRows = 0

  /**
   * @param store - the table's store
   * @param snapshot - the snapshot the operation reads
   * @param now - deletion timestamp of the removes, modification time of the adds
   * @param operation - operation name, for messages
   */
  constructor(store: ObjectStore, snapshot: Snapshot, now: number, operation: string) {
    this.#store = store
    this.#snapshot = snapshot
    this.#now = now
    this.#operation = operation
  }

  /** True when the operation changes the table (something removed or added). */
  get changed(): boolean {
    return this.#removes.length > 0 || this.#adds.length > 0 || this.#pending.length > 0
  }

  /** The counts so far (final after {@link CopyOnWrite.finish}). */
  get counts(): RewriteCounts {
    return {
      removedFiles: this.#removes.length,
      addedFiles: this.#adds.length,
      outputBytes: this.#adds.reduce((s, a) => s + a.size, 0),
      copiedRows: this.#copiedRows,
      deletedRows: this.#deletedRows,
      replacedRows: this.#replacedRows,
      insertedRows: this.#insertedRows,
    }
  }

  #remove(add: AddAction): void {
    // Checked before anything is written for this file, so an append-only table is refused
    // without leaving data files behind. The transaction enforces the same rule at commit.
    if (this.#snapshot.config.appendOnly) {
      throw new DeltaError(
        'APPEND_ONLY',
        `delta ${this.#operation.toLowerCase()}: table ${this.#snapshot.location} is append-only ` +
          `(delta.appendOnly=true); ${this.#operation} would remove data (${add.path})`,
        { context: { table: this.#snapshot.location, operation: this.#operation } },
      )
    }
    this.#removes.push(removeFor(add, this.#now, true))
  }

  async #emit(rows: readonly Record<string, unknown>[]): Promise<void> {
    for (const r of rows) this.#pending.push(r)
    if (this.#pending.length >= FLUSH_ROWS) await this.#flush()
  }

  async #flush(): Promise<void> {
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    const adds = await writeDataFiles(this.#store, this.#snapshot, batch, {
      now: this.#now,
      trusted: true,
    })
    for (const a of adds) this.#adds.push(a)
  }

  /**
   * Removes files whose rows are all deleted, without reading their rows. The deleted-row count
   * comes from the file's stats, or from its Parquet footer when the stats have no count.
   * @param files - live files of the snapshot
   * @throws DeltaError `APPEND_ONLY`, `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`
   */
  async removeWholeFiles(files: readonly AddAction[]): Promise<void> {
    for (const f of files) this.#remove(f)
    await forEachBounded(files, READ_CONCURRENCY, async (f) => {
      const known = parseStats(f.stats)?.numRecords
      if (known !== undefined) {
        this.#deletedRows += known
        return
      }
      const { key, data } = await readDataFile(this.#store, this.#snapshot, f, 'rewrite')
      this.#deletedRows += readParquetMetadata(data, key).numRows
    })
  }

  /**
   * Reads candidate files and applies `classify` to each row; files with a deleted or replaced
   * row are removed and their remaining rows written anew.
   *
   * With `filter`, `classify` keeps every row that does not match `filter.matches`: a file's
   * predicate columns are read first, and a file without a matching row is left alone without
   * reading the others. With `filter.deletesMatches` (`classify` deletes exactly the matching
   * rows), a file whose rows all match is removed without reading the rest either.
   * @param files - candidate files of the snapshot
   * @param classify - the fate of each row
   * @param filter - what `classify` changes at most (see above)
   * @throws whatever `classify` throws; DeltaError `APPEND_ONLY`, `DATA_FILE_NOT_FOUND`,
   *   `PARQUET_ERROR`, `STORAGE_ERROR`
   */
  async rewriteFiles(
    files: readonly AddAction[],
    classify: RowClassifier,
    filter?: RewriteFilter,
  ): Promise<void> {
    await forEachBounded(files, READ_CONCURRENCY, (file) =>
      this.#rewriteFile(file, classify, filter),
    )
  }

  async #rewriteFile(
    file: AddAction,
    classify: RowClassifier,
    filter: RewriteFilter | undefined,
    source?: DataFile,
  ): Promise<void> {
    const { key, data } =
      source ?? (await readDataFile(this.#store, this.#snapshot, file, 'rewrite'))
    if (filter !== undefined) {
      const { matched, count } = await readMatching(this.#snapshot, file, key, data, filter.matches)
      if (count === 0) return
      if (filter.deletesMatches === true && count === matched.length) {
        this.#remove(file)
        this.#deletedRows += count
        return
      }
    }
    const rows = await rowsOfFile(this.#snapshot, file, key, data)
    const out: Record<string, unknown>[] = []
    let copied = 0
    let deleted = 0
    let replaced = 0
    rows.forEach((row, index) => {
      const outcome = classify(row, { file, index })
      if (outcome === undefined) {
        out.push(row)
        copied++
      } else if (outcome === null) {
        deleted++
      } else {
        out.push(outcome)
        replaced++
      }
    })
    if (deleted === 0 && replaced === 0) return
    this.#remove(file)
    this.#copiedRows += copied
    this.#deletedRows += deleted
    this.#replacedRows += replaced
    await this.#emit(out)
  }

  /**
   * Sets data columns to constant values in the rows of candidate files that match a
   * predicate. A file laid out as the engine writes the table schema (see
   * `parquet/replace-columns.ts`), with statistics for every stats column, is copied with only
   * the set columns written anew: the predicate's and the set columns are read, every other
   * column chunk is copied byte for byte, and the statistics of untouched columns are kept.
   * Other files go through `classify` like {@link CopyOnWrite.rewriteFiles}.
   * @param files - candidate files of the snapshot
   * @param matches - the predicate (undefined matches every row)
   * @param set - data column (not a partition column) to its new value, canonical and valid
   * @param classify - the same update as a row classifier, for the other files
   * @param onColumnsReplaced - called for each file updated by replacing columns, with its
   *   updated rows, before anything is written for it (it may throw to stop the operation)
   * @throws like {@link CopyOnWrite.rewriteFiles}
   */
  async updateFiles(
    files: readonly AddAction[],
    matches: BoundExpression | undefined,
    set: ReadonlyMap<string, unknown>,
    classify: RowClassifier,
    onColumnsReplaced?: (file: AddAction, rows: number) => void,
  ): Promise<void> {
    await forEachBounded(files, READ_CONCURRENCY, async (file) => {
      const source = await readDataFile(this.#store, this.#snapshot, file, 'rewrite')
      if (!(await this.#updateColumns(file, source, matches, set, onColumnsReplaced))) {
        await this.#rewriteFile(file, classify, matches && { matches }, source)
      }
    })
  }

  /** The column-replacing path of {@link CopyOnWrite.updateFiles}; false when it cannot run. */
  async #updateColumns(
    file: AddAction,
    { key, data }: DataFile,
    matches: BoundExpression | undefined,
    set: ReadonlyMap<string, unknown>,
    onColumnsReplaced: ((file: AddAction, rows: number) => void) | undefined,
  ): Promise<boolean> {
    const snapshot = this.#snapshot
    // Exact: the statistics of the columns left as they are go into the new file digit for digit.
    const old = parseStats(file.stats, { exact: true })
    if (old?.numRecords === undefined) return false
    const { rows, matched, count } = await readMatching(snapshot, file, key, data, matches, [
      ...set.keys(),
    ])
    if (rows.length !== old.numRecords) return false
    if (count === 0) return true
    const replaced = new Map<string, unknown[]>()
    for (const [column, value] of set) {
      replaced.set(
        column,
        rows.map((row, i) => (matched[i] ? value : (row[column] ?? null))),
      )
    }
    const bytes = replaceColumns(data, dataSchemaOf(snapshot), replaced, {
      createdBy: PARQUET_CREATED_BY,
      fileName: key,
    })
    if (bytes === undefined) return false
    const stats = this.#replacedStats(old, replaced, rows.length)
    if (stats === undefined) return false
    onColumnsReplaced?.(file, count)
    this.#remove(file)
    this.#adds.push(
      await writeEncodedFile(this.#store, snapshot, file.partitionValues, bytes, stats, this.#now),
    )
    this.#copiedRows += rows.length - count
    this.#replacedRows += count
    return true
  }

  #replacedStats(
    old: FileStats,
    replaced: ReadonlyMap<string, readonly unknown[]>,
    numRows: number,
  ): FileStats | undefined {
    const snapshot = this.#snapshot
    const statsColumns = statsColumnsFor(
      snapshot.schema,
      snapshot.metadata.configuration,
      snapshot.partitionColumns,
    )
    const touched = statsColumns.filter((path) => replaced.has(path[0] ?? ''))
    const rows: Record<string, unknown>[] = []
    for (let i = 0; i < numRows; i++) {
      const row: Record<string, unknown> = {}
      for (const [column, values] of replaced) row[column] = values[i]
      rows.push(row)
    }
    const fresh = collectStats(rows, snapshot.schema, touched)
    return replaceColumnStats(old, fresh, statsColumns, new Set(replaced.keys()))
  }

  /**
   * Adds new rows.
   * @param rows - complete rows in canonical form (validated by the caller)
   * @throws DeltaError `STORAGE_ERROR`
   */
  async insertRows(rows: readonly Record<string, unknown>[]): Promise<void> {
    this.#insertedRows += rows.length
    await this.#emit(rows)
  }

  /**
   * Writes the buffered rows.
   * @returns the actions to commit: the removes, then the adds
   * @throws DeltaError `STORAGE_ERROR`
   */
  async finish(): Promise<Action[]> {
    await this.#flush()
    return [...this.#removes, ...this.#adds]
  }

  /** Deletes the files written so far (best effort: a file left behind is only an orphan). */
  async discard(): Promise<void> {
    const keys = this.#adds.map((a) => dataFileKey(this.#snapshot, this.#store, a.path))
    this.#adds.length = 0
    // Failures are deliberately not reported: the operation's own error is what the caller
    // needs, and unreferenced files are invisible to readers and removed by VACUUM.
    await Promise.allSettled(keys.map((k) => this.#store.delete(k)))
  }
}

/** What {@link executeRewrite} needs to run an operation. @internal */
export interface RewriteContext {
  readonly store: ObjectStore
  readonly clock: Clock
  /** The operation's transaction, not yet committed. */
  readonly txn: Transaction
  /** Operation name (`DELETE`, ...), for messages. */
  readonly operation: string
}

/**
 * Runs a copy-on-write operation: `plan` records the read on the transaction and feeds the
 * rewriter, then the removes and adds are committed with the metrics. When nothing changed,
 * nothing is committed and the result is `skipped` at the snapshot's version.
 * @param ctx - store, clock, transaction
 * @param plan - reads and classifies rows (must call `txn.recordRead` itself)
 * @param metrics - the operation metrics from the final counts
 * @returns the result and the snapshot after it
 * @throws whatever `plan` throws; the transaction's commit errors
 * @internal
 */
export async function executeRewrite(
  ctx: RewriteContext,
  plan: (cow: CopyOnWrite) => Promise<void>,
  metrics: (counts: RewriteCounts) => Record<string, number>,
): Promise<FinishedWrite> {
  const { store, clock, txn } = ctx
  const snapshot = txn.snapshot
  const cow = new CopyOnWrite(store, snapshot, clock.now(), ctx.operation)
  try {
    await plan(cow)
    if (!cow.changed) {
      return {
        result: { version: snapshot.version, skipped: true, metrics: metrics(cow.counts) },
        snapshot,
      }
    }
    txn.addActions(await cow.finish())
  } catch (error) {
    await cow.discard()
    throw error
  }
  try {
    return await finishCommit(store, txn, clock, metrics(cow.counts))
  } catch (error) {
    if (commitCertainlyFailed(error)) await cow.discard()
    throw error
  }
}

/** Errors after which no commit file of ours can exist. */
function commitCertainlyFailed(error: unknown): boolean {
  return (
    error instanceof CommitConflictError ||
    isDeltaError(error, 'MAX_COMMIT_ATTEMPTS') ||
    isDeltaError(error, 'APPEND_ONLY')
  )
}

/**
 * Every row of a data file, with all columns of the schema (partition values from the log).
 * @param store - the table's store
 * @param snapshot - the snapshot the file belongs to
 * @param add - the file
 * @returns rows in canonical form
 * @throws DeltaError `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`, `MALFORMED_ACTION`
 */
async function rowsOfFile(
  snapshot: Snapshot,
  add: AddAction,
  key: string,
  data: Uint8Array,
): Promise<Record<string, unknown>[]> {
  const partitionSet = new Set(snapshot.partitionColumns)
  const schema = snapshot.schema
  const rows = await readParquetRows(data, { schema: dataSchemaOf(snapshot), fileName: key })
  const partitionRow = partitionValuesRow(snapshot, add, snapshot.partitionColumns)
  return rows.map((r) => {
    const row: Record<string, unknown> = {}
    for (const f of schema.fields)
      row[f.name] = partitionSet.has(f.name) ? partitionRow[f.name] : (r[f.name] ?? null)
    return row
  })
}

/**
 * The rows of a data file holding only the predicate's data columns and `columns`, and whether
 * each matches the predicate (every row does when it is undefined); the predicate's partition
 * columns take their values from the log.
 */
async function readMatching(
  snapshot: Snapshot,
  add: AddAction,
  key: string,
  data: Uint8Array,
  matches: BoundExpression | undefined,
  columns: readonly string[] = [],
): Promise<{ rows: Record<string, unknown>[]; matched: boolean[]; count: number }> {
  const partitionSet = new Set(snapshot.partitionColumns)
  const predicate = matches?.columns ?? []
  const partitionRow = partitionValuesRow(
    snapshot,
    add,
    predicate.filter((c) => partitionSet.has(c)),
  )
  const read = new Set(columns)
  for (const c of predicate) if (!partitionSet.has(c)) read.add(c)
  // With no column to read, this decodes nothing and gives one empty row per row of the file.
  const rows = await readParquetRows(data, {
    schema: dataSchemaOf(snapshot),
    columns: [...read],
    fileName: key,
  })
  let count = 0
  const matched = rows.map((row) => {
    const m =
      matches === undefined || evaluateOnRow(matches, withPartitions(row, partitionRow)) === true
    if (m) count++
    return m
  })
  return { rows, matched, count }
}

/** A row with the partition values it is evaluated with (the row itself when there are none). */
function withPartitions(
  row: Record<string, unknown>,
  partitionRow: Record<string, unknown>,
): Record<string, unknown> {
  for (const _ in partitionRow) return { ...row, ...partitionRow }
  return row
}

/** The table's columns stored in data files: all but the partition columns. */
function dataSchemaOf(snapshot: Snapshot): StructType {
  const partitionSet = new Set(snapshot.partitionColumns)
  return {
    type: 'struct',
    fields: snapshot.schema.fields.filter((f) => !partitionSet.has(f.name)),
  }
}

/** The typed partition values of a file, as a row holding only those columns. */
function partitionValuesRow(
  snapshot: Snapshot,
  add: AddAction,
  columns: readonly string[],
): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (const name of columns) {
    const field = findField(snapshot.schema, name)
    if (!field) continue
    row[field.name] = parsePartitionValue(
      field.type,
      add.partitionValues[field.name],
      `${add.path} partition ${field.name}`,
    )
  }
  return row
}

/**
 * True when the predicate references partition columns only, so that its value is the same
 * for every row of a file and is known from the log.
 * @param bound - the bound predicate
 * @param snapshot - the snapshot (partition columns)
 * @returns whether the predicate is partition-only
 * @internal
 */
export function isPartitionOnly(bound: BoundExpression, snapshot: Snapshot): boolean {
  const partitions = new Set(snapshot.partitionColumns)
  return bound.columns.every((c) => partitions.has(c))
}

/**
 * For a partition-only predicate: whether every row of the file satisfies it.
 * @param bound - a partition-only bound predicate (see {@link isPartitionOnly})
 * @param add - the file
 * @param snapshot - the snapshot the file belongs to
 * @returns true when the predicate is true on the file's partition values
 * @throws DeltaError `MALFORMED_ACTION` for an unparsable partition value
 * @internal
 */
export function matchesWholeFile(
  bound: BoundExpression,
  add: AddAction,
  snapshot: Snapshot,
): boolean {
  return evaluateOnRow(bound, partitionValuesRow(snapshot, add, bound.columns)) === true
}

/**
 * Coerces a value for a column: the column type's canonical form, no null in a non-nullable
 * column, and no empty string in a non-nullable partition column (see `checkPartitionValue`).
 * @param field - the column
 * @param value - user input (`undefined` counts as null)
 * @param where - what the value is, for messages (e.g. `source row 3 column "id" of table …`)
 * @param partition - the column is a partition column
 * @returns the canonical value
 * @throws DeltaError `SCHEMA_MISMATCH` naming `where`
 * @internal
 */
export function coerceColumnValue(
  field: StructField,
  value: unknown,
  where: string,
  partition = false,
): unknown {
  const v = coerceValue(field.type, value, where)
  if (v === null && !field.nullable && field.type !== 'void') {
    throw new DeltaError(
      'SCHEMA_MISMATCH',
      `delta write: ${where} is null, but column ${JSON.stringify(field.name)} is not nullable`,
      { context: { where, column: field.name } },
    )
  }
  if (partition) checkPartitionValue(field, v, where)
  return v
}

/**
 * Refuses a row about to be written (complete or partial, in canonical form) whose value of a
 * non-nullable partition column would be stored as null (see `checkPartitionValue`).
 * @param snapshot - the snapshot written to (schema, partition columns)
 * @param row - the row; absent columns are not checked
 * @param what - the row, for messages (e.g. `source row 3`)
 * @throws DeltaError `SCHEMA_MISMATCH` naming the row and column
 * @internal
 */
export function checkPartitionValues(
  snapshot: Snapshot,
  row: Readonly<Record<string, unknown>>,
  what: string,
): void {
  for (const f of snapshot.schema.fields) {
    const v = row[f.name]
    if (v === undefined || f.nullable || !snapshot.partitionColumns.includes(f.name)) continue
    checkPartitionValue(
      f,
      v,
      `${what} column ${JSON.stringify(f.name)} of table ${snapshot.location}`,
    )
  }
}

/**
 * Coerces the columns present in a partial row (a key whose value is `undefined` counts as
 * absent). Column names match exactly, as in appends.
 * @param schema - the table schema
 * @param input - the partial row
 * @param what - the row, for messages (e.g. `source row 3`)
 * @param location - table location, for messages
 * @returns a new object holding the canonical values of the present columns
 * @throws DeltaError `SCHEMA_MISMATCH` for a non-object, an unknown column, or a bad value
 * @internal
 */
export function coercePartialRow(
  schema: StructType,
  input: unknown,
  what: string,
  location: string,
): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Map) {
    throw new DeltaError(
      'SCHEMA_MISMATCH',
      `delta write: ${what} for table ${location} is not an object`,
      { context: { table: location, row: what } },
    )
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const field = schema.fields.find((f) => f.name === key)
    if (!field) {
      throw new DeltaError(
        'SCHEMA_MISMATCH',
        `delta write: ${what} has column ${JSON.stringify(key)}, which table ${location} does not have`,
        { context: { table: location, row: what, column: key } },
      )
    }
    if (value === undefined) continue
    out[key] = coerceColumnValue(
      field,
      value,
      `${what} column ${JSON.stringify(key)} of table ${location}`,
    )
  }
  return out
}

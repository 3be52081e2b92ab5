/**
 * Reading data from a snapshot: file pruning by partition values and stats, then row reads
 * with projection and filtering ("Reader Requirements" in PROTOCOL.md).
 *
 * Partition values come from the log (never from paths); columns missing from a data file read
 * as null; extra columns in a file (such as CDF's `_change_type`) are ignored.
 * @module
 */
import type { AddAction } from '../actions/actions.js'
import { forEachBounded } from '../concurrency.js'
import { DeltaError, isDeltaError, UnsupportedProtocolError } from '../errors.js'
import { bindExpression, type BoundExpression } from '../expr/bind-expression.js'
import { evaluateOnRow } from '../expr/evaluate.js'
import type { Expression } from '../expr/expression.js'
import { fileMayMatch, parseStats, type SkippingFile } from '../expr/skipping.js'
import { readParquetRows } from '../parquet/index.js'
import { findField, type StructField, type StructType } from '../schema/data-type.js'
import { parsePartitionValue } from '../schema/partition-values.js'
import { resolveDataFilePath } from '../schema/paths.js'
import type { ObjectStore } from '../storage/object-store.js'
import type { Snapshot } from '../snapshot/snapshot.js'

/** Options of a file listing. */
export interface FilesOptions {
  /** Only files that may contain rows matching this predicate. */
  readonly filter?: Expression
}

/** Options of a row scan. */
export interface ScanOptions extends FilesOptions {
  /** Columns to return, in this order; all columns in schema order when omitted. */
  readonly columns?: readonly string[]
}

/** How many data files are read concurrently. */
const FILE_CONCURRENCY = 8

/**
 * The live files that may contain rows matching the filter (partition pruning + stats skipping).
 * @param snapshot - the snapshot to list
 * @param filter - optional predicate (already bound or not)
 * @returns add actions, in a stable order (by path)
 * @throws DeltaError `COLUMN_NOT_FOUND` / `INVALID_EXPRESSION` for a bad filter
 */
export function pruneFiles(snapshot: Snapshot, filter?: Expression | BoundExpression): AddAction[] {
  const files = snapshot.files()
  if (!filter) return files.sort(byPath)
  const bound = 'bound' in filter ? filter : bindExpression(filter, snapshot.schema)
  const parts = snapshot.partitionColumns
  // Sorting only the survivors: a selective filter leaves a handful of thousands of files.
  return files.filter((f) => fileMayMatch(bound, skippingFile(f), parts)).sort(byPath)
}

function byPath(a: AddAction, b: AddAction): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0
}

/**
 * Parsed skipping inputs per add action. Actions are immutable and a table's snapshots share
 * them from version to version, so each file's stats JSON is parsed once, not on every scan
 * (a point update of a table of thousands of files would otherwise parse them all each time).
 */
const skippingFiles = new WeakMap<AddAction, SkippingFile>()

function skippingFile(add: AddAction): SkippingFile {
  let file = skippingFiles.get(add)
  if (file === undefined) {
    file = { partitionValues: add.partitionValues, stats: parseStats(add.stats) }
    skippingFiles.set(add, file)
  }
  return file
}

/**
 * Maps an `add.path` to the store key of the data file.
 * @param snapshot - for messages
 * @param store - the table's store
 * @param path - `add.path` as written in the log
 * @returns the key relative to the table root
 * @throws UnsupportedProtocolError for absolute paths outside the table root
 * @internal
 */
export function dataFileKey(snapshot: Snapshot, store: ObjectStore, path: string): string {
  const resolved = resolveDataFilePath(path)
  if ('relative' in resolved) return resolved.relative
  const root = store.location.replace(/\/+$/, '')
  const abs = resolved.absolute.replace(/^file:(\/\/)?/, '')
  if (abs.startsWith(`${root}/`)) return abs.slice(root.length + 1)
  throw new UnsupportedProtocolError(
    `delta scan: table ${snapshot.location} references a data file outside the table root (${path})`,
    ['absolutePaths'],
  )
}

/**
 * Reads the rows of a snapshot.
 * @param store - the table's store
 * @param snapshot - the snapshot to read
 * @param options - projection and filter
 * @returns rows as objects keyed by column name
 * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `DATA_FILE_NOT_FOUND`,
 *   `PARQUET_ERROR`, `MALFORMED_ACTION` (bad partition value)
 */
export async function scanRows(
  store: ObjectStore,
  snapshot: Snapshot,
  options: ScanOptions = {},
): Promise<Record<string, unknown>[]> {
  const read = planRead(snapshot, options)
  const files = pruneFiles(snapshot, read.bound)
  const results: Record<string, unknown>[][] = new Array<Record<string, unknown>[]>(files.length)
  await forEachBounded(files, FILE_CONCURRENCY, async (add, i) => {
    results[i] = await readFileRows(store, snapshot, add, read)
  })
  return results.flat()
}

/**
 * Reads the rows of one live data file of a snapshot (live views are maintained file by file).
 * @param store - the table's store
 * @param snapshot - the snapshot the file belongs to
 * @param add - the file
 * @param options - projection and filter, as for {@link scanRows}
 * @returns the file's matching rows
 * @throws like {@link scanRows}
 */
export async function scanFileRows(
  store: ObjectStore,
  snapshot: Snapshot,
  add: AddAction,
  options: ScanOptions = {},
): Promise<Record<string, unknown>[]> {
  return readFileRows(store, snapshot, add, planRead(snapshot, options))
}

/** What a scan reads from each file, derived once from the schema and the options. */
interface ReadPlan {
  /** The output columns, in order. */
  readonly output: readonly StructField[]
  readonly bound: BoundExpression | undefined
  /** The schema of the data columns (all but partition columns) of a file. */
  readonly dataSchema: StructType
  /** Data columns needed: the output ones plus the ones the filter references. */
  readonly dataColumns: readonly string[]
  /** Partition columns needed, likewise. */
  readonly partitionFields: readonly StructField[]
}

function planRead(snapshot: Snapshot, options: ScanOptions): ReadPlan {
  const schema = snapshot.schema
  const output = resolveColumns(schema, options.columns, snapshot.location)
  const bound = options.filter ? bindExpression(options.filter, schema) : undefined
  const partitionSet = new Set(snapshot.partitionColumns)
  const needed = new Set(output.map((f) => f.name))
  if (bound) for (const c of bound.columns) needed.add(c)
  const dataFields = schema.fields.filter((f) => !partitionSet.has(f.name))
  return {
    output,
    bound,
    dataSchema: { type: 'struct', fields: dataFields },
    dataColumns: dataFields.filter((f) => needed.has(f.name)).map((f) => f.name),
    partitionFields: schema.fields.filter((f) => partitionSet.has(f.name) && needed.has(f.name)),
  }
}

function resolveColumns(
  schema: StructType,
  columns: readonly string[] | undefined,
  location: string,
): StructField[] {
  if (columns === undefined) return [...schema.fields]
  return columns.map((name) => {
    const f = findField(schema, name)
    if (!f) {
      throw new DeltaError(
        'COLUMN_NOT_FOUND',
        `delta scan: column ${JSON.stringify(name)} does not exist in table ${location}`,
        { context: { table: location, column: name } },
      )
    }
    return f
  })
}

/**
 * The bytes of a live data file.
 * @param store - the table's store
 * @param snapshot - the snapshot the file belongs to
 * @param add - the file
 * @param operation - what reads it, for the message (`scan`, `rewrite`, `optimize`)
 * @returns its object key and bytes
 * @throws DeltaError `DATA_FILE_NOT_FOUND` when the file is gone; store errors otherwise
 * @internal
 */
export async function readDataFile(
  store: ObjectStore,
  snapshot: Snapshot,
  add: AddAction,
  operation: string,
): Promise<{ key: string; data: Uint8Array }> {
  const key = dataFileKey(snapshot, store, add.path)
  try {
    return { key, data: await store.get(key) }
  } catch (cause) {
    if (isDeltaError(cause, 'OBJECT_NOT_FOUND')) {
      throw new DeltaError(
        'DATA_FILE_NOT_FOUND',
        `delta ${operation}: data file ${key} of table ${snapshot.location} at version ` +
          `${snapshot.version} is missing (removed by VACUUM, or the table was copied incompletely)`,
        { cause, context: { table: snapshot.location, version: snapshot.version, file: key } },
      )
    }
    throw cause
  }
}

async function readFileRows(
  store: ObjectStore,
  snapshot: Snapshot,
  add: AddAction,
  read: ReadPlan,
): Promise<Record<string, unknown>[]> {
  const { dataSchema, dataColumns, partitionFields, bound, output } = read
  const { key, data } = await readDataFile(store, snapshot, add, 'scan')
  const rows = await readParquetRows(data, {
    schema: dataSchema,
    columns: dataColumns,
    fileName: key,
  })
  if (partitionFields.length > 0) {
    const values = partitionFields.map((f) => [
      f.name,
      parsePartitionValue(f.type, add.partitionValues[f.name], `${add.path} partition ${f.name}`),
    ])
    for (const row of rows) for (const [name, v] of values) row[name as string] = v
  }
  const matched = bound ? rows.filter((r) => evaluateOnRow(bound, r) === true) : rows
  // The Parquet reader already returns exactly the data columns, in order, missing ones as
  // null: when they are the output, its rows are the result (no copy per row).
  if (
    partitionFields.length === 0 &&
    output.length === dataColumns.length &&
    output.every((f, i) => f.name === dataColumns[i])
  ) {
    return matched
  }
  return matched.map((r) => {
    const out: Record<string, unknown> = {}
    for (const f of output) out[f.name] = r[f.name] ?? null
    return out
  })
}

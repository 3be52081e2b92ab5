/**
 * Writing data files for a commit: row validation against the schema, partitioning, Parquet
 * encoding, per-file stats and the resulting `add` actions ("Add File and Remove File",
 * "Per-file Statistics" and "Partition Value Serialization" in PROTOCOL.md).
 *
 * Data files get unique names (`part-NNNNN-<uuid>-c000.snappy.parquet`) under Hive-style
 * partition directories and are written durably before any commit references them; a file
 * that no commit references is invisible and is removed by VACUUM later.
 * @module
 */
import { forEachBounded } from '../concurrency.js'
import { randomUUID } from 'node:crypto'
import type { AddAction, FileStats, PartitionValues, RemoveAction } from '../actions/actions.js'
import { DeltaError } from '../errors.js'
import { writeParquet } from '../parquet/index.js'
import type { StructField, StructType } from '../schema/data-type.js'
import { isNullPartitionValue, serializePartitionValue } from '../schema/partition-values.js'
import { encodeAddPath, partitionDirectory } from '../schema/paths.js'
import { coerceValue } from '../schema/values.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import { collectStats, serializeStats, statsColumnsFor } from '../stats/collect-stats.js'
import type { ObjectStore, WriteGroup } from '../storage/object-store.js'

/** `created_by` of our Parquet files; Spark trusts string stats only with "<app> version <v>". */
export const PARQUET_CREATED_BY = 'polarway-lakehouse version 0.1.0'

/** Default maximum number of rows per data file. */
export const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000

/** How many data files are encoded and written concurrently. */
const WRITE_CONCURRENCY = 4

/** Options of {@link writeDataFiles}. */
export interface WriteFilesOptions {
  /** `add.dataChange` (false only when rearranging existing data, e.g. compaction). */
  readonly dataChange?: boolean
  /** Split files after this many rows. */
  readonly maxRowsPerFile?: number
  /** Modification time written into the add actions. */
  readonly now: number
  /** Rows were validated already (they come from the table itself). */
  readonly trusted?: boolean
}

/**
 * Validates rows against the table schema and returns them in canonical form (longs as bigint,
 * decimals as strings, ...). Unknown columns, nulls in non-nullable columns, values of the
 * wrong type and empty strings in non-nullable partition columns (see
 * {@link checkPartitionValue}) are rejected; missing nullable columns become null.
 * @param schema - the table schema
 * @param rows - user rows
 * @param location - table location for messages
 * @param partitionColumns - the table's partition columns
 * @returns canonical rows (new objects)
 * @throws DeltaError `SCHEMA_MISMATCH` naming the row index and column
 */
export function validateRows(
  schema: StructType,
  rows: readonly unknown[],
  location: string,
  partitionColumns: readonly string[],
): Record<string, unknown>[] {
  if (!Array.isArray(rows)) {
    throw new DeltaError(
      'SCHEMA_MISMATCH',
      `delta write: rows for table ${location} must be an array`,
    )
  }
  const byName = fieldsByName(schema)
  const partitions = new Set(partitionColumns)
  return rows.map((row, i) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row) || row instanceof Map) {
      throw new DeltaError(
        'SCHEMA_MISMATCH',
        `delta write: row ${i} for table ${location} is not an object`,
        {
          context: { table: location, row: i },
        },
      )
    }
    const input = row as Record<string, unknown>
    for (const key of Object.keys(input)) {
      if (!byName.has(key)) {
        throw new DeltaError(
          'SCHEMA_MISMATCH',
          `delta write: row ${i} has column ${JSON.stringify(key)}, which table ${location} does not have`,
          { context: { table: location, row: i, column: key } },
        )
      }
    }
    const out: Record<string, unknown> = {}
    for (const f of schema.fields) {
      const v = input[f.name]
      if (v === undefined || v === null) {
        if (!f.nullable && f.type !== 'void') {
          throw new DeltaError(
            'SCHEMA_MISMATCH',
            `delta write: row ${i} has no value for non-nullable column ${JSON.stringify(f.name)} of table ${location}`,
            { context: { table: location, row: i, column: f.name } },
          )
        }
        out[f.name] = null
      } else {
        out[f.name] = coerceField(f, v, i, location)
        if (!f.nullable && partitions.has(f.name)) {
          checkPartitionValue(
            f,
            out[f.name],
            `row ${i} column ${JSON.stringify(f.name)} of table ${location}`,
            { table: location, row: i },
          )
        }
      }
    }
    return out
  })
}

/**
 * Refuses a value that a non-nullable partition column cannot hold. The empty string (and empty
 * binary) is written as a null partition value, as Spark does (see `serializePartitionValue`),
 * and readers refuse a null partition value in a non-nullable column: delta-rs will not open
 * such a table at all.
 * @param field - the partition column
 * @param value - the value, in canonical form (nulls are checked elsewhere and pass here)
 * @param where - what the value is, for messages (e.g. `row 3 column "p" of table …`)
 * @param context - more error context (the column and `where` are added)
 * @throws DeltaError `SCHEMA_MISMATCH` naming `where` and the column
 */
export function checkPartitionValue(
  field: StructField,
  value: unknown,
  where: string,
  context: Record<string, unknown> = {},
): void {
  if (field.nullable || value === null || !isNullPartitionValue(value)) return
  throw new DeltaError(
    'SCHEMA_MISMATCH',
    `delta write: ${where} is ${typeof value === 'string' ? 'an empty string' : 'empty binary'}, ` +
      `which is stored as a null partition value, but partition column ` +
      `${JSON.stringify(field.name)} is not nullable`,
    { context: { ...context, where, column: field.name } },
  )
}

/** Field lookup of a schema, built once per schema object (appends validate row by row). */
const FIELDS_BY_NAME = new WeakMap<StructType, ReadonlyMap<string, StructField>>()

function fieldsByName(schema: StructType): ReadonlyMap<string, StructField> {
  let byName = FIELDS_BY_NAME.get(schema)
  if (!byName) {
    byName = new Map(schema.fields.map((f) => [f.name, f]))
    FIELDS_BY_NAME.set(schema, byName)
  }
  return byName
}

/**
 * Coerces one value. The description of the value only matters in an error message, so it is
 * built only when the value is rejected: coercion is deterministic, and the second call throws
 * the same error with the full description.
 */
function coerceField(f: StructField, value: unknown, row: number, location: string): unknown {
  try {
    return coerceValue(f.type, value, '')
  } catch {
    return coerceValue(
      f.type,
      value,
      `row ${row} column ${JSON.stringify(f.name)} of table ${location}`,
    )
  }
}

interface PartitionGroup {
  readonly values: PartitionValues
  readonly rows: Record<string, unknown>[]
}

function groupByPartition(
  rows: readonly Record<string, unknown>[],
  partitionFields: readonly StructField[],
  location: string,
): PartitionGroup[] {
  if (partitionFields.length === 0)
    return rows.length === 0 ? [] : [{ values: {}, rows: [...rows] }]
  const groups = new Map<string, PartitionGroup>()
  for (const row of rows) {
    const values: Record<string, string | null> = {}
    for (const f of partitionFields) {
      const value = serializePartitionValue(f.type, row[f.name])
      // Every writer validates its rows; this guards the log against a row that slipped by.
      if (value === null && !f.nullable) {
        throw new DeltaError(
          'SCHEMA_MISMATCH',
          `delta write: a row for table ${location} would store a null partition value ` +
            `(for null, an empty string or empty binary) in non-nullable partition column ` +
            `${JSON.stringify(f.name)}`,
          { context: { table: location, column: f.name } },
        )
      }
      values[f.name] = value
    }
    const key = JSON.stringify(partitionFields.map((f) => values[f.name] ?? null))
    let g = groups.get(key)
    if (!g) {
      g = { values, rows: [] }
      groups.set(key, g)
    }
    g.rows.push(row)
  }
  return [...groups.values()]
}

/** One data file to write: its rows and partition values. */
interface FileJob {
  readonly values: PartitionValues
  readonly rows: Record<string, unknown>[]
}

/** What encoding a file needs from the snapshot, computed once per write. */
interface WritePlan {
  readonly jobs: FileJob[]
  readonly dataSchema: StructType
  readonly schema: StructType
  readonly statsColumns: ReturnType<typeof statsColumnsFor>
  readonly partitionColumns: readonly string[]
  readonly partitioned: boolean
  readonly writeId: string
}

function planWrite(
  snapshot: Snapshot,
  rows: readonly Record<string, unknown>[],
  options: WriteFilesOptions,
): WritePlan {
  const schema = snapshot.schema
  const canonical = options.trusted
    ? rows
    : validateRows(schema, rows, snapshot.location, snapshot.partitionColumns)
  const { partitionFields, dataSchema, statsColumns } = fileLayout(snapshot)
  const maxRows = Math.max(1, options.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE)
  const jobs: FileJob[] = []
  for (const g of groupByPartition(canonical, partitionFields, snapshot.location)) {
    if (g.rows.length <= maxRows) jobs.push(g)
    else {
      for (let i = 0; i < g.rows.length; i += maxRows) {
        jobs.push({ values: g.values, rows: g.rows.slice(i, i + maxRows) })
      }
    }
  }
  return {
    jobs,
    dataSchema,
    schema,
    statsColumns,
    partitionColumns: snapshot.partitionColumns,
    partitioned: partitionFields.length > 0,
    writeId: randomUUID(),
  }
}

/** What {@link planWrite} derives from a table's metadata alone. */
interface FileLayout {
  readonly partitionFields: readonly StructField[]
  /** The columns stored in the data files (the partition columns are not). */
  readonly dataSchema: StructType
  readonly statsColumns: ReturnType<typeof statsColumnsFor>
}

/**
 * Layouts by metaData action: appends keep their table's action, so each commit of a writer
 * reuses its layout, and the Parquet writer its plan of the same `dataSchema` object.
 */
const fileLayouts = new WeakMap<Snapshot['metadata'], FileLayout>()

function fileLayout(snapshot: Snapshot): FileLayout {
  const known = fileLayouts.get(snapshot.metadata)
  if (known) return known
  const schema = snapshot.schema
  const partitionSet = new Set(snapshot.partitionColumns)
  const layout: FileLayout = {
    partitionFields: schema.fields.filter((f) => partitionSet.has(f.name)),
    dataSchema: { type: 'struct', fields: schema.fields.filter((f) => !partitionSet.has(f.name)) },
    statsColumns: statsColumnsFor(
      schema,
      snapshot.metadata.configuration,
      snapshot.partitionColumns,
    ),
  }
  fileLayouts.set(snapshot.metadata, layout)
  return layout
}

/** Encodes file `i` of a plan: its key, Parquet bytes and add action. */
function encodeFile(
  plan: WritePlan,
  i: number,
  options: WriteFilesOptions,
): { key: string; bytes: Uint8Array; add: AddAction } {
  const job = plan.jobs[i] as FileJob
  const bytes = writeParquet(job.rows, plan.dataSchema, { createdBy: PARQUET_CREATED_BY })
  const stats = collectStats(job.rows, plan.schema, plan.statsColumns)
  return {
    bytes,
    ...newDataFile(
      // Files are partitioned by the partition columns the schema has (as their values are).
      plan.partitioned ? plan.partitionColumns : [],
      job.values,
      `${String(i).padStart(5, '0')}-${plan.writeId}`,
      {
        bytes,
        stats,
        now: options.now,
        dataChange: options.dataChange ?? true,
      },
    ),
  }
}

/**
 * The key and `add` of a new data file: `part-<name>-c000.snappy.parquet` (the name holds a
 * fresh UUID) in its partition's directory.
 */
function newDataFile(
  partitionColumns: readonly string[],
  partitionValues: PartitionValues,
  name: string,
  file: {
    readonly bytes: Uint8Array
    readonly stats: FileStats
    readonly now: number
    readonly dataChange: boolean
  },
): { key: string; add: AddAction } {
  const dir =
    partitionColumns.length > 0 ? `${partitionDirectory(partitionColumns, partitionValues)}/` : ''
  const key = `${dir}part-${name}-c000.snappy.parquet`
  const add: AddAction = {
    kind: 'add',
    path: encodeAddPath(key),
    partitionValues,
    size: file.bytes.byteLength,
    modificationTime: file.now,
    dataChange: file.dataChange,
    stats: serializeStats(file.stats),
  }
  return { key, add }
}

/**
 * A store that can create a never-used key without a temp file (see `LocalFsStore.putNew`),
 * as one of a group of writes that a commit can be ordered after.
 */
interface NewObjectWriter {
  putNew(key: string, data: Uint8Array, group?: WriteGroup): Promise<void>
  newWriteGroup?(expected: number): WriteGroup
}

function canPutNew(store: ObjectStore): store is ObjectStore & NewObjectWriter {
  return typeof (store as Partial<NewObjectWriter>).putNew === 'function'
}

/**
 * Stores a data file durably. Its name holds a fresh UUID and no commit references it yet, so
 * no reader can look at it while it is written: a store that can skip the temp file and rename
 * that `put` needs for atomic replacement does so.
 */
function putDataFile(
  store: ObjectStore,
  key: string,
  bytes: Uint8Array,
  group?: WriteGroup,
): Promise<void> {
  return canPutNew(store) ? store.putNew(key, bytes, group) : store.put(key, bytes)
}

/**
 * Writes rows as data files of a table and returns the `add` actions for them. Files are
 * encoded as they are written (at most a few at a time in memory).
 * @param store - the table's store
 * @param snapshot - the snapshot being written to (schema, partitioning, stats settings)
 * @param rows - rows in canonical form (see {@link validateRows}); validated unless `trusted`
 * @param options - data change flag, file size, clock
 * @returns one add per written file (none for no rows)
 * @throws DeltaError `SCHEMA_MISMATCH`, `STORAGE_ERROR`
 */
export async function writeDataFiles(
  store: ObjectStore,
  snapshot: Snapshot,
  rows: readonly Record<string, unknown>[],
  options: WriteFilesOptions,
): Promise<AddAction[]> {
  const plan = planWrite(snapshot, rows, options)
  const adds: AddAction[] = new Array<AddAction>(plan.jobs.length)
  await forEachBounded(plan.jobs, WRITE_CONCURRENCY, async (_job, i) => {
    const file = encodeFile(plan, i, options)
    await putDataFile(store, file.key, file.bytes)
    adds[i] = file.add
  })
  return adds
}

/**
 * Stores an encoded data file of a table (a copy of another file of the same partition with
 * some columns replaced) and returns its `add`.
 * @param store - the table's store
 * @param snapshot - the snapshot being written to (partitioning)
 * @param partitionValues - the file's partition values (serialized, as in an `add`)
 * @param bytes - the Parquet file
 * @param stats - its statistics
 * @param now - modification time
 * @returns the add (`dataChange` true)
 * @throws DeltaError `STORAGE_ERROR`
 */
export async function writeEncodedFile(
  store: ObjectStore,
  snapshot: Snapshot,
  partitionValues: PartitionValues,
  bytes: Uint8Array,
  stats: FileStats,
  now: number,
): Promise<AddAction> {
  const { key, add } = newDataFile(
    snapshot.partitionColumns,
    partitionValues,
    `00000-${randomUUID()}`,
    { bytes, stats, now, dataChange: true },
  )
  await putDataFile(store, key, bytes)
  return add
}

/** Result of {@link prepareDataFiles}. */
export interface PreparedDataFiles {
  /** One add per file, known before the files are durable. */
  readonly adds: AddAction[]
  /**
   * Settles when every file is durable (or one failed). The caller must await it before
   * publishing a commit that references the files, and must await it on every path.
   */
  readonly written: Promise<void>
  /** The writes as a group, on stores that can order a commit after them themselves. */
  readonly group?: WriteGroup
}

/**
 * Encodes rows as data files now and starts writing them, so that a commit can prepare its log
 * entry while the files are being made durable (the commit file is published only after
 * `written` resolves). All files are held in memory until written: meant for appends, whose
 * rows are in memory already.
 * @param store - the table's store
 * @param snapshot - the snapshot being written to (schema, partitioning, stats settings)
 * @param rows - rows in canonical form; validated unless `trusted`
 * @param options - data change flag, file size, clock
 * @returns the adds and the completion of the writes
 * @throws DeltaError `SCHEMA_MISMATCH` (synchronously, before anything is written)
 */
export function prepareDataFiles(
  store: ObjectStore,
  snapshot: Snapshot,
  rows: readonly Record<string, unknown>[],
  options: WriteFilesOptions,
): PreparedDataFiles {
  const plan = planWrite(snapshot, rows, options)
  const files = plan.jobs.map((_, i) => encodeFile(plan, i, options))
  // Only when every file starts writing now: a group waits for all of its writes at once.
  const group =
    files.length <= WRITE_CONCURRENCY && canPutNew(store)
      ? store.newWriteGroup?.(files.length)
      : undefined
  const written = forEachBounded(files, WRITE_CONCURRENCY, (file) =>
    putDataFile(store, file.key, file.bytes, group),
  )
  return { adds: files.map((f) => f.add), written, group }
}

/**
 * The `remove` action for a live file, copying its path byte for byte, as the protocol asks.
 * @param add - the live file
 * @param now - deletion timestamp
 * @param dataChange - false when the rows live on in other files (compaction)
 * @returns the remove action
 */
export function removeFor(add: AddAction, now: number, dataChange: boolean): RemoveAction {
  return {
    kind: 'remove',
    path: add.path,
    dataChange,
    deletionTimestamp: now,
    extendedFileMetadata: true,
    partitionValues: add.partitionValues,
    size: add.size,
    stats: add.stats,
    tags: add.tags,
    deletionVector: add.deletionVector,
  }
}

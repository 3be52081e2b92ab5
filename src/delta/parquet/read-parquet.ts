/**
 * Reading Parquet files (data files and checkpoints, "Data Files" / "Checkpoints" in
 * PROTOCOL.md) into rows in the engine's value representation, driven by the DELTA type of each
 * column rather than by the Parquet annotation:
 *
 * | Delta type | value |
 * |---|---|
 * | string | string |
 * | long | bigint |
 * | integer, short, byte, float, double | number (NaN and ±Infinity kept) |
 * | boolean | boolean |
 * | binary | Uint8Array |
 * | date | `'YYYY-MM-DD'` (proleptic Gregorian) |
 * | timestamp | Date, the UTC instant; microseconds past the millisecond kept on it (`timestamps.ts`) |
 * | timestamp_ntz | Date whose UTC fields are the wall-clock value (microseconds likewise) |
 * | decimal(p,s) | string with exactly s fraction digits (`"-1.50"`, `"12"`) |
 * | struct / array / map | plain object / array / Map |
 * | void | null |
 *
 * hyparquet decodes pages; this module steers it with a patched copy of the file's schema so
 * that it hands back raw values where its own conversions are lossy (DECIMAL to float, BigInt
 * truncation of pre-1970 timestamps, maps with stringified keys), and converts them once per
 * column with a converter built from the Delta type.
 *
 * Schema evolution: columns of the Delta schema missing from the file (also nested struct
 * fields) read as null; extra file columns are ignored; names match exactly first, then
 * case-insensitively. Type widening (byte/short/int to long or double, float to double, date to
 * timestamp_ntz, decimal precision/scale increases, integers to decimals) is applied on read.
 * @module
 */
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet'
import type {
  AsyncBuffer,
  ColumnData,
  CompressionCodec,
  FileMetaData,
  ParquetParsers,
  ParquetType,
  SchemaElement,
  SchemaTree,
} from 'hyparquet'
import { decimalParams, findField } from '../schema/data-type.js'
import type { DataType, MapType, StructType } from '../schema/data-type.js'
import { splitMicros, timestampOf } from '../schema/timestamps.js'
import { DeltaError } from '../errors.js'
import { READABLE_CODECS } from './decompressors.js'
import { checkColumnChunks } from './check-pages.js'
import { errorMessage, parquetError } from './parquet-error.js'
import {
  MAX_DATE_MILLIS,
  bigEndianToInteger,
  formatEpochDays,
  formatUnscaledDecimal,
  nanosToMicros,
} from './value-conversions.js'

/** Options of {@link readParquetRows}. */
export interface ReadParquetRowsOptions {
  /** The Delta schema the rows are read into (the table schema, or a checkpoint schema). */
  readonly schema: StructType
  /** Top-level columns to return, in this order; default: every field of `schema`. */
  readonly columns?: readonly string[]
  /** File name or path, used in error messages only. */
  readonly fileName?: string
}

/** One leaf (physical) column of a Parquet file. */
export interface ParquetColumnInfo {
  /** Path from the top-level column to the leaf. */
  readonly path: readonly string[]
  readonly physicalType: ParquetType
  readonly repetition: 'REQUIRED' | 'OPTIONAL' | 'REPEATED'
}

/** One column chunk of a row group. */
export interface ParquetColumnChunkInfo {
  readonly path: readonly string[]
  readonly codec: CompressionCodec
  readonly numValues: number
  readonly compressedSize: number
  readonly uncompressedSize: number
  /** Null count from the footer statistics, when written. */
  readonly nullCount: number | undefined
}

/** One row group. */
export interface ParquetRowGroupInfo {
  readonly numRows: number
  readonly columns: readonly ParquetColumnChunkInfo[]
}

/** Result of {@link readParquetMetadata}. */
export interface ReadParquetMetadataResult {
  readonly numRows: number
  /** The `created_by` footer field (writing application). */
  readonly createdBy: string | undefined
  /** Top-level column names in file order. */
  readonly topLevelColumns: readonly string[]
  readonly columns: readonly ParquetColumnInfo[]
  readonly rowGroups: readonly ParquetRowGroupInfo[]
  /** Footer key/value metadata (e.g. `org.apache.spark.version`, `ARROW:schema`). */
  readonly keyValueMetadata: Readonly<Record<string, string>>
}

/** Converts one non-null raw value from hyparquet; built once per column, not per value. */
type Convert = (raw: unknown) => unknown

interface PlanContext {
  readonly fileName: string | undefined
  /** Replacement schema elements, keyed by the file's original element objects. */
  readonly patches: Map<SchemaElement, SchemaElement>
}

/** One requested top-level column. */
interface ColumnPlan {
  readonly name: string
  /** The matching top-level file column, undefined when the file lacks it (reads as null). */
  readonly fileName: string | undefined
  readonly convert: Convert | undefined
}

// Timestamps reach these parsers only for INT96 (the physical type cannot be patched away);
// they return epoch microseconds, and the column converter makes the Date with a range check.
const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (millis: bigint) => millis * 1000n,
  timestampFromMicroseconds: (micros: bigint) => micros,
  timestampFromNanoseconds: nanosToMicros,
}

function toAsyncBuffer(data: Uint8Array): AsyncBuffer {
  const { buffer, byteOffset, byteLength } = data
  return {
    byteLength,
    slice: (start, end = byteLength) =>
      (buffer as ArrayBuffer).slice(byteOffset + start, byteOffset + end),
  }
}

/**
 * Parses a file's footer.
 * @throws DeltaError `PARQUET_ERROR`
 * @internal
 */
export function parseMetadata(data: Uint8Array, fileName: string | undefined): FileMetaData {
  try {
    return parquetMetadata(data, { geoparquet: false })
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `not a readable Parquet file: ${errorMessage(cause)}`, {
      fileName,
      cause,
    })
  }
}

/**
 * The schema tree of a parsed footer.
 * @throws DeltaError `PARQUET_ERROR`
 * @internal
 */
export function schemaTreeOf(metadata: FileMetaData, fileName: string | undefined): SchemaTree {
  try {
    if (metadata.schema.some((e) => typeof e.name !== 'string')) {
      throw new Error('a schema element has no name')
    }
    return parquetSchema(metadata)
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `malformed schema: ${errorMessage(cause)}`, {
      fileName,
      cause,
    })
  }
}

/**
 * Reads the footer of a Parquet file: row count, leaf columns, row groups and key/value
 * metadata.
 * @param data - the whole file
 * @param fileName - file name for error messages
 * @returns the file's metadata
 * @throws DeltaError `PARQUET_ERROR` when the footer cannot be parsed
 */
export function readParquetMetadata(
  data: Uint8Array,
  fileName?: string,
): ReadParquetMetadataResult {
  const metadata = parseMetadata(data, fileName)
  const tree = schemaTreeOf(metadata, fileName)
  const columns: ParquetColumnInfo[] = []
  const visit = (node: SchemaTree): void => {
    if (node.children.length === 0) {
      columns.push({
        path: node.path,
        physicalType: node.element.type ?? 'BYTE_ARRAY',
        repetition: node.element.repetition_type ?? 'REQUIRED',
      })
    }
    node.children.forEach(visit)
  }
  tree.children.forEach(visit)
  const keyValueMetadata: Record<string, string> = {}
  for (const { key, value } of metadata.key_value_metadata ?? [])
    keyValueMetadata[key] = value ?? ''
  return {
    numRows: Number(metadata.num_rows),
    createdBy: metadata.created_by,
    topLevelColumns: tree.children.map((c) => c.element.name),
    columns,
    rowGroups: metadata.row_groups.map((group) => ({
      numRows: Number(group.num_rows),
      columns: group.columns.map((chunk) => {
        const meta = chunk.meta_data
        const nullCount = meta?.statistics?.null_count
        return {
          path: meta?.path_in_schema ?? [],
          codec: meta?.codec ?? 'UNCOMPRESSED',
          numValues: Number(meta?.num_values ?? 0n),
          compressedSize: Number(meta?.total_compressed_size ?? 0n),
          uncompressedSize: Number(meta?.total_uncompressed_size ?? 0n),
          nullCount: nullCount === undefined ? undefined : Number(nullCount),
        }
      }),
    })),
    keyValueMetadata,
  }
}

/**
 * Reads every row of a Parquet file into objects holding exactly the requested top-level
 * columns, converted to the engine's value representation according to the Delta types in
 * `options.schema` (see the module documentation for the mapping).
 * @param data - the whole file
 * @param options - the Delta schema, the columns to return and the file name for messages
 * @returns the rows, in file order
 * @throws DeltaError `PARQUET_ERROR` for a corrupt or unreadable file, an unsupported
 *   compression codec, or a timestamp a JavaScript Date cannot hold;
 *   `SCHEMA_MISMATCH` when a file column's type is incompatible with its Delta type;
 *   `COLUMN_NOT_FOUND` when `options.columns` names a field that is not in `options.schema`
 */
export async function readParquetRows(
  data: Uint8Array,
  options: ReadParquetRowsOptions,
): Promise<Record<string, unknown>[]> {
  const { schema, fileName } = options
  const metadata = parseMetadata(data, fileName)
  const tree = schemaTreeOf(metadata, fileName)
  const context: PlanContext = { fileName, patches: new Map() }
  const plans = planColumns(schema, options.columns, tree, context)

  const numRows = Number(metadata.num_rows)
  const fileColumns = plans.flatMap((p) => (p.fileName === undefined ? [] : [p.fileName]))
  checkCodecs(metadata, new Set(fileColumns), fileName)
  const runs = checkColumnChunks(data, metadata, tree, new Set(fileColumns), fileName, true)

  const values = new Map<string, unknown[]>()
  if (fileColumns.length > 0 && numRows > 0) {
    const patched: FileMetaData = {
      ...metadata,
      schema: metadata.schema.map((element) => context.patches.get(element) ?? element),
    }
    const chunks: ColumnData[] = []
    // What each leaf decodes to, before hyparquet assembles the leaves of a nested column (and
    // clips them to their row group).
    const leafSpans = new Map<string, RowSpan[]>()
    for (const chunk of metadata.row_groups[0]?.columns ?? []) {
      const path = chunk.meta_data?.path_in_schema ?? []
      if (fileColumns.includes(path[0] ?? '')) leafSpans.set(path.join('.'), [])
    }
    try {
      await parquetRead({
        file: toAsyncBuffer(data),
        metadata: patched,
        columns: fileColumns,
        utf8: false,
        parsers: PARSERS,
        compressors: runs.decompressors(),
        // Only collect here: hyparquet swallows exceptions thrown by onChunk.
        onChunk: (chunk) => {
          chunks.push(chunk)
        },
        onPage: (page) => {
          leafSpans.get(page.pathInSchema.join('.'))?.push(spanOf(page))
        },
      })
    } catch (cause) {
      if (cause instanceof DeltaError) throw cause // a damaged page found by the run checks
      throw parquetError('PARQUET_ERROR', `cannot decode: ${errorMessage(cause)}`, {
        fileName,
        cause,
      })
    }
    const groupEnds = rowGroupEnds(metadata)
    checkRowCoverage(leafSpans, groupEnds, fileName)
    const columnSpans = new Map(fileColumns.map((column) => [column, [] as RowSpan[]]))
    for (const chunk of chunks) columnSpans.get(chunk.columnName)?.push(spanOf(chunk))
    checkRowCoverage(columnSpans, groupEnds, fileName)
    const plansByFileColumn = new Map(plans.map((p) => [p.fileName, p]))
    for (const chunk of chunks) {
      const plan = plansByFileColumn.get(chunk.columnName)
      if (plan === undefined) continue
      let target = values.get(chunk.columnName)
      if (target === undefined) {
        target = new Array<unknown>(numRows).fill(null)
        values.set(chunk.columnName, target)
      }
      fillColumn(target, chunk.columnData as ArrayLike<unknown>, chunk.rowStart, plan.convert)
    }
  }

  const columnValues = plans.map((p) =>
    p.fileName === undefined ? undefined : values.get(p.fileName),
  )
  const names = plans.map((p) => p.name)
  const rows = new Array<Record<string, unknown>>(numRows)
  for (let i = 0; i < numRows; i++) {
    const row: Record<string, unknown> = {}
    for (let c = 0; c < names.length; c++) {
      row[names[c] as string] = columnValues[c]?.[i] ?? null
    }
    rows[i] = row
  }
  return rows
}

/** The rows a decoded piece of a column is placed at, and how many values it holds. */
interface RowSpan {
  readonly rowStart: number
  readonly rowEnd: number
  readonly length: number
}

function spanOf(piece: { rowStart: number; rowEnd: number; columnData: unknown }): RowSpan {
  const { rowStart, rowEnd } = piece
  return { rowStart, rowEnd, length: (piece.columnData as ArrayLike<unknown>).length }
}

/** The row after the last of each row group. */
function rowGroupEnds(metadata: FileMetaData): number[] {
  let end = 0
  return metadata.row_groups.map((group) => (end += Number(group.num_rows)))
}

/**
 * Checks that the decoded pieces of every column (or leaf) cover the rows of each row group
 * exactly once, in order. hyparquet places a piece at the row its own count has reached, and
 * clips the leaves of a nested column to their row group, so pages that decode to more or fewer
 * rows than their row group holds (damaged repetition levels, a nested column's value count)
 * would shift values into other rows or drop them silently.
 * @param spans - the pieces of each column, in any order
 * @param groupEnds - from {@link rowGroupEnds}
 * @param fileName - for messages
 * @throws DeltaError `PARQUET_ERROR` naming the file, column and row group
 */
function checkRowCoverage(
  spans: ReadonlyMap<string, RowSpan[]>,
  groupEnds: readonly number[],
  fileName: string | undefined,
): void {
  const total = groupEnds.at(-1) ?? 0
  for (const [column, list] of spans) {
    list.sort((a, b) => a.rowStart - b.rowStart)
    let row = 0
    let group = 0
    // The row group holding `row` (the last one at the end of the file); rows only grow.
    const groupOfRow = (): number => {
      while (group < groupEnds.length - 1 && (groupEnds[group] as number) <= row) group++
      return group
    }
    const fail = (detail: string): never => {
      const at = groupOfRow()
      const start = at === 0 ? 0 : (groupEnds[at - 1] as number)
      throw parquetError(
        'PARQUET_ERROR',
        `row group ${at} (rows ${start} to ${groupEnds[at]}) decodes to ${detail}`,
        { fileName, column },
      )
    }
    for (const { rowStart, rowEnd, length } of list) {
      const end = groupEnds[groupOfRow()] as number
      if (rowStart !== row || rowEnd - rowStart !== length) {
        fail(`rows ${rowStart} to ${rowEnd} (${length} values) where row ${row} comes next`)
      }
      if (rowEnd > end) fail(`rows up to ${rowEnd}`)
      row = rowEnd
    }
    if (row !== total) fail(`rows up to ${row} of ${total}`)
  }
}

function fillColumn(
  target: unknown[],
  source: ArrayLike<unknown>,
  start: number,
  convert: Convert | undefined,
): void {
  const n = source.length
  if (convert === undefined) {
    for (let i = 0; i < n; i++) target[start + i] = source[i] ?? null
  } else {
    for (let i = 0; i < n; i++) {
      const raw = source[i]
      target[start + i] = raw === null || raw === undefined ? null : convert(raw)
    }
  }
}

function checkCodecs(
  metadata: FileMetaData,
  columns: ReadonlySet<string>,
  fileName: string | undefined,
): void {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data
      if (meta === undefined) continue
      // A damaged footer can decode without a chunk's path: refuse it here, typed.
      if (!Array.isArray(meta.path_in_schema) || typeof meta.codec !== 'string') {
        throw parquetError('PARQUET_ERROR', 'damaged footer: a column chunk has no path or codec', {
          fileName,
        })
      }
      if (!columns.has(meta.path_in_schema[0] ?? '')) continue
      if (!READABLE_CODECS.has(meta.codec)) {
        const readable = [...READABLE_CODECS].join(', ')
        const hint = meta.codec === 'ZSTD' ? ' (ZSTD needs Node.js 22.15 or later)' : ''
        throw parquetError(
          'PARQUET_ERROR',
          `unsupported compression codec ${meta.codec}${hint}; readable codecs: ${readable}`,
          { fileName, column: meta.path_in_schema.join('.') },
        )
      }
    }
  }
}

function findChild(node: SchemaTree, name: string): SchemaTree | undefined {
  const exact = node.children.find((c) => c.element.name === name)
  if (exact) return exact
  const lower = name.toLowerCase()
  return node.children.find((c) => c.element.name.toLowerCase() === lower)
}

function planColumns(
  schema: StructType,
  columns: readonly string[] | undefined,
  tree: SchemaTree,
  context: PlanContext,
): ColumnPlan[] {
  const fields =
    columns === undefined
      ? schema.fields
      : columns.map((name) => {
          const field = findField(schema, name)
          if (field === undefined) {
            throw parquetError('COLUMN_NOT_FOUND', 'requested column is not in the Delta schema', {
              fileName: context.fileName,
              column: name,
            })
          }
          return field
        })
  return fields.map((field) => {
    const node = field.type === 'void' ? undefined : findChild(tree, field.name)
    if (node === undefined) return { name: field.name, fileName: undefined, convert: undefined }
    return {
      name: field.name,
      fileName: node.element.name,
      convert: planValue(field.type, node, field.name, context, false),
    }
  })
}

function mismatch(context: PlanContext, path: string, expected: string, node: SchemaTree): never {
  throw parquetError(
    'SCHEMA_MISMATCH',
    `Delta type ${expected} cannot be read from Parquet ${describeNode(node)}`,
    { fileName: context.fileName, column: path },
  )
}

function describeNode(node: SchemaTree): string {
  const e = node.element
  const annotation =
    e.logical_type !== undefined
      ? `${e.logical_type.type}${annotationDetail(e)}`
      : (e.converted_type ?? '')
  const kind = node.children.length > 0 ? 'group' : (e.type ?? 'unknown')
  const repetition = e.repetition_type ?? 'REQUIRED'
  return `${repetition} ${kind}${annotation === '' ? '' : ` (${annotation})`}`
}

function annotationDetail(e: SchemaElement): string {
  const t = e.logical_type
  if (t?.type === 'DECIMAL') return `(${t.precision},${t.scale})`
  if (t?.type === 'TIMESTAMP') return `(${t.unit},utc=${t.isAdjustedToUTC})`
  if (t?.type === 'INTEGER') return `(${t.bitWidth},${t.isSigned ? 'signed' : 'unsigned'})`
  return ''
}

function isAnnotated(element: SchemaElement, annotation: 'LIST' | 'MAP'): boolean {
  return element.converted_type === annotation || element.logical_type?.type === annotation
}

/** Replaces the element's annotations so that hyparquet applies none of its own conversions. */
function stripAnnotations(node: SchemaTree, context: PlanContext): void {
  const e = node.element
  if (e.converted_type === undefined && e.logical_type === undefined) return
  context.patches.set(e, { ...e, converted_type: undefined, logical_type: undefined })
}

function planValue(
  type: DataType,
  node: SchemaTree,
  path: string,
  context: PlanContext,
  isElement: boolean,
): Convert | undefined {
  const repeated = node.element.repetition_type === 'REPEATED'
  if (typeof type === 'string') {
    if (node.children.length > 0 || (repeated && !isElement)) mismatch(context, path, type, node)
    return planPrimitive(type, node, path, context)
  }
  if (type.type === 'array') {
    // A repeated field outside a LIST group is a list of required elements (1-level form).
    if (repeated && !isElement) {
      return mapElements(planValue(type.elementType, node, `${path}.element`, context, true))
    }
    return planList(type.elementType, node, path, context)
  }
  if (repeated && !isElement) mismatch(context, path, type.type, node)
  if (type.type === 'map') return planMap(type, node, path, context)
  return planStruct(type, node, path, context)
}

function planStruct(
  type: StructType,
  node: SchemaTree,
  path: string,
  context: PlanContext,
): Convert {
  if (node.children.length === 0 || isAnnotated(node.element, 'LIST')) {
    mismatch(context, path, 'struct', node)
  }
  if (isAnnotated(node.element, 'MAP')) mismatch(context, path, 'struct', node)
  stripAnnotations(node, context)
  const names: string[] = []
  const fileNames: (string | undefined)[] = []
  const converts: (Convert | undefined)[] = []
  for (const field of type.fields) {
    const child = field.type === 'void' ? undefined : findChild(node, field.name)
    names.push(field.name)
    fileNames.push(child?.element.name)
    converts.push(
      child === undefined
        ? undefined
        : planValue(field.type, child, `${path}.${field.name}`, context, false),
    )
  }
  const count = names.length
  const sameLayout =
    node.children.length === count && node.children.every((c, i) => c.element.name === names[i])
  if (sameLayout) {
    // hyparquet builds a fresh object per row with exactly these keys in this order: convert
    // it in place instead of allocating a copy (checkpoints have one per action and row).
    const converted = names.flatMap((name, i) => {
      const convert = converts[i]
      return convert === undefined ? [] : [{ name, convert }]
    })
    return (raw) => {
      const object = raw as Record<string, unknown>
      for (const { name, convert } of converted) {
        const value = object[name]
        object[name] = value === null || value === undefined ? null : convert(value)
      }
      return object
    }
  }
  return (raw) => {
    const source = raw as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (let i = 0; i < count; i++) {
      const fileName = fileNames[i]
      const value = fileName === undefined ? null : source[fileName]
      const convert = converts[i]
      out[names[i] as string] =
        value === null || value === undefined
          ? null
          : convert === undefined
            ? value
            : convert(value)
    }
    return out
  }
}

function mapElements(convert: Convert | undefined): Convert {
  if (convert === undefined)
    return (raw) =>
      Array.isArray(raw) ? (raw as unknown[]) : Array.from(raw as ArrayLike<unknown>)
  return (raw) => {
    const items = raw as ArrayLike<unknown>
    const out = new Array<unknown>(items.length)
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      out[i] = item === null || item === undefined ? null : convert(item)
    }
    return out
  }
}

/**
 * Lists follow the backward-compatibility rules of the Parquet LogicalTypes spec: the repeated
 * field itself is the element when it is primitive, has several fields, is named `array` or
 * `<list>_tuple` (legacy 2-level lists of parquet-mr, Spark, Hive), or when the Delta element is a
 * struct but the repeated group's only child is primitive; otherwise its single child is the
 * element (standard 3-level `list`/`element`, pyarrow's `list`/`item`, Spark's `bag`/`array`).
 */
function planList(
  elementType: DataType,
  node: SchemaTree,
  path: string,
  context: PlanContext,
): Convert {
  const repeated = node.children[0]
  if (
    node.children.length !== 1 ||
    repeated === undefined ||
    repeated.element.repetition_type !== 'REPEATED' ||
    isAnnotated(node.element, 'MAP')
  ) {
    mismatch(context, path, 'array', node)
  }
  const only = repeated.children.length === 1 ? repeated.children[0] : undefined
  const repeatedIsElement =
    only === undefined ||
    repeated.element.name === 'array' ||
    repeated.element.name === `${node.element.name}_tuple` ||
    (typeof elementType === 'object' && elementType.type === 'struct' && only.children.length === 0)
  const elementPath = `${path}.element`
  if (repeatedIsElement) {
    // Without its LIST annotation hyparquet returns the group as `{ <repeated>: items }`.
    stripAnnotations(node, context)
    const convert = mapElements(planValue(elementType, repeated, elementPath, context, true))
    const key = repeated.element.name
    return (raw) => {
      const items = (raw as Record<string, unknown>)[key]
      return items === null || items === undefined ? [] : convert(items)
    }
  }
  // Standard 3-level list: make sure hyparquet sees a LIST and returns plain arrays.
  const e = node.element
  if (e.converted_type !== 'LIST') {
    context.patches.set(e, { ...e, converted_type: 'LIST', logical_type: { type: 'LIST' } })
  }
  return mapElements(planValue(elementType, only, elementPath, context, true))
}

/**
 * Maps are read with their MAP annotation removed, so hyparquet returns
 * `{ key_value: [{ key, value }] }` (names as in the file) instead of an object with
 * stringified keys; key and value are matched by name, else by position.
 */
function planMap(type: MapType, node: SchemaTree, path: string, context: PlanContext): Convert {
  const entries = node.children[0]
  if (
    node.children.length !== 1 ||
    entries === undefined ||
    entries.element.repetition_type !== 'REPEATED' ||
    entries.children.length !== 2 ||
    isAnnotated(node.element, 'LIST')
  ) {
    mismatch(context, path, 'map', node)
  }
  const keyNode = findChild(entries, 'key') ?? entries.children[0]
  const valueNode =
    findChild(entries, 'value') ?? entries.children.find((child) => child !== keyNode)
  if (keyNode === undefined || valueNode === undefined || keyNode === valueNode) {
    mismatch(context, path, 'map', node)
  }
  stripAnnotations(node, context)
  stripAnnotations(entries, context)
  const convertKey = planValue(type.keyType, keyNode, `${path}.key`, context, true)
  const convertValue = planValue(type.valueType, valueNode, `${path}.value`, context, true)
  const entriesName = entries.element.name
  const keyName = keyNode.element.name
  const valueName = valueNode.element.name
  return (raw) => {
    const items = (raw as Record<string, unknown>)[entriesName] as
      readonly Record<string, unknown>[] | undefined
    const map = new Map<unknown, unknown>()
    if (items === undefined) return map
    for (const entry of items) {
      const key = entry[keyName]
      const value = entry[valueName]
      map.set(
        key === null || key === undefined ? null : convertKey === undefined ? key : convertKey(key),
        value === null || value === undefined
          ? null
          : convertValue === undefined
            ? value
            : convertValue(value),
      )
    }
    return map
  }
}

/** Width and signedness of an INT32/INT64 integer annotation; undefined for non-integers. */
function integerAnnotation(element: SchemaElement): { bits: number; signed: boolean } | undefined {
  const physicalBits = element.type === 'INT64' ? 64 : 32
  const logical = element.logical_type
  if (logical !== undefined) {
    return logical.type === 'INTEGER'
      ? { bits: logical.bitWidth, signed: logical.isSigned }
      : undefined
  }
  switch (element.converted_type) {
    case undefined:
      return { bits: physicalBits, signed: true }
    case 'INT_8':
      return { bits: 8, signed: true }
    case 'INT_16':
      return { bits: 16, signed: true }
    case 'INT_32':
      return { bits: 32, signed: true }
    case 'INT_64':
      return { bits: 64, signed: true }
    case 'UINT_8':
      return { bits: 8, signed: false }
    case 'UINT_16':
      return { bits: 16, signed: false }
    case 'UINT_32':
      return { bits: 32, signed: false }
    case 'UINT_64':
      return { bits: 64, signed: false }
    default:
      return undefined
  }
}

const INTEGER_BITS: Readonly<Record<string, number>> = { byte: 8, short: 16, integer: 32, long: 64 }

/** Whether an integer annotation fits a Delta integer type of `bits` (signed). */
function fitsInteger(annotation: { bits: number; signed: boolean }, bits: number): boolean {
  return annotation.signed ? annotation.bits <= bits : annotation.bits < bits
}

function decimalAnnotation(
  element: SchemaElement,
): { precision: number; scale: number } | undefined {
  const logical = element.logical_type
  if (logical?.type === 'DECIMAL') return { precision: logical.precision, scale: logical.scale }
  if (element.converted_type === 'DECIMAL') {
    return { precision: element.precision ?? 38, scale: element.scale ?? 0 }
  }
  return undefined
}

function timestampUnit(element: SchemaElement): 'MILLIS' | 'MICROS' | 'NANOS' | undefined {
  const logical = element.logical_type
  if (logical?.type === 'TIMESTAMP') return logical.unit
  if (element.converted_type === 'TIMESTAMP_MILLIS') return 'MILLIS'
  if (element.converted_type === 'TIMESTAMP_MICROS') return 'MICROS'
  return undefined
}

function isDate(element: SchemaElement): boolean {
  return element.converted_type === 'DATE' || element.logical_type?.type === 'DATE'
}

function dateConverter(
  context: PlanContext,
  path: string,
): (millis: number, micros?: number) => Date {
  return (millis, micros = 0) => {
    if (!(millis >= -MAX_DATE_MILLIS && millis <= MAX_DATE_MILLIS)) {
      throw parquetError(
        'PARQUET_ERROR',
        `timestamp ${millis} ms since the epoch is outside the range of a JavaScript Date`,
        { fileName: context.fileName, column: path },
      )
    }
    return timestampOf(millis, micros)
  }
}

const MILLIS_PER_DAY = 86_400_000

function planPrimitive(
  type: Exclude<DataType, object>,
  node: SchemaTree,
  path: string,
  context: PlanContext,
): Convert | undefined {
  const element = node.element
  const physical = element.type
  const fail = (): never => mismatch(context, path, type, node)

  switch (type) {
    case 'string': {
      if (physical !== 'BYTE_ARRAY') return fail()
      const annotation = element.logical_type?.type ?? element.converted_type
      if (annotation !== undefined && !['STRING', 'UTF8', 'ENUM', 'JSON'].includes(annotation)) {
        return fail()
      }
      // hyparquet decodes UTF8-annotated byte arrays (and, with utf8: false, nothing else).
      context.patches.set(element, {
        ...element,
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      })
      return undefined
    }
    case 'binary':
      if (physical !== 'BYTE_ARRAY' && physical !== 'FIXED_LEN_BYTE_ARRAY') return fail()
      if (decimalAnnotation(element) !== undefined) return fail()
      stripAnnotations(node, context)
      return undefined
    case 'boolean':
      return physical === 'BOOLEAN' ? undefined : fail()
    case 'float':
      return physical === 'FLOAT' ? undefined : fail()
    case 'double': {
      if (physical === 'DOUBLE' || physical === 'FLOAT') return undefined
      // Type widening byte/short/int -> double: INT32 values are exact doubles.
      const annotation = physical === 'INT32' ? integerAnnotation(element) : undefined
      if (annotation === undefined || !fitsInteger(annotation, 32)) return fail()
      stripAnnotations(node, context)
      return undefined
    }
    case 'byte':
    case 'short':
    case 'integer':
    case 'long': {
      const bits = INTEGER_BITS[type] ?? 64
      if (physical !== 'INT32' && physical !== 'INT64') return fail()
      if (physical === 'INT64' && bits < 64) return fail()
      const annotation = integerAnnotation(element)
      if (annotation === undefined || !fitsInteger(annotation, bits)) return fail()
      stripAnnotations(node, context)
      if (type !== 'long' || physical === 'INT64') return undefined
      // Type widening to long (and UINT_32, stored as the int32 with the same bits).
      return annotation.signed
        ? (raw) => BigInt(raw as number)
        : (raw) => BigInt((raw as number) >>> 0)
    }
    case 'date':
      if (physical !== 'INT32' || !isDate(element)) return fail()
      stripAnnotations(node, context)
      return (raw) => formatEpochDays(raw as number)
    case 'timestamp':
    case 'timestamp_ntz':
      return planTimestamp(type, node, path, context)
    case 'void':
      return () => null
    default:
      return planDecimal(type, node, path, context)
  }
}

/**
 * Both `timestamp` and `timestamp_ntz` accept either `isAdjustedToUTC` flag: the stored number
 * is the same (UTC instant, or wall clock read as UTC), and writers disagree on the flag
 * (pyarrow marks naive datetimes non-UTC). An INT64 without a TIMESTAMP annotation is rejected:
 * its unit is unknowable.
 */
function planTimestamp(
  type: 'timestamp' | 'timestamp_ntz',
  node: SchemaTree,
  path: string,
  context: PlanContext,
): Convert {
  const element = node.element
  const toDate = dateConverter(context, path)
  const fromMicros = (micros: bigint): Date => {
    const split = splitMicros(micros)
    return toDate(split.millis, split.micros)
  }
  if (element.type === 'INT96') {
    // Spark's legacy timestamps; hyparquet converts them with PARSERS into epoch microseconds.
    return (raw) => fromMicros(raw as bigint)
  }
  if (element.type === 'INT32' && type === 'timestamp_ntz' && isDate(element)) {
    stripAnnotations(node, context) // type widening date -> timestamp_ntz
    return (raw) => toDate((raw as number) * MILLIS_PER_DAY)
  }
  const unit = element.type === 'INT64' ? timestampUnit(element) : undefined
  if (unit === undefined) return mismatch(context, path, type, node)
  stripAnnotations(node, context)
  switch (unit) {
    case 'MILLIS':
      return (raw) => toDate(Number(raw))
    case 'MICROS':
      return (raw) => fromMicros(raw as bigint)
    case 'NANOS':
      // Delta timestamps have microsecond precision: finer digits are floored away.
      return (raw) => fromMicros(nanosToMicros(raw as bigint))
  }
}

function planDecimal(
  type: Exclude<DataType, object>,
  node: SchemaTree,
  path: string,
  context: PlanContext,
): Convert {
  const target = decimalParams(type)
  if (target === undefined) return mismatch(context, path, type, node)
  const element = node.element
  const physical = element.type
  let source = decimalAnnotation(element)
  if (source === undefined && (physical === 'INT32' || physical === 'INT64')) {
    // Type widening of integers to decimals: the integer is the unscaled value at scale 0.
    const annotation = integerAnnotation(element)
    if (annotation === undefined || !annotation.signed) return mismatch(context, path, type, node)
    const digits =
      annotation.bits === 8 ? 3 : annotation.bits === 16 ? 5 : annotation.bits === 32 ? 10 : 20
    source = { precision: digits, scale: 0 }
  }
  if (
    source === undefined ||
    source.scale > target.scale ||
    source.precision - source.scale > target.precision - target.scale
  ) {
    return mismatch(context, path, type, node)
  }
  stripAnnotations(node, context)
  const fileScale = source.scale
  const scale = target.scale
  switch (physical) {
    case 'INT32':
    case 'INT64':
      return (raw) => formatUnscaledDecimal(raw as number | bigint, fileScale, scale)
    case 'FIXED_LEN_BYTE_ARRAY':
    case 'BYTE_ARRAY':
      return (raw) => formatUnscaledDecimal(bigEndianToInteger(raw as Uint8Array), fileScale, scale)
    default:
      return mismatch(context, path, type, node)
  }
}

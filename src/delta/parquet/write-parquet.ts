/**
 * Writing rows in the engine's value representation (see `read-parquet.ts`) as a
 * snappy-compressed Parquet file with the physical layout Spark writes for Delta tables
 * ("Data Files" and "Checkpoints" in PROTOCOL.md), so that Spark, delta-rs, pyarrow, Polars and
 * DuckDB read it:
 *
 * | Delta type | Parquet |
 * |---|---|
 * | string | BYTE_ARRAY, STRING |
 * | long / integer | INT64 / INT32 |
 * | short / byte | INT32, INT_16 / INT_8 |
 * | float / double / boolean / binary | FLOAT / DOUBLE / BOOLEAN / BYTE_ARRAY |
 * | date | INT32, DATE |
 * | timestamp | INT64, TIMESTAMP(isAdjustedToUTC=true, MICROS) |
 * | timestamp_ntz | INT64, TIMESTAMP(isAdjustedToUTC=false, MICROS) |
 * | decimal(p,s) | INT32 (p ≤ 9), INT64 (p ≤ 18), else minimal FIXED_LEN_BYTE_ARRAY; DECIMAL(p,s) |
 * | struct | group |
 * | array | 3-level LIST: `<name>` / repeated `list` / `element` |
 * | map | MAP: `<name>` / repeated `key_value` / required `key`, `value` |
 * | void | not written |
 *
 * Nullable fields are OPTIONAL, others REQUIRED. Both the legacy converted type and the logical
 * type are written, except for timestamp_ntz, which has no converted type (TIMESTAMP_MICROS
 * means an instant adjusted to UTC; pyarrow omits it too), and short/byte, which have only the
 * converted type (see `leafElement`).
 * @module
 */
import { ByteWriter, parquetWrite } from 'hyparquet-writer'
// hyparquet-writer bundles its own hyparquet, so its SchemaElement type is the one to use here.
import type { ColumnSource, SchemaElement } from 'hyparquet-writer'
import { runSteps, runStepsNow } from '../concurrency.js'
import { decimalParams } from '../schema/data-type.js'
import { findType, type DataType, type StructField, type StructType } from '../schema/data-type.js'
import { timestampMicros } from '../schema/timestamps.js'
import { errorMessage, parquetError } from './parquet-error.js'
import {
  PAGE_MAX_ROWS,
  STATISTICS_TRUNCATE_LENGTH,
  planDirect,
  writeDirect,
  type DirectPlan,
} from './write-direct.js'
import { decimalByteLength, parseDecimalString, parseEpochDays } from './value-conversions.js'

/** Options of {@link writeParquet}. */
export interface WriteParquetOptions {
  /** Rows per row group (default 131072, about DuckDB's row group size). */
  readonly rowGroupSize?: number
  /**
   * The footer's `created_by` (default `polarway-lakehouse`). parquet-java (Spark) trusts
   * BYTE_ARRAY min/max statistics only when this parses as `<app> version <semver>`.
   */
  readonly createdBy?: string
  /**
   * Files of at most this many rows (default 4,096; 0 for none) and one row group are written
   * with one PLAIN data page per column (see `write-direct.ts`); larger ones get pages cut by
   * size and dictionaries for string columns with repeated values, which pay off there.
   */
  readonly singlePageMaxRows?: number
  /**
   * Rows per data page in files above `singlePageMaxRows` (default 20,000, as parquet-java; a
   * page is also cut at about 1 MiB of values): at most that many for columns outside lists and
   * maps, about that many for theirs, whose pages hold whole rows.
   */
  readonly pageMaxRows?: number
  /**
   * Writes with hyparquet-writer even when the engine's own writer could: for tests, which use
   * it as an independent reference.
   * @internal
   */
  readonly generalWriter?: boolean
}

/** Default `created_by` footer value. */
export const DEFAULT_CREATED_BY = 'polarway-lakehouse'
const DEFAULT_ROW_GROUP_SIZE = 131_072

/**
 * Default of {@link WriteParquetOptions.singlePageMaxRows}: for a small append's file, one page
 * per column costs least.
 */
const SINGLE_PAGE_MAX_ROWS = 4096

/** A value that does not match its column's Delta type; rethrown with the row index. */
class ValueMismatchError extends Error {
  readonly path: string
  constructor(path: string, detail: string) {
    super(detail)
    this.path = path
  }
}

/** Converts one non-null engine value to what the writers expect; validates on the way. */
type Encode = (value: unknown) => unknown

interface ColumnPlan {
  readonly name: string
  readonly nullable: boolean
  readonly encode: Encode
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return 'Uint8Array'
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : 'Date'
  if (value instanceof Map) return 'Map'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'string') {
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`
  }
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${value}`
  return typeof value
}

function expected(path: string, what: string, value: unknown): never {
  throw new ValueMismatchError(path, `expected ${what}, got ${describeValue(value)}`)
}

function checkNullable(path: string, nullable: boolean): void {
  if (!nullable) throw new ValueMismatchError(path, 'null in a non-nullable field')
}

/**
 * Serializes rows as a snappy-compressed Parquet file, one column per non-void schema field,
 * with footer statistics. Zero rows give a valid file with the schema and no row group.
 * @param rows - rows in the engine's value representation; a missing key reads as null
 * @param schema - the Delta schema of the rows
 * @param options - row group size and `created_by`
 * @returns the file bytes
 * @throws DeltaError `SCHEMA_MISMATCH` (naming the column and the row) when a value has the
 *   wrong JavaScript type for its Delta type, is null in a non-nullable field, or is out of
 *   range (integers, decimals beyond their precision or needing rounding, invalid dates);
 *   `PARQUET_ERROR` when the schema cannot be written (a struct with only void fields, void
 *   array elements or map values) or the Parquet writer fails
 */
export function writeParquet(
  rows: readonly Record<string, unknown>[],
  schema: StructType,
  options: WriteParquetOptions = {},
): Uint8Array {
  return runStepsNow(encodeSteps(rows, schema, options))
}

/**
 * {@link writeParquet} for files written beside latency-sensitive work (checkpoints): the
 * conversion of each column (in slices of {@link CONVERT_SLICE_ROWS} rows) and, with the
 * engine's own writer, the encoding of each column chunk are separate steps, run by
 * `runSteps` (the event loop runs what is waiting after each millisecond of them). A file of
 * fewer than {@link YIELD_MIN_ROWS} rows is written without yielding. The general writer runs
 * in one step.
 * @param rows - rows in the engine's value representation
 * @param schema - the Delta schema of the rows
 * @param options - as for {@link writeParquet}
 * @returns the file bytes
 * @throws like {@link writeParquet}
 */
export async function writeParquetYielding(
  rows: readonly Record<string, unknown>[],
  schema: StructType,
  options: WriteParquetOptions = {},
): Promise<Uint8Array> {
  if (rows.length < YIELD_MIN_ROWS) return writeParquet(rows, schema, options)
  return runSteps(encodeSteps(rows, schema, options))
}

/** Files of fewer rows are written by {@link writeParquetYielding} in one go. */
const YIELD_MIN_ROWS = 1000

/**
 * Rows converted per step: a step of a checkpoint's `add` column (a struct of a dozen fields)
 * takes well under a millisecond.
 */
const CONVERT_SLICE_ROWS = 1024

function* encodeSteps(
  rows: readonly Record<string, unknown>[],
  schema: StructType,
  options: WriteParquetOptions,
): Generator<void, Uint8Array> {
  const rowGroupSize = positiveInteger('rowGroupSize', options.rowGroupSize, DEFAULT_ROW_GROUP_SIZE)
  const pageMaxRows = positiveInteger('pageMaxRows', options.pageMaxRows, PAGE_MAX_ROWS)
  const { columns, plans, direct } = planSchema(schema)
  const columnData: ColumnSource[] = []
  for (const plan of plans) {
    const data = new Array<unknown>(rows.length)
    const get = (i: number): unknown => (rows[i] as Record<string, unknown>)[plan.name]
    for (let start = 0; start === 0 || start < rows.length; start += CONVERT_SLICE_ROWS) {
      encodeValuesInto(data, start, Math.min(rows.length, start + CONVERT_SLICE_ROWS), get, plan)
      yield
    }
    columnData.push({ name: plan.name, data })
  }
  const createdBy = options.createdBy ?? DEFAULT_CREATED_BY
  const singlePageMaxRows = options.singlePageMaxRows ?? SINGLE_PAGE_MAX_ROWS
  if (direct && rows.length > 0 && options.generalWriter !== true) {
    const paged = rows.length > Math.min(singlePageMaxRows, rowGroupSize)
    try {
      return yield* writeDirect(
        direct,
        columnData.map((c) => c.data as unknown[]),
        rows.length,
        { createdBy, paged, rowGroupSize, pageMaxRows },
      )
    } catch (cause) {
      throw parquetError('PARQUET_ERROR', `cannot write: ${errorMessage(cause)}`, { cause })
    }
  }

  // hyparquet-writer's dictionaries key values by JS number, for which 0 and -0 are one key:
  // a float column would come back with the sign of its first zero on every zero. Columns
  // holding floats are written PLAIN (the engine's own writer dictionary-encodes only strings).
  const isFloat = (t: DataType): boolean => t === 'float' || t === 'double'
  const floats = new Set(
    schema.fields.filter((f) => findType(f.type, isFloat) !== undefined).map((f) => f.name),
  )
  for (const c of columnData) if (floats.has(c.name)) c.encoding = 'PLAIN'
  const writer = new ByteWriter()
  try {
    // Synchronous: a ByteWriter has no flush, so parquetWrite returns no promise.
    void parquetWrite({
      writer,
      columnData,
      // Copies: the planned elements are shared by every file of the schema.
      schema: [{ name: 'schema', num_children: plans.length }, ...columns.map((c) => ({ ...c }))],
      codec: 'SNAPPY',
      statistics: true,
      statisticsTruncateLength: STATISTICS_TRUNCATE_LENGTH,
      rowGroupSize,
      createdBy,
    })
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `cannot write: ${errorMessage(cause)}`, { cause })
  }
  return new Uint8Array(writer.getBuffer())
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < 1) {
    throw parquetError('PARQUET_ERROR', `${name} must be a positive integer, got ${n}`)
  }
  return n
}

interface SchemaPlan {
  /** The schema elements below the root, depth first. */
  readonly columns: readonly SchemaElement[]
  /** One per non-void top-level field. */
  readonly plans: readonly ColumnPlan[]
  /** How the engine's own writer writes it, when it can (see `write-direct.ts`). */
  readonly direct: DirectPlan | undefined
}

/** Plans by schema object: a table's schema object is reused for every file it writes. */
const schemaPlans = new WeakMap<StructType, SchemaPlan>()

function planSchema(schema: StructType): SchemaPlan {
  const cached = schemaPlans.get(schema)
  if (cached) return cached
  const columns: SchemaElement[] = []
  const plans: ColumnPlan[] = []
  for (const field of schema.fields) {
    if (field.type === 'void') continue
    addElements(columns, field, field.name)
    plans.push({
      name: field.name,
      nullable: field.nullable,
      encode: planEncode(field.type, field.name),
    })
  }
  if (plans.length === 0) {
    throw parquetError('PARQUET_ERROR', 'cannot write a schema without non-void columns')
  }
  const plan = { columns, plans, direct: planDirect(columns) }
  schemaPlans.set(schema, plan)
  return plan
}

/**
 * Converts and validates the values of one top-level column for the engine's writer.
 * @param count - how many values
 * @param get - the value at an index (null or undefined for null)
 * @param plan - the column's plan
 * @returns the converted values
 * @throws DeltaError `SCHEMA_MISMATCH` naming the row and the column
 */
function encodeValues(count: number, get: (i: number) => unknown, plan: ColumnPlan): unknown[] {
  const out = new Array<unknown>(count)
  encodeValuesInto(out, 0, count, get, plan)
  return out
}

/** {@link encodeValues} of indexes `[start, end)`, into `out`. */
function encodeValuesInto(
  out: unknown[],
  start: number,
  end: number,
  get: (i: number) => unknown,
  plan: ColumnPlan,
): void {
  const { name, nullable, encode } = plan
  let i = start
  try {
    for (; i < end; i++) {
      const value = get(i)
      if (value === null || value === undefined) {
        checkNullable(name, nullable)
        out[i] = null
      } else {
        out[i] = encode(value)
      }
    }
  } catch (error) {
    if (error instanceof ValueMismatchError) {
      throw parquetError('SCHEMA_MISMATCH', `row ${i}: ${error.message}`, { column: error.path })
    }
    throw error
  }
}

/**
 * What the engine's writer needs to write part of a file for `schema` itself (see
 * `replace-columns.ts`): the schema elements it writes, and per top-level field a converter of
 * values; `undefined` when the engine's writer cannot write the schema (lists of lists).
 * @param schema - the Delta schema
 * @returns the plan, or undefined
 * @internal
 */
export function directWritePlan(schema: StructType):
  | {
      readonly elements: readonly SchemaElement[]
      readonly direct: DirectPlan
      readonly fields: readonly {
        readonly name: string
        readonly encode: (values: readonly unknown[]) => unknown[]
      }[]
    }
  | undefined {
  const { columns, plans, direct } = planSchema(schema)
  if (direct === undefined) return undefined
  return {
    elements: columns,
    direct,
    fields: plans.map((plan) => ({
      name: plan.name,
      encode: (values) => encodeValues(values.length, (i) => values[i], plan),
    })),
  }
}

function leafElement(type: Exclude<DataType, object>, name: string): SchemaElement {
  switch (type) {
    case 'string':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }
    case 'long':
      return { name, type: 'INT64' }
    case 'integer':
      return { name, type: 'INT32' }
    case 'short':
      // Converted type only: hyparquet-writer serializes IntType.bitWidth (a Thrift i8) as an
      // i32, which Arrow's strict Thrift reader rejects. Readers derive INTEGER(16, signed).
      return { name, type: 'INT32', converted_type: 'INT_16' }
    case 'byte':
      return { name, type: 'INT32', converted_type: 'INT_8' }
    case 'float':
      return { name, type: 'FLOAT' }
    case 'double':
      return { name, type: 'DOUBLE' }
    case 'boolean':
      return { name, type: 'BOOLEAN' }
    case 'binary':
      return { name, type: 'BYTE_ARRAY' }
    case 'date':
      return { name, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }
    case 'timestamp':
      return {
        name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      }
    case 'timestamp_ntz':
      return {
        name,
        type: 'INT64',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
      }
    case 'void':
      throw parquetError('PARQUET_ERROR', 'void values cannot be written', { column: name })
    default: {
      const decimal = decimalParams(type)
      if (decimal === undefined) {
        throw parquetError('PARQUET_ERROR', `unsupported Delta type ${type}`, { column: name })
      }
      const { precision, scale } = decimal
      const annotation = {
        converted_type: 'DECIMAL',
        precision,
        scale,
        logical_type: { type: 'DECIMAL', precision, scale },
      } as const
      if (precision <= 9) return { name, type: 'INT32', ...annotation }
      if (precision <= 18) return { name, type: 'INT64', ...annotation }
      return {
        name,
        type: 'FIXED_LEN_BYTE_ARRAY',
        type_length: decimalByteLength(precision),
        ...annotation,
      }
    }
  }
}

/** Appends the schema elements of one field (depth first, as Parquet lists them). */
function addElements(
  elements: SchemaElement[],
  field: Pick<StructField, 'name' | 'type' | 'nullable'>,
  path: string,
): void {
  const repetition_type = field.nullable ? 'OPTIONAL' : 'REQUIRED'
  const { name, type } = field
  if (typeof type === 'string') {
    elements.push({ ...leafElement(type, path), name, repetition_type })
    return
  }
  switch (type.type) {
    case 'struct': {
      const children = type.fields.filter((f) => f.type !== 'void')
      if (children.length === 0) {
        throw parquetError('PARQUET_ERROR', 'cannot write a struct without non-void fields', {
          column: path,
        })
      }
      elements.push({ name, repetition_type, num_children: children.length })
      for (const child of children) addElements(elements, child, `${path}.${child.name}`)
      return
    }
    case 'array':
      elements.push(
        {
          name,
          repetition_type,
          num_children: 1,
          converted_type: 'LIST',
          logical_type: { type: 'LIST' },
        },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      )
      addElements(
        elements,
        { name: 'element', type: type.elementType, nullable: type.containsNull },
        `${path}.element`,
      )
      return
    case 'map':
      elements.push(
        {
          name,
          repetition_type,
          num_children: 1,
          converted_type: 'MAP',
          logical_type: { type: 'MAP' },
        },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
      )
      addElements(elements, { name: 'key', type: type.keyType, nullable: false }, `${path}.key`)
      addElements(
        elements,
        { name: 'value', type: type.valueType, nullable: type.valueContainsNull },
        `${path}.value`,
      )
      return
  }
}

const INTEGER_RANGES = {
  integer: [-2_147_483_648, 2_147_483_647],
  short: [-32_768, 32_767],
  byte: [-128, 127],
} as const
const MIN_LONG = -(2n ** 63n)
const MAX_LONG = 2n ** 63n - 1n
/** INT32 range of Parquet DATE (days since the epoch). */
const MAX_DAYS = 2_147_483_647

function planEncode(type: DataType, path: string): Encode {
  if (typeof type === 'string') return planPrimitiveEncode(type, path)
  switch (type.type) {
    case 'struct': {
      const fields = type.fields
        .filter((f) => f.type !== 'void')
        .map((f) => ({
          name: f.name,
          nullable: f.nullable,
          path: `${path}.${f.name}`,
          encode: planEncode(f.type, `${path}.${f.name}`),
        }))
      return (value) => {
        if (
          typeof value !== 'object' ||
          value === null ||
          Array.isArray(value) ||
          value instanceof Map ||
          value instanceof Date ||
          value instanceof Uint8Array
        ) {
          return expected(path, 'a struct object', value)
        }
        const source = value as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const f of fields) {
          const child = source[f.name]
          if (child === null || child === undefined) {
            checkNullable(f.path, f.nullable)
            out[f.name] = null
          } else {
            out[f.name] = f.encode(child)
          }
        }
        return out
      }
    }
    case 'array': {
      const elementPath = `${path}.element`
      const encodeElement = planEncode(type.elementType, elementPath)
      const containsNull = type.containsNull
      return (value) => {
        if (!Array.isArray(value)) return expected(path, 'an array', value)
        const out = new Array<unknown>(value.length)
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i]
          if (item === null || item === undefined) {
            checkNullable(elementPath, containsNull)
            out[i] = null
          } else {
            out[i] = encodeElement(item)
          }
        }
        return out
      }
    }
    case 'map': {
      const keyPath = `${path}.key`
      const valuePath = `${path}.value`
      const encodeKey = planEncode(type.keyType, keyPath)
      const encodeValue = planEncode(type.valueType, valuePath)
      const valueContainsNull = type.valueContainsNull
      return (value) => {
        if (!(value instanceof Map)) return expected(path, 'a Map', value)
        const out = new Map<unknown, unknown>()
        for (const [k, v] of value as Map<unknown, unknown>) {
          if (k === null || k === undefined) checkNullable(keyPath, false)
          if (v === null || v === undefined) {
            checkNullable(valuePath, valueContainsNull)
            out.set(encodeKey(k), null)
          } else {
            out.set(encodeKey(k), encodeValue(v))
          }
        }
        return out
      }
    }
  }
}

function planPrimitiveEncode(type: Exclude<DataType, object>, path: string): Encode {
  switch (type) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : expected(path, 'a string', v))
    case 'long':
      return (v) =>
        typeof v === 'bigint' && v >= MIN_LONG && v <= MAX_LONG
          ? v
          : expected(path, 'a bigint in the long range', v)
    case 'integer':
    case 'short':
    case 'byte': {
      const [min, max] = INTEGER_RANGES[type]
      return (v) =>
        typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
          ? v
          : expected(path, `an integer number in [${min}, ${max}] (${type})`, v)
    }
    case 'float':
    case 'double':
      return (v) => (typeof v === 'number' ? v : expected(path, 'a number', v))
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : expected(path, 'a boolean', v))
    case 'binary':
      return (v) => (v instanceof Uint8Array ? v : expected(path, 'a Uint8Array', v))
    case 'date':
      return (v) => {
        const days = typeof v === 'string' ? parseEpochDays(v) : undefined
        if (days === undefined || Math.abs(days) > MAX_DAYS) {
          return expected(path, "a 'YYYY-MM-DD' date string", v)
        }
        return days
      }
    case 'timestamp':
    case 'timestamp_ntz':
      return (v) => {
        const valid = v instanceof Date && !Number.isNaN(v.getTime())
        return valid ? timestampMicros(v) : expected(path, 'a valid Date', v)
      }
    case 'void':
      return () => null
    default: {
      const decimal = decimalParams(type)
      if (decimal === undefined) {
        throw parquetError('PARQUET_ERROR', `unsupported Delta type ${type}`, { column: path })
      }
      const { precision, scale } = decimal
      // Unscaled bigints for every physical type: hyparquet-writer reads a JS number in a
      // DECIMAL column as the logical value and would scale it again.
      return (v) => {
        const unscaled = typeof v === 'string' ? parseDecimalString(v, precision, scale) : undefined
        return unscaled ?? expected(path, `a decimal string fitting ${type} without rounding`, v)
      }
    }
  }
}

/**
 * Per-file statistics for writers ("Per-file Statistics" in PROTOCOL.md): which columns get
 * stats, computing them from the rows of one data file, and writing `add.stats` JSON.
 *
 * What is written, per stats column:
 * - `nullCount` always (struct leaves nested as objects; arrays and maps count null containers);
 * - `minValues`/`maxValues` for numbers, strings, dates, timestamps and decimals, and never for
 *   booleans and binary (as Spark); omitted for a column that is all null in the file, and for
 *   float/double columns holding a NaN (a NaN bound would be meaningless to most readers);
 *   a non-finite float bound (±Infinity cannot be written in JSON) is omitted alone;
 * - longs and decimals are written exactly as JSON numbers (digits, not a rounded double);
 * - floats are rounded to 32-bit first (what the Parquet file holds);
 * - a float/double bound that is a zero is signed as Parquet's column statistics are: a zero min
 *   is -0.0 and a zero max is 0.0, whichever zeros the file holds (delta-rs writes the same).
 *   DataFusion (delta-rs) prunes files by a total order (-0.0 < 0.0) but compares values with
 *   -0.0 = 0.0, so a tighter bound (a max of -0.0 for a file of -0.0, a min of 0.0 for a file
 *   of 0.0) would make it skip a file holding matches of `d = 0.0` or `d = -0.0`. A negative zero
 *   is written `-0.0` (`JSON.stringify` writes `0`);
 * - timestamps as ISO-8601 UTC with milliseconds (`2021-09-08T11:11:11.000Z`), timestamp_ntz
 *   without the zone, as Spark writes them: a min is floored to its millisecond, a max with
 *   microseconds past its millisecond is raised to the next one (so both stay bounds);
 * - strings longer than 32 code points are truncated: the min to its 32-code-point prefix, the max
 *   to that prefix plus U+10FFFF (extended over any U+10FFFF that follow, so it stays an upper
 *   bound in UTF-8 order).
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#per-file-statistics
 * @module
 */
import type { FileStats } from '../actions/actions.js'
import { DeltaError } from '../errors.js'
import { parseColumnPathList } from '../expr/column-path.js'
import type { DataType, StructField, StructType } from '../schema/data-type.js'
import { subMillisecondMicros } from '../schema/timestamps.js'
import { compareValues, formatTimestampMicros, MAX_TIMESTAMP_MS } from '../schema/values.js'

/** Table property naming the stats columns explicitly. */
const STATS_COLUMNS_KEY = 'delta.dataSkippingStatsColumns'
/** Table property limiting stats to the first N leaf columns. */
const NUM_INDEXED_COLS_KEY = 'delta.dataSkippingNumIndexedCols'
const DEFAULT_NUM_INDEXED_COLS = 32
/** String bounds keep this many code points (Spark's default prefix length). */
const STRING_PREFIX_LENGTH = 32
const MAX_CODE_POINT = '\u{10FFFF}'

/**
 * A JSON number kept as its exact source text (e.g. `12.50`, `9223372036854775807`), so that
 * {@link serializeStats} writes decimals and large longs without rounding through a double.
 */
export class JsonNumber {
  /** The number's JSON text. */
  readonly text: string

  /**
   * @param text - JSON number syntax
   * @throws DeltaError `INVALID_ARGUMENT` when the text is not a JSON number
   */
  constructor(text: string) {
    if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta stats: ${JSON.stringify(text)} is not a JSON number`,
      )
    }
    this.text = text
  }
}

function isLeafType(type: DataType): boolean {
  return typeof type === 'string' || type.type !== 'struct'
}

/** Leaf paths under a field, in schema order (void columns are never written, so skipped). */
function collectLeaves(field: StructField, prefix: readonly string[], out: string[][]): void {
  const path = [...prefix, field.name]
  if (field.type === 'void') return
  if (isLeafType(field.type)) {
    out.push(path)
    return
  }
  for (const child of (field.type as StructType).fields) collectLeaves(child, path, out)
}

function invalidConfig(key: string, value: string, detail: string): never {
  throw new DeltaError(
    'INVALID_ARGUMENT',
    `delta stats: table property ${key}=${JSON.stringify(value)} ${detail}`,
    { context: { key, value } },
  )
}

/** Whether `path` (resolved, schema spelling) is selected by a lower-cased configured path. */
function selects(configured: readonly string[], path: readonly string[]): boolean {
  if (configured.length > path.length) return false
  return configured.every((segment, i) => segment === (path[i] as string).toLowerCase())
}

/**
 * The leaf columns that get statistics, in schema order. `delta.dataSkippingStatsColumns`
 * (comma-separated, dotted nested names, backtick quoting, case-insensitive; a struct selects all
 * its leaves; names that match nothing are ignored, as Spark does) takes precedence; otherwise
 * the first `delta.dataSkippingNumIndexedCols` leaves (default 32, `-1` for all) of the data
 * columns, counting nested struct leaves one by one and arrays/maps as one leaf. Partition
 * columns never get stats.
 * @param schema - the table schema
 * @param configuration - `metaData.configuration`
 * @param partitionColumns - the table's partition columns
 * @returns leaf column paths (field names as spelled in the schema)
 * @throws DeltaError `INVALID_ARGUMENT` when a property value cannot be parsed or the column
 *   count is below -1
 */
export function statsColumnsFor(
  schema: StructType,
  configuration: Readonly<Record<string, string>>,
  partitionColumns: readonly string[],
): string[][] {
  const partitions = new Set(partitionColumns.map((c) => c.toLowerCase()))
  const leaves: string[][] = []
  for (const field of schema.fields) {
    if (!partitions.has(field.name.toLowerCase())) collectLeaves(field, [], leaves)
  }
  const named = configuration[STATS_COLUMNS_KEY]
  if (named !== undefined) {
    const list = parseColumnPathList(named)
    if (list === undefined) invalidConfig(STATS_COLUMNS_KEY, named, 'is not a list of column names')
    const configured = list.map((p) => p.map((s) => s.toLowerCase()))
    return leaves.filter((leaf) => configured.some((c) => selects(c, leaf)))
  }
  const rawCount = configuration[NUM_INDEXED_COLS_KEY]
  let count = DEFAULT_NUM_INDEXED_COLS
  if (rawCount !== undefined) {
    if (!/^\s*-?\d+\s*$/.test(rawCount))
      invalidConfig(NUM_INDEXED_COLS_KEY, rawCount, 'is not an integer')
    count = Number(rawCount)
    if (count < -1) invalidConfig(NUM_INDEXED_COLS_KEY, rawCount, 'must be -1 or more')
  }
  return count === -1 ? leaves : leaves.slice(0, count)
}

function resolvePath(schema: StructType, path: readonly string[]): DataType {
  let type: DataType = schema
  for (const segment of path) {
    const field: StructField | undefined =
      typeof type === 'string' || type.type !== 'struct'
        ? undefined
        : type.fields.find((f) => f.name === segment)
    if (!field) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta stats: stats column ${JSON.stringify(path.join('.'))} is not in the schema`,
        { context: { column: path.join('.') } },
      )
    }
    type = field.type
  }
  return type
}

function readPath(row: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = row
  for (const segment of path) {
    if (typeof value !== 'object' || value === null) return null
    value = (value as Record<string, unknown>)[segment]
  }
  return value === undefined ? null : value
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string
    let child = node[key] as Record<string, unknown> | undefined
    if (child === undefined) {
      child = {}
      node[key] = child
    }
    node = child
  }
  node[path[path.length - 1] as string] = value
}

const MIN_MAX_TYPES: ReadonlySet<string> = new Set([
  'byte',
  'short',
  'integer',
  'long',
  'float',
  'double',
  'date',
  'timestamp',
  'timestamp_ntz',
  'string',
])

function hasMinMax(type: DataType): boolean {
  return typeof type === 'string' && (MIN_MAX_TYPES.has(type) || type.startsWith('decimal('))
}

/** First `n` code points of `s`, or `s` itself when it is not longer. */
function codePointPrefix(s: string, n: number): string {
  if (s.length <= n) return s
  let units = 0
  for (let count = 0; count < n && units < s.length; count++) {
    const code = s.charCodeAt(units)
    units += code >= 0xd800 && code <= 0xdbff && units + 1 < s.length ? 2 : 1
  }
  return s.slice(0, units)
}

function truncateMax(s: string): string {
  const prefix = codePointPrefix(s, STRING_PREFIX_LENGTH)
  if (prefix.length === s.length) return s
  // Appending U+10FFFF bounds every string starting with the prefix unless the next code point
  // is itself U+10FFFF; take those into the prefix first. If only U+10FFFF follow, keep s whole.
  let end = prefix.length
  while (s.startsWith(MAX_CODE_POINT, end)) end += MAX_CODE_POINT.length
  return end === s.length ? s : s.slice(0, end) + MAX_CODE_POINT
}

/** The stats JSON value of a min or max, or undefined when it cannot be written. */
function encodeBound(type: string, value: unknown, side: 'min' | 'max'): unknown {
  switch (type) {
    case 'byte':
    case 'short':
    case 'integer':
    case 'float':
    case 'double':
      return Number.isFinite(value) ? value : undefined
    case 'long':
      return value
    case 'date':
      return value
    case 'timestamp':
    case 'timestamp_ntz': {
      // Milliseconds, as Spark writes them: a min is floored (a lower bound already); a max
      // with microseconds past its millisecond is raised to the next millisecond, so that it
      // stays an upper bound for readers that take the stat as exact.
      let bound = value as Date
      if (side === 'max' && subMillisecondMicros(bound) !== 0) {
        bound = new Date(bound.getTime() + 1)
        if (bound.getTime() > MAX_TIMESTAMP_MS) return undefined
      }
      return type === 'timestamp'
        ? bound.toISOString()
        : formatTimestampMicros(bound, 'T').slice(0, -3)
    }
    case 'string':
      return side === 'min'
        ? codePointPrefix(value as string, STRING_PREFIX_LENGTH)
        : truncateMax(value as string)
    default:
      return new JsonNumber(value as string)
  }
}

/**
 * Computes the statistics of one data file from its rows (canonical values, as written).
 * @param rows - the file's rows keyed by top-level column name
 * @param schema - the table schema
 * @param statsColumns - leaf paths from {@link statsColumnsFor}
 * @returns `numRecords`, and `minValues`/`maxValues`/`nullCount` when there are stats columns;
 *   longs are bigints and decimals {@link JsonNumber}s (see {@link serializeStats})
 * @throws DeltaError `INVALID_ARGUMENT` when a stats column is not a leaf of the schema
 */
export function collectStats(
  rows: readonly Readonly<Record<string, unknown>>[],
  schema: StructType,
  statsColumns: readonly (readonly string[])[],
): FileStats {
  if (statsColumns.length === 0) return { numRecords: rows.length }
  const minValues: Record<string, unknown> = {}
  const maxValues: Record<string, unknown> = {}
  const nullCount: Record<string, unknown> = {}
  for (const path of statsColumns) {
    const type = resolvePath(schema, path)
    if (!isLeafType(type) || path.length === 0) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta stats: stats column ${JSON.stringify(path.join('.'))} is a struct`,
      )
    }
    const withMinMax = hasMinMax(type)
    const isFloat = type === 'float'
    const isFloating = isFloat || type === 'double'
    let nulls = 0
    let min: unknown
    let max: unknown
    let sawNaN = false
    for (const row of rows) {
      let value = readPath(row, path)
      if (value === null) {
        nulls++
        continue
      }
      if (!withMinMax) continue
      if (isFloating) {
        if (isFloat) value = Math.fround(value as number)
        if (Number.isNaN(value)) {
          sawNaN = true
          continue
        }
      }
      if (min === undefined || compareValues(type, value, min) < 0) min = value
      if (max === undefined || compareValues(type, value, max) > 0) max = value
    }
    setPath(nullCount, path, nulls)
    if (!withMinMax || sawNaN || min === undefined) continue
    if (isFloating) {
      // Zero bounds as -0.0 (min) and +0.0 (max): see the module documentation.
      if (min === 0) min = -0
      if (max === 0) max = 0
    }
    const encodedMin = encodeBound(type as string, min, 'min')
    const encodedMax = encodeBound(type as string, max, 'max')
    if (encodedMin !== undefined) setPath(minValues, path, encodedMin)
    if (encodedMax !== undefined) setPath(maxValues, path, encodedMax)
  }
  return { numRecords: rows.length, minValues, maxValues, nullCount }
}

function writeJson(value: unknown, where: string): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          `delta stats: ${where} is ${value}, which JSON cannot hold`,
        )
      }
      // JSON.stringify(-0) is "0": the sign of a zero float bound matters (see the module doc).
      return Object.is(value, -0) ? '-0.0' : JSON.stringify(value)
    case 'bigint':
      return value.toString()
    case 'object': {
      if (value instanceof JsonNumber) return value.text
      if (Array.isArray(value))
        return `[${value.map((v, i) => writeJson(v, `${where}[${i}]`)).join(',')}]`
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto === Object.prototype || proto === null) {
        const parts: string[] = []
        for (const [k, v] of Object.entries(value)) {
          if (v !== undefined) parts.push(`${JSON.stringify(k)}:${writeJson(v, `${where}.${k}`)}`)
        }
        return `{${parts.join(',')}}`
      }
      break
    }
  }
  throw new DeltaError('INVALID_ARGUMENT', `delta stats: ${where} is not a JSON value`)
}

/**
 * The statistics of a file whose top-level columns `replaced` took new values while every other
 * column kept its values: the old statistics of the other stats columns, the fresh ones of the
 * replaced columns. Stats columns are those of the table's current settings, so a column no
 * longer indexed loses its old entries.
 * @param old - the file's statistics before
 * @param fresh - statistics of the new values (from {@link collectStats} over rows holding the
 *   replaced columns, with the stats columns under them)
 * @param statsColumns - the stats columns now (see {@link statsColumnsFor})
 * @param replaced - the replaced top-level column names
 * @returns the statistics, or `undefined` when the old ones lack a stats column's null count
 *   (the file must then be read whole to compute them)
 */
export function replaceColumnStats(
  old: FileStats,
  fresh: FileStats,
  statsColumns: readonly (readonly string[])[],
  replaced: ReadonlySet<string>,
): FileStats | undefined {
  const minValues: Record<string, unknown> = {}
  const maxValues: Record<string, unknown> = {}
  const nullCount: Record<string, unknown> = {}
  for (const path of statsColumns) {
    const source = replaced.has(path[0] ?? '') ? fresh : old
    const nulls = readStatsPath(source.nullCount, path)
    if (nulls === undefined) {
      if (source === old) return undefined
      continue
    }
    setPath(nullCount, path, nulls)
    const min = readStatsPath(source.minValues, path)
    const max = readStatsPath(source.maxValues, path)
    if (min !== undefined) setPath(minValues, path, min)
    if (max !== undefined) setPath(maxValues, path, max)
  }
  return { numRecords: old.numRecords, minValues, maxValues, nullCount }
}

function readStatsPath(
  tree: Readonly<Record<string, unknown>> | undefined,
  path: readonly string[],
): unknown {
  let value: unknown = tree
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return undefined
    }
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

/**
 * Writes statistics as the `add.stats` JSON string, keys in the protocol's order
 * (`numRecords`, `minValues`, `maxValues`, `nullCount`, `tightBounds`); bigints and
 * {@link JsonNumber}s are written digit for digit.
 * @param stats - statistics from {@link collectStats} (or parsed ones)
 * @returns the JSON text
 * @throws DeltaError `INVALID_ARGUMENT` for values JSON cannot hold (non-finite numbers,
 *   Dates, binary)
 */
export function serializeStats(stats: FileStats): string {
  const ordered: Record<string, unknown> = {}
  if (stats.numRecords !== undefined) ordered.numRecords = stats.numRecords
  if (stats.minValues !== undefined) ordered.minValues = stats.minValues
  if (stats.maxValues !== undefined) ordered.maxValues = stats.maxValues
  if (stats.nullCount !== undefined) ordered.nullCount = stats.nullCount
  if (stats.tightBounds !== undefined) ordered.tightBounds = stats.tightBounds
  return writeJson(ordered, 'stats')
}

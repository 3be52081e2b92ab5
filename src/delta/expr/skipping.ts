/**
 * File skipping ("Per-file Statistics" and "Partition Value Serialization" in PROTOCOL.md):
 * decides from a file's partition values and statistics whether any of its rows can satisfy a
 * predicate. Conservative: a file is skipped only when that is certain.
 *
 * The predicate is interpreted abstractly over the set of rows of the file: each node yields the
 * set of outcomes (true / false / null) it may take on some row. Combining these sets with Kleene
 * logic handles NOT soundly (`NOT (x = 5)` can only be skipped when every row has x = 5), and a
 * file may match iff `true` is a possible outcome of the root.
 *
 * Partition columns are exact (parsed from `partitionValues`). Data columns use stats as
 * bounds, never as exact values, with these allowances for what real writers produce:
 * - strings: a max longer than 32 UTF-16 units may be a truncated prefix with a tie-breaker
 *   (Spark appends U+FFFD, which is below astral characters in UTF-8 order), so any value
 *   starting with its first 31 units is also considered possible;
 * - timestamps: stats have millisecond precision (Spark truncates), so bounds widen by 1 ms;
 * - float/double: Parquet-based writers (delta-rs) leave NaN out of min/max, so NaN (greater
 *   than every value, as in Spark) is always considered possible; float stats may be written as
 *   shortest decimal forms of 32-bit values and are widened slightly;
 * - decimals and longs beyond 2^53 arrive as JSON numbers rounded to doubles, so their bounds are
 *   widened (exact when written by `serializeStats` or as strings);
 * - missing stats, or stats of another type than the column's, mean "unknown".
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#per-file-statistics
 * @module
 */
import type { FileStats, PartitionValues } from '../actions/actions.js'
import { DeltaError } from '../errors.js'
import type { DataType } from '../schema/data-type.js'
import { parsePartitionValue } from '../schema/partition-values.js'
import { compareValues, parseDateText, parseTimestampText } from '../schema/values.js'
import { JsonNumber } from '../stats/collect-stats.js'
import { parseJsonExact } from '../stats/exact-json.js'
import {
  inListKey,
  type BoundColumn,
  type BoundCompare,
  type BoundExpression,
  type BoundIn,
  type BoundIsNull,
  type BoundNode,
} from './bind-expression.js'
import { applyOp } from './evaluate.js'

/** What file skipping needs to know about a file. */
export interface SkippingFile {
  /** `add.partitionValues`. */
  readonly partitionValues: PartitionValues
  /** Parsed `add.stats` ({@link parseStats}), absent when the file has none. */
  readonly stats?: FileStats | undefined
}

// Outcome sets as bit masks.
const TRUE = 1
const FALSE = 2
const NULL = 4
const ANY = TRUE | FALSE | NULL

function negate(o: number): number {
  return ((o & TRUE) !== 0 ? FALSE : 0) | ((o & FALSE) !== 0 ? TRUE : 0) | (o & NULL)
}

function and2(a: number, b: number): number {
  let o = 0
  if ((a & TRUE) !== 0 && (b & TRUE) !== 0) o |= TRUE
  if ((a & FALSE) !== 0 || (b & FALSE) !== 0) o |= FALSE
  if (
    ((a & NULL) !== 0 && (b & (TRUE | NULL)) !== 0) ||
    ((b & NULL) !== 0 && (a & (TRUE | NULL)) !== 0)
  ) {
    o |= NULL
  }
  return o
}

function or2(a: number, b: number): number {
  let o = 0
  if ((a & TRUE) !== 0 || (b & TRUE) !== 0) o |= TRUE
  if ((a & FALSE) !== 0 && (b & FALSE) !== 0) o |= FALSE
  if (
    ((a & NULL) !== 0 && (b & (FALSE | NULL)) !== 0) ||
    ((b & NULL) !== 0 && (a & (FALSE | NULL)) !== 0)
  ) {
    o |= NULL
  }
  return o
}

// ---------------------------------------------------------------------------------------------
// Partition columns

const partitionLookupCache = new WeakMap<readonly string[], Map<string, string>>()

/** Maps exact and lower-cased partition column names to their spelling in `partitionColumns`. */
function partitionLookup(partitionColumns: readonly string[]): Map<string, string> {
  let lookup = partitionLookupCache.get(partitionColumns)
  if (lookup === undefined) {
    lookup = new Map()
    for (const name of partitionColumns) {
      const lower = name.toLowerCase()
      if (!lookup.has(lower)) lookup.set(lower, name)
    }
    for (const name of partitionColumns) lookup.set(name, name)
    partitionLookupCache.set(partitionColumns, lookup)
  }
  return lookup
}

function partitionName(
  column: BoundColumn,
  partitionColumns: readonly string[],
): string | undefined {
  if (column.path.length !== 1 || partitionColumns.length === 0) return undefined
  const name = column.path[0] as string
  const lookup = partitionLookup(partitionColumns)
  return lookup.get(name) ?? lookup.get(name.toLowerCase())
}

function partitionOutcome(
  node: BoundCompare | BoundIn | BoundIsNull,
  partition: string,
  file: SkippingFile,
): number {
  const values = file.partitionValues
  if (!Object.hasOwn(values, partition)) {
    throw new DeltaError(
      'MALFORMED_ACTION',
      `delta skipping: add action has no partition value for partition column ${JSON.stringify(partition)}`,
      { context: { column: partition } },
    )
  }
  const value = parsePartitionValue(
    node.column.type,
    values[partition],
    `partition column ${partition}`,
  )
  switch (node.kind) {
    case 'isNull':
      return (value === null) !== node.negated ? TRUE : FALSE
    case 'compare':
      if (value === null) return NULL
      return applyOp(node.op, compareValues(node.column.type, value, node.value)) ? TRUE : FALSE
    case 'in':
      if (value === null) return NULL
      return node.keys.has(inListKey(node.column.type, value)) !== node.negated ? TRUE : FALSE
  }
}

// ---------------------------------------------------------------------------------------------
// Stats bounds

/** What the stats say about the non-null values of a column in a file. */
interface Bounds {
  /** Every non-null value is >= lo (in `compareValues` order), when defined. */
  readonly lo?: unknown
  /** Every non-null value is <= hi, when defined (except as allowed below). */
  readonly hi?: unknown
  /** Strings: values starting with this prefix are possible even above `hi`. */
  readonly hiPrefix?: string
  /** Floats: NaN values are possible whatever `hi` says. */
  readonly nanPossible: boolean
  /** `lo` and `hi` are values as written, not widened, so `lo = hi = L` proves all equal L. */
  readonly exact: boolean
}

const NO_BOUNDS: Bounds = { nanPossible: true, exact: false }

function lookupPath(root: unknown, path: readonly string[]): unknown {
  let value = root
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || value instanceof JsonNumber) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

function statNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isNaN(raw) ? undefined : raw
  if (typeof raw === 'bigint') return Number(raw)
  if (raw instanceof JsonNumber) return Number(raw.text)
  return undefined
}

function statCount(raw: unknown): number | undefined {
  const n = statNumber(raw)
  return n !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined
}

/** Spark writes non-finite floats as the strings "NaN", "Infinity" and "-Infinity". */
function statFloat(raw: unknown): number | undefined {
  if (raw === 'NaN') return NaN
  if (raw === 'Infinity') return Infinity
  if (raw === '-Infinity') return -Infinity
  return statNumber(raw)
}

type Side = 'lo' | 'hi'

function widen(value: number, side: Side, delta: number): number {
  return side === 'lo' ? value - delta : value + delta
}

/** One bound of a column as a canonical value, and whether it is exact. */
function decodeBound(
  type: DataType,
  raw: unknown,
  side: Side,
): { value: unknown; exact: boolean } | undefined {
  if (raw === undefined || raw === null) return undefined
  switch (type) {
    case 'byte':
    case 'short':
    case 'integer': {
      const n = statNumber(raw)
      if (n === undefined || !Number.isFinite(n)) return undefined
      return Number.isInteger(n)
        ? { value: n, exact: true }
        : { value: side === 'lo' ? Math.floor(n) : Math.ceil(n), exact: false }
    }
    case 'long': {
      if (typeof raw === 'bigint') return { value: raw, exact: true }
      if (raw instanceof JsonNumber && /^-?\d+$/.test(raw.text))
        return { value: BigInt(raw.text), exact: true }
      const n = statNumber(raw)
      if (n === undefined || !Number.isFinite(n)) return undefined
      if (Number.isSafeInteger(n)) return { value: BigInt(n), exact: true }
      // Rounded through a double: the written integer is within one ulp (at most 2048 for int64).
      const whole = BigInt(side === 'lo' ? Math.floor(n) : Math.ceil(n))
      return { value: side === 'lo' ? whole - 4096n : whole + 4096n, exact: false }
    }
    case 'double': {
      const n = statFloat(raw)
      return n === undefined ? undefined : { value: n, exact: true }
    }
    case 'float': {
      const n = statFloat(raw)
      if (n === undefined) return undefined
      if (!Number.isFinite(n)) return { value: n, exact: false }
      // A float's shortest decimal read as a double is within 2^-24 (relative) of the float.
      return { value: widen(n, side, Math.abs(n) * 2 ** -20 + 2 ** -140), exact: false }
    }
    case 'boolean':
      return typeof raw === 'boolean' ? { value: raw, exact: true } : undefined
    case 'string':
      return typeof raw === 'string' ? { value: raw, exact: true } : undefined
    case 'date':
      return typeof raw === 'string' && parseDateText(raw) !== undefined
        ? { value: raw, exact: true }
        : undefined
    case 'timestamp':
    case 'timestamp_ntz': {
      if (typeof raw !== 'string') return undefined
      const parsed = parseTimestampText(raw)
      if (parsed === undefined) return undefined
      return { value: new Date(widen(parsed.ms, side, 1)), exact: false }
    }
    default:
      if (typeof type === 'string' && type.startsWith('decimal('))
        return decodeDecimalBound(raw, side)
      return undefined
  }
}

const DECIMAL_STAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

function decodeDecimalBound(
  raw: unknown,
  side: Side,
): { value: unknown; exact: boolean } | undefined {
  if (raw instanceof JsonNumber) return { value: raw.text, exact: true }
  if (typeof raw === 'string')
    return DECIMAL_STAT_RE.test(raw) ? { value: raw, exact: true } : undefined
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return undefined
  // A decimal parsed from JSON is the nearest double (or a close computation of it, for writers
  // converting through f64): widen far beyond that error, then compare exactly as decimal text.
  // The absolute term covers zero written as a subnormal by such a computation.
  const widened = widen(raw, side, Math.abs(raw) * 2 ** -40 + 2 ** -1000)
  return { value: String(widened), exact: false }
}

function columnBounds(type: DataType, rawMin: unknown, rawMax: unknown): Bounds {
  const lo = decodeBound(type, rawMin, 'lo')
  const hi = decodeBound(type, rawMax, 'hi')
  let hiPrefix: string | undefined
  if (type === 'string' && hi !== undefined) {
    const max = hi.value as string
    if (max.length > 32) {
      let prefix = max.slice(0, 31)
      const last = prefix.charCodeAt(prefix.length - 1)
      if (last >= 0xd800 && last <= 0xdbff) prefix = prefix.slice(0, -1)
      hiPrefix = prefix
    }
  }
  return {
    lo: lo?.value,
    hi: hi?.value,
    hiPrefix,
    nanPossible: type === 'float' || type === 'double',
    exact: lo !== undefined && hi !== undefined && lo.exact && hi.exact && hiPrefix === undefined,
  }
}

function isNaNValue(v: unknown): boolean {
  return typeof v === 'number' && Number.isNaN(v)
}

/** Some possible non-null value v has v < L (strict) or v <= L. */
function someBelow(type: DataType, b: Bounds, literal: unknown, strict: boolean): boolean {
  if (b.lo === undefined) return true
  const c = compareValues(type, b.lo, literal)
  return strict ? c < 0 : c <= 0
}

/** Some possible non-null value v has v > L (strict) or v >= L. */
function someAbove(type: DataType, b: Bounds, literal: unknown, strict: boolean): boolean {
  if (b.hi === undefined) return true
  const c = compareValues(type, b.hi, literal)
  if (strict ? c > 0 : c >= 0) return true
  if (b.hiPrefix !== undefined) {
    // Some string starting with the prefix exceeds L iff L starts with it or it exceeds L.
    const l = literal as string
    if (l.startsWith(b.hiPrefix) || compareValues(type, b.hiPrefix, l) > 0) return true
  }
  return b.nanPossible && !(strict && isNaNValue(literal))
}

/** Some possible non-null value equals L. */
function someEqual(type: DataType, b: Bounds, literal: unknown): boolean {
  if (!someBelow(type, b, literal, false)) return false
  if (b.hi === undefined || compareValues(type, b.hi, literal) >= 0) return true
  if (b.hiPrefix !== undefined && (literal as string).startsWith(b.hiPrefix)) return true
  return b.nanPossible && isNaNValue(literal)
}

/** Every non-null value certainly equals L. */
function allEqual(type: DataType, b: Bounds, literal: unknown): boolean {
  return (
    b.exact &&
    !b.nanPossible &&
    compareValues(type, b.lo, literal) === 0 &&
    compareValues(type, b.hi, literal) === 0
  )
}

// Module-level rather than closures in nonNullOutcomes: it runs once per file per scan.
function t(cond: boolean): number {
  return cond ? TRUE : 0
}

function f(cond: boolean): number {
  return cond ? FALSE : 0
}

function nonNullOutcomes(node: BoundCompare | BoundIn, b: Bounds): number {
  const type = node.column.type
  if (node.kind === 'in') {
    let o = 0
    if (node.values.some((v) => someEqual(type, b, v))) o |= TRUE
    if (!node.values.some((v) => allEqual(type, b, v))) o |= FALSE
    return node.negated ? negate(o) : o
  }
  const l = node.value
  switch (node.op) {
    case 'eq':
      return t(someEqual(type, b, l)) | f(!allEqual(type, b, l))
    case 'ne':
      return t(!allEqual(type, b, l)) | f(someEqual(type, b, l))
    case 'lt':
      return t(someBelow(type, b, l, true)) | f(someAbove(type, b, l, false))
    case 'le':
      return t(someBelow(type, b, l, false)) | f(someAbove(type, b, l, true))
    case 'gt':
      return t(someAbove(type, b, l, true)) | f(someBelow(type, b, l, false))
    case 'ge':
      return t(someAbove(type, b, l, false)) | f(someBelow(type, b, l, true))
  }
}

function statsOutcome(
  node: BoundCompare | BoundIn | BoundIsNull,
  stats: FileStats | undefined,
): number {
  if (stats === undefined) return node.kind === 'isNull' ? TRUE | FALSE : ANY
  const path = node.column.path
  const numRecords = statCount(stats.numRecords)
  const nullCount = statCount(lookupPath(stats.nullCount, path))
  const mayBeNull = nullCount === undefined || nullCount > 0
  const allNull = nullCount !== undefined && numRecords !== undefined && nullCount >= numRecords
  if (node.kind === 'isNull') {
    const isNull = (mayBeNull ? TRUE : 0) | (allNull ? 0 : FALSE)
    return node.negated ? negate(isNull) : isNull
  }
  const nullPart = mayBeNull ? NULL : 0
  if (allNull) return nullPart
  const type = node.column.type
  const bounds =
    typeof type === 'string'
      ? columnBounds(type, lookupPath(stats.minValues, path), lookupPath(stats.maxValues, path))
      : NO_BOUNDS
  return nullPart | nonNullOutcomes(node, bounds)
}

// ---------------------------------------------------------------------------------------------
// Tree walk

function outcomes(
  node: BoundNode,
  file: SkippingFile,
  partitionColumns: readonly string[],
): number {
  switch (node.kind) {
    case 'literal':
      return node.value ? TRUE : FALSE
    case 'not':
      return negate(outcomes(node.child, file, partitionColumns))
    case 'and': {
      let acc = TRUE
      for (const child of node.children) {
        acc = and2(acc, outcomes(child, file, partitionColumns))
        if (acc === FALSE) break
      }
      return acc
    }
    case 'or': {
      let acc = FALSE
      for (const child of node.children) {
        acc = or2(acc, outcomes(child, file, partitionColumns))
        if (acc === TRUE) break
      }
      return acc
    }
    default: {
      const partition = partitionName(node.column, partitionColumns)
      return partition === undefined
        ? statsOutcome(node, file.stats)
        : partitionOutcome(node, partition, file)
    }
  }
}

/**
 * Whether a file may contain a row satisfying the predicate. Returns false only when no row can
 * (see the module documentation); a file whose stats say it has no records never matches.
 * @param expr - the bound predicate
 * @param file - the file's partition values and parsed stats
 * @param partitionColumns - the table's partition columns
 * @returns false when the file can be skipped
 * @throws DeltaError `MALFORMED_ACTION` when a referenced partition column has no entry in
 *   `partitionValues` or an unparsable one
 */
export function fileMayMatch(
  expr: BoundExpression,
  file: SkippingFile,
  partitionColumns: readonly string[],
): boolean {
  if (file.stats !== undefined && statCount(file.stats.numRecords) === 0) return false
  return (outcomes(expr.bound, file, partitionColumns) & TRUE) !== 0
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStatsTree(value: unknown): value is Record<string, unknown> {
  return isJsonObject(value) && !(value instanceof JsonNumber)
}

/**
 * Parses `add.stats`. Statistics are optional hints (a reader must work without them), so a
 * malformed document, or a malformed field within it, counts as absent rather than as an error.
 * @param stats - the JSON string from the log
 * @param options - `exact`: numbers of the min, max and null-count trees are kept as
 *   {@link JsonNumber}s of their text (for statistics copied into a new file: a long above 2^53
 *   or a wide decimal would otherwise be rounded)
 * @returns the parsed statistics, or undefined when absent or unusable
 */
export function parseStats(
  stats: string | null | undefined,
  options: { readonly exact?: boolean } = {},
): FileStats | undefined {
  if (typeof stats !== 'string' || stats.length === 0) return undefined
  let json: unknown
  try {
    json = options.exact === true ? parseJsonExact(stats) : JSON.parse(stats)
  } catch {
    return undefined // deliberately not an error: see above
  }
  if (!isJsonObject(json) || json instanceof JsonNumber) return undefined
  const count = json.numRecords
  const numRecords = count instanceof JsonNumber ? Number(count.text) : count
  const tightBounds = json.tightBounds
  return {
    ...(typeof numRecords === 'number' && Number.isSafeInteger(numRecords) && numRecords >= 0
      ? { numRecords }
      : {}),
    ...(isStatsTree(json.minValues) ? { minValues: json.minValues } : {}),
    ...(isStatsTree(json.maxValues) ? { maxValues: json.maxValues } : {}),
    ...(isStatsTree(json.nullCount) ? { nullCount: json.nullCount } : {}),
    ...(typeof tightBounds === 'boolean' ? { tightBounds } : {}),
  }
}

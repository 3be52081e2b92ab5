/**
 * Z-ORDER keys (digest section 7.4): rows are clustered along a Z-order (Morton) curve over
 * several columns so that each data file covers a narrow range of every one of them, which is
 * what per-file min/max statistics need to skip files.
 *
 * The key of a row is built in two steps, both order-preserving:
 * 1. **Rank normalization** per column and rewrite unit (one partition): the column's distinct
 *    values, nulls first, are ranked `0..count-1` in the engine's value order; ranks that do not
 *    fit `bitsPerColumn` bits are scaled down to `floor(rank * 2^bits / count)` (see
 *    {@link scaleRank}: Spark's range-id approach). Unlike a prefix of the value's bytes
 *    (delta-rs takes 16 bytes of Arrow's row encoding), ranks do not depend on how values are
 *    spelled: strings sharing a long prefix (`user-000017`, `action.login`) and skewed numbers
 *    get as many distinct key values as they have distinct values.
 * 2. **Bit interleaving**, most significant bit first: bit `i` (counted from the most
 *    significant) of column `c` becomes bit `i * columns + c` of the key (counted from its most
 *    significant bit). Keys are at most 64 bits wide: `bitsPerColumn = min(32, floor(64 /
 *    columns))`.
 *
 * Rows are sorted by key and then by the z-order columns themselves (nulls first), so rows whose
 * ranks collapse onto one scaled value (more distinct values than `2^bitsPerColumn`) still come
 * out in column order. The same definition runs in DuckDB for large rewrites: the layout
 * ({@link zOrderLayout}) is handed to the SQL generator as plain data.
 * @module
 */
import { DeltaError } from '../../errors.js'
import type { PrimitiveType } from '../../schema/data-type.js'
import { timestampMicros } from '../../schema/timestamps.js'
import { compareValues } from '../../schema/values.js'

/** Width of a Z-order key in bits. */
export const Z_ORDER_KEY_BITS = 64

/** Most bits a single column contributes (scaled ranks must stay exact JavaScript integers). */
export const MAX_BITS_PER_COLUMN = 32

/** How the bits of each column are placed in the key. */
export interface ZOrderLayout {
  /** Number of z-order columns. */
  readonly columns: number
  /** Bits taken from each column's scaled rank. */
  readonly bitsPerColumn: number
  /**
   * `positions[c][i]`: the key bit (counted from the least significant, 0-based) that receives
   * bit `i` of column `c`, with `i` counted from the most significant bit of the scaled rank.
   */
  readonly positions: readonly (readonly number[])[]
}

/**
 * The bit layout of keys over `columns` columns.
 * @param columns - number of z-order columns (1..64)
 * @returns the layout
 * @throws DeltaError `INVALID_ARGUMENT` for fewer than 1 or more than 64 columns
 */
export function zOrderLayout(columns: number): ZOrderLayout {
  if (!Number.isInteger(columns) || columns < 1 || columns > Z_ORDER_KEY_BITS) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta optimize: z-order needs 1 to ${Z_ORDER_KEY_BITS} columns, got ${columns}`,
    )
  }
  const bitsPerColumn = Math.min(MAX_BITS_PER_COLUMN, Math.floor(Z_ORDER_KEY_BITS / columns))
  const width = bitsPerColumn * columns
  const positions: number[][] = []
  for (let c = 0; c < columns; c++) {
    const column: number[] = []
    for (let i = 0; i < bitsPerColumn; i++) column.push(width - 1 - (i * columns + c))
    positions.push(column)
  }
  return { columns, bitsPerColumn, positions }
}

/**
 * Maps a rank among `count` ordered values to a bucket of at most `bits` bits: the rank itself
 * when the values fit (`count <= 2^bits`), else `floor(rank * 2^bits / count)`. Monotone in
 * `rank`, and injective when `count <= 2^bits`.
 *
 * Ranks are not stretched to the full width: like Spark's range ids, a column with few distinct
 * values occupies only the low bits of its slot, so the key orders first by the columns with more
 * distinct values, down to the cardinality of the others, and interleaves from there. Files are
 * then cut along the selective columns, where skipping pays off most (a point filter on a
 * 10,000-value column prunes far more than one on a 20-value column can).
 * @param rank - 0-based rank, below `count`
 * @param count - number of ranked values
 * @param bits - bucket width (at most 32)
 * @returns the bucket, in `0 .. 2^bits - 1`
 */
export function scaleRank(rank: number, count: number, bits: number): number {
  if (count <= 2 ** bits) return rank
  const scaled = rank * 2 ** bits
  // Multiplying by a power of two is exact; the division is too while the product is a safe
  // integer. Beyond that, divide in bigints.
  if (Number.isSafeInteger(scaled)) return Math.floor(scaled / count)
  return Number((BigInt(rank) << BigInt(bits)) / BigInt(count))
}

/**
 * Places the bits of one column's scaled rank at that column's key positions.
 * @param scaled - the scaled rank (`bitsPerColumn` bits)
 * @param column - the column's index in the z-order list
 * @param layout - the key layout
 * @returns the column's contribution to the key (OR the contributions to get the key)
 */
export function spreadBits(scaled: number, column: number, layout: ZOrderLayout): bigint {
  const positions = layout.positions[column]
  if (positions === undefined) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta optimize: z-order column index ${column} outside 0..${layout.columns - 1}`,
    )
  }
  const bits = layout.bitsPerColumn
  let out = 0n
  for (let i = 0; i < bits; i++) {
    // Bit i from the most significant end; `/` and `%` keep this exact above 2^31.
    const bit = Math.floor(scaled / 2 ** (bits - 1 - i)) % 2
    if (bit === 1) out |= 1n << BigInt(positions[i] as number)
  }
  return out
}

/**
 * The Z-order key of one row given its scaled ranks: the bits interleaved most significant
 * first.
 * @param scaled - one scaled rank per z-order column, in column order
 * @param layout - the key layout
 * @returns the key, an unsigned integer below `2^64`
 */
export function interleaveBits(scaled: readonly number[], layout: ZOrderLayout): bigint {
  let key = 0n
  for (let c = 0; c < layout.columns; c++) key |= spreadBits(scaled[c] ?? 0, c, layout)
  return key
}

/** A z-order column: its name in the rows and its Delta type. */
export interface ZOrderColumn {
  readonly name: string
  readonly type: PrimitiveType
}

/** A Map key for a value (instants by their time; other canonical values are keys already). */
function valueKey(value: unknown): unknown {
  return value instanceof Date ? timestampMicros(value) : value
}

/**
 * Scaled ranks of one column's values: distinct values (nulls first, then in the engine's value
 * order) ranked and scaled to `bits` bits.
 * @param values - the column's values, one per row (null for null)
 * @param type - the column type
 * @param bits - bits per column
 * @returns the scaled rank of each row, in row order
 */
export function scaledRanks(
  values: readonly unknown[],
  type: PrimitiveType,
  bits: number,
): number[] {
  const distinct = new Map<unknown, unknown>()
  let hasNull = false
  for (const v of values) {
    if (v === null || v === undefined) hasNull = true
    else {
      const k = valueKey(v)
      if (!distinct.has(k)) distinct.set(k, v)
    }
  }
  const sorted = [...distinct.entries()].sort((a, b) => compareValues(type, a[1], b[1]))
  const count = sorted.length + (hasNull ? 1 : 0)
  const offset = hasNull ? 1 : 0
  const scaledByKey = new Map<unknown, number>()
  sorted.forEach(([k], i) => scaledByKey.set(k, scaleRank(i + offset, count, bits)))
  return values.map((v) =>
    v === null || v === undefined ? 0 : (scaledByKey.get(valueKey(v)) as number),
  )
}

function compareNullsFirst(type: PrimitiveType, a: unknown, b: unknown): number {
  const aNull = a === null || a === undefined
  const bNull = b === null || b === undefined
  if (aNull || bNull) return aNull === bNull ? 0 : aNull ? -1 : 1
  return compareValues(type, a, b)
}

/**
 * Z-order keys of rows over the given columns (ranks normalized over these rows).
 * @param rows - the rows (canonical values)
 * @param columns - the z-order columns
 * @returns one key per row, in row order
 * @throws DeltaError `INVALID_ARGUMENT` for no columns or more than 64
 */
export function zOrderKeys(
  rows: readonly Readonly<Record<string, unknown>>[],
  columns: readonly ZOrderColumn[],
): bigint[] {
  const layout = zOrderLayout(columns.length)
  const spreads = columns.map((column, c) => {
    const scaled = scaledRanks(
      rows.map((r) => r[column.name] ?? null),
      column.type,
      layout.bitsPerColumn,
    )
    // Spread each distinct scaled value once; rows then only OR their columns' contributions.
    const cache = new Map<number, bigint>()
    return scaled.map((s) => {
      let spread = cache.get(s)
      if (spread === undefined) {
        spread = spreadBits(s, c, layout)
        cache.set(s, spread)
      }
      return spread
    })
  })
  return rows.map((_, i) => {
    let key = 0n
    for (const column of spreads) key |= column[i] as bigint
    return key
  })
}

/**
 * Sorts rows along the Z-order curve: by key, then by the z-order columns in order (nulls
 * first), so that the order is total on those columns.
 * @param rows - the rows (canonical values)
 * @param columns - the z-order columns
 * @returns a new array with the same rows, sorted
 * @throws DeltaError `INVALID_ARGUMENT` for no columns or more than 64
 */
export function sortByZOrder<R extends Readonly<Record<string, unknown>>>(
  rows: readonly R[],
  columns: readonly ZOrderColumn[],
): R[] {
  const keys = zOrderKeys(rows, columns)
  const order = rows.map((_, i) => i)
  order.sort((a, b) => {
    const ka = keys[a] as bigint
    const kb = keys[b] as bigint
    if (ka !== kb) return ka < kb ? -1 : 1
    const ra = rows[a] as R
    const rb = rows[b] as R
    for (const column of columns) {
      const c = compareNullsFirst(column.type, ra[column.name], rb[column.name])
      if (c !== 0) return c
    }
    return a - b
  })
  return order.map((i) => rows[i] as R)
}

/**
 * Typed values ("Primitive Types" and "Complex Types" in PROTOCOL.md): coercion of user input to
 * the engine's canonical representation, a total order on primitive values and deep equality.
 *
 * Canonical representation by Delta type:
 *
 * | type | value |
 * |---|---|
 * | string | `string` (well-formed UTF-16) |
 * | long | `bigint` |
 * | integer, short, byte | `number` (integral, in range) |
 * | float, double | `number` (NaN and ±Infinity allowed) |
 * | boolean | `boolean` |
 * | binary | `Uint8Array` |
 * | date | `'YYYY-MM-DD'` |
 * | timestamp | `Date` (a UTC instant; microseconds past its millisecond kept on it, see `timestamps.ts`) |
 * | timestamp_ntz | `Date` whose UTC fields are the wall-clock value (microseconds likewise) |
 * | decimal(p,s) | plain-notation string with exactly `s` fraction digits (`"-1.50"`, `"12"`) |
 * | struct | plain object keyed by field name |
 * | array | array |
 * | map | `Map` |
 * | void | `null` |
 *
 * Dates and timestamps are limited to years 0001–9999, the range Spark and Parquet readers share.
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#primitive-types
 * @module
 */
import { DeltaError } from '../errors.js'
import {
  decimalParams,
  type ArrayType,
  type DataType,
  type DecimalParams,
  type MapType,
  type PrimitiveType,
  type StructType,
} from './data-type.js'
import {
  compareTimestamps,
  copyTimestamp,
  subMillisecondMicros,
  timestampOf,
} from './timestamps.js'

// ---------------------------------------------------------------------------------------------
// Errors

function mismatch(where: string, expected: string, value: unknown): never {
  throw new DeltaError(
    'SCHEMA_MISMATCH',
    `delta values: ${where}: expected ${expected}, got ${previewValue(value)}`,
    { context: { where } },
  )
}

/**
 * A short, human-readable rendering of any value for error messages (never throws).
 * @param value - any value
 * @returns a preview such as `"abc"`, `12n`, `Date(2021-01-01T00:00:00.000Z)`, `object`
 * @internal
 */
export function previewValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value
      return JSON.stringify(shown)
    }
    case 'number':
    case 'boolean':
      return String(value)
    case 'bigint':
      return `${value}n`
    case 'object':
      if (value instanceof Date) {
        return Number.isNaN(value.getTime()) ? 'Date(invalid)' : `Date(${value.toISOString()})`
      }
      if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
      if (Array.isArray(value)) return `array(${value.length})`
      if (value instanceof Map) return `Map(${value.size})`
      return 'object'
    default:
      return typeof value
  }
}

// ---------------------------------------------------------------------------------------------
// Calendar helpers (proleptic Gregorian, UTC)

/** 0001-01-01T00:00:00.000Z in epoch milliseconds. */
const MIN_TIMESTAMP_MS = -62_135_596_800_000
/**
 * 9999-12-31T23:59:59.999Z in epoch milliseconds.
 * @internal
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999
const MS_PER_DAY = 86_400_000

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** Days since 1970-01-01 of a proleptic Gregorian date (any year, unlike `Date.UTC`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/**
 * Validates a `YYYY-MM-DD` string as a real calendar date in years 0001–9999.
 * @param text - candidate date
 * @returns the same string when valid, otherwise undefined
 * @internal
 */
export function parseDateText(text: string): string | undefined {
  const m = DATE_RE.exec(text)
  if (!m) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined
  }
  return text
}

/**
 * The UTC calendar date of an instant as `YYYY-MM-DD`.
 * @param date - a valid Date within years 0001–9999
 * @returns the date string
 */
function formatDateUtc(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`
}

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

/** A parsed timestamp string: epoch milliseconds of its fields, and whether it had a zone. */
interface ParsedTimestamp {
  /** Epoch milliseconds; for a zone-less string, of its fields read as UTC. */
  readonly ms: number
  /** Microseconds past `ms` (0–999): fraction digits 4 to 6. */
  readonly micros: number
  /** Whether the fraction had more than three digits (finer than milliseconds). */
  readonly fine: boolean
  /** True when the string carried `Z` or a numeric offset. */
  readonly zoned: boolean
}

/**
 * Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,9}]]][Z|±HH[:MM]]`. Fraction digits beyond microseconds
 * are truncated (Delta timestamps have microsecond precision).
 * @param text - candidate timestamp
 * @returns epoch milliseconds and whether a zone was present, or undefined when invalid or
 *   outside years 0001–9999
 * @internal
 */
export function parseTimestampText(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text)
  if (!m) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined
  }
  const hour = m[4] === undefined ? 0 : Number(m[4])
  const minute = m[5] === undefined ? 0 : Number(m[5])
  const second = m[6] === undefined ? 0 : Number(m[6])
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const fraction = m[7] ?? ''
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'))
  const micros = Number(fraction.slice(3, 6).padEnd(3, '0'))
  let ms =
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute) * 60 + second) * 1000 +
    millis
  const zone = m[8]
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const offsetHours = Number(digits.slice(0, 2))
    const offsetMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0
    if (offsetHours > 18 || offsetMinutes > 59) return undefined
    ms -= sign * (offsetHours * 60 + offsetMinutes) * 60_000
  }
  if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) return undefined
  return { ms, micros, fine: fraction.length > 3, zoned: zone !== undefined }
}

/**
 * Formats the UTC fields of an instant as `YYYY-MM-DD<sep>HH:MM:SS.ffffff` (microseconds,
 * always six digits).
 * @param date - a valid Date within years 0001–9999
 * @param separator - `'T'` or `' '`
 * @returns the formatted fields, without zone
 * @internal
 */
export function formatTimestampMicros(date: Date, separator: 'T' | ' '): string {
  return (
    `${formatDateUtc(date)}${separator}${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:` +
    `${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}` +
    pad(subMillisecondMicros(date), 3)
  )
}

function isValidInstant(date: Date): boolean {
  const ms = date.getTime()
  return ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS
}

// ---------------------------------------------------------------------------------------------
// Decimals

/** A decimal number as sign, significant digits and power of ten: `±digits × 10^exponent`. */
interface DecimalText {
  readonly negative: boolean
  /** Significant digits without leading or trailing zeros; `''` for zero. */
  readonly digits: string
  readonly exponent: number
}

const DECIMAL_TEXT_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * Parses plain (`-1.50`) or exponent (`1.5E-3`) decimal notation exactly.
 * @param text - candidate number text
 * @returns the normalized decimal or undefined when the text is not a number
 */
function parseDecimalText(text: string): DecimalText | undefined {
  const m = DECIMAL_TEXT_RE.exec(text)
  if (!m) return undefined
  const intPart = m[2] ?? ''
  const fracPart = m[3] ?? ''
  if (intPart.length === 0 && fracPart.length === 0) return undefined
  let digits = intPart + fracPart
  let lead = 0
  while (lead < digits.length && digits.charCodeAt(lead) === 48) lead++
  digits = digits.slice(lead)
  if (digits.length === 0) return { negative: false, digits: '', exponent: 0 }
  let end = digits.length
  while (digits.charCodeAt(end - 1) === 48) end--
  const trailing = digits.length - end
  digits = digits.slice(0, end)
  const exponent = (m[4] === undefined ? 0 : Number(m[4])) - fracPart.length + trailing
  if (!Number.isSafeInteger(exponent)) return undefined
  return { negative: m[1] === '-', digits, exponent }
}

const decimalParamsCache = new Map<string, DecimalParams>()

/**
 * Precision and scale of a decimal type name, cached (coercion runs per value).
 * @param type - a primitive type
 * @returns the parameters or undefined for non-decimal types
 * @internal
 */
export function cachedDecimalParams(type: PrimitiveType): DecimalParams | undefined {
  let params = decimalParamsCache.get(type)
  if (params === undefined) {
    params = decimalParams(type)
    if (params === undefined) return undefined
    decimalParamsCache.set(type, params)
  }
  return params
}

/**
 * Formats a decimal with exactly `scale` fraction digits if it fits `decimal(precision, scale)`
 * without rounding.
 * @returns the canonical string, or undefined when it has non-zero digits beyond the scale or
 *   more than `precision - scale` integer digits
 */
function fitDecimal(d: DecimalText, { precision, scale }: DecimalParams): string | undefined {
  if (d.digits.length === 0) return scale > 0 ? `0.${'0'.repeat(scale)}` : '0'
  if (-d.exponent > scale) return undefined
  const intDigits = d.digits.length + d.exponent
  if (intDigits > precision - scale) return undefined
  let intPart: string
  let fracPart: string
  if (d.exponent >= 0) {
    intPart = d.digits + '0'.repeat(d.exponent)
    fracPart = ''
  } else if (intDigits > 0) {
    intPart = d.digits.slice(0, intDigits)
    fracPart = d.digits.slice(intDigits)
  } else {
    intPart = '0'
    fracPart = '0'.repeat(-intDigits) + d.digits
  }
  const sign = d.negative ? '-' : ''
  return scale > 0 ? `${sign}${intPart}.${fracPart.padEnd(scale, '0')}` : `${sign}${intPart}`
}

/**
 * Converts decimal text (plain or exponent notation) to the canonical string of a decimal type.
 * @param text - the number text
 * @param params - precision and scale of the column
 * @returns the canonical string, or undefined when the text is not a number or does not fit
 *   without rounding
 * @internal
 */
export function canonicalDecimal(text: string, params: DecimalParams): string | undefined {
  const d = parseDecimalText(text)
  return d === undefined ? undefined : fitDecimal(d, params)
}

/**
 * Exact numeric comparison of two decimal texts of any scale or notation.
 * @returns negative, zero or positive
 */
function compareDecimalTexts(a: string, b: string): number {
  if (a === b) return 0
  const x = parseDecimalText(a)
  const y = parseDecimalText(b)
  if (x === undefined || y === undefined) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta values: cannot compare non-decimal values ${previewValue(a)} and ${previewValue(b)}`,
    )
  }
  const signX = x.digits.length === 0 ? 0 : x.negative ? -1 : 1
  const signY = y.digits.length === 0 ? 0 : y.negative ? -1 : 1
  if (signX !== signY) return signX < signY ? -1 : 1
  if (signX === 0) return 0
  // Same sign: compare magnitudes by the position of the leading digit, then digit by digit
  // (digit strings carry no trailing zeros, so plain string order is numeric order here).
  const leadX = x.digits.length + x.exponent
  const leadY = y.digits.length + y.exponent
  let magnitude: number
  if (leadX !== leadY) magnitude = leadX < leadY ? -1 : 1
  else magnitude = x.digits < y.digits ? -1 : x.digits > y.digits ? 1 : 0
  // Equal negatives must give 0, not -0 (which `Object.is` and `Math.sign` tell apart).
  return magnitude === 0 ? 0 : signX * magnitude
}

// ---------------------------------------------------------------------------------------------
// Coercion

/**
 * Inclusive value ranges of the 32-, 16- and 8-bit integer types.
 * @internal
 */
export const INT_RANGES = {
  integer: [-2_147_483_648, 2_147_483_647],
  short: [-32_768, 32_767],
  byte: [-128, 127],
} as const
/**
 * Smallest long (int64).
 * @internal
 */
export const LONG_MIN = -(2n ** 63n)
/**
 * Largest long (int64).
 * @internal
 */
export const LONG_MAX = 2n ** 63n - 1n
const LONE_SURROGATE_RE = /\p{Surrogate}/u

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Converts user input for a column of `type` to the canonical representation (see the module
 * documentation). `undefined` is treated as `null`. The top-level value's nullability is the
 * caller's business (it knows `field.nullable`); nested non-nullable struct fields, array
 * elements (`containsNull: false`) and map values (`valueContainsNull: false`) are checked here.
 *
 * Accepted input by type:
 * - long: `bigint` or a safe-integer `number`, within int64;
 * - integer/short/byte: integral `number` or `bigint` within int32/int16/int8;
 * - float/double: any `number` (`Math.fround` is applied when a float is written, not here);
 * - string: a well-formed string (lone surrogates are rejected, they have no UTF-8 encoding);
 * - binary: `Uint8Array` (a `Buffer` is returned as a plain `Uint8Array` view);
 * - date: `'YYYY-MM-DD'` (a real calendar date) or a `Date` (its UTC date);
 * - timestamp: a valid `Date`, or an ISO-8601 string WITH `Z` or a numeric offset (zone-less
 *   strings are ambiguous and rejected; epoch numbers are rejected so that seconds vs.
 *   milliseconds can never be confused);
 * - timestamp_ntz: a valid `Date` (its UTC fields), or a zone-less
 *   `YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]]` string;
 * - decimal(p,s): a string in plain or exponent notation, a finite `number` (via its shortest
 *   round-trip text) or a `bigint`; values needing rounding (non-zero digits beyond `s`) or with
 *   more than `p - s` integer digits are rejected;
 * - struct: a plain object (unknown keys rejected, missing keys become null);
 * - array: an array; map: a `Map`, or a plain object when the key type is string;
 * - void: only null.
 * @param type - the column type
 * @param value - user input
 * @param where - column path used in error messages
 * @returns the canonical value, or null
 * @throws DeltaError `SCHEMA_MISMATCH` naming `where` when the value does not fit the type
 */
export function coerceValue(type: DataType, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return null
  if (typeof type === 'string') return coercePrimitive(type, value, where)
  switch (type.type) {
    case 'struct':
      return coerceStruct(type, value, where)
    case 'array':
      return coerceArray(type, value, where)
    case 'map':
      return coerceMap(type, value, where)
  }
}

function coercePrimitive(type: PrimitiveType, value: unknown, where: string): unknown {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') mismatch(where, 'a string', value)
      if (LONE_SURROGATE_RE.test(value))
        mismatch(where, 'a well-formed string (lone surrogate)', value)
      return value
    case 'long':
      if (typeof value === 'bigint') {
        if (value < LONG_MIN || value > LONG_MAX) mismatch(where, 'a long (int64)', value)
        return value
      }
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
      return mismatch(where, 'a long (bigint or safe integer)', value)
    case 'integer':
    case 'short':
    case 'byte': {
      const [min, max] = INT_RANGES[type]
      let n: number
      if (typeof value === 'number' && Number.isInteger(value)) n = value
      else if (typeof value === 'bigint' && value >= BigInt(min) && value <= BigInt(max))
        n = Number(value)
      else return mismatch(where, `an integral ${type}`, value)
      if (n < min || n > max) mismatch(where, `a ${type} in [${min}, ${max}]`, value)
      return n === 0 ? 0 : n // normalizes -0
    }
    case 'float':
    case 'double':
      if (typeof value !== 'number') mismatch(where, `a ${type} (number)`, value)
      return value
    case 'boolean':
      if (typeof value !== 'boolean') mismatch(where, 'a boolean', value)
      return value
    case 'binary':
      if (!(value instanceof Uint8Array)) mismatch(where, 'binary (Uint8Array)', value)
      return value.constructor === Uint8Array
        ? value
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    case 'date':
      if (typeof value === 'string') {
        const d = parseDateText(value)
        if (d === undefined) mismatch(where, "a date 'YYYY-MM-DD' in years 0001-9999", value)
        return d
      }
      if (value instanceof Date && isValidInstant(value)) return formatDateUtc(value)
      return mismatch(where, "a date ('YYYY-MM-DD' or Date)", value)
    case 'timestamp':
    case 'timestamp_ntz':
      return coerceTimestamp(type, value, where)
    case 'void':
      return mismatch(where, 'null (void column)', value)
    default: {
      const params = cachedDecimalParams(type)
      if (params === undefined) return mismatch(where, `a supported type, not ${type}`, value)
      return coerceDecimal(type, params, value, where)
    }
  }
}

function coerceTimestamp(type: 'timestamp' | 'timestamp_ntz', value: unknown, where: string): Date {
  if (value instanceof Date) {
    if (!isValidInstant(value)) mismatch(where, `a ${type} in years 0001-9999`, value)
    return copyTimestamp(value)
  }
  if (typeof value === 'string') {
    const parsed = parseTimestampText(value)
    if (parsed !== undefined && parsed.zoned === (type === 'timestamp')) {
      return timestampOf(parsed.ms, parsed.micros)
    }
    return mismatch(
      where,
      type === 'timestamp'
        ? 'a timestamp (Date, or ISO-8601 string with Z or an offset)'
        : 'a timestamp_ntz (Date, or ISO-8601 string without zone)',
      value,
    )
  }
  return mismatch(where, `a ${type} (Date or ISO-8601 string)`, value)
}

function coerceDecimal(type: string, params: DecimalParams, value: unknown, where: string): string {
  let text: string
  if (typeof value === 'string') text = value
  else if (typeof value === 'bigint') text = value.toString()
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value)
  else return mismatch(where, `a ${type} (string, finite number or bigint)`, value)
  const canonical = canonicalDecimal(text, params)
  if (canonical === undefined) {
    mismatch(where, `a ${type} value that fits without rounding`, value)
  }
  return canonical
}

function coerceStruct(type: StructType, value: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(value)) return mismatch(where, 'a struct (plain object)', value)
  const out: Record<string, unknown> = {}
  const known = new Set<string>()
  for (const field of type.fields) {
    known.add(field.name)
    const path = `${where}.${field.name}`
    const v = coerceValue(field.type, value[field.name], path)
    if (v === null && !field.nullable) mismatch(path, 'a non-null value', null)
    out[field.name] = v
  }
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new DeltaError(
        'SCHEMA_MISMATCH',
        `delta values: ${where}: unknown struct field ${JSON.stringify(key)}`,
        {
          context: { where, field: key },
        },
      )
    }
  }
  return out
}

function coerceArray(type: ArrayType, value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) return mismatch(where, 'an array', value)
  const out = new Array<unknown>(value.length)
  for (let i = 0; i < value.length; i++) {
    const path = `${where}[${i}]`
    const v = coerceValue(type.elementType, value[i] as unknown, path)
    if (v === null && !type.containsNull) mismatch(path, 'a non-null element', null)
    out[i] = v
  }
  return out
}

function coerceMap(type: MapType, value: unknown, where: string): Map<unknown, unknown> {
  let entries: Iterable<[unknown, unknown]>
  if (value instanceof Map) entries = value as Map<unknown, unknown>
  else if (type.keyType === 'string' && isPlainObject(value)) entries = Object.entries(value)
  else
    return mismatch(
      where,
      type.keyType === 'string' ? 'a map (Map or plain object)' : 'a map (Map)',
      value,
    )
  const out = new Map<unknown, unknown>()
  for (const [k, v] of entries) {
    const key = coerceValue(type.keyType, k, `${where}.key`)
    if (key === null) mismatch(`${where}.key`, 'a non-null map key', null)
    const path = `${where}[${previewValue(key)}]`
    const val = coerceValue(type.valueType, v, path)
    if (val === null && !type.valueContainsNull) mismatch(path, 'a non-null map value', null)
    out.set(key, val)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Ordering and equality

/**
 * Compares strings in Unicode code point order, which equals UTF-8 byte order (the order of
 * Spark and of Parquet statistics). JavaScript's `<` compares UTF-16 code units, which puts
 * astral characters (surrogate pairs) below U+E000–U+FFFF; this fixes that up at the first
 * differing unit only.
 * @returns negative, zero or positive
 */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000..U+FFFF in code point order.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

/**
 * Unsigned lexicographic order of byte strings (binary values; Parquet's BYTE_ARRAY order).
 * @param a - first bytes
 * @param b - second bytes
 * @returns negative, zero or positive
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** Numeric order with NaN greater than everything and equal to itself (Spark), -0 equal to 0. */
function compareFloats(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : 1
  if (b !== b) return -1
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Total order on non-null canonical values of one primitive type: numbers numerically (NaN
 * greater than everything and equal to itself, like Spark; -0 equals 0), bigints, `false < true`,
 * strings in Unicode code point order (= UTF-8 byte order), binary bytewise, dates as strings,
 * timestamps by instant, decimals exactly (any scale or notation).
 * @param type - the primitive type of both values
 * @param a - a canonical non-null value
 * @param b - a canonical non-null value
 * @returns negative when a < b, zero when equal, positive when a > b
 * @throws DeltaError `INVALID_ARGUMENT` for nested or void types, or non-decimal text given for
 *   a decimal
 */
export function compareValues(type: DataType, a: unknown, b: unknown): number {
  switch (type) {
    case 'string':
      return compareStrings(a as string, b as string)
    case 'long':
    case 'integer':
    case 'short':
    case 'byte': {
      const x = a as number | bigint
      const y = b as number | bigint
      return x < y ? -1 : x > y ? 1 : 0
    }
    case 'float':
    case 'double':
      return compareFloats(a as number, b as number)
    case 'boolean':
      return a === b ? 0 : a ? 1 : -1
    case 'binary':
      return compareBytes(a as Uint8Array, b as Uint8Array)
    case 'date': {
      const x = a as string
      const y = b as string
      return x < y ? -1 : x > y ? 1 : 0
    }
    case 'timestamp':
    case 'timestamp_ntz':
      return compareTimestamps(a as Date, b as Date)
    default:
      if (typeof type === 'string' && type.startsWith('decimal(')) {
        return compareDecimalTexts(a as string, b as string)
      }
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta values: values of type ${typeof type === 'string' ? type : type.type} have no order`,
      )
  }
}

/**
 * Deep equality of two canonical values of any type (nulls equal each other; NaN equals NaN and
 * -0 equals 0, as in Spark; map entries are matched by key equality regardless of order).
 * @param type - the type of both values
 * @param a - canonical value or null
 * @param b - canonical value or null
 * @returns whether the values are equal
 * @throws DeltaError `INVALID_ARGUMENT` for non-null void values
 */
export function valuesEqual(type: DataType, a: unknown, b: unknown): boolean {
  const aNull = a === null || a === undefined
  const bNull = b === null || b === undefined
  if (aNull || bNull) return aNull && bNull
  if (typeof type === 'string') return compareValues(type, a, b) === 0
  switch (type.type) {
    case 'struct': {
      const x = a as Record<string, unknown>
      const y = b as Record<string, unknown>
      return type.fields.every((f) => valuesEqual(f.type, x[f.name], y[f.name]))
    }
    case 'array': {
      const x = a as readonly unknown[]
      const y = b as readonly unknown[]
      return x.length === y.length && x.every((v, i) => valuesEqual(type.elementType, v, y[i]))
    }
    case 'map': {
      const x = a as ReadonlyMap<unknown, unknown>
      const y = b as ReadonlyMap<unknown, unknown>
      if (x.size !== y.size) return false
      for (const [k, v] of x) {
        if (y.has(k)) {
          if (!valuesEqual(type.valueType, v, y.get(k))) return false
          continue
        }
        // Keys without identity equality (Date, Uint8Array): find an equal key.
        let found = false
        for (const [k2, v2] of y) {
          if (valuesEqual(type.keyType, k, k2)) {
            found = valuesEqual(type.valueType, v, v2)
            break
          }
        }
        if (!found) return false
      }
      return true
    }
  }
}

/**
 * Conversions between the engine's value representation (see `read-parquet.ts`) and Parquet's
 * physical values: days since the epoch for `date`, epoch micro-/milli-/nanoseconds for
 * timestamps, unscaled two's-complement integers for decimals. Pure functions, no I/O.
 *
 * Dates use the proleptic Gregorian calendar in UTC, as Spark 3, delta-rs, Arrow and DuckDB do.
 * @module
 */

const DAYS_PER_ERA = 146_097
/** Days from 0000-03-01 to 1970-01-01, the shift used by the civil-date algorithms below. */
const EPOCH_SHIFT = 719_468
/** Largest absolute epoch-millisecond value a JavaScript `Date` can hold. */
export const MAX_DATE_MILLIS = 8_640_000_000_000_000

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

function formatYear(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0')
  // ISO 8601 expanded years, as `Date.prototype.toISOString` writes them.
  return `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`
}

/**
 * Formats days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian). Years outside 0..9999
 * use the ISO 8601 expanded form (`+010000-01-01`, `-000001-01-01`).
 * @param days - days since the epoch, negative before it
 * @returns the date string
 * @internal
 */
export function formatEpochDays(days: number): string {
  // Civil-from-days over 400-year eras (each era has exactly 146097 days).
  const z = days + EPOCH_SHIFT
  const era = Math.floor(z / DAYS_PER_ERA)
  const dayOfEra = z - era * DAYS_PER_ERA
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  )
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  return `${formatYear(year)}-${pad2(month)}-${pad2(day)}`
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * DAYS_PER_ERA + dayOfEra - EPOCH_SHIFT
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const
const DATE_RE = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})$/

/**
 * Parses `YYYY-MM-DD` (or an ISO expanded year) into days since 1970-01-01.
 * @param value - the date string
 * @returns days since the epoch, or `undefined` when the string is not a valid calendar date
 * @internal
 */
export function parseEpochDays(value: string): number | undefined {
  const m = DATE_RE.exec(value)
  if (!m) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (month < 1 || month > 12 || day < 1) return undefined
  const monthDays = month === 2 && isLeapYear(year) ? 29 : (MONTH_DAYS[month - 1] ?? 0)
  if (day > monthDays) return undefined
  return daysFromCivil(year, month, day)
}

/**
 * Epoch nanoseconds to epoch microseconds, rounding toward negative infinity.
 * @param nanos - epoch nanoseconds
 * @returns epoch microseconds
 * @internal
 */
export function nanosToMicros(nanos: bigint): bigint {
  const q = nanos / 1000n
  return nanos % 1000n < 0n ? q - 1n : q
}

/**
 * Formats an unscaled decimal integer as a string with exactly `scale` fraction digits,
 * rescaling from the file's scale (never larger than `scale`) by appending zeros.
 * @param unscaled - the unscaled integer (a safe integer or a bigint)
 * @param fileScale - the scale the integer is stored with
 * @param scale - the scale of the result
 * @returns e.g. `"-1.50"`, `"12"` for scale 0
 * @internal
 */
export function formatUnscaledDecimal(
  unscaled: number | bigint,
  fileScale: number,
  scale: number,
): string {
  const negative = unscaled < 0
  let digits = (negative ? -unscaled : unscaled).toString()
  if (scale > fileScale) digits += '0'.repeat(scale - fileScale)
  if (scale === 0) return negative ? `-${digits}` : digits
  if (digits.length <= scale) digits = digits.padStart(scale + 1, '0')
  const cut = digits.length - scale
  return `${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`
}

/**
 * Decodes a big-endian two's-complement integer (Parquet DECIMAL in FIXED_LEN_BYTE_ARRAY or
 * BYTE_ARRAY). Up to six bytes come back as a number, longer values as a bigint.
 * @param bytes - the big-endian bytes
 * @returns the signed integer
 * @internal
 */
export function bigEndianToInteger(bytes: Uint8Array): number | bigint {
  const n = bytes.length
  if (n === 0) return 0
  const negative = (bytes[0] ?? 0) >= 128
  if (n <= 6) {
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + (bytes[i] ?? 0)
    return negative ? v - 2 ** (8 * n) : v
  }
  let i = 0
  let head = 0
  for (; i < n % 4; i++) head = head * 256 + (bytes[i] ?? 0)
  let v = BigInt(head)
  for (; i < n; i += 4) {
    const word =
      (bytes[i] ?? 0) * 16_777_216 +
      ((bytes[i + 1] ?? 0) << 16) +
      ((bytes[i + 2] ?? 0) << 8) +
      (bytes[i + 3] ?? 0)
    v = (v << 32n) | BigInt(word)
  }
  return negative ? v - (1n << BigInt(8 * n)) : v
}

const DECIMAL_STRING_RE = /^([+-]?)(\d+)(?:\.(\d+))?$/

/**
 * Parses a decimal string into its unscaled integer at `scale`. Fewer fraction digits than
 * `scale` are padded; extra fraction digits are accepted only when they are zeros, so no value
 * is ever rounded.
 * @param value - e.g. `"-1.50"`
 * @param precision - total digits allowed
 * @param scale - fraction digits
 * @returns the unscaled integer, or `undefined` when the string is malformed, needs rounding or
 *   exceeds the precision
 * @internal
 */
export function parseDecimalString(
  value: string,
  precision: number,
  scale: number,
): bigint | undefined {
  const m = DECIMAL_STRING_RE.exec(value)
  if (!m) return undefined
  const sign = m[1] === '-' ? -1n : 1n
  const integerDigits = (m[2] ?? '').replace(/^0+/, '')
  let fraction = m[3] ?? ''
  if (fraction.length > scale) {
    if (!/^0*$/.test(fraction.slice(scale))) return undefined
    fraction = fraction.slice(0, scale)
  }
  if (integerDigits.length > precision - scale) return undefined
  const unscaled = BigInt(`${integerDigits || '0'}${fraction.padEnd(scale, '0')}`)
  return sign * unscaled
}

/**
 * The minimal FIXED_LEN_BYTE_ARRAY length that holds every unscaled value of a decimal with
 * this precision (as Spark chooses it): 5 bytes for precision 10-11, 16 for 38.
 * @param precision - decimal precision, 1..38
 * @returns the byte length
 * @internal
 */
export function decimalByteLength(precision: number): number {
  const largest = 10n ** BigInt(precision) - 1n
  let length = 1
  while ((1n << BigInt(8 * length - 1)) - 1n < largest) length++
  return length
}

/**
 * Partition value serialization ("Partition Value Serialization" in PROTOCOL.md): the strings of
 * `add.partitionValues` and the typed values they stand for.
 *
 * Reading choices:
 * - JSON `null`, a missing entry and `""` all mean null (the spec says an empty string is null,
 *   for string columns too).
 * - The literal `__HIVE_DEFAULT_PARTITION__` only appears in directory names; writers put JSON
 *   `null` in the log. In `partitionValues` it is therefore a real string for string columns; for
 *   every other type (where it cannot be a value) it is read as null.
 * - Zone-less timestamps (`2021-09-08 11:11:11`, written by older Spark in the writer's session
 *   time zone, which the log does not record) are read as UTC, as delta-kernel does. Strings with
 *   `Z` or an offset are exact.
 * - Floats are rounded to 32-bit (`Math.fround`), matching values read from Parquet float columns.
 * - Binary values are the UTF-8 bytes of the string.
 *
 * Writing produces what Spark and delta-rs read back: Java `Double.toString`/`Float.toString`
 * forms for floating point, ISO-8601 UTC with microseconds for timestamps.
 *
 * Empty strings (and empty binary) are written as null, as Spark does, since the log cannot tell
 * `""` from null. Consequences:
 * - in a nullable partition column, a row written with `""` reads back with null there, and a
 *   MERGE keyed on that column never matches a source `""` (the target's value is null, and null
 *   matches nothing), so such a source row is inserted again each time, as in Spark;
 * - a non-nullable partition column cannot hold `""`: readers refuse a null partition value there
 *   (delta-rs will not open the table), so writers refuse the value with `SCHEMA_MISMATCH`
 *   before writing anything (see {@link isNullPartitionValue}).
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#partition-value-serialization
 * @module
 */
import { DeltaError } from '../errors.js'
import type { DataType } from './data-type.js'
import { HIVE_DEFAULT_PARTITION } from './paths.js'
import {
  cachedDecimalParams,
  canonicalDecimal,
  coerceValue,
  formatTimestampMicros,
  INT_RANGES,
  LONG_MAX,
  LONG_MIN,
  parseDateText,
  parseTimestampText,
} from './values.js'
import { timestampOf } from './timestamps.js'

const INTEGER_RE = /^[+-]?\d+$/
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function malformed(type: DataType, raw: string, where: string): never {
  const typeName = typeof type === 'string' ? type : type.type
  throw new DeltaError(
    'MALFORMED_ACTION',
    `delta partition values: ${where}: ${JSON.stringify(raw)} is not a valid ${typeName} partition value`,
    { context: { where, value: raw, type: typeName } },
  )
}

/**
 * A float partition value as the engines write it: Spark as Java prints doubles (`NaN`,
 * `Infinity`, `-Infinity`), delta-rs as Rust does (`NaN`, `inf`, `-inf`). The special values
 * are read in either spelling and any case, as Rust's parser reads them.
 */
function parseFloatText(raw: string): number | undefined {
  switch (raw.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity
    case '-inf':
    case '-infinity':
      return -Infinity
    default:
      return FLOAT_RE.test(raw) ? Number(raw) : undefined
  }
}

/**
 * Parses one `partitionValues` string into the canonical value of the partition column's type
 * (see the module documentation for null handling and timestamp interpretation).
 * @param type - the partition column's type (primitive)
 * @param raw - the string from the log; `null`, `undefined` and `""` mean null
 * @param where - context for messages, naming the file and the column
 * @returns the canonical value, or null
 * @throws DeltaError `MALFORMED_ACTION` naming `where` and the value when the string is not a
 *   valid value of the type (or the type cannot be a partition column)
 */
export function parsePartitionValue(
  type: DataType,
  raw: string | null | undefined,
  where: string,
): unknown {
  if (raw === null || raw === undefined || raw === '') return null
  if (type === 'string') return raw
  if (typeof type !== 'string') return malformed(type, raw, where)
  if (raw === HIVE_DEFAULT_PARTITION) return null
  switch (type) {
    case 'long': {
      if (!INTEGER_RE.test(raw)) return malformed(type, raw, where)
      const v = BigInt(raw)
      if (v < LONG_MIN || v > LONG_MAX) return malformed(type, raw, where)
      return v
    }
    case 'integer':
    case 'short':
    case 'byte': {
      const [min, max] = INT_RANGES[type]
      const v = INTEGER_RE.test(raw) ? Number(raw) : NaN
      if (!(v >= min && v <= max)) return malformed(type, raw, where)
      return v === 0 ? 0 : v
    }
    case 'float':
    case 'double': {
      const v = parseFloatText(raw)
      if (v === undefined) return malformed(type, raw, where)
      return type === 'float' ? Math.fround(v) : v
    }
    case 'boolean': {
      const lower = raw.toLowerCase()
      if (lower === 'true') return true
      if (lower === 'false') return false
      return malformed(type, raw, where)
    }
    case 'date':
      return parseDateText(raw) ?? malformed(type, raw, where)
    case 'timestamp':
    case 'timestamp_ntz': {
      const parsed = parseTimestampText(raw)
      if (parsed === undefined || (type === 'timestamp_ntz' && parsed.zoned)) {
        return malformed(type, raw, where)
      }
      return timestampOf(parsed.ms, parsed.micros)
    }
    case 'binary':
      return utf8Encoder.encode(raw)
    case 'void':
      return malformed(type, raw, where)
    default: {
      const params = cachedDecimalParams(type)
      const v = params === undefined ? undefined : canonicalDecimal(raw, params)
      return v ?? malformed(type, raw, where)
    }
  }
}

/**
 * Serializes a partition value for `add.partitionValues`. The value is first coerced like any
 * column value, so user input forms are accepted too. Forms written: integers in decimal; float
 * and double as Java's `Float.toString`/`Double.toString` (`1.0`, `1.0E-5`, `NaN`, `Infinity`;
 * floats are rounded to 32-bit first); `true`/`false`; dates `YYYY-MM-DD`; timestamps
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ`; timestamp_ntz `YYYY-MM-DD HH:MM:SS.ffffff`; decimals with exactly
 * `scale` fraction digits; strings as is; binary as its UTF-8 text. Null and empty strings (and
 * empty binary) are written as null, as Spark does.
 * @param type - the partition column's type
 * @param value - the value
 * @returns the string for the log, or null
 * @throws DeltaError `SCHEMA_MISMATCH` when the value does not fit the type, `INVALID_ARGUMENT`
 *   for types that cannot be partition columns and binary values that are not valid UTF-8
 */
export function serializePartitionValue(type: DataType, value: unknown): string | null {
  if (typeof type !== 'string' || type === 'void') {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta partition values: type ${typeof type === 'string' ? type : type.type} cannot be a partition column`,
    )
  }
  const v = coerceValue(type, value, 'partition value')
  if (v === null) return null
  switch (type) {
    case 'string':
      return v === '' ? null : (v as string)
    case 'long':
    case 'integer':
    case 'short':
    case 'byte':
      return (v as number | bigint).toString()
    case 'float':
      return javaFloatToString(Math.fround(v as number))
    case 'double':
      return javaDoubleToString(v as number)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'date':
      return v as string
    case 'timestamp':
      return `${formatTimestampMicros(v as Date, 'T')}Z`
    case 'timestamp_ntz':
      return formatTimestampMicros(v as Date, ' ')
    case 'binary': {
      const bytes = v as Uint8Array
      if (bytes.length === 0) return null
      try {
        return utf8Decoder.decode(bytes)
      } catch (cause) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          'delta partition values: binary partition value is not valid UTF-8 and has no string form',
          { cause },
        )
      }
    }
    default:
      return v as string
  }
}

/**
 * Whether a canonical column value is written as a null partition value by
 * {@link serializePartitionValue}: null, the empty string and empty binary.
 * @param value - a value in canonical form (as coerced for its column)
 * @returns true when the partition value would be null
 */
export function isNullPartitionValue(value: unknown): boolean {
  return value === null || value === '' || (value instanceof Uint8Array && value.byteLength === 0)
}

/** Shortest round-trip digits and decimal exponent of a finite non-zero number. */
interface Digits {
  readonly negative: boolean
  readonly digits: string
  /** Exponent of the first digit: value = d.ddd × 10^exponent. */
  readonly exponent: number
}

function splitExponential(text: string): Digits {
  // text is `[-]d[.ddd]e[+-]n` from Number.prototype.toExponential.
  const negative = text.startsWith('-')
  const body = negative ? text.slice(1) : text
  const e = body.indexOf('e')
  return {
    negative,
    digits: body.slice(0, e).replace('.', ''),
    exponent: Number(body.slice(e + 1)),
  }
}

/** Java's layout: plain for 1e-3 <= |x| < 1e7, else computerized scientific (`1.0E-5`). */
function formatJava({ negative, digits, exponent }: Digits): string {
  const sign = negative ? '-' : ''
  if (exponent >= -3 && exponent < 7) {
    if (exponent >= 0) {
      const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')
      const frac = digits.slice(exponent + 1)
      return `${sign}${intPart}.${frac.length > 0 ? frac : '0'}`
    }
    return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`
  }
  const frac = digits.slice(1)
  return `${sign}${digits[0] ?? '0'}.${frac.length > 0 ? frac : '0'}E${exponent}`
}

function javaSpecial(x: number): string | undefined {
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return 'Infinity'
  if (x === -Infinity) return '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  return undefined
}

/**
 * Formats a double like Java's `Double.toString` (shortest round-trip digits, as JDK 19+).
 * @param x - any number
 * @returns e.g. `1.0`, `0.001`, `1.0E-5`, `1.0E21`, `NaN`
 * @internal
 */
export function javaDoubleToString(x: number): string {
  return javaSpecial(x) ?? formatJava(splitExponential(x.toExponential()))
}

/**
 * Formats a 32-bit float like Java's `Float.toString`: the shortest digits that read back (via
 * `Math.fround`) as the same float.
 * @param x - a number already representable as a float
 * @returns e.g. `1.1`, `3.4028235E38`
 * @internal
 */
export function javaFloatToString(x: number): string {
  const special = javaSpecial(x)
  if (special !== undefined) return special
  for (let precision = 1; precision < 9; precision++) {
    const candidate = x.toExponential(precision - 1)
    if (Math.fround(Number(candidate)) === x) return formatJava(splitExponential(candidate))
  }
  return formatJava(splitExponential(x.toExponential(8)))
}

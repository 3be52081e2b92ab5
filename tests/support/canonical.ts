/**
 * Canonical JSON form of table rows, the TypeScript half of tests/support/py/canonical.py.
 *
 * Rows read by our engine and rows read by delta-rs/pyarrow are compared as sorted lists of
 * canonical JSON strings, one per row; the two halves produce byte-identical text. The input is
 * the engine's value representation for each Delta type, checked strictly so that a
 * representation bug fails loudly instead of being normalised away:
 *
 * | Delta type          | engine value                  | canonical JSON                          |
 * |---------------------|-------------------------------|-----------------------------------------|
 * | string              | string                        | string                                  |
 * | long                | bigint                        | decimal string `"-12"`                  |
 * | integer/short/byte  | number (integer)              | number                                  |
 * | float/double        | number                        | number (JS formatting, -0 → 0), or `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | boolean             | boolean                       | true/false                              |
 * | binary              | Uint8Array                    | base64 string                           |
 * | date                | `'YYYY-MM-DD'`                | the same string                         |
 * | timestamp           | Date (UTC instant, with its microseconds) | `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (`toISOString` with six fraction digits) |
 * | timestamp_ntz       | Date (UTC fields = wall clock)| the same ISO form of the wall clock     |
 * | decimal(p,s)        | string, exactly s fraction digits | the same string (`"-1.50"`, `"12"`) |
 * | struct              | plain object                  | object, keys sorted by code point       |
 * | array               | array                         | array                                   |
 * | map                 | Map                           | `[[key, value], ...]` sorted by key JSON (then value JSON) |
 * | any, when null      | null (or a missing field)     | null                                    |
 *
 * Strings are sorted by code point (= UTF-8 byte order), which is Python's default string order.
 * @module
 */
import { decimalParams } from '../../src/delta/schema/data-type.js'
import type { DataType, StructField, StructType } from '../../src/delta/schema/data-type.js'
import { subMillisecondMicros } from '../../src/delta/schema/timestamps.js'
import { compareKeys } from '../../src/delta/storage/object-key.js'

/** Orders strings by code point, like Python's `sorted`. */
export const compareCodePoints: (a: string, b: string) => number = compareKeys

function fail(where: string, expected: string, value: unknown): never {
  const shown =
    typeof value === 'bigint'
      ? `${value}n`
      : value instanceof Date
        ? `Date(${value.getTime()})`
        : typeof value === 'string'
          ? JSON.stringify(value)
          : String(value)
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
  throw new TypeError(`canonical: ${where}: expected ${expected}, got ${kind} ${shown}`)
}

/**
 * JSON text of a float the way both halves write it.
 * @param value - any number
 * @returns the canonical JSON text
 */
export function canonicalFloat(value: number): string {
  if (Number.isNaN(value)) return '"NaN"'
  if (value === Number.POSITIVE_INFINITY) return '"Infinity"'
  if (value === Number.NEGATIVE_INFINITY) return '"-Infinity"'
  return JSON.stringify(value)
}

const DATE_RE = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}$/
const DECIMAL_RE = /^(-?)(\d+)(?:\.(\d+))?$/

function canonicalDecimal(value: unknown, scale: number, where: string): string {
  const m = typeof value === 'string' ? DECIMAL_RE.exec(value) : null
  if (!m) fail(where, `a decimal string with ${scale} fraction digits`, value)
  const fraction = m[3] ?? ''
  if (fraction.length !== scale) fail(where, `exactly ${scale} fraction digits`, value)
  const integer = m[2]!.replace(/^0+(?=\d)/, '')
  const isZero = /^0+$/.test(integer + fraction)
  const text = scale === 0 ? integer : `${integer}.${fraction}`
  return JSON.stringify(m[1] === '-' && !isZero ? `-${text}` : text)
}

function canonicalPrimitive(value: unknown, type: string, where: string): string {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') fail(where, 'a string', value)
      return JSON.stringify(value)
    case 'long':
      if (typeof value !== 'bigint') fail(where, 'a bigint', value)
      return `"${value}"`
    case 'integer':
    case 'short':
    case 'byte':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(where, 'an integer', value)
      return JSON.stringify(value)
    case 'float':
    case 'double':
      if (typeof value !== 'number') fail(where, 'a number', value)
      return canonicalFloat(value)
    case 'boolean':
      if (typeof value !== 'boolean') fail(where, 'a boolean', value)
      return value ? 'true' : 'false'
    case 'binary':
      if (!(value instanceof Uint8Array)) fail(where, 'a Uint8Array', value)
      return JSON.stringify(
        Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
      )
    case 'date':
      if (typeof value !== 'string' || !DATE_RE.test(value))
        fail(where, "a 'YYYY-MM-DD' string", value)
      return JSON.stringify(value)
    case 'timestamp':
    case 'timestamp_ntz':
      if (!(value instanceof Date) || Number.isNaN(value.getTime()))
        fail(where, 'a valid Date', value)
      return JSON.stringify(
        `${value.toISOString().slice(0, -1)}${String(subMillisecondMicros(value)).padStart(3, '0')}Z`,
      )
    case 'void':
      return fail(where, 'null (void column)', value)
    default: {
      const decimal = decimalParams(type as DataType)
      if (decimal === undefined)
        throw new TypeError(`canonical: ${where}: unsupported type ${type}`)
      return canonicalDecimal(value, decimal.scale, where)
    }
  }
}

function canonicalStruct(value: unknown, fields: readonly StructField[], where: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Map) {
    fail(where === '' ? 'row' : where, 'a plain object', value)
  }
  const record = value as Record<string, unknown>
  const known = new Set(fields.map((f) => f.name))
  const extra = Object.keys(record).filter((k) => !known.has(k))
  if (extra.length > 0) {
    throw new TypeError(
      `canonical: ${where === '' ? 'row' : where}: fields not in the schema: ${extra.join(', ')}`,
    )
  }
  const parts = [...fields]
    .sort((a, b) => compareCodePoints(a.name, b.name))
    .map((f) => {
      const path = where === '' ? f.name : `${where}.${f.name}`
      return `${JSON.stringify(f.name)}:${canonicalValue(record[f.name], f.type, path)}`
    })
  return `{${parts.join(',')}}`
}

/**
 * Canonical JSON text of one value of a Delta type.
 * @param value - the engine's representation of the value
 * @param type - its Delta type
 * @param where - column path used in error messages
 * @returns JSON text
 * @throws TypeError when the value does not have the representation of its type
 */
export function canonicalValue(value: unknown, type: DataType, where = 'value'): string {
  if (value === null || value === undefined) return 'null'
  if (typeof type === 'string') return canonicalPrimitive(value, type, where)
  switch (type.type) {
    case 'struct':
      return canonicalStruct(value, type.fields, where)
    case 'array': {
      if (!Array.isArray(value)) fail(where, 'an array', value)
      const items = (value as unknown[]).map((v, i) =>
        canonicalValue(v, type.elementType, `${where}[${i}]`),
      )
      return `[${items.join(',')}]`
    }
    case 'map': {
      if (!(value instanceof Map)) fail(where, 'a Map', value)
      const pairs = [...(value as Map<unknown, unknown>)].map(
        ([k, v]) =>
          [
            canonicalValue(k, type.keyType, `${where}.key`),
            canonicalValue(v, type.valueType, `${where}.value`),
          ] as const,
      )
      pairs.sort((a, b) => compareCodePoints(a[0], b[0]) || compareCodePoints(a[1], b[1]))
      return `[${pairs.map(([k, v]) => `[${k},${v}]`).join(',')}]`
    }
  }
}

/**
 * Canonical JSON text of one row.
 * @param row - column name to value (a missing column counts as null)
 * @param schema - the table schema
 * @returns JSON text of the row
 * @throws TypeError when a value does not have the representation of its column type, or the
 *   row has a column that the schema does not
 */
export function canonicalRow(row: Readonly<Record<string, unknown>>, schema: StructType): string {
  return canonicalStruct(row, schema.fields, '')
}

/**
 * Canonical JSON strings of rows, one per row, sorted by code point: the form that
 * `tests/support/py/canonical.py` produces from a pyarrow table.
 * @param rows - rows as the engine returns them
 * @param schema - the table schema
 * @returns sorted canonical rows
 * @throws TypeError as {@link canonicalRow}
 */
export function canonicalRows(
  rows: readonly Readonly<Record<string, unknown>>[],
  schema: StructType,
): string[] {
  return rows.map((row) => canonicalRow(row, schema)).sort(compareCodePoints)
}

/**
 * Delta schema types in the protocol's own JSON form ("Schema Serialization Format" in
 * PROTOCOL.md): primitive types are strings (`"long"`, `"decimal(10,2)"`), complex types are
 * objects. `metaData.schemaString` is this structure serialized as JSON.
 * @module
 */
import { DeltaError, UnsupportedProtocolError } from '../errors.js'

/** Primitive type names of the Delta protocol that this engine reads and writes. */
export const PRIMITIVE_TYPES = [
  'string',
  'long',
  'integer',
  'short',
  'byte',
  'float',
  'double',
  'boolean',
  'binary',
  'date',
  'timestamp',
  'timestamp_ntz',
  'void',
] as const

/** A primitive Delta type name, or a decimal such as `decimal(10,2)`. */
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number] | `decimal(${number},${number})`

/** A field of a struct. `metadata` holds column metadata (comments, invariants, ...). */
export interface StructField {
  readonly name: string
  readonly type: DataType
  readonly nullable: boolean
  readonly metadata: Readonly<Record<string, unknown>>
}

/** A struct: the table schema itself is a struct. */
export interface StructType {
  readonly type: 'struct'
  readonly fields: readonly StructField[]
}

/** An array of elements of one type. */
export interface ArrayType {
  readonly type: 'array'
  readonly elementType: DataType
  readonly containsNull: boolean
}

/** A map from keys of one type to values of another. */
export interface MapType {
  readonly type: 'map'
  readonly keyType: DataType
  readonly valueType: DataType
  readonly valueContainsNull: boolean
}

/** Any Delta data type. */
export type DataType = PrimitiveType | StructType | ArrayType | MapType

/** Precision and scale of a decimal type. */
export interface DecimalParams {
  readonly precision: number
  readonly scale: number
}

const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/
const PRIMITIVE_SET: ReadonlySet<string> = new Set(PRIMITIVE_TYPES)

/**
 * Precision and scale of a decimal type name, or `undefined` when the type is not a decimal.
 * @param type - a data type
 * @returns the decimal parameters or undefined
 */
export function decimalParams(type: DataType): DecimalParams | undefined {
  if (typeof type !== 'string') return undefined
  const m = DECIMAL_RE.exec(type)
  if (!m) return undefined
  return { precision: Number(m[1]), scale: Number(m[2]) }
}

/**
 * True for primitive (non-nested) types, decimals included.
 * @param type - a data type
 * @returns whether the type is primitive
 */
export function isPrimitiveType(type: DataType): type is PrimitiveType {
  return typeof type === 'string'
}

function fail(where: string, detail: string): never {
  throw new DeltaError('INVALID_SCHEMA', `delta schema: ${detail} at ${where}`, {
    context: { where },
  })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Validates an untrusted JSON value as a Delta data type and returns it in canonical form.
 * @param value - parsed JSON
 * @param where - path used in error messages
 * @returns the validated type
 * @throws DeltaError `INVALID_SCHEMA` for malformed types, UnsupportedProtocolError
 *   `UNSUPPORTED_FEATURE` for type names this engine does not implement (variant, ...)
 */
export function parseDataType(value: unknown, where = 'schema'): DataType {
  if (typeof value === 'string') {
    const name = value.trim()
    if (PRIMITIVE_SET.has(name)) return name as PrimitiveType
    const m = DECIMAL_RE.exec(name)
    if (m) {
      const precision = Number(m[1])
      const scale = Number(m[2])
      if (precision < 1 || precision > 38 || scale > precision) {
        fail(where, `decimal precision/scale out of range in "${name}"`)
      }
      return `decimal(${precision},${scale})`
    }
    throw new UnsupportedProtocolError(
      `delta schema: type "${name}" at ${where} is not supported by this engine`,
      [`type:${name}`],
    )
  }
  if (!isObject(value)) fail(where, 'expected a type name or a type object')
  switch (value.type) {
    case 'struct':
      return parseStructType(value, where)
    case 'array': {
      if (typeof value.containsNull !== 'boolean') fail(where, 'array without boolean containsNull')
      return {
        type: 'array',
        elementType: parseDataType(value.elementType, `${where}.element`),
        containsNull: value.containsNull,
      }
    }
    case 'map': {
      if (typeof value.valueContainsNull !== 'boolean') {
        fail(where, 'map without boolean valueContainsNull')
      }
      return {
        type: 'map',
        keyType: parseDataType(value.keyType, `${where}.key`),
        valueType: parseDataType(value.valueType, `${where}.value`),
        valueContainsNull: value.valueContainsNull,
      }
    }
    default:
      return fail(where, `unknown complex type ${JSON.stringify(value.type)}`)
  }
}

/**
 * Validates an untrusted JSON value as a struct type (field names unique case-insensitively).
 * @param value - parsed JSON
 * @param where - path used in error messages
 * @returns the validated struct
 * @throws DeltaError `INVALID_SCHEMA`
 */
export function parseStructType(value: unknown, where = 'schema'): StructType {
  if (!isObject(value) || value.type !== 'struct') fail(where, 'expected a struct')
  if (!Array.isArray(value.fields)) fail(where, 'struct without fields array')
  const seen = new Set<string>()
  const fields: StructField[] = value.fields.map((raw: unknown, i: number) => {
    if (!isObject(raw)) fail(`${where}.fields[${i}]`, 'field is not an object')
    const name = raw.name
    if (typeof name !== 'string' || name.length === 0) {
      fail(`${where}.fields[${i}]`, 'field without a name')
    }
    const key = name.toLowerCase()
    if (seen.has(key)) fail(`${where}.${name}`, `duplicate field name "${name}"`)
    seen.add(key)
    const nullable = raw.nullable === undefined ? true : raw.nullable
    if (typeof nullable !== 'boolean') fail(`${where}.${name}`, 'nullable is not a boolean')
    const metadata = raw.metadata === undefined ? {} : raw.metadata
    if (!isObject(metadata)) fail(`${where}.${name}`, 'metadata is not an object')
    return { name, type: parseDataType(raw.type, `${where}.${name}`), nullable, metadata }
  })
  return { type: 'struct', fields }
}

/**
 * Parses `metaData.schemaString`.
 * @param schemaString - the JSON string from the log
 * @returns the table schema
 * @throws DeltaError `INVALID_SCHEMA` when the string is not valid JSON or not a struct
 */
export function parseSchemaString(schemaString: string): StructType {
  let json: unknown
  try {
    json = JSON.parse(schemaString)
  } catch (cause) {
    throw new DeltaError('INVALID_SCHEMA', 'delta schema: schemaString is not valid JSON', {
      cause,
    })
  }
  return parseStructType(json)
}

/**
 * Serializes a schema to the `schemaString` form (keys in the protocol's order).
 * @param schema - the schema
 * @returns JSON text
 */
export function serializeSchema(schema: StructType): string {
  return JSON.stringify(toJsonType(schema))
}

function toJsonType(type: DataType): unknown {
  if (typeof type === 'string') return type
  switch (type.type) {
    case 'struct':
      return {
        type: 'struct',
        fields: type.fields.map((f) => ({
          name: f.name,
          type: toJsonType(f.type),
          nullable: f.nullable,
          metadata: f.metadata,
        })),
      }
    case 'array':
      return {
        type: 'array',
        elementType: toJsonType(type.elementType),
        containsNull: type.containsNull,
      }
    case 'map':
      return {
        type: 'map',
        keyType: toJsonType(type.keyType),
        valueType: toJsonType(type.valueType),
        valueContainsNull: type.valueContainsNull,
      }
  }
}

/**
 * The path of the first type inside `type` (itself included, then depth first) that `test`
 * accepts: field names joined by `.`, with `element`, `key` and `value` for the parts of arrays
 * and maps.
 * @param type - a data type
 * @param test - the predicate
 * @param path - the path of `type` itself
 * @returns the path, or undefined when no type matches
 */
export function findType(
  type: DataType,
  test: (t: DataType) => boolean,
  path = '',
): string | undefined {
  if (test(type)) return path
  if (typeof type === 'string') return undefined
  const at = (name: string): string => (path ? `${path}.${name}` : name)
  if (type.type === 'array') return findType(type.elementType, test, at('element'))
  if (type.type === 'map') {
    return findType(type.keyType, test, at('key')) ?? findType(type.valueType, test, at('value'))
  }
  for (const f of type.fields) {
    const found = findType(f.type, test, at(f.name))
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Finds a top-level field by exact name, or case-insensitively when no exact match exists.
 * @param schema - the struct to search
 * @param name - column name
 * @returns the field or undefined
 */
export function findField(schema: StructType, name: string): StructField | undefined {
  const exact = schema.fields.find((f) => f.name === name)
  if (exact) return exact
  const lower = name.toLowerCase()
  return schema.fields.find((f) => f.name.toLowerCase() === lower)
}

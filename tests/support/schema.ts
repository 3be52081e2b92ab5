/** Schema helpers for tests. */
import type { DataType, StructField } from '../../src/delta/schema/data-type.js'

/**
 * A struct field without metadata.
 * @param name - field name
 * @param type - its type
 * @param nullable - default true
 * @returns the field
 */
export function field(name: string, type: DataType, nullable = true): StructField {
  return { name, type, nullable, metadata: {} }
}

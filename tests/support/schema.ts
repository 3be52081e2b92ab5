/** Schema helpers for tests. */
import type { DataType, StructField, StructType } from '../../src/delta/schema/data-type.js'

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

/**
 * `id long not null, l long, dec decimal(38,2), v string`: columns whose values a double cannot
 * hold exactly (longs beyond 2^53, 38-digit decimals), and a string to update.
 */
export const WIDE_NUMBERS: StructType = {
  type: 'struct',
  fields: [
    field('id', 'long', false),
    field('l', 'long'),
    field('dec', 'decimal(38,2)'),
    field('v', 'string'),
  ],
}

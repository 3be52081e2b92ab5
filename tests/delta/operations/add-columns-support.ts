/**
 * Shared by the ADD COLUMNS unit and interop tests: the table they start from and the columns
 * they add.
 */
import type { StructField, StructType } from '../../../src/delta/index.js'
import { field } from '../../support/schema.js'

/** The schema of the table before ADD COLUMNS. */
export const SCHEMA: StructType = {
  type: 'struct',
  fields: [field('id', 'long', false), field('name', 'string'), field('region', 'string')],
}

/** Columns of every kind to add: primitive (with a comment), long, struct and array. */
export const NEW_FIELDS: readonly StructField[] = [
  { ...field('email', 'string'), metadata: { comment: 'contact address' } },
  field('score', 'long'),
  field('address', { type: 'struct', fields: [field('city', 'string')] }),
  field('tags', { type: 'array', elementType: 'string', containsNull: true }),
]

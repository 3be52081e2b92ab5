import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import {
  readParquetMetadata,
  readParquetRows,
  writeParquet,
} from '../../../src/delta/parquet/index.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { untypedFooterFlips } from './footer-flips.js'
import { ALL_TYPES_SCHEMA, EDGE_ROWS, asReadBack, field, struct } from './sample-rows.js'

function expectDeltaError(fn: () => unknown, code: string, ...fragments: string[]): void {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(DeltaError)
  expect((caught as DeltaError).code).toBe(code)
  for (const fragment of fragments) expect((caught as DeltaError).message).toContain(fragment)
}

describe('writeParquet', () => {
  it('round-trips every Delta type with edge values', async () => {
    const bytes = writeParquet(EDGE_ROWS, ALL_TYPES_SCHEMA)
    const rows = await readParquetRows(bytes, { schema: ALL_TYPES_SCHEMA })
    expect(rows).toEqual(asReadBack(EDGE_ROWS))
    expect(Object.is(rows[2]?.db, -0)).toBe(true)
  })

  it('round-trips across several row groups and pages', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => EDGE_ROWS[i % EDGE_ROWS.length]!)
    const bytes = writeParquet(rows, ALL_TYPES_SCHEMA, { rowGroupSize: 1000 })
    expect(readParquetMetadata(bytes).rowGroups.map((g) => g.numRows)).toEqual([1000, 1000, 500])
    expect(await readParquetRows(bytes, { schema: ALL_TYPES_SCHEMA })).toEqual(asReadBack(rows))
  })

  it('writes a valid file with the schema and no row group when there are no rows', async () => {
    const bytes = writeParquet([], ALL_TYPES_SCHEMA)
    const metadata = readParquetMetadata(bytes)
    expect(metadata.numRows).toBe(0)
    expect(metadata.rowGroups).toEqual([])
    expect(metadata.topLevelColumns).toEqual(ALL_TYPES_SCHEMA.fields.map((f) => f.name))
    expect(await readParquetRows(bytes, { schema: ALL_TYPES_SCHEMA })).toEqual([])
  })

  it('writes the physical layout Spark writes', () => {
    const bytes = writeParquet([], ALL_TYPES_SCHEMA, { createdBy: 'test version 1.0.0' })
    const { schema, created_by: createdBy } = parquetMetadata(bytes)
    const byName = new Map(schema.map((e) => [e.name, e]))
    expect(createdBy).toBe('test version 1.0.0')
    expect(byName.get('s')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' })
    expect(byName.get('l')).toMatchObject({ type: 'INT64', repetition_type: 'REQUIRED' })
    expect(byName.get('i')).toMatchObject({ type: 'INT32', repetition_type: 'OPTIONAL' })
    expect(byName.get('sh')).toMatchObject({ type: 'INT32', converted_type: 'INT_16' })
    expect(byName.get('by')).toMatchObject({ type: 'INT32', converted_type: 'INT_8' })
    expect(byName.get('d')).toMatchObject({ type: 'INT32', converted_type: 'DATE' })
    expect(byName.get('ts')).toMatchObject({
      type: 'INT64',
      converted_type: 'TIMESTAMP_MICROS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
    })
    expect(byName.get('ntz')).toMatchObject({
      type: 'INT64',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
    })
    expect(byName.get('d9')).toMatchObject({ type: 'INT32', precision: 9, scale: 2 })
    expect(byName.get('d18')).toMatchObject({ type: 'INT64', precision: 18, scale: 4 })
    expect(byName.get('d10')).toMatchObject({ type: 'INT64', precision: 10, scale: 3 })
    expect(byName.get('d38')).toMatchObject({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16 })
    expect(byName.get('arr')).toMatchObject({ converted_type: 'LIST', num_children: 1 })
    expect(byName.get('mp')).toMatchObject({ converted_type: 'MAP', num_children: 1 })
    const names = schema.map((e) => e.name)
    expect(names.slice(names.indexOf('arr'), names.indexOf('arr') + 3)).toEqual([
      'arr',
      'list',
      'element',
    ])
    expect(names.slice(names.indexOf('mp'), names.indexOf('mp') + 4)).toEqual([
      'mp',
      'key_value',
      'key',
      'value',
    ])
    expect(byName.get('key')).toMatchObject({ repetition_type: 'REQUIRED' })
  })

  it.each([
    [19, 9],
    [28, 12],
    [20, 9],
    [38, 16],
  ])('stores decimal(%i,0) in a %i-byte FIXED_LEN_BYTE_ARRAY', (precision, length) => {
    const schema = struct(field('d', `decimal(${precision},0)`))
    const [, column] = parquetMetadata(writeParquet([], schema)).schema
    expect(column).toMatchObject({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: length })
  })

  it('does not write void columns and reads them back as null', async () => {
    const schema = struct(
      field('a', 'long'),
      field('v', 'void'),
      field('s', struct(field('w', 'void'), field('x', 'integer'))),
    )
    const bytes = writeParquet([{ a: 1n, v: null, s: { w: null, x: 2 } }], schema)
    expect(readParquetMetadata(bytes).columns.map((c) => c.path.join('.'))).toEqual(['a', 's.x'])
    expect(await readParquetRows(bytes, { schema })).toEqual([
      { a: 1n, v: null, s: { w: null, x: 2 } },
    ])
  })

  it('marks truncated string statistics as inexact and keeps them valid bounds', () => {
    const schema = struct(field('s', 'string'), field('short', 'string'))
    const bytes = writeParquet(
      [
        { s: 'a'.repeat(100), short: 'b' },
        { s: `${'z'.repeat(70)}\u{1F600}`, short: 'c' },
      ],
      schema,
    )
    const [long, short] = parquetMetadata(bytes).row_groups[0]!.columns.map(
      (c) => c.meta_data!.statistics!,
    )
    expect(long).toMatchObject({ is_min_value_exact: false, is_max_value_exact: false })
    expect((long!.min_value as string) <= 'a'.repeat(100)).toBe(true)
    expect((long!.max_value as string) > `${'z'.repeat(70)}\u{1F600}`).toBe(true)
    expect(short).toMatchObject({ min_value: 'b', max_value: 'c' })
    expect(short!.is_max_value_exact).toBeUndefined()
  })

  const mismatches: [string, DataType, unknown][] = [
    ['a number for a long', 'long', 1],
    ['a long out of range', 'long', 2n ** 63n],
    ['a fraction for an integer', 'integer', 1.5],
    ['an integer out of range', 'integer', 2 ** 31],
    ['a short out of range', 'short', 40_000],
    ['a byte out of range', 'byte', 128],
    ['a bigint for a double', 'double', 1n],
    ['a string for a boolean', 'boolean', 'true'],
    ['a string for a binary', 'binary', 'AA=='],
    ['a Date for a date', 'date', new Date(0)],
    ['an invalid date', 'date', '2023-02-29'],
    ['a date without padding', 'date', '2023-2-1'],
    ['a string for a timestamp', 'timestamp', '2020-01-01T00:00:00Z'],
    ['an invalid Date', 'timestamp_ntz', new Date(Number.NaN)],
    ['a number for a decimal', 'decimal(9,2)', 1.5],
    ['a decimal needing rounding', 'decimal(9,2)', '1.555'],
    ['a decimal beyond its precision', 'decimal(9,2)', '12345678.00'],
    ['a decimal in exponent form', 'decimal(9,2)', '1e2'],
    ['a number for a string', 'string', 5],
    ['an array for a struct', struct(field('x', 'long')), [1n]],
    ['an object for an array', { type: 'array', elementType: 'long', containsNull: true }, {}],
    [
      'an object for a map',
      { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true },
      { a: 1n },
    ],
    ['a wrong element type', { type: 'array', elementType: 'long', containsNull: true }, [1n, 'x']],
  ]
  it.each(mismatches)('rejects %s with SCHEMA_MISMATCH naming the column', (_, type, value) => {
    const schema = struct(field('ok', 'long'), field('col', type))
    expectDeltaError(
      () =>
        writeParquet(
          [
            { ok: 1n, col: null },
            { ok: 2n, col: value },
          ],
          schema,
          {},
        ),
      'SCHEMA_MISMATCH',
      'parquet:',
      '"col',
      'row 1',
    )
  })

  const nullViolations: [string, StructType, Record<string, unknown>, string][] = [
    ['a non-nullable column', struct(field('c', 'long', false)), { c: null }, '"c"'],
    ['a missing non-nullable column', struct(field('c', 'long', false)), {}, '"c"'],
    [
      'a non-nullable struct field',
      struct(field('c', struct(field('x', 'long', false)))),
      { c: { x: null } },
      '"c.x"',
    ],
    [
      'an array without null elements',
      struct(field('c', { type: 'array', elementType: 'long', containsNull: false })),
      { c: [null] },
      '"c.element"',
    ],
    [
      'a map key',
      struct(
        field('c', { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true }),
      ),
      { c: new Map([[null, 1n]]) },
      '"c.key"',
    ],
    [
      'a map without null values',
      struct(
        field('c', { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: false }),
      ),
      { c: new Map([['a', null]]) },
      '"c.value"',
    ],
  ]
  it.each(nullViolations)('rejects null in %s', (_, schema, row, column) => {
    expectDeltaError(() => writeParquet([row], schema), 'SCHEMA_MISMATCH', column)
  })

  it('accepts nulls under a null parent of non-nullable fields', async () => {
    const schema = struct(field('c', struct(field('x', 'long', false))))
    const bytes = writeParquet([{ c: null }, { c: { x: 1n } }], schema)
    expect(await readParquetRows(bytes, { schema })).toEqual([{ c: null }, { c: { x: 1n } }])
  })

  it('normalizes decimal strings with fewer or zero-padded fraction digits', async () => {
    const schema = struct(field('d', 'decimal(5,2)'))
    const bytes = writeParquet(
      [{ d: '1' }, { d: '-0.5' }, { d: '2.500' }, { d: '+007.10' }],
      schema,
    )
    expect(await readParquetRows(bytes, { schema })).toEqual([
      { d: '1.00' },
      { d: '-0.50' },
      { d: '2.50' },
      { d: '7.10' },
    ])
  })

  it.each([
    ['a struct without writable fields', struct(field('s', struct(field('v', 'void'))))],
    ['only void columns', struct(field('v', 'void'))],
    [
      'void array elements',
      struct(field('a', { type: 'array', elementType: 'void', containsNull: true })),
    ],
  ])('rejects %s with PARQUET_ERROR', (_, schema) => {
    expectDeltaError(() => writeParquet([], schema), 'PARQUET_ERROR')
  })

  it('rejects a row group size that is not a positive integer', () => {
    expectDeltaError(
      () => writeParquet([], struct(field('a', 'long')), { rowGroupSize: 0 }),
      'PARQUET_ERROR',
    )
  })
})

describe('writeParquet with the general writer', () => {
  it('keeps the sign of float and double zeros, also in nested columns', async () => {
    // A leaf repeated twice (array<array<...>>) sends the file to the general writer.
    const schema = struct(
      field('x', 'double'),
      field('f', 'float'),
      field('m', { type: 'map', keyType: 'integer', valueType: 'double', valueContainsNull: true }),
      field('nested', {
        type: 'array',
        elementType: { type: 'array', elementType: 'integer', containsNull: true },
        containsNull: true,
      }),
    )
    const rows = Array.from({ length: 100 }, (_, i) => {
      const zero = i % 2 === 0 ? 0 : -0
      return { x: zero, f: -zero, m: new Map([[i, zero]]), nested: null }
    })
    const back = await readParquetRows(writeParquet(rows, schema), { schema })
    for (const [i, row] of back.entries()) {
      const negative = i % 2 === 1
      expect(Object.is(row.x, -0), `x of row ${i}`).toBe(negative)
      expect(Object.is(row.f, -0), `f of row ${i}`).toBe(!negative)
      expect(Object.is((row.m as Map<number, number>).get(i), -0), `m of row ${i}`).toBe(negative)
    }
  })

  it('reads every single-bit flip of a footer or refuses it with a DeltaError', async () => {
    const schema = struct(field('a', 'long'), field('s', 'string'))
    const data = writeParquet(
      [
        { a: 1n, s: 'x' },
        { a: 2n, s: 'y' },
      ],
      schema,
      {
        generalWriter: true,
      },
    )
    expect(await untypedFooterFlips(data, schema)).toEqual([])
  })
})

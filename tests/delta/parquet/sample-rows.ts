/**
 * A schema with every Delta type and rows with their edge values, shared by the Parquet
 * round-trip and interoperability tests.
 * @module
 */
import type { DataType, StructField, StructType } from '../../../src/delta/schema/data-type.js'

/**
 * A struct field.
 * @param name - field name
 * @param type - Delta type
 * @param nullable - default true
 * @returns the field
 */
export const field = (name: string, type: DataType, nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {},
})

/**
 * A struct type.
 * @param fields - its fields
 * @returns the struct
 */
export const struct = (...fields: StructField[]): StructType => ({ type: 'struct', fields })

/** One column per Delta type, plus nested shapes. */
export const ALL_TYPES_SCHEMA: StructType = struct(
  field('s', 'string'),
  field('l', 'long', false),
  field('i', 'integer'),
  field('sh', 'short'),
  field('by', 'byte'),
  field('fl', 'float'),
  field('db', 'double'),
  field('bo', 'boolean'),
  field('bi', 'binary'),
  field('d', 'date'),
  field('ts', 'timestamp'),
  field('ntz', 'timestamp_ntz'),
  field('d9', 'decimal(9,2)'),
  field('d18', 'decimal(18,4)'),
  field('d38', 'decimal(38,18)'),
  field('d380', 'decimal(38,0)'),
  field('d10', 'decimal(10,3)'),
  field('st', struct(field('x', 'integer'), field('y', 'string', false), field('z', 'date'))),
  field('arr', { type: 'array', elementType: 'string', containsNull: true }),
  field('arrl', { type: 'array', elementType: 'long', containsNull: false }),
  field('arrst', {
    type: 'array',
    elementType: struct(field('p', 'long'), field('q', 'decimal(5,1)')),
    containsNull: true,
  }),
  field('nested', {
    type: 'array',
    elementType: { type: 'array', elementType: 'integer', containsNull: true },
    containsNull: true,
  }),
  field('mp', { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true }),
  field('mpi', {
    type: 'map',
    keyType: 'integer',
    valueType: 'timestamp',
    valueContainsNull: true,
  }),
  field('mps', {
    type: 'map',
    keyType: 'string',
    valueType: struct(field('a', 'double'), field('b', 'binary')),
    valueContainsNull: true,
  }),
)

const utc = (iso: string): Date => new Date(iso)

/** Rows of {@link ALL_TYPES_SCHEMA}: extremes, nulls, empty containers, pre-epoch instants. */
export const EDGE_ROWS: readonly Record<string, unknown>[] = [
  {
    s: 'a\u{1F600}é',
    l: -(2n ** 63n),
    i: -2_147_483_648,
    sh: -32_768,
    by: -128,
    fl: 1.5,
    db: Number.NaN,
    bo: true,
    bi: Uint8Array.from([0, 255, 16]),
    d: '0001-01-01',
    ts: utc('1969-12-31T23:59:59.999Z'),
    ntz: utc('2024-02-29T12:00:00.005Z'),
    d9: '-1.50',
    d18: '-12345678901234.5678',
    d38: '-99999999999999999999.999999999999999999',
    d380: '99999999999999999999999999999999999999',
    d10: '-9999999.999',
    st: { x: 1, y: '', z: '1970-01-01' },
    arr: ['a', null, ''],
    arrl: [1n, -(2n ** 63n)],
    arrst: [{ p: 1n, q: '-0.5' }, null, { p: null, q: null }],
    nested: [[1, null], [], null],
    mp: new Map<string, bigint | null>([
      ['k', 1n],
      ['n', null],
      ['\u{1F600}', 2n ** 63n - 1n],
    ]),
    mpi: new Map<number, Date | null>([
      [-1, utc('1900-01-01T00:00:00.123Z')],
      [7, null],
    ]),
    mps: new Map<string, Record<string, unknown> | null>([
      ['x', { a: Number.NEGATIVE_INFINITY, b: new Uint8Array() }],
      ['y', null],
    ]),
  },
  {
    s: null,
    l: 2n ** 63n - 1n,
    i: 2_147_483_647,
    sh: 32_767,
    by: 127,
    fl: Number.POSITIVE_INFINITY,
    db: Number.NEGATIVE_INFINITY,
    bo: false,
    bi: new Uint8Array(),
    d: '9999-12-31',
    ts: utc('9999-12-31T23:59:59.999Z'),
    ntz: utc('0001-01-01T00:00:00.000Z'),
    d9: '9999999.99',
    d18: '99999999999999.9999',
    d38: '99999999999999999999.999999999999999999',
    d380: '-99999999999999999999999999999999999999',
    d10: '0.001',
    st: null,
    arr: [],
    arrl: [],
    arrst: [],
    nested: [],
    mp: new Map(),
    mpi: new Map(),
    mps: new Map(),
  },
  {
    s: '',
    l: 0n,
    i: null,
    sh: null,
    by: null,
    fl: null,
    db: -0,
    bo: null,
    bi: null,
    d: '1969-12-31',
    ts: utc('1900-01-01T00:00:00.001Z'),
    ntz: null,
    d9: '0.00',
    d18: '0.0001',
    d38: '0.000000000000000001',
    d380: '0',
    d10: null,
    st: { x: null, y: 'y', z: null },
    arr: null,
    arrl: null,
    arrst: null,
    nested: null,
    mp: null,
    mpi: null,
    mps: null,
  },
  {
    s: 'x'.repeat(200),
    l: -1n,
    i: 0,
    sh: 0,
    by: 0,
    fl: -0.1,
    db: 0.1,
    bo: true,
    bi: new Uint8Array(100).fill(255),
    d: '2000-02-29',
    ts: null,
    ntz: utc('1969-12-31T23:59:59.999Z'),
    d9: null,
    d18: null,
    d38: null,
    d380: null,
    d10: '12.000',
    st: { x: -7, y: 'é', z: '1582-10-04' },
    arr: [null],
    arrl: [0n],
    arrst: [null],
    nested: [null, [null]],
    mp: new Map([['', null]]),
    mpi: new Map([[0, null]]),
    mps: new Map([['z', { a: null, b: null }]]),
  },
]

/**
 * Rows of {@link ALL_TYPES_SCHEMA} as any reader returns them after writing: the `float`
 * column `fl` rounded to float32.
 * @param rows - rows as written
 * @returns rows as read back
 */
export function asReadBack(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => ({
    ...row,
    fl: typeof row.fl === 'number' ? Math.fround(row.fl) : row.fl,
  }))
}

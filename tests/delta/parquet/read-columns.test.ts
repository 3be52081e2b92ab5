import { describe, expect, it } from 'vitest'
import { openParquetColumns, writeParquet } from '../../../src/delta/parquet/index.js'
import { field, struct } from './sample-rows.js'

const SCHEMA = struct(
  field('id', 'long', false),
  field('s', struct(field('x', 'string'), field('n', 'integer'))),
  field('m', { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true }),
  field('l', { type: 'array', elementType: 'string', containsNull: true }),
  field('b', 'boolean'),
  field('d', 'double'),
)

const ROWS = [
  {
    id: 2n ** 53n + 1n,
    s: { x: 'é😀', n: -1 },
    m: new Map([['k', 'v']]),
    l: ['a', null],
    b: true,
    d: 1.5,
  },
  { id: -5n, s: null, m: null, l: null, b: null, d: null },
  { id: 0n, s: { x: null, n: 3 }, m: new Map(), l: [], b: false, d: 2 },
]

function file(): Uint8Array {
  return writeParquet(ROWS, SCHEMA, { rowGroupSize: 2 })
}

describe('openParquetColumns', () => {
  it('exposes the row count and the file schema', () => {
    const columns = openParquetColumns(file())
    expect(columns.numRows).toBe(3)
    expect(columns.schema.children.map((c) => c.name)).toEqual(['id', 's', 'm', 'l', 'b', 'd'])
    expect(columns.schema.children[0]).toMatchObject({
      repetition: 'REQUIRED',
      physicalType: 'INT64',
    })
  })

  it('reads a required INT64 column as numbers rounded like Number(bigint)', () => {
    const id = openParquetColumns(file()).readLeaf(['id'])
    expect(id.values).toEqual([Number(2n ** 53n + 1n), -5, 0])
    expect([...id.definitionLevels]).toEqual([0, 0, 0])
    expect(id.repetitionLevels).toHaveLength(0)
  })

  it('reads the definition levels of fields nested in optional structs', () => {
    const columns = openParquetColumns(file())
    const x = columns.readLeaf(['s', 'x'])
    expect([...x.definitionLevels]).toEqual([2, 0, 1])
    expect(x.values).toEqual(['é😀'])
    const n = columns.readLeaf(['s', 'n'])
    expect([...n.definitionLevels]).toEqual([2, 0, 2])
    expect(n.values).toEqual([-1, 3])
  })

  it('reads map and list levels across row groups', () => {
    const columns = openParquetColumns(file())
    const keys = columns.readLeaf(['m', 'key_value', 'key'])
    expect([...keys.definitionLevels]).toEqual([2, 0, 1])
    expect([...keys.repetitionLevels]).toEqual([0, 0, 0])
    expect(keys.values).toEqual(['k'])
    const items = columns.readLeaf(['l', 'list', 'element'])
    expect([...items.definitionLevels]).toEqual([3, 2, 0, 1])
    expect([...items.repetitionLevels]).toEqual([0, 1, 0, 0])
    expect(items.values).toEqual(['a'])
  })

  it('reads booleans', () => {
    const b = openParquetColumns(file()).readLeaf(['b'])
    expect([...b.definitionLevels]).toEqual([1, 0, 1])
    expect(b.values).toEqual([true, false])
  })

  it.each([
    { name: 'a physical type it does not decode', path: ['d'] },
    { name: 'a path that is no leaf', path: ['s'] },
    { name: 'a missing column', path: ['nope'] },
  ])('throws PARQUET_ERROR for $name', ({ path }) => {
    expect(() => openParquetColumns(file(), 'f.parquet').readLeaf(path)).toThrow(
      expect.objectContaining({ code: 'PARQUET_ERROR' }),
    )
  })

  it('throws PARQUET_ERROR for a file that is not Parquet', () => {
    expect(() => openParquetColumns(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'PARQUET_ERROR' }),
    )
  })
})

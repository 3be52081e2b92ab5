/**
 * Damaged Parquet files: random bytes overwritten and random truncations of files of every
 * column kind must end in rows or in `PARQUET_ERROR` (`SCHEMA_MISMATCH` when the damage changed
 * a column's type), never in another error, a hang or an
 * unhandled rejection (vitest fails the run on one). This found a data page v2 header without
 * level lengths that made hyparquet loop forever, and column chunks whose path matches no
 * schema leaf, after which hyparquet's other column reads rejected unhandled.
 *
 * Quick variant: 300 damaged files; full (`POLARWAY_FULL=1`): 5,000.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import { openParquetColumns } from '../../../src/delta/parquet/read-columns.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { field } from '../../support/schema.js'

const FULL = process.env.POLARWAY_FULL === '1'
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    field('id', 'long', false),
    field('s', 'string'),
    field('d', 'double'),
    field('ts', 'timestamp'),
    field('dec', 'decimal(12,3)'),
    field('b', 'binary'),
    field('st', { type: 'struct', fields: [field('x', 'integer'), field('y', 'string')] }),
    field('arr', { type: 'array', elementType: 'long', containsNull: true }),
    field('m', { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true }),
  ],
}

function rows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: BigInt(i),
    s: i % 5 === 0 ? null : `str${i}`,
    d: i / 3,
    ts: new Date(i * 1000),
    dec: `${i}.125`,
    b: new Uint8Array([i % 256]),
    st: i % 4 === 0 ? null : { x: i, y: 'y' },
    arr: i % 3 === 0 ? null : [BigInt(i), null],
    m: new Map([['k', i]]),
  }))
}

// One single-page file, one of several pages per column, one of three row groups.
const FILES = [
  writeParquet(rows(10), SCHEMA),
  writeParquet(rows(6000), SCHEMA),
  writeParquet(rows(300), SCHEMA, { rowGroupSize: 100 }),
]

const damage = fc.record({
  file: fc.nat(FILES.length - 1),
  writes: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
  cut: fc.option(fc.nat()),
})

function damaged(d: { file: number; writes: [number, number][]; cut: number | null }): Uint8Array {
  const source = FILES[d.file] as Uint8Array
  let data = Uint8Array.from(source)
  for (const [at, value] of d.writes) data[at % data.length] = value
  if (d.cut !== null) data = data.subarray(0, d.cut % data.length)
  return data
}

/** A damaged file fails as one (or, when the damage changed a column's type, as not fitting). */
function expectParquetError(error: unknown): void {
  expect(error).toBeInstanceOf(DeltaError)
  expect(['PARQUET_ERROR', 'SCHEMA_MISMATCH']).toContain((error as DeltaError).code)
}

describe('damaged Parquet files', () => {
  it('are read as rows or rejected with PARQUET_ERROR', async () => {
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(damage, async (d) => {
        try {
          await readParquetRows(damaged(d), { schema: SCHEMA, fileName: 'damaged.parquet' })
        } catch (error) {
          expectParquetError(error)
          rejected++
        }
      }),
      { numRuns: FULL ? 5000 : 300, seed: 20_261_126 },
    )
    expect(rejected).toBeGreaterThan(0)
  }, 120_000)

  it('are read column-wise or rejected with PARQUET_ERROR', () => {
    fc.assert(
      fc.property(damage, (d) => {
        try {
          const file = openParquetColumns(damaged(d), 'damaged.parquet')
          for (const path of [['id'], ['s'], ['st', 'y'], ['arr', 'list', 'element']]) {
            file.readLeaf(path)
          }
        } catch (error) {
          expectParquetError(error)
        }
      }),
      { numRuns: FULL ? 5000 : 300, seed: 20_261_126 },
    )
  }, 120_000)

  it('rejects a data page v2 header without level lengths instead of looping', async () => {
    // Found by the property above: two bytes of the three-row-group file's footer overwritten
    // so that a page header of st.y loses its level lengths.
    const data = damaged({
      file: 2,
      writes: [
        [1852228999, 99],
        [736728219, 16],
      ],
      cut: null,
    })
    const error = await readParquetRows(data, { schema: SCHEMA, fileName: 'v2.parquet' }).catch(
      (e: unknown) => e,
    )
    expectParquetError(error)
  })
})

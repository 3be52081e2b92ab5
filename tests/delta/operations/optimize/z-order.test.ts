import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../../src/delta/errors.js'
import {
  interleaveBits,
  MAX_BITS_PER_COLUMN,
  scaledRanks,
  scaleRank,
  sortByZOrder,
  spreadBits,
  zOrderKeys,
  zOrderLayout,
  type ZOrderColumn,
} from '../../../../src/delta/operations/optimize/z-order.js'
import type { PrimitiveType } from '../../../../src/delta/schema/data-type.js'
import { compareValues } from '../../../../src/delta/schema/values.js'

/** Scaled-rank vectors for a layout: one value below 2^bits per column. */
function vectors(columns: number): fc.Arbitrary<number[]> {
  const { bitsPerColumn } = zOrderLayout(columns)
  return fc.array(fc.integer({ min: 0, max: 2 ** bitsPerColumn - 1 }), {
    minLength: columns,
    maxLength: columns,
  })
}

const columnCount = fc.integer({ min: 1, max: 6 })

describe('zOrderLayout', () => {
  it.each([
    [1, 32],
    [2, 32],
    [3, 21],
    [4, 16],
    [8, 8],
    [64, 1],
  ])('gives %i columns %i bits each', (columns, bits) => {
    const layout = zOrderLayout(columns)
    expect(layout.bitsPerColumn).toBe(bits)
    // Every key bit is used at most once, all below 64.
    const all = layout.positions.flat()
    expect(new Set(all).size).toBe(columns * bits)
    expect(Math.max(...all)).toBeLessThan(64)
  })

  it('interleaves most significant bits first, column 0 first', () => {
    const layout = zOrderLayout(2)
    expect(layout.positions[0]?.slice(0, 2)).toEqual([63, 61])
    expect(layout.positions[1]?.slice(0, 2)).toEqual([62, 60])
    expect(interleaveBits([2 ** 31, 0], layout)).toBe(1n << 63n)
    expect(interleaveBits([0, 2 ** 31], layout)).toBe(1n << 62n)
    expect(interleaveBits([1, 1], layout)).toBe(3n)
  })

  it.each([0, 65, 1.5])('rejects %s columns', (columns) => {
    expect(() => zOrderLayout(columns)).toThrow(DeltaError)
  })
})

describe('interleaveBits', () => {
  it('is order-preserving per column when the other columns are equal', () => {
    fc.assert(
      fc.property(
        columnCount.chain((n) =>
          fc.tuple(
            fc.constant(n),
            vectors(n),
            fc.nat(n - 1),
            vectors(1).map((v) => v[0]!),
          ),
        ),
        ([n, base, c, other]) => {
          const layout = zOrderLayout(n)
          const bits = layout.bitsPerColumn
          const a = [...base]
          const b = [...base]
          b[c] = other % 2 ** bits
          const lo = Math.min(a[c]!, b[c])
          const hi = Math.max(a[c]!, b[c])
          a[c] = lo
          b[c] = hi
          const ka = interleaveBits(a, layout)
          const kb = interleaveBits(b, layout)
          expect(ka <= kb).toBe(true)
          if (lo < hi) expect(ka < kb).toBe(true)
        },
      ),
    )
  })

  it('is deterministic and injective', () => {
    fc.assert(
      fc.property(
        columnCount.chain((n) => fc.tuple(fc.constant(n), vectors(n), vectors(n))),
        ([n, a, b]) => {
          const layout = zOrderLayout(n)
          expect(interleaveBits(a, layout)).toBe(interleaveBits([...a], layout))
          const same = a.every((v, i) => v === b[i])
          expect(interleaveBits(a, layout) === interleaveBits(b, layout)).toBe(same)
        },
      ),
    )
  })

  it('is the OR of the columns spread separately', () => {
    fc.assert(
      fc.property(
        columnCount.chain((n) => fc.tuple(fc.constant(n), vectors(n))),
        ([n, v]) => {
          const layout = zOrderLayout(n)
          const spreads = v.map((x, c) => spreadBits(x, c, layout))
          expect(spreads.reduce((a, b) => a | b, 0n)).toBe(interleaveBits(v, layout))
          // Columns never share key bits.
          for (let i = 0; i < n; i++)
            for (let j = i + 1; j < n; j++) expect(spreads[i]! & spreads[j]!).toBe(0n)
        },
      ),
    )
  })
})

describe('scaleRank', () => {
  it('keeps ranks that fit and is monotone and in range otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_BITS_PER_COLUMN }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (bits, count, x, y) => {
          const r1 = Math.min(count - 1, Math.floor(Math.min(x, y) * count))
          const r2 = Math.min(count - 1, Math.floor(Math.max(x, y) * count))
          const s1 = scaleRank(r1, count, bits)
          const s2 = scaleRank(r2, count, bits)
          expect(s1).toBeLessThanOrEqual(s2)
          expect(s2).toBeLessThan(2 ** bits)
          if (count <= 2 ** bits) expect(s1).toBe(r1)
        },
      ),
    )
  })

  it('is exact beyond 2^53', () => {
    expect(scaleRank(2 ** 40 - 1, 2 ** 40, 32)).toBe(2 ** 32 - 1)
    expect(scaleRank(3, 7, 1)).toBe(0)
    expect(scaleRank(4, 7, 1)).toBe(1)
  })
})

describe('scaledRanks', () => {
  it('ranks nulls first, then values in the engine order, equal values equally', () => {
    const values = ['b', null, 'a', 'b', 'c', null]
    expect(scaledRanks(values, 'string', 32)).toEqual([2, 0, 1, 2, 3, 0])
    const dates = [new Date(5), new Date(5), new Date(1)]
    expect(scaledRanks(dates, 'timestamp', 32)).toEqual([1, 1, 0])
    expect(scaledRanks([Number.NaN, 1, -0, 0], 'double', 32)).toEqual([2, 1, 0, 0])
  })

  it('scales down when there are more distinct values than buckets', () => {
    const values = Array.from({ length: 8 }, (_, i) => i)
    expect(scaledRanks(values, 'integer', 2)).toEqual([0, 0, 1, 1, 2, 2, 3, 3])
  })
})

/** Random rows over typed columns, with nulls. */
const COLUMN_TYPES: readonly { type: PrimitiveType; value: fc.Arbitrary<unknown> }[] = [
  { type: 'long', value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  { type: 'integer', value: fc.integer({ min: -5, max: 5 }) },
  { type: 'double', value: fc.double() },
  { type: 'string', value: fc.string({ maxLength: 4 }) },
  { type: 'boolean', value: fc.boolean() },
  {
    type: 'date',
    value: fc
      .integer({ min: 0, max: 40 })
      .map((d) => `2024-01-${String((d % 28) + 1).padStart(2, '0')}`),
  },
  { type: 'timestamp', value: fc.integer({ min: -1e12, max: 1e12 }).map((t) => new Date(t)) },
  {
    type: 'decimal(6,2)',
    value: fc.integer({ min: -99999, max: 99999 }).map((u) => (u / 100).toFixed(2)),
  },
]

const tables = fc
  .shuffledSubarray([...COLUMN_TYPES.keys()], { minLength: 1, maxLength: 4 })
  .chain((picked) => {
    const columns: ZOrderColumn[] = picked.map((k, i) => ({
      name: `c${i}`,
      type: COLUMN_TYPES[k]!.type,
    }))
    const row = fc.record(
      Object.fromEntries(
        picked.map((k, i) => [`c${i}`, fc.option(COLUMN_TYPES[k]!.value, { freq: 5 })]),
      ),
    )
    return fc.tuple(fc.constant(columns), fc.array(row, { minLength: 1, maxLength: 40 }))
  })

function cmp(type: PrimitiveType, a: unknown, b: unknown): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1
  return compareValues(type, a, b)
}

describe('sortByZOrder', () => {
  it('keeps every row, and is deterministic', () => {
    fc.assert(
      fc.property(tables, ([columns, rows]) => {
        const sorted = sortByZOrder(rows, columns)
        expect(sorted).toHaveLength(rows.length)
        expect(new Set(sorted)).toEqual(new Set(rows))
        expect(
          sortByZOrder([...rows].reverse(), columns).map((r) => JSON.stringify(r, replacer)),
        ).toEqual(sorted.map((r) => JSON.stringify(r, replacer)))
      }),
    )
  })

  it('orders rows that differ in one column only by that column', () => {
    fc.assert(
      fc.property(tables, ([columns, rows]) => {
        const sorted = sortByZOrder(rows, columns)
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) {
            const a = sorted[i]!
            const b = sorted[j]!
            const differing = columns.filter((c) => cmp(c.type, a[c.name], b[c.name]) !== 0)
            if (differing.length !== 1) continue
            const c = differing[0]!
            expect(cmp(c.type, a[c.name], b[c.name])).toBeLessThan(0)
          }
        }
      }),
    )
  })

  it('gives keys that never decrease along the sorted rows', () => {
    fc.assert(
      fc.property(tables, ([columns, rows]) => {
        const keys = zOrderKeys(sortByZOrder(rows, columns), columns)
        for (let i = 1; i < keys.length; i++) expect(keys[i - 1]! <= keys[i]!).toBe(true)
      }),
    )
  })

  it('clusters a grid into quadrants', () => {
    const rows = []
    for (let x = 0; x < 4; x++) for (let y = 0; y < 4; y++) rows.push({ x, y })
    const sorted = sortByZOrder(rows, [
      { name: 'x', type: 'integer' },
      { name: 'y', type: 'integer' },
    ])
    // The first quarter of the curve is the 2x2 quadrant at the origin.
    expect(sorted.slice(0, 4)).toEqual([
      { x: 0, y: 0 },
      { x: 0, y: 1 },
      { x: 1, y: 0 },
      { x: 1, y: 1 },
    ])
  })
})

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`
  return value
}

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { parseStats } from '../../../src/delta/expr/skipping.js'
import type { DataType, StructField, StructType } from '../../../src/delta/schema/data-type.js'
import { compareValues } from '../../../src/delta/schema/values.js'
import {
  collectStats,
  JsonNumber,
  replaceColumnStats,
  serializeStats,
  statsColumnsFor,
} from '../../../src/delta/stats/collect-stats.js'

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(DeltaError)
  expect((thrown as DeltaError).code).toBe(code)
}

const field = (name: string, type: DataType, nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {},
})
const struct = (...fields: StructField[]): StructType => ({ type: 'struct', fields })

describe('statsColumnsFor', () => {
  const schema = struct(
    field('p', 'string'),
    field('a', 'long'),
    field('s', struct(field('x', 'integer'), field('y', struct(field('z', 'string'))))),
    field('arr', { type: 'array', elementType: 'long', containsNull: true }),
    field('v', 'void'),
    field('Dotted.Name', 'date'),
    field('b', 'binary'),
  )
  const all = [['a'], ['s', 'x'], ['s', 'y', 'z'], ['arr'], ['Dotted.Name'], ['b']]

  it.each<[string, Record<string, string>, string[][]]>([
    ['uses all leaves up to the default of 32', {}, all],
    [
      'takes the first N leaves, counting nested leaves',
      { 'delta.dataSkippingNumIndexedCols': '2' },
      all.slice(0, 2),
    ],
    ['takes every leaf for -1', { 'delta.dataSkippingNumIndexedCols': '-1' }, all],
    ['takes none for 0', { 'delta.dataSkippingNumIndexedCols': '0' }, []],
    [
      'prefers named columns, in schema order, with nested names and backticks',
      {
        'delta.dataSkippingStatsColumns': ' `dotted.name` , S.y.z,a',
        'delta.dataSkippingNumIndexedCols': '1',
      },
      [['a'], ['s', 'y', 'z'], ['Dotted.Name']],
    ],
    [
      'selects every leaf of a named struct',
      { 'delta.dataSkippingStatsColumns': 's' },
      [
        ['s', 'x'],
        ['s', 'y', 'z'],
      ],
    ],
    [
      'ignores names that match nothing and partition columns',
      { 'delta.dataSkippingStatsColumns': 'nope, p, a.b' },
      [],
    ],
    ['selects nothing for a blank list', { 'delta.dataSkippingStatsColumns': '  ' }, []],
  ])('%s', (_label, configuration, expected) => {
    expect(statsColumnsFor(schema, configuration, ['P'])).toEqual(expected)
  })

  it.each<[Record<string, string>]>([
    [{ 'delta.dataSkippingNumIndexedCols': 'many' }],
    [{ 'delta.dataSkippingNumIndexedCols': '-2' }],
    [{ 'delta.dataSkippingStatsColumns': 'a,,b' }],
    [{ 'delta.dataSkippingStatsColumns': '`a' }],
  ])('rejects %j with INVALID_ARGUMENT', (configuration) => {
    expectCode(() => statsColumnsFor(schema, configuration, []), 'INVALID_ARGUMENT')
  })
})

describe('collectStats', () => {
  const schema = struct(
    field('id', 'long'),
    field('name', 'string'),
    field('score', 'double'),
    field('ok', 'boolean'),
    field('s', struct(field('ts', 'timestamp'), field('d', 'date'))),
    field('amount', 'decimal(38,2)'),
    field('tags', { type: 'array', elementType: 'string', containsNull: true }),
    field('gone', 'integer'),
    field('ntz', 'timestamp_ntz'),
    field('f', 'float'),
  )
  const rows = [
    {
      id: 9007199254740993n,
      name: 'b',
      score: 1.5,
      ok: true,
      s: { ts: new Date('2021-09-08T11:11:11.123Z'), d: '2021-09-08' },
      amount: '12.50',
      tags: ['x'],
      gone: null,
      ntz: new Date('2021-01-01T10:00:00Z'),
      f: 1.1,
    },
    {
      id: -3n,
      name: 'a',
      score: NaN,
      ok: false,
      s: null,
      amount: '-99999999999999999999999999999999999.99',
      tags: null,
      gone: null,
      ntz: null,
      f: null,
    },
  ]
  const columns = statsColumnsFor(schema, {}, [])

  it('computes numRecords, nested nullCount and min/max as Spark writes them', () => {
    const stats = collectStats(rows, schema, columns)
    expect(serializeStats(stats)).toBe(
      '{"numRecords":2,' +
        '"minValues":{"id":-3,"name":"a","s":{"ts":"2021-09-08T11:11:11.123Z","d":"2021-09-08"},' +
        '"amount":-99999999999999999999999999999999999.99,"ntz":"2021-01-01T10:00:00.000","f":1.100000023841858},' +
        '"maxValues":{"id":9007199254740993,"name":"b","s":{"ts":"2021-09-08T11:11:11.123Z","d":"2021-09-08"},' +
        '"amount":12.50,"ntz":"2021-01-01T10:00:00.000","f":1.100000023841858},' +
        '"nullCount":{"id":0,"name":0,"score":0,"ok":0,"s":{"ts":1,"d":1},"amount":0,"tags":1,"gone":2,"ntz":1,"f":1}}',
    )
  })

  it('writes only numRecords when there are no stats columns', () => {
    expect(serializeStats(collectStats(rows, schema, []))).toBe('{"numRecords":2}')
  })

  it.each([
    ['a short string', 'abc', 'abc', 'abc'],
    ['exactly 32 code points', 'x'.repeat(32), 'x'.repeat(32), 'x'.repeat(32)],
    ['a long ASCII string', 'y'.repeat(40), 'y'.repeat(32), `${'y'.repeat(32)}\u{10FFFF}`],
    [
      'astral characters counted as one',
      '😀'.repeat(40),
      '😀'.repeat(32),
      `${'😀'.repeat(32)}\u{10FFFF}`,
    ],
    [
      'U+10FFFF after the prefix',
      `${'z'.repeat(32)}\u{10FFFF}\u{10FFFF}a`,
      'z'.repeat(32),
      `${'z'.repeat(32)}\u{10FFFF}\u{10FFFF}\u{10FFFF}`,
    ],
    [
      'only U+10FFFF after the prefix',
      `${'z'.repeat(32)}\u{10FFFF}`,
      'z'.repeat(32),
      `${'z'.repeat(32)}\u{10FFFF}`,
    ],
  ])('truncates string bounds for %s', (_label, value, min, max) => {
    const schema1 = struct(field('s', 'string'))
    const stats = collectStats([{ s: value }], schema1, [['s']])
    expect(stats.minValues).toEqual({ s: min })
    expect(stats.maxValues).toEqual({ s: max })
  })

  it('omits non-finite float bounds and all-null columns', () => {
    const schema1 = struct(field('d', 'double'), field('n', 'integer'))
    const stats = collectStats(
      [
        { d: -Infinity, n: null },
        { d: 2, n: null },
      ],
      schema1,
      [['d'], ['n']],
    )
    expect(serializeStats(stats)).toBe(
      '{"numRecords":2,"minValues":{},"maxValues":{"d":2},"nullCount":{"d":0,"n":2}}',
    )
  })

  it('throws INVALID_ARGUMENT for a stats column that is not a leaf of the schema', () => {
    expectCode(() => collectStats(rows, schema, [['nope']]), 'INVALID_ARGUMENT')
    expectCode(() => collectStats(rows, schema, [['s']]), 'INVALID_ARGUMENT')
  })
})

describe('serializeStats', () => {
  it('writes bigints and JsonNumbers digit for digit and keeps tightBounds', () => {
    expect(
      serializeStats({
        tightBounds: true,
        nullCount: { a: 0 },
        numRecords: 1,
        minValues: { a: 12345678901234567890n, b: new JsonNumber('0.10') },
      }),
    ).toBe(
      '{"numRecords":1,"minValues":{"a":12345678901234567890,"b":0.10},"nullCount":{"a":0},"tightBounds":true}',
    )
  })

  it.each<[unknown]>([[NaN], [new Date(0)], [new Uint8Array(1)]])(
    'rejects %s with INVALID_ARGUMENT',
    (value) => {
      expectCode(
        () => serializeStats({ numRecords: 1, minValues: { a: value } }),
        'INVALID_ARGUMENT',
      )
    },
  )

  it('rejects malformed JsonNumber text with INVALID_ARGUMENT', () => {
    expectCode(() => new JsonNumber('1.'), 'INVALID_ARGUMENT')
  })
})

// Property: every non-null value lies within [min, max]; nullCount is exact.

const TYPES: { type: DataType; values: fc.Arbitrary<unknown> }[] = [
  { type: 'long', values: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  { type: 'integer', values: fc.integer() },
  { type: 'double', values: fc.double() },
  { type: 'float', values: fc.float() },
  { type: 'string', values: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    type: 'date',
    values: fc
      .integer({ min: 0, max: 3_000_000 })
      .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)),
  },
  { type: 'timestamp', values: fc.integer({ min: 0, max: 4e12 }).map((t) => new Date(t)) },
  {
    type: 'decimal(20,3)',
    values: fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n }).map((u) => {
      const digits = (u < 0n ? -u : u).toString().padStart(4, '0')
      return `${u < 0n ? '-' : ''}${digits.slice(0, -3)}.${digits.slice(-3)}`
    }),
  },
]

/** Reads a bound back from parsed stats JSON as a canonical value (exactly, for this test). */
function readBound(
  type: DataType,
  raw: unknown,
  text: string,
  key: 'minValues' | 'maxValues',
): unknown {
  switch (type) {
    case 'long': {
      const m = new RegExp(`"${key}":\\{"c":(-?\\d+)`).exec(text)
      return BigInt(m![1]!)
    }
    case 'decimal(20,3)': {
      const m = new RegExp(`"${key}":\\{"c":(-?[\\d.]+)`).exec(text)
      return m![1]!
    }
    case 'timestamp':
      return new Date(raw as string)
    default:
      return raw
  }
}

describe('collectStats bounds', () => {
  it.each(TYPES)('contain every value of a $type column', ({ type, values }) => {
    const schema1 = struct(field('c', type))
    fc.assert(
      fc.property(fc.array(fc.option(values, { nil: null }), { maxLength: 20 }), (column) => {
        const rows = column.map((c) => ({ c }))
        const text = serializeStats(collectStats(rows, schema1, [['c']]))
        const stats = parseStats(text)!
        expect(stats.numRecords).toBe(rows.length)
        expect(stats.nullCount).toEqual({ c: column.filter((v) => v === null).length })
        const present = column
          .filter((v) => v !== null)
          .map((v) => (type === 'float' ? Math.fround(v as number) : v))
        const rawMin = stats.minValues?.c
        const rawMax = stats.maxValues?.c
        if (present.length === 0 || present.some((v) => Number.isNaN(v))) {
          expect(rawMin).toBeUndefined()
          expect(rawMax).toBeUndefined()
          return
        }
        if (rawMin !== undefined) {
          const min = readBound(type, rawMin, text, 'minValues')
          for (const v of present) expect(compareValues(type, min, v)).toBeLessThanOrEqual(0)
        }
        if (rawMax !== undefined) {
          const max = readBound(type, rawMax, text, 'maxValues')
          for (const v of present) expect(compareValues(type, v, max)).toBeLessThanOrEqual(0)
        } else {
          // Only non-finite floats lose their bound.
          const largest = present.reduce((m, v) => (compareValues(type, v, m) > 0 ? v : m))
          expect(Number.isFinite(largest)).toBe(false)
        }
        if (rawMin === undefined) {
          const smallest = present.reduce((m, v) => (compareValues(type, v, m) < 0 ? v : m))
          expect(Number.isFinite(smallest)).toBe(false)
        }
      }),
      { numRuns: 200 },
    )
  })
})

// Zeros: DataFusion prunes by a total order (-0.0 < 0.0) but compares -0.0 = 0.0, so a zero
// min must be -0.0 and a zero max +0.0 whichever zeros a file holds; JSON must keep the sign.
describe('collectStats zero bounds', () => {
  const zeros = struct(
    field('d', 'double'),
    field('f', 'float'),
    field('s', struct(field('z', 'double'))),
  )
  const columns = [['d'], ['f'], ['s', 'z']]
  const bounds = (values: readonly number[]): string => {
    const rows = values.map((v) => ({ d: v, f: v, s: { z: v } }))
    const text = serializeStats(collectStats(rows, zeros, columns))
    return text.slice(text.indexOf('"minValues"'), text.indexOf(',"nullCount"'))
  }
  const expected = (min: string, max: string): string =>
    `"minValues":{"d":${min},"f":${min},"s":{"z":${min}}},` +
    `"maxValues":{"d":${max},"f":${max},"s":{"z":${max}}}`

  it.each<[string, number[], string, string]>([
    ['only -0.0', [-0], '-0.0', '0'],
    ['only +0.0', [0], '-0.0', '0'],
    ['-0.0 then +0.0', [-0, 0], '-0.0', '0'],
    ['+0.0 then -0.0', [0, -0], '-0.0', '0'],
    ['+0.0, -0.0, +0.0', [0, -0, 0], '-0.0', '0'],
    ['a zero min below a positive max', [1, 0, 0.5], '-0.0', '1'],
    ['a zero max above a negative min', [-0, -2], '-2', '0'],
    ['zeros strictly inside', [-1, -0, 0, 1], '-1', '1'],
  ])('signs zero bounds -0.0 (min) and +0.0 (max): %s', (_label, values, min, max) => {
    expect(bounds(values)).toBe(expected(min, max))
  })

  it('writes a negative zero as -0.0, which parseStats reads back as -0', () => {
    const text = serializeStats({ numRecords: 1, minValues: { d: -0, e: 0 }, maxValues: { d: -0 } })
    expect(text).toBe('{"numRecords":1,"minValues":{"d":-0.0,"e":0},"maxValues":{"d":-0.0}}')
    const parsed = parseStats(text)!
    expect(Object.is(parsed.minValues?.d, -0)).toBe(true)
    expect(Object.is(parsed.minValues?.e, 0)).toBe(true)
    expect(Object.is(parsed.maxValues?.d, -0)).toBe(true)
  })

  it.each<['double' | 'float', fc.Arbitrary<number>]>([
    ['double', fc.oneof(fc.constantFrom(0, -0, 1, -1), fc.double({ noNaN: true }))],
    ['float', fc.oneof(fc.constantFrom(0, -0, 1.5, -1.5), fc.float({ noNaN: true }))],
  ])('gives the min and max of a %s column, zeros signed, read back exactly', (type, values) => {
    const schema1 = struct(field('c', type))
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 12 }), (column) => {
        const present = column.map((v) => (type === 'float' ? Math.fround(v) : v))
        const sorted = [...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        const stats = parseStats(
          serializeStats(
            collectStats(
              present.map((c) => ({ c })),
              schema1,
              [['c']],
            ),
          ),
        )!
        const lo = sorted[0] === 0 ? -0 : sorted[0]!
        const hi = sorted[sorted.length - 1] === 0 ? 0 : sorted[sorted.length - 1]!
        if (Number.isFinite(lo)) expect(Object.is(stats.minValues?.c, lo)).toBe(true)
        else expect(stats.minValues?.c).toBeUndefined()
        if (Number.isFinite(hi)) expect(Object.is(stats.maxValues?.c, hi)).toBe(true)
        else expect(stats.maxValues?.c).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })
})

describe('replaceColumnStats', () => {
  const old = {
    numRecords: 3,
    minValues: { a: 1, st: { x: 'a', y: 5 }, gone: 0 },
    maxValues: { a: 9, st: { x: 'z', y: 7 }, gone: 0 },
    nullCount: { a: 0, st: { x: 1, y: 0 }, b: 3, gone: 0 },
  }
  const fresh = {
    numRecords: 3,
    minValues: { st: { x: 'm', y: 1 } },
    maxValues: { st: { x: 'n', y: 2 } },
    nullCount: { st: { x: 0, y: 0 } },
  }
  const columns = [['a'], ['st', 'x'], ['st', 'y'], ['b']]

  it('keeps the old statistics of untouched columns and takes the fresh ones of replaced columns', () => {
    expect(replaceColumnStats(old, fresh, columns, new Set(['st']))).toEqual({
      numRecords: 3,
      // `b` is all null: a null count, no bounds; `gone` is no longer a stats column.
      minValues: { a: 1, st: { x: 'm', y: 1 } },
      maxValues: { a: 9, st: { x: 'n', y: 2 } },
      nullCount: { a: 0, st: { x: 0, y: 0 }, b: 3 },
    })
  })

  it('keeps signed zero bounds of old and fresh columns through serialization', () => {
    const zeros = struct(field('a', 'double'), field('b', 'double'))
    const statsColumns = [['a'], ['b']]
    const before = parseStats(
      '{"numRecords":2,"minValues":{"a":-0.0,"b":1},"maxValues":{"a":-0.0,"b":2},' +
        '"nullCount":{"a":0,"b":0}}',
    )!
    const fresh = collectStats(
      [{ b: 0 }, { b: 0 }],
      zeros,
      statsColumns.filter((c) => c[0] === 'b'),
    )
    expect(serializeStats(replaceColumnStats(before, fresh, statsColumns, new Set(['b']))!)).toBe(
      '{"numRecords":2,"minValues":{"a":-0.0,"b":-0.0},"maxValues":{"a":-0.0,"b":0},' +
        '"nullCount":{"a":0,"b":0}}',
    )
  })

  it('gives up when the old statistics lack an untouched stats column', () => {
    expect(replaceColumnStats(old, fresh, [...columns, ['c']], new Set(['st']))).toBeUndefined()
    // A replaced column needs no old statistics.
    expect(
      replaceColumnStats(
        old,
        { ...fresh, nullCount: { st: { x: 0, y: 0 }, c: 1 } },
        [...columns, ['c']],
        new Set(['st', 'c']),
      ),
    ).toMatchObject({ nullCount: { a: 0, st: { x: 0, y: 0 }, b: 3, c: 1 } })
  })
})

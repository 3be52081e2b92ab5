/**
 * Microsecond timestamps: the Date representation, parsing, formatting, order, Parquet round
 * trips, statistics and partition values, and filters with stats-based skipping on a table.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { inListKey } from '../../../src/delta/expr/bind-expression.js'
import { col, DeltaTable, MemoryStore, type StructType } from '../../../src/delta/index.js'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import {
  parsePartitionValue,
  serializePartitionValue,
} from '../../../src/delta/schema/partition-values.js'
import {
  compareTimestamps,
  copyTimestamp,
  subMillisecondMicros,
  timestampFromMicros,
  timestampMicros,
  timestampOf,
} from '../../../src/delta/schema/timestamps.js'
import {
  coerceValue,
  compareValues,
  formatTimestampMicros,
  parseTimestampText,
  valuesEqual,
} from '../../../src/delta/schema/values.js'
import { collectStats, serializeStats } from '../../../src/delta/stats/collect-stats.js'
import { field } from '../../support/schema.js'

/** Epoch microseconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z. */
const MIN_MICROS = -62_135_596_800_000_000n
const MAX_MICROS = 253_402_300_799_999_999n
const anyMicros = fc.bigInt({ min: MIN_MICROS, max: MAX_MICROS })
const byId = (ids: unknown[]): unknown[] =>
  [...ids].sort((a, b) => Number((a as bigint) - (b as bigint)))

const SCHEMA: StructType = {
  type: 'struct',
  fields: [field('id', 'long', false), field('ts', 'timestamp'), field('ntz', 'timestamp_ntz')],
}

describe('the Date representation', () => {
  it('round-trips every microsecond of years 0001-9999', () => {
    fc.assert(
      fc.property(anyMicros, (micros) => {
        const date = timestampFromMicros(micros)
        expect(timestampMicros(date)).toBe(micros)
        expect(timestampMicros(copyTimestamp(date))).toBe(micros)
        // Date methods see the millisecond, floored (also before 1970).
        const floor = micros % 1000n < 0n ? micros / 1000n - 1n : micros / 1000n
        expect(date.getTime()).toBe(Number(floor))
        expect(subMillisecondMicros(date)).toBe(Number(micros - floor * 1000n))
      }),
    )
  })

  it('orders like the microseconds, and Dates built by the application have none', () => {
    fc.assert(
      fc.property(anyMicros, anyMicros, (a, b) => {
        const got = Math.sign(compareTimestamps(timestampFromMicros(a), timestampFromMicros(b)))
        expect(got).toBe(a < b ? -1 : a > b ? 1 : 0)
        expect(
          Math.sign(compareValues('timestamp', timestampFromMicros(a), timestampFromMicros(b))),
        ).toBe(got)
      }),
    )
    const plain = new Date(1_700_000_000_123)
    expect(subMillisecondMicros(plain)).toBe(0)
    expect(timestampMicros(plain)).toBe(1_700_000_000_123_000n)
    expect(compareTimestamps(plain, timestampOf(1_700_000_000_123, 1))).toBeLessThan(0)
  })

  it('keeps the microseconds out of enumeration and JSON', () => {
    const date = timestampFromMicros(1_700_000_000_123_456n)
    expect(Object.keys(date)).toEqual([])
    expect(JSON.stringify(date)).toBe('"2023-11-14T22:13:20.123Z"')
  })
})

describe('parsing, coercion and formatting', () => {
  it('parses fraction digits 4-6 as microseconds and truncates finer ones', () => {
    expect(parseTimestampText('2024-01-01T00:00:00.123456Z')).toMatchObject({
      ms: 1_704_067_200_123,
      micros: 456,
      fine: true,
    })
    expect(parseTimestampText('2024-01-01T00:00:00.1234567Z')).toMatchObject({ micros: 456 })
    expect(parseTimestampText('2024-01-01 00:00:00.12')).toMatchObject({ micros: 0, fine: false })
    expect(parseTimestampText('1969-12-31T23:59:59.999999Z')).toMatchObject({
      ms: -1,
      micros: 999,
    })
  })

  it('coerces strings and Dates keeping their microseconds', () => {
    const ts = coerceValue('timestamp', '2024-01-01T00:00:00.123456+01:00', 'ts') as Date
    expect(timestampMicros(ts)).toBe(1_704_063_600_123_456n)
    const ntz = coerceValue('timestamp_ntz', '2024-01-01 00:00:00.000007', 'ntz') as Date
    expect(timestampMicros(ntz)).toBe(1_704_067_200_000_007n)
    const tagged = timestampFromMicros(42n)
    const copy = coerceValue('timestamp', tagged, 'ts') as Date
    expect(copy).not.toBe(tagged)
    expect(timestampMicros(copy)).toBe(42n)
  })

  it('formats microseconds', () => {
    const date = timestampFromMicros(1_704_067_200_000_007n)
    expect(formatTimestampMicros(date, ' ')).toBe('2024-01-01 00:00:00.000007')
    expect(formatTimestampMicros(new Date(1_704_067_200_120), 'T')).toBe(
      '2024-01-01T00:00:00.120000',
    )
  })

  it('tells values one microsecond apart apart in equality, IN lists and merge keys', () => {
    const a = timestampFromMicros(1_000_001n)
    const b = timestampFromMicros(1_000_002n)
    expect(valuesEqual('timestamp', a, b)).toBe(false)
    expect(valuesEqual('timestamp', a, timestampFromMicros(1_000_001n))).toBe(true)
    expect(inListKey('timestamp', a)).not.toBe(inListKey('timestamp', b))
    expect(inListKey('timestamp', a)).toBe(inListKey('timestamp', copyTimestamp(a)))
  })
})

describe('Parquet', () => {
  it.each([
    ['the single-page writer', 10],
    ['the general writer', 5000],
  ])('%s and the reader round-trip microseconds exactly', async (_name, n) => {
    const micros = fc.sample(anyMicros, { numRuns: n, seed: n })
    const rows = micros.map((m, i) => ({
      id: BigInt(i),
      ts: timestampFromMicros(m),
      ntz: i % 3 === 0 ? null : timestampFromMicros(-m),
    }))
    const back = await readParquetRows(writeParquet(rows, SCHEMA), {
      schema: SCHEMA,
      fileName: 'micros.parquet',
    })
    expect(back.map((r) => timestampMicros(r.ts as Date))).toEqual(micros)
    expect(back.map((r) => (r.ntz === null ? null : timestampMicros(r.ntz as Date)))).toEqual(
      micros.map((m, i) => (i % 3 === 0 ? null : -m)),
    )
  })
})

describe('statistics', () => {
  const stats = (values: bigint[]) =>
    JSON.parse(
      serializeStats(
        collectStats(
          values.map((m, i) => ({
            id: BigInt(i),
            ts: timestampFromMicros(m),
            ntz: timestampFromMicros(m),
          })),
          SCHEMA,
          [['ts'], ['ntz']],
        ),
      ),
    ) as { minValues: Record<string, string>; maxValues: Record<string, string> }

  it('floors the min and raises a max with microseconds to the next millisecond', () => {
    const s = stats([1_704_067_200_123_456n, 1_704_067_200_000_001n])
    expect(s.minValues).toEqual({ ts: '2024-01-01T00:00:00.000Z', ntz: '2024-01-01T00:00:00.000' })
    expect(s.maxValues).toEqual({ ts: '2024-01-01T00:00:00.124Z', ntz: '2024-01-01T00:00:00.124' })
    expect(stats([1_704_067_200_123_000n]).maxValues.ts).toBe('2024-01-01T00:00:00.123Z')
  })

  it('leaves out a max that would pass year 9999', () => {
    expect(stats([MAX_MICROS]).maxValues).toEqual({})
    expect(stats([MAX_MICROS - 999n]).maxValues.ts).toBe('9999-12-31T23:59:59.999Z')
  })

  it('are bounds of the microseconds they describe', () => {
    fc.assert(
      fc.property(fc.array(anyMicros, { minLength: 1, maxLength: 20 }), (values) => {
        const s = stats(values)
        const lo = values.reduce((a, b) => (a < b ? a : b))
        const hi = values.reduce((a, b) => (a > b ? a : b))
        expect(BigInt(Date.parse(s.minValues.ts ?? '')) * 1000n <= lo).toBe(true)
        if (s.maxValues.ts !== undefined) {
          expect(BigInt(Date.parse(s.maxValues.ts)) * 1000n >= hi).toBe(true)
        }
      }),
    )
  })
})

describe('partition values', () => {
  it('parse and serialize microseconds', () => {
    const ts = parsePartitionValue('timestamp', '2024-01-01T00:00:00.123456Z', 'p') as Date
    expect(timestampMicros(ts)).toBe(1_704_067_200_123_456n)
    expect(serializePartitionValue('timestamp', ts)).toBe('2024-01-01T00:00:00.123456Z')
    const ntz = parsePartitionValue('timestamp_ntz', '2024-01-01 00:00:00.000001', 'p') as Date
    expect(serializePartitionValue('timestamp_ntz', ntz)).toBe('2024-01-01 00:00:00.000001')
  })
})

describe('a table of microsecond timestamps', () => {
  it('filters exactly, skipping files by stats without losing rows', async () => {
    // Many one-row files within a few milliseconds, so that the stats of neighbouring files
    // overlap at millisecond precision while their values differ by microseconds.
    const base = 1_704_067_200_000_000n
    const values = fc.sample(fc.bigInt({ min: 0n, max: 3_999n }), { numRuns: 40, seed: 7 })
    const table = await DeltaTable.create(new MemoryStore(), { schema: SCHEMA })
    for (const [i, v] of values.entries()) {
      await table.append([{ id: BigInt(i), ts: timestampFromMicros(base + v), ntz: null }])
    }
    const ops = ['eq', 'lt', 'le', 'gt', 'ge'] as const
    for (const probe of [...values.slice(0, 10), -1n, 1_000n, 999n, 4_000n]) {
      const literal = timestampFromMicros(base + probe)
      for (const op of ops) {
        const want = values
          .map((v, i) => ({ v, i }))
          .filter(({ v }) =>
            op === 'eq'
              ? v === probe
              : op === 'lt'
                ? v < probe
                : op === 'le'
                  ? v <= probe
                  : op === 'gt'
                    ? v > probe
                    : v >= probe,
          )
          .map(({ i }) => BigInt(i))
        const got = (await table.toRows({ filter: col('ts')[op](literal) })).map((r) => r.id)
        expect(byId(got), `${op} ${probe}`).toEqual(want)
      }
      const inList = await table.toRows({
        filter: col('ts').in([literal, timestampFromMicros(0n)]),
      })
      expect(byId(inList.map((r) => r.id)), `in ${probe}`).toEqual(
        values.flatMap((v, i) => (v === probe ? [BigInt(i)] : [])),
      )
    }
  })

  it('keeps other rows microseconds through delete, update, merge and optimize', async () => {
    const micros = (i: number): bigint => 1_704_067_200_000_000n + BigInt(i) * 1_001n
    const table = await DeltaTable.create(new MemoryStore(), { schema: SCHEMA })
    for (let f = 0; f < 4; f++) {
      await table.append(
        Array.from({ length: 5 }, (_, k) => {
          const i = f * 5 + k
          return {
            id: BigInt(i),
            ts: timestampFromMicros(micros(i)),
            ntz: timestampFromMicros(-micros(i)),
          }
        }),
      )
    }
    await table.delete(col('id').eq(3n))
    await table.update(col('id').eq(7n), { id: 70n })
    await table.merge(
      [
        { id: 12n, ts: null, ntz: null },
        { id: 100n, ts: null, ntz: null },
      ],
      {
        on: 'id',
      },
    )
    await table.optimize()
    const rows = await table.toRows()
    const byId = new Map(rows.map((r) => [r.id as bigint, r]))
    expect(byId.size).toBe(20)
    for (let i = 0; i < 20; i++) {
      const id = i === 7 ? 70n : BigInt(i)
      if (i === 3 || i === 12) continue
      const row = byId.get(id)
      expect(timestampMicros(row?.ts as Date), `row ${i}`).toBe(micros(i))
      expect(timestampMicros(row?.ntz as Date), `row ${i}`).toBe(-micros(i))
    }
  })
})

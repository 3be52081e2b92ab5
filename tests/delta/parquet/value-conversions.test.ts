import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bigEndianToInteger,
  decimalByteLength,
  formatEpochDays,
  formatUnscaledDecimal,
  nanosToMicros,
  parseDecimalString,
  parseEpochDays,
} from '../../../src/delta/parquet/value-conversions.js'
import { splitMicros } from '../../../src/delta/schema/timestamps.js'

const MS_PER_DAY = 86_400_000

describe('formatEpochDays', () => {
  it.each([
    [0, '1970-01-01'],
    [-1, '1969-12-31'],
    [-719_162, '0001-01-01'],
    [2_932_896, '9999-12-31'],
    [11_016, '2000-02-29'],
    [-141_427, '1582-10-15'],
    [-719_528, '0000-01-01'],
    [-719_529, '-000001-12-31'],
    [2_932_897, '+010000-01-01'],
  ])('formats day %i as %s', (days, text) => {
    expect(formatEpochDays(days)).toBe(text)
    expect(parseEpochDays(text)).toBe(days)
  })

  it('agrees with Date#toISOString over the whole Date range of days', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100_000_000, max: 100_000_000 }), (days) => {
        expect(formatEpochDays(days)).toBe(new Date(days * MS_PER_DAY).toISOString().slice(0, -14))
        expect(parseEpochDays(formatEpochDays(days))).toBe(days)
      }),
    )
  })
})

describe('parseEpochDays', () => {
  it.each(['2023-02-29', '2023-13-01', '2023-00-10', '2023-01-00', '2023-1-1', '20230101', ''])(
    'rejects %j',
    (text) => {
      expect(parseEpochDays(text)).toBeUndefined()
    },
  )

  it('accepts leap days of leap years only', () => {
    expect(parseEpochDays('2000-02-29')).toBe(11_016)
    expect(parseEpochDays('1900-02-29')).toBeUndefined()
  })
})

describe('splitMicros and nanosToMicros', () => {
  it.each([
    [0n, 0],
    [999n, 0],
    [-1n, -1],
    [-1000n, -1],
    [-1001n, -2],
    [2n ** 63n - 1n, Number(9_223_372_036_854_775n)],
    [-(2n ** 63n), Number(-9_223_372_036_854_776n)],
    [9_007_199_254_740_993n, 9_007_199_254_740],
    [-9_007_199_254_740_993n, -9_007_199_254_741],
  ])('floors %i microseconds to %i ms', (micros, millis) => {
    expect(splitMicros(micros).millis).toBe(millis)
  })

  it('floors like BigInt division rounded toward negative infinity', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const floor = (d: bigint): bigint => (value % d < 0n ? value / d - 1n : value / d)
        expect(splitMicros(value).millis).toBe(Number(floor(1000n)))
        expect(nanosToMicros(value)).toBe(floor(1000n))
      }),
    )
  })
})

describe('formatUnscaledDecimal', () => {
  it.each([
    [-150, 2, 2, '-1.50'],
    [12, 0, 0, '12'],
    [-12, 0, 0, '-12'],
    [5, 3, 3, '0.005'],
    [-5, 3, 3, '-0.005'],
    [0, 2, 2, '0.00'],
    [-15n, 1, 4, '-1.5000'],
    [7n, 0, 2, '7.00'],
    [-(10n ** 38n - 1n), 18, 18, '-99999999999999999999.999999999999999999'],
  ] as const)('formats %s at scale %i as scale %i: %s', (unscaled, fileScale, scale, text) => {
    expect(formatUnscaledDecimal(unscaled, fileScale, scale)).toBe(text)
  })

  it('inverts parseDecimalString', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }),
        fc.integer({ min: 0, max: 38 }),
        (unscaled, scale) => {
          const text = formatUnscaledDecimal(unscaled, scale, scale)
          expect(parseDecimalString(text, 38, scale)).toBe(unscaled)
        },
      ),
    )
  })
})

describe('parseDecimalString', () => {
  it.each([
    ['1.5', 3, 1, 15n],
    ['-0.05', 3, 2, -5n],
    ['007', 3, 0, 7n],
    ['1.500', 3, 1, 15n],
    ['-0', 3, 1, 0n],
  ] as const)('parses %j as decimal(%i,%i) unscaled %s', (text, precision, scale, unscaled) => {
    expect(parseDecimalString(text, precision, scale)).toBe(unscaled)
  })

  it.each([
    ['1.55', 3, 1],
    ['100', 3, 1],
    ['1e3', 5, 0],
    ['.5', 3, 1],
    ['1.', 3, 1],
    ['', 3, 1],
    ['NaN', 3, 1],
  ] as const)('rejects %j as decimal(%i,%i)', (text, precision, scale) => {
    expect(parseDecimalString(text, precision, scale)).toBeUndefined()
  })
})

describe('bigEndianToInteger', () => {
  it.each([
    [[], 0],
    [[0x7f], 127],
    [[0x80], -128],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], -1],
    [[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2n ** 55n - 1n],
    [[0x80, 0, 0, 0, 0, 0, 0, 0], -(2n ** 63n)],
  ] as const)('decodes %j as %s', (bytes, value) => {
    expect(bigEndianToInteger(Uint8Array.from(bytes))).toBe(value)
  })

  it('decodes every width like BigInt.asIntN', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 17 }), (bytes) => {
        let unsigned = 0n
        for (const b of bytes) unsigned = (unsigned << 8n) | BigInt(b)
        expect(BigInt(bigEndianToInteger(bytes))).toBe(BigInt.asIntN(bytes.length * 8, unsigned))
      }),
    )
  })
})

describe('decimalByteLength', () => {
  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [9, 4],
    [10, 5],
    [18, 8],
    [19, 9],
    [38, 16],
  ])('needs %i digits in %i bytes', (precision, length) => {
    expect(decimalByteLength(precision)).toBe(length)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import type { DataType } from '../../../src/delta/schema/data-type.js'
import {
  isNullPartitionValue,
  javaDoubleToString,
  javaFloatToString,
  parsePartitionValue,
  serializePartitionValue,
} from '../../../src/delta/schema/partition-values.js'
import { valuesEqual } from '../../../src/delta/schema/values.js'

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

describe('parsePartitionValue', () => {
  it.each<[DataType, string | null | undefined, unknown]>([
    ['string', 'A/A', 'A/A'],
    ['string', 'bar+%21', 'bar+%21'],
    ['string', 'null', 'null'],
    ['string', '__HIVE_DEFAULT_PARTITION__', '__HIVE_DEFAULT_PARTITION__'],
    ['string', '', null],
    ['string', null, null],
    ['string', undefined, null],
    ['long', '9223372036854775807', 9223372036854775807n],
    ['long', '-1', -1n],
    ['integer', '0', 0],
    ['integer', '-0', 0],
    ['byte', '-128', -128],
    ['short', '32767', 32767],
    ['double', '0.0', 0],
    ['double', '1.0E-5', 1e-5],
    ['double', '1.0E21', 1e21],
    ['double', 'NaN', NaN],
    ['double', 'Infinity', Infinity],
    ['double', '-Infinity', -Infinity],
    // delta-rs writes Rust's spellings.
    ['double', 'inf', Infinity],
    ['double', '-inf', -Infinity],
    ['float', '+inf', Infinity],
    ['float', 'nan', NaN],
    ['double', '-INFINITY', -Infinity],
    ['float', '1.1', Math.fround(1.1)],
    ['boolean', 'true', true],
    ['boolean', 'false', false],
    ['date', '2021-09-08', '2021-09-08'],
    ['timestamp', '2021-09-08 11:11:11', new Date('2021-09-08T11:11:11Z')],
    ['timestamp', '2021-09-08 11:11:11.123456', new Date('2021-09-08T11:11:11.123Z')],
    ['timestamp', '2021-09-08T11:11:11.000000Z', new Date('2021-09-08T11:11:11Z')],
    ['timestamp', '2021-09-08T13:11:11+02:00', new Date('2021-09-08T11:11:11Z')],
    ['timestamp_ntz', '2021-09-08 11:11:11.5', new Date('2021-09-08T11:11:11.500Z')],
    ['decimal(1,0)', '0', '0'],
    ['decimal(38,18)', '1.230000000000000000', '1.230000000000000000'],
    ['decimal(10,2)', '1.5', '1.50'],
    ['decimal(10,2)', '1E+1', '10.00'],
    ['binary', 'ab\u00e9', new Uint8Array([0x61, 0x62, 0xc3, 0xa9])],
    ['integer', '__HIVE_DEFAULT_PARTITION__', null],
    ['date', '__HIVE_DEFAULT_PARTITION__', null],
  ])('reads %s %s', (type, raw, expected) => {
    expect(parsePartitionValue(type, raw, 'p')).toEqual(expected)
  })

  it.each<[DataType, string]>([
    ['long', '9223372036854775808'],
    ['long', '1.0'],
    ['integer', '2147483648'],
    ['integer', ' 1'],
    ['byte', '128'],
    ['short', 'abc'],
    ['double', '1,5'],
    ['double', 'infinite'],
    ['float', '0x10'],
    ['boolean', 'yes'],
    ['date', '2021-02-30'],
    ['date', '2021-09-08 00:00:00'],
    ['timestamp', '2021-09-08T11'],
    ['timestamp', 'yesterday'],
    ['timestamp_ntz', '2021-09-08T11:11:11Z'],
    ['decimal(10,2)', '1.234'],
    ['decimal(3,2)', '10.00'],
    ['void', 'x'],
    [{ type: 'array', elementType: 'long', containsNull: true }, '[1]'],
  ])('rejects %s %s with MALFORMED_ACTION', (type, raw) => {
    expectCode(() => parsePartitionValue(type, raw, 'file part-0 column c'), 'MALFORMED_ACTION')
  })
})

describe('serializePartitionValue', () => {
  it.each<[DataType, unknown, string | null]>([
    ['string', 'US/East', 'US/East'],
    ['string', '', null],
    ['string', null, null],
    ['long', 9223372036854775807n, '9223372036854775807'],
    ['long', 5, '5'],
    ['integer', -7, '-7'],
    ['double', 1, '1.0'],
    ['double', 0, '0.0'],
    ['double', -0, '-0.0'],
    ['double', 100.5, '100.5'],
    ['double', 0.001, '0.001'],
    ['double', 0.0001, '1.0E-4'],
    ['double', 1e-5, '1.0E-5'],
    ['double', 9999999, '9999999.0'],
    ['double', 1e7, '1.0E7'],
    ['double', 123456789.125, '1.23456789125E8'],
    ['double', 1e21, '1.0E21'],
    ['double', -1.5e-300, '-1.5E-300'],
    ['double', 0.1, '0.1'],
    ['double', NaN, 'NaN'],
    ['double', Infinity, 'Infinity'],
    ['double', -Infinity, '-Infinity'],
    ['float', 1.1, '1.1'],
    ['float', 3.4028234663852886e38, '3.4028235E38'],
    ['float', 1e-5, '1.0E-5'],
    ['float', 16777216, '1.6777216E7'],
    ['boolean', true, 'true'],
    ['date', '2021-09-08', '2021-09-08'],
    ['timestamp', new Date('2021-09-08T11:11:11.123Z'), '2021-09-08T11:11:11.123000Z'],
    ['timestamp_ntz', new Date('2021-09-08T11:11:11Z'), '2021-09-08 11:11:11.000000'],
    ['decimal(38,18)', '1.23', '1.230000000000000000'],
    ['decimal(1,0)', 0, '0'],
    ['decimal(5,2)', '-0.00', '0.00'],
    ['binary', new Uint8Array([0x68, 0x69]), 'hi'],
    ['binary', new Uint8Array([]), null],
  ])('writes %s %s as %s', (type, value, expected) => {
    expect(serializePartitionValue(type, value)).toBe(expected)
  })

  it.each<[DataType, unknown, string]>([
    ['integer', 'x', 'SCHEMA_MISMATCH'],
    ['binary', new Uint8Array([0xff]), 'INVALID_ARGUMENT'],
    [{ type: 'struct', fields: [] }, {}, 'INVALID_ARGUMENT'],
    ['void', null, 'INVALID_ARGUMENT'],
  ])('rejects %s %s with %s', (type, value, code) => {
    expectCode(() => serializePartitionValue(type, value), code)
  })
})

describe('Java number formatting', () => {
  it('reads back every double exactly', () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const text = javaDoubleToString(x)
        expect(text).toMatch(/^(-?\d+\.\d+(E-?\d+)?|NaN|-?Infinity)$/)
        expect(Object.is(parsePartitionValue('double', text, 'p'), x)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('reads back every float exactly with at most 9 significant digits', () => {
    fc.assert(
      fc.property(fc.float(), (x) => {
        const text = javaFloatToString(x)
        const digits = text.replace(/E.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '')
        if (Number.isFinite(x)) expect(digits.length).toBeLessThanOrEqual(9)
        expect(Object.is(parsePartitionValue('float', text, 'p'), x)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })
})

const ms = fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 })
const roundTripCases: [DataType, fc.Arbitrary<unknown>][] = [
  ['string', fc.string({ unit: 'binary', minLength: 1 })],
  ['long', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
  ['integer', fc.integer()],
  ['short', fc.integer({ min: -32768, max: 32767 })],
  ['byte', fc.integer({ min: -128, max: 127 })],
  ['double', fc.double()],
  ['float', fc.float()],
  ['boolean', fc.boolean()],
  ['date', ms.map((t) => new Date(t).toISOString().slice(0, 10))],
  ['timestamp', ms.map((t) => new Date(t))],
  ['timestamp_ntz', ms.map((t) => new Date(t))],
  [
    'decimal(38,6)',
    fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }).map((u) => {
      const digits = (u < 0n ? -u : u).toString().padStart(7, '0')
      const text = `${digits.slice(0, -6)}.${digits.slice(-6)}`
      return u < 0n ? `-${text}` : text
    }),
  ],
  ['binary', fc.string({ unit: 'binary', minLength: 1 }).map((s) => new TextEncoder().encode(s))],
]

describe('partition value round trip', () => {
  it.each(roundTripCases)('parse(serialize(v)) equals v for %s', (type, arbitrary) => {
    fc.assert(
      fc.property(fc.option(arbitrary, { nil: null }), (value) => {
        const text = serializePartitionValue(type, value)
        expect(valuesEqual(type, parsePartitionValue(type, text, 'p'), value)).toBe(true)
      }),
    )
  })
})

describe('isNullPartitionValue', () => {
  it('is true exactly for the values serializePartitionValue writes as null', () => {
    const cases: [DataType, unknown][] = [
      ['string', ''],
      ['string', ' '],
      ['string', null],
      ['string', 'x'],
      ['binary', new Uint8Array(0)],
      ['binary', new Uint8Array([0])],
      ['long', 0n],
      ['integer', 0],
      ['double', -0],
      ['boolean', false],
      ['date', '2026-01-01'],
      ['decimal(5,2)', '0.00'],
    ]
    for (const [type, value] of cases) {
      expect(isNullPartitionValue(value), `${JSON.stringify(type)} ${String(value)}`).toBe(
        serializePartitionValue(type, value) === null,
      )
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(isNullPartitionValue(s)).toBe(serializePartitionValue('string', s) === null)
      }),
    )
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { coerceValue, compareValues, valuesEqual } from '../../../src/delta/schema/values.js'

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

const utc = (iso: string): Date => new Date(iso)

describe('coerceValue', () => {
  it.each<[DataType, unknown, unknown]>([
    ['string', 'héllo 😀', 'héllo 😀'],
    ['string', '', ''],
    ['long', 5, 5n],
    ['long', -0, 0n],
    ['long', 9223372036854775807n, 9223372036854775807n],
    ['long', -9223372036854775808n, -9223372036854775808n],
    ['integer', 2147483647, 2147483647],
    ['integer', -2147483648n, -2147483648],
    ['integer', -0, 0],
    ['short', -32768, -32768],
    ['byte', 127, 127],
    ['float', 1.1, 1.1],
    ['double', NaN, NaN],
    ['double', -Infinity, -Infinity],
    ['boolean', false, false],
    ['date', '2024-02-29', '2024-02-29'],
    ['date', '0001-01-01', '0001-01-01'],
    ['date', utc('2021-09-08T23:59:59.999Z'), '2021-09-08'],
    ['timestamp', utc('2021-09-08T11:11:11.123Z'), utc('2021-09-08T11:11:11.123Z')],
    ['timestamp', '2021-09-08T11:11:11Z', utc('2021-09-08T11:11:11Z')],
    ['timestamp', '2021-09-08 11:11:11.123456+02:00', utc('2021-09-08T09:11:11.123Z')],
    ['timestamp', '2021-09-08T11:11:11-0530', utc('2021-09-08T16:41:11Z')],
    ['timestamp_ntz', '2021-09-08T11:11:11', utc('2021-09-08T11:11:11Z')],
    ['timestamp_ntz', '2021-09-08 11:11:11.999999', utc('2021-09-08T11:11:11.999Z')],
    ['timestamp_ntz', '2021-09-08', utc('2021-09-08T00:00:00Z')],
    ['timestamp_ntz', utc('2021-09-08T11:11:11Z'), utc('2021-09-08T11:11:11Z')],
    ['decimal(10,2)', '1.5', '1.50'],
    ['decimal(10,2)', '-1.500', '-1.50'],
    ['decimal(10,2)', '-0.00', '0.00'],
    ['decimal(10,2)', '1.5E2', '150.00'],
    ['decimal(10,2)', '12e-2', '0.12'],
    ['decimal(10,2)', 0.1, '0.10'],
    ['decimal(10,2)', 12n, '12.00'],
    ['decimal(10,0)', '-0', '0'],
    ['decimal(10,0)', '+12', '12'],
    ['decimal(1,0)', 9, '9'],
    ['decimal(38,18)', '1.23', '1.230000000000000000'],
    [
      'decimal(38,0)',
      '99999999999999999999999999999999999999',
      '99999999999999999999999999999999999999',
    ],
    ['decimal(5,5)', '.5', '0.50000'],
    ['void', undefined, null],
    ['string', null, null],
  ])('accepts %s input %s', (type, input, expected) => {
    expect(coerceValue(type, input, 'c')).toEqual(expected)
  })

  it.each<[DataType, unknown]>([
    ['string', 5],
    ['string', 'a\uD800b'],
    ['string', '\uDC00'],
    ['long', 1.5],
    ['long', 2 ** 53],
    ['long', 9223372036854775808n],
    ['long', '5'],
    ['integer', 2147483648],
    ['integer', 2147483648n],
    ['integer', 1.5],
    ['short', 32768],
    ['byte', -129],
    ['float', 1n],
    ['double', '1.0'],
    ['boolean', 'true'],
    ['binary', 'abc'],
    ['binary', [1, 2]],
    ['date', '2023-02-29'],
    ['date', '2021-9-8'],
    ['date', '0000-01-01'],
    ['date', new Date(NaN)],
    ['date', 19000],
    ['timestamp', '2021-09-08T11:11:11'],
    ['timestamp', '2021-09-08 11:11:11'],
    ['timestamp', 1631099471000],
    ['timestamp', new Date(NaN)],
    ['timestamp', new Date('+010000-01-01T00:00:00Z')],
    ['timestamp', '2021-09-08T25:00:00Z'],
    ['timestamp_ntz', '2021-09-08T11:11:11Z'],
    ['timestamp_ntz', '2021-09-08T11:11:11+01:00'],
    ['decimal(10,2)', '1.234'],
    ['decimal(10,2)', '123456789.1'],
    ['decimal(3,0)', '1e3'],
    ['decimal(10,2)', NaN],
    ['decimal(10,2)', '1.2.3'],
    ['decimal(10,2)', ''],
    ['decimal(10,2)', '.'],
    ['void', 0],
    [{ type: 'struct', fields: [] }, [1]],
    [{ type: 'array', elementType: 'long', containsNull: true }, { 0: 1 }],
  ])('rejects %s input %s', (type, input) => {
    expectCode(() => coerceValue(type, input, 'c'), 'SCHEMA_MISMATCH')
  })

  it('returns a plain Uint8Array view for a Buffer', () => {
    const out = coerceValue('binary', Buffer.from([1, 2, 3]), 'b') as Uint8Array
    expect(out.constructor).toBe(Uint8Array)
    expect([...out]).toEqual([1, 2, 3])
  })

  const struct: StructType = {
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: false, metadata: {} },
      {
        name: 'tags',
        type: { type: 'array', elementType: 'string', containsNull: false },
        nullable: true,
        metadata: {},
      },
      {
        name: 'attrs',
        type: { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true },
        nullable: true,
        metadata: {},
      },
    ],
  }

  it('coerces nested values recursively and fills missing struct fields with null', () => {
    expect(coerceValue(struct, { id: 1, attrs: { a: 1, b: null } }, 's')).toEqual({
      id: 1n,
      tags: null,
      attrs: new Map<string, unknown>([
        ['a', 1],
        ['b', null],
      ]),
    })
  })

  it.each<[string, unknown]>([
    ['an unknown struct key', { id: 1, extra: 2 }],
    ['a null non-nullable struct field', { id: null }],
    ['a null element when containsNull is false', { id: 1, tags: ['a', null] }],
    ['a nested value of the wrong type', { id: 1, attrs: { a: 'x' } }],
    ['a class instance as struct', new Date(0)],
  ])('rejects %s', (_label, input) => {
    expectCode(() => coerceValue(struct, input, 's'), 'SCHEMA_MISMATCH')
  })

  it('accepts a Map with non-string keys and rejects a plain object for them', () => {
    const type: DataType = {
      type: 'map',
      keyType: 'long',
      valueType: 'string',
      valueContainsNull: false,
    }
    expect(coerceValue(type, new Map([[1, 'a']]), 'm')).toEqual(new Map([[1n, 'a']]))
    expectCode(() => coerceValue(type, { 1: 'a' }, 'm'), 'SCHEMA_MISMATCH')
    expectCode(() => coerceValue(type, new Map([[1, null]]), 'm'), 'SCHEMA_MISMATCH')
    expectCode(() => coerceValue(type, new Map([[null, 'a']]), 'm'), 'SCHEMA_MISMATCH')
  })
})

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

describe('compareValues', () => {
  it.each<[DataType, unknown, unknown, number]>([
    ['string', 'a', 'b', -1],
    ['string', 'ab', 'a', 1],
    ['string', '\u{1F600}', '\uFFFD', 1],
    ['string', '\uE000', '\u{10000}', -1],
    ['string', 'same', 'same', 0],
    ['long', 2n, 10n, -1],
    ['integer', -5, -5, 0],
    ['double', NaN, Infinity, 1],
    ['double', NaN, NaN, 0],
    ['double', -0, 0, 0],
    ['float', -Infinity, -1e38, -1],
    ['boolean', false, true, -1],
    ['binary', new Uint8Array([1, 255]), new Uint8Array([2]), -1],
    ['binary', new Uint8Array([1]), new Uint8Array([1, 0]), -1],
    ['date', '2021-01-02', '2020-12-31', 1],
    ['timestamp', new Date(5), new Date(4), 1],
    ['timestamp_ntz', new Date(4), new Date(4), 0],
    ['decimal(10,2)', '1.50', '1.5', 0],
    ['decimal(10,2)', '-1.50', '-1.49', -1],
    ['decimal(38,18)', '0.000000000000000001', '0', 1],
    ['decimal(10,2)', '10.00', '9.99', 1],
    ['decimal(10,2)', '-10.00', '-9.99', -1],
    ['decimal(10,2)', '1.2e1', '12.00', 0],
  ])('orders %s %s vs %s as %d', (type, a, b, expected) => {
    expect(Math.sign(compareValues(type, a, b))).toBe(expected)
  })

  it('orders strings exactly like their UTF-8 bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.string({ unit: 'binary', maxLength: 8 }),
        (a, b) => {
          expect(Math.sign(compareValues('string', a, b))).toBe(Math.sign(utf8Compare(a, b)))
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('gives exactly 0 (not -0) for equal negative decimals of different scales', () => {
    // Found by the property below: -1 × 0 is -0, which Math.sign and Object.is keep.
    expect(Object.is(compareValues('decimal(38,12)', '-1.5', '-1.50'), 0)).toBe(true)
    expect(Object.is(compareValues('decimal(38,12)', '-2', '-2.000'), 0)).toBe(true)
  })

  it('orders decimals like exact rational arithmetic', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }))
      .map(([unscaled, scale]) => {
        const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0')
        const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
        return { text: unscaled < 0n ? `-${text}` : text, unscaled, scale }
      })
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const left = a.unscaled * 10n ** BigInt(b.scale)
        const right = b.unscaled * 10n ** BigInt(a.scale)
        const expected = left < right ? -1 : left > right ? 1 : 0
        expect(Math.sign(compareValues('decimal(38,12)', a.text, b.text))).toBe(expected)
      }),
    )
  })

  it.each<[DataType]>([[{ type: 'array', elementType: 'long', containsNull: true }], ['void']])(
    'throws INVALID_ARGUMENT for %s',
    (type) => {
      expectCode(() => compareValues(type, [], []), 'INVALID_ARGUMENT')
    },
  )
})

describe('valuesEqual', () => {
  const type: DataType = {
    type: 'struct',
    fields: [
      { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
      {
        name: 'm',
        type: { type: 'map', keyType: 'date', valueType: 'double', valueContainsNull: true },
        nullable: true,
        metadata: {},
      },
      {
        name: 'a',
        type: { type: 'array', elementType: 'binary', containsNull: true },
        nullable: true,
        metadata: {},
      },
    ],
  }
  const value = (): unknown => ({
    ts: new Date(1000),
    m: new Map<string, number | null>([
      ['2021-01-01', NaN],
      ['2021-01-02', null],
    ]),
    a: [new Uint8Array([1]), null],
  })

  it('compares nested values deeply', () => {
    expect(valuesEqual(type, value(), value())).toBe(true)
  })

  it.each<[string, (v: Record<string, unknown>) => void]>([
    ['a timestamp differs', (v) => (v.ts = new Date(1001))],
    ['a map value differs', (v) => (v.m as Map<string, unknown>).set('2021-01-02', 1)],
    [
      'a map key differs',
      (v) =>
        (v.m = new Map([
          ['2021-01-03', NaN],
          ['2021-01-02', null],
        ])),
    ],
    ['an array element differs', (v) => (v.a = [new Uint8Array([2]), null])],
    ['an array length differs', (v) => (v.a = [new Uint8Array([1])])],
    ['a field is null on one side', (v) => (v.ts = null)],
  ])('detects that %s', (_label, mutate) => {
    const other = value() as Record<string, unknown>
    mutate(other)
    expect(valuesEqual(type, value(), other)).toBe(false)
  })

  it('treats null and undefined as equal nulls', () => {
    expect(valuesEqual('long', null, undefined)).toBe(true)
    expect(valuesEqual('long', null, 0n)).toBe(false)
  })
})

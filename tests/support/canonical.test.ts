import { writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DataType, StructType } from '../../src/delta/schema/data-type.js'
import { timestampFromMicros } from '../../src/delta/schema/timestamps.js'
import { canonicalFloat, canonicalRows, canonicalValue } from './canonical.js'
import { describeWithOracle } from './oracle.js'
import { cleanupTempDirs, makeTempDir } from './temp.js'

afterAll(cleanupTempDirs)

const field = (name: string, type: DataType) => ({ name, type, nullable: true, metadata: {} })

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    field('s', 'string'),
    field('l', 'long'),
    field('i', 'integer'),
    field('sh', 'short'),
    field('b', 'byte'),
    field('f', 'float'),
    field('d', 'double'),
    field('bo', 'boolean'),
    field('bin', 'binary'),
    field('date', 'date'),
    field('ts', 'timestamp'),
    field('ntz', 'timestamp_ntz'),
    field('dec', 'decimal(10,2)'),
    field('dec0', 'decimal(5,0)'),
    field('st', { type: 'struct', fields: [field('z', 'integer'), field('a', 'string')] }),
    field('arr', { type: 'array', elementType: 'long', containsNull: true }),
    field('m', { type: 'map', keyType: 'string', valueType: 'double', valueContainsNull: true }),
  ],
}

/** Mirrored by `_sample_table()` in tests/support/py/canonical.py. */
const SAMPLE_ROW = {
  s: 'é "q"\n',
  l: -9007199254740993n,
  i: -5,
  sh: 7,
  b: -128,
  f: 0.10000000149011612,
  d: Number.NaN,
  bo: false,
  bin: Uint8Array.from([0, 255, 16]),
  date: '1969-12-31',
  ts: timestampFromMicros(-500n),
  ntz: timestampFromMicros(BigInt(Date.UTC(2024, 1, 29, 12)) * 1000n + 5_999n),
  dec: '-1.50',
  dec0: '12',
  st: { z: 1, a: null },
  arr: [1n, null],
  m: new Map<string, number | null>([
    ['b', -0],
    ['a', Number.POSITIVE_INFINITY],
    ['\u{1F600}', null],
    ['\u{E000}', 1e21],
  ]),
}

describe('canonicalRows', () => {
  it('writes every type in its canonical form, keys sorted by code point', () => {
    expect(canonicalRows([SAMPLE_ROW], SCHEMA)).toEqual([
      '{"arr":["1",null],"b":-128,"bin":"AP8Q","bo":false,"d":"NaN","date":"1969-12-31",' +
        '"dec":"-1.50","dec0":"12","f":0.10000000149011612,"i":-5,"l":"-9007199254740993",' +
        '"m":[["a","Infinity"],["b",0],["\u{E000}",1e+21],["\u{1F600}",null]],' +
        '"ntz":"2024-02-29T12:00:00.005999Z","s":"é \\"q\\"\\n","sh":7,"st":{"a":null,"z":1},' +
        '"ts":"1969-12-31T23:59:59.999500Z"}',
    ])
  })

  it('writes null for null and missing columns', () => {
    const schema: StructType = { type: 'struct', fields: [field('a', 'long'), field('b', 'date')] }
    expect(canonicalRows([{ a: null }], schema)).toEqual(['{"a":null,"b":null}'])
  })

  it('sorts rows by code point', () => {
    const schema: StructType = { type: 'struct', fields: [field('s', 'string')] }
    const rows = ['\u{1F600}', '\u{E000}', 'b', 'a', 'B'].map((s) => ({ s }))
    expect(canonicalRows(rows, schema)).toEqual(
      ['B', 'a', 'b', '\u{E000}', '\u{1F600}'].map((s) => `{"s":"${s}"}`),
    )
  })

  it('keeps numeric-looking field names in code-point order', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [field('b', 'integer'), field('10', 'integer'), field('2', 'integer')],
    }
    expect(canonicalRows([{ b: 1, '10': 2, '2': 3 }], schema)).toEqual(['{"10":2,"2":3,"b":1}'])
  })

  it('orders map entries with equal keys by value', () => {
    const type: DataType = {
      type: 'map',
      keyType: { type: 'array', elementType: 'integer', containsNull: false },
      valueType: 'integer',
      valueContainsNull: false,
    }
    const m = new Map<number[], number>([
      [[1], 9],
      [[1], 3],
      [[0, 5], 1],
    ])
    expect(canonicalValue(m, type)).toBe('[[[0,5],1],[[1],3],[[1],9]]')
  })

  it.each([
    [Number.NaN, '"NaN"'],
    [Number.POSITIVE_INFINITY, '"Infinity"'],
    [Number.NEGATIVE_INFINITY, '"-Infinity"'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [100, '100'],
  ])('formats the float %s as %s', (value, expected) => {
    expect(canonicalFloat(value)).toBe(expected)
  })

  it.each([
    ['-0.00', 'decimal(4,2)', '"0.00"'],
    ['007.10', 'decimal(4,2)', '"7.10"'],
    ['-0', 'decimal(3,0)', '"0"'],
  ] as const)('normalises the decimal %s of %s to %s', (value, type, expected) => {
    expect(canonicalValue(value, type)).toBe(expected)
  })

  it.each([
    ['a long given as a number', 5, 'long'],
    ['an integer given as a bigint', 5n, 'integer'],
    ['a fractional integer', 1.5, 'integer'],
    ['a decimal with too few fraction digits', '1.5', 'decimal(4,2)'],
    ['a decimal given as a number', 1.5, 'decimal(4,1)'],
    ['a date given as a Date', new Date(0), 'date'],
    ['a timestamp given as a string', '1970-01-01T00:00:00.000Z', 'timestamp'],
    ['an invalid Date', new Date(Number.NaN), 'timestamp'],
    ['binary given as an array', [1, 2], 'binary'],
    [
      'a map given as an object',
      { a: 1 },
      { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true },
    ],
  ] as [string, unknown, DataType][])('rejects %s', (_, value, type) => {
    expect(() => canonicalValue(value, type)).toThrow(TypeError)
  })

  it('rejects rows with columns that the schema does not have', () => {
    const schema: StructType = { type: 'struct', fields: [field('a', 'integer')] }
    expect(() => canonicalRows([{ a: 1, extra: 2 }], schema)).toThrow(/extra/)
  })
})

/** Deterministic 64-bit patterns (xorshift64*), so failures reproduce. */
function* bitPatterns(count: number): Generator<bigint> {
  let x = 0x9e3779b97f4a7c15n
  const mask = (1n << 64n) - 1n
  for (let i = 0; i < count; i++) {
    x ^= x >> 12n
    x ^= (x << 25n) & mask
    x ^= x >> 27n
    yield (x * 0x2545f4914f6cdd1dn) & mask
  }
}

describeWithOracle('canonical form agrees between TypeScript and Python', (oracle) => {
  it('formats floats, timestamps, dates and strings identically', async () => {
    const view = new DataView(new ArrayBuffer(8))
    const floats: number[] = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 1e-6, 123e-20, 5e-324, 2 ** 53 + 2]
    for (const bits of bitPatterns(3_000)) {
      view.setBigUint64(0, bits)
      floats.push(view.getFloat64(0))
    }
    for (let i = 0; i < 1_000; i++) floats.push(Math.fround(i / 7 - 50))
    for (const bits of bitPatterns(1_000)) {
      view.setFloat32(0, Number(bits % 1_000_000_007n) / 97)
      floats.push(view.getFloat32(0))
    }
    const hex = floats.map((f) => {
      view.setFloat64(0, f)
      return view.getBigUint64(0).toString(16).padStart(16, '0')
    })
    // Epoch microseconds, up to the limits of a Date (±8.64e15 ms) and past year 9999.
    const timestamps = [
      0n,
      -1n,
      1n,
      -999n,
      -1000n,
      -1001n,
      -86_400_000_000n,
      8_640_000_000_000_000_999n,
      -8_640_000_000_000_000_000n,
      -62_167_219_200_000_001n,
      253_402_300_800_000_000n,
    ]
    for (const bits of bitPatterns(500)) {
      timestamps.push((bits % 17_280_000_000_000_000_001n) - 8_640_000_000_000_000_000n)
    }
    const days = [0, -1, -719_528, -719_529, 2_932_896, 2_932_897, -100_000_000, 100_000_000]
    const strings = [
      '',
      'plain',
      '"\\/',
      '\u0000\u0001\u001f\u007f\b\f\n\r\t',
      'é\u{1F600}\u2028',
      '\uD800x',
      'x\uDC00',
    ]

    const dir = await makeTempDir('canonical-')
    const input = path.join(dir, 'input.json')
    await writeFile(
      input,
      JSON.stringify({
        floats: hex,
        timestamps_us: timestamps.map((us) => String(us)),
        days,
        strings,
      }),
    )
    const py = await oracle.runJson<{
      floats: string[]
      timestamps: string[]
      dates: string[]
      strings: string[]
      sample_rows: string[]
    }>('tests/support/py/canonical.py', ['--selftest', input])

    expect(py.floats).toEqual(floats.map(canonicalFloat))
    expect(py.timestamps).toEqual(
      timestamps.map((us) => canonicalValue(timestampFromMicros(us), 'timestamp').slice(1, -1)),
    )
    expect(py.dates).toEqual(days.map((d) => new Date(d * 86_400_000).toISOString().split('T')[0]))
    expect(py.strings).toEqual(strings.map((s) => JSON.stringify(s)))
    expect(py.sample_rows).toEqual(canonicalRows([SAMPLE_ROW], SCHEMA))
  })
})

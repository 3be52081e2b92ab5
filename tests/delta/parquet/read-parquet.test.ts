import * as zlib from 'node:zlib'
import { ByteWriter, parquetWrite } from 'hyparquet-writer'
import type { SchemaElement } from 'hyparquet'
import type { ColumnSource } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { READABLE_CODECS } from '../../../src/delta/parquet/decompressors.js'
import {
  readParquetMetadata,
  readParquetRows,
  writeParquet,
} from '../../../src/delta/parquet/index.js'
import type { DataType } from '../../../src/delta/schema/data-type.js'
import { LEGACY_FILES } from './legacy-files.js'
import { patchFirstStream } from './page-streams.js'
import { indexOf, rewriteFooter } from './rewrite-footer.js'
import { field, struct } from './sample-rows.js'

const FILE = 'part-00000-test.snappy.parquet'

async function expectReadError(
  promise: Promise<unknown>,
  code: string,
  ...fragments: string[]
): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeltaError)
  expect((error as DeltaError).code).toBe(code)
  for (const fragment of fragments) expect((error as DeltaError).message).toContain(fragment)
}

const listOf = (elementType: DataType, containsNull = true): DataType => ({
  type: 'array',
  elementType,
  containsNull,
})
const mapOf = (keyType: DataType, valueType: DataType): DataType => ({
  type: 'map',
  keyType,
  valueType,
  valueContainsNull: true,
})

/** Replaces one schema element by name (keeping its position). */
function patchElement(name: string, patch: Partial<SchemaElement>) {
  return (elements: SchemaElement[]): SchemaElement[] => {
    const i = indexOf(elements, name)
    elements[i] = { ...elements[i]!, ...patch }
    return elements
  }
}

describe('readParquetRows', () => {
  describe('schema evolution', () => {
    const fileSchema = struct(
      field('id', 'long'),
      field('Name', 'string'),
      field('st', struct(field('a', 'integer'), field('extra', 'string'))),
      field('_change_type', 'string'),
    )
    const file = writeParquet(
      [
        { id: 1n, Name: 'x', st: { a: 1, extra: 'e' }, _change_type: 'insert' },
        { id: 2n, Name: null, st: null, _change_type: 'delete' },
      ],
      fileSchema,
    )
    const tableSchema = struct(
      field('id', 'long'),
      field('name', 'string'),
      field('st', struct(field('a', 'integer'), field('b', 'date'))),
      field('added', listOf('string')),
    )

    it('reads missing columns and struct fields as null, ignores extra columns', async () => {
      expect(await readParquetRows(file, { schema: tableSchema, fileName: FILE })).toEqual([
        { id: 1n, name: 'x', st: { a: 1, b: null }, added: null },
        { id: 2n, name: null, st: null, added: null },
      ])
    })

    it('returns exactly the requested columns in the requested order', async () => {
      const rows = await readParquetRows(file, { schema: tableSchema, columns: ['added', 'id'] })
      expect(rows).toEqual([
        { added: null, id: 1n },
        { added: null, id: 2n },
      ])
      expect(Object.keys(rows[0]!)).toEqual(['added', 'id'])
    })

    it('returns one empty object per row when no column is requested', async () => {
      expect(await readParquetRows(file, { schema: tableSchema, columns: [] })).toEqual([{}, {}])
    })

    it('rejects a requested column that is not in the Delta schema', async () => {
      await expectReadError(
        readParquetRows(file, { schema: tableSchema, columns: ['nope'], fileName: FILE }),
        'COLUMN_NOT_FOUND',
        FILE,
        '"nope"',
      )
    })

    it('prefers the exact name over a case-insensitive match', async () => {
      const schema = struct(field('a', 'long'), field('A', 'string'))
      const both = writeParquet([{ a: 1n, A: 'x' }], schema)
      expect(await readParquetRows(both, { schema })).toEqual([{ a: 1n, A: 'x' }])
    })
  })

  describe('type widening', () => {
    const fileSchema = struct(
      field('b', 'byte'),
      field('s', 'short'),
      field('i', 'integer'),
      field('f', 'float'),
      field('d', 'date'),
      field('dec', 'decimal(5,2)'),
      field('l', 'long'),
      field('nested', listOf(struct(field('x', 'integer')))),
    )
    const file = writeParquet(
      [
        { b: -128, s: -32768, i: -2147483648, f: 0.5, d: '1969-12-31', dec: '-123.45', l: -5n },
        {
          b: 1,
          s: 2,
          i: 3,
          f: null,
          d: '2024-02-29',
          dec: '0.01',
          l: 2n ** 62n,
          nested: [{ x: 7 }],
        },
      ],
      fileSchema,
    )

    it('widens integers, floats, dates and decimals to the Delta type', async () => {
      const schema = struct(
        field('b', 'short'),
        field('s', 'integer'),
        field('i', 'long'),
        field('f', 'double'),
        field('d', 'timestamp_ntz'),
        field('dec', 'decimal(10,4)'),
        field('l', 'decimal(25,3)'),
        field('nested', listOf(struct(field('x', 'long')))),
      )
      expect(await readParquetRows(file, { schema })).toEqual([
        {
          b: -128,
          s: -32768,
          i: -2147483648n,
          f: 0.5,
          d: new Date('1969-12-31T00:00:00Z'),
          dec: '-123.4500',
          l: '-5.000',
          nested: null,
        },
        {
          b: 1,
          s: 2,
          i: 3n,
          f: null,
          d: new Date('2024-02-29T00:00:00Z'),
          dec: '0.0100',
          l: '4611686018427387904.000',
          nested: [{ x: 7n }],
        },
      ])
    })

    it('widens byte, short and integer columns to double and decimal', async () => {
      const schema = struct(
        field('b', 'double'),
        field('s', 'decimal(5,0)'),
        field('i', 'decimal(12,2)'),
      )
      expect(await readParquetRows(file, { schema, columns: ['b', 's', 'i'] })).toEqual([
        { b: -128, s: '-32768', i: '-2147483648.00' },
        { b: 1, s: '2', i: '3.00' },
      ])
    })

    const narrowing: [string, DataType][] = [
      ['l', 'integer'],
      ['i', 'short'],
      ['s', 'byte'],
      ['l', 'double'],
      ['f', 'long'],
      ['dec', 'decimal(4,2)'],
      ['dec', 'decimal(10,1)'],
      ['i', 'decimal(9,0)'],
      ['d', 'timestamp'],
      ['l', 'timestamp'],
      ['i', 'date'],
      ['i', 'string'],
      ['d', 'string'],
      ['l', 'boolean'],
      ['f', 'binary'],
      ['i', struct(field('x', 'long'))],
      ['i', listOf('long')],
      ['nested', 'string'],
      ['nested', struct(field('x', 'long'))],
      ['nested', mapOf('string', 'long')],
    ]
    it.each(narrowing)('rejects column %s read as %j with SCHEMA_MISMATCH', async (name, type) => {
      const schema = struct(field(name, type))
      await expectReadError(
        readParquetRows(file, { schema, fileName: FILE }),
        'SCHEMA_MISMATCH',
        `parquet: ${FILE}: column "${name}"`,
      )
    })
  })

  describe('legacy list and map layouts', () => {
    it.each(LEGACY_FILES.map((f) => [f.name, f] as const))('reads a %s', async (_, legacy) => {
      expect(await readParquetRows(legacy.file, { schema: legacy.schema })).toEqual(legacy.rows)
    })

    it('keeps map keys typed, in file order, including keys that look alike as strings', async () => {
      const maps = [
        {
          m: new Map<number, string | null>([
            [2, 'b'],
            [-1, null],
            [10, 'x'],
          ]),
        },
      ]
      const schema = struct(field('m', mapOf('integer', 'string')))
      const [row] = await readParquetRows(writeParquet(maps, schema), { schema })
      expect([...(row!.m as Map<number, string>).entries()]).toEqual([
        [2, 'b'],
        [-1, null],
        [10, 'x'],
      ])
    })
  })

  describe('physical encodings of timestamps and decimals', () => {
    const longs = [{ t: -1n }, { t: -1_000_001n }, { t: 1_700_000_000_123_999n }, { t: null }]
    const longFile = writeParquet(longs, struct(field('t', 'long')))
    it.each([
      [
        'MILLIS',
        [
          '1969-12-31T23:59:59.999Z',
          '1969-12-31T23:43:19.999Z',
          new Date(1_700_000_000_123_999).toISOString(),
          null,
        ],
      ],
      [
        'MICROS',
        ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:58.999Z', '2023-11-14T22:13:20.123Z', null],
      ],
      [
        'NANOS',
        ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.998Z', '1970-01-20T16:13:20.000Z', null],
      ],
    ] as const)('reads INT64 TIMESTAMP(%s), flooring to milliseconds', async (unit, expected) => {
      const file = rewriteFooter(longFile, {
        schema: patchElement('t', {
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit },
        }),
        paths: {},
      })
      const rows = await readParquetRows(file, { schema: struct(field('t', 'timestamp')) })
      expect(rows.map((r) => (r.t as Date | null)?.toISOString() ?? null)).toEqual(expected)
    })

    it('rejects a timestamp beyond the range of a Date with PARQUET_ERROR', async () => {
      const file = rewriteFooter(
        writeParquet([{ t: 9_000_000_000_000_000n }], struct(field('t', 'long'))),
        {
          schema: patchElement('t', { converted_type: 'TIMESTAMP_MILLIS' }),
          paths: {},
        },
      )
      await expectReadError(
        readParquetRows(file, { schema: struct(field('t', 'timestamp')), fileName: FILE }),
        'PARQUET_ERROR',
        'column "t"',
      )
    })

    it('reads MILLIS timestamps within range, before and after the epoch', async () => {
      const file = rewriteFooter(
        writeParquet([{ t: -1n }, { t: 1_000n }], struct(field('t', 'long'))),
        {
          schema: patchElement('t', { converted_type: 'TIMESTAMP_MILLIS' }),
          paths: {},
        },
      )
      const rows = await readParquetRows(file, { schema: struct(field('t', 'timestamp_ntz')) })
      expect(rows).toEqual([{ t: new Date(-1) }, { t: new Date(1000) }])
    })

    it('rejects an INT64 without TIMESTAMP annotation for a timestamp column', async () => {
      await expectReadError(
        readParquetRows(longFile, { schema: struct(field('t', 'timestamp')), fileName: FILE }),
        'SCHEMA_MISMATCH',
        'column "t"',
        'INT64',
      )
    })

    it('reads DECIMAL stored as variable-length BYTE_ARRAY big-endian integers', async () => {
      const bytes = [
        [0x80],
        [0xff, 0x85],
        [],
        [0x00, 0xff],
        [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      ]
      const file = rewriteFooter(
        writeParquet(
          bytes.map((b) => ({ d: Uint8Array.from(b) })),
          struct(field('d', 'binary')),
        ),
        {
          schema: patchElement('d', {
            converted_type: 'DECIMAL',
            precision: 30,
            scale: 2,
            logical_type: { type: 'DECIMAL', precision: 30, scale: 2 },
          }),
          paths: {},
        },
      )
      const rows = await readParquetRows(file, { schema: struct(field('d', 'decimal(31,3)')) })
      expect(rows.map((r) => r.d)).toEqual([
        '-1.280',
        '-1.230',
        '0.000',
        '2.550',
        '23611832414348226068.470',
      ])
    })

    it('decodes UTF8 strings and returns unannotated byte arrays as exact bytes', async () => {
      const invalidUtf8 = Uint8Array.from([0xc3, 0x28, 0xff, 0x00])
      const schema = struct(field('s', 'string'), field('b', 'binary'))
      const file = writeParquet([{ s: '\u{1F600}', b: invalidUtf8 }], schema)
      const [row] = await readParquetRows(file, { schema })
      expect(row).toEqual({ s: '\u{1F600}', b: invalidUtf8 })
      expect(row!.b).toBeInstanceOf(Uint8Array)
    })
  })

  describe('compression codecs', () => {
    const schema = struct(field('s', 'string'), field('l', 'long'))
    const rows = Array.from({ length: 300 }, (_, i) => ({ s: `value ${i % 7}`, l: BigInt(i) }))
    /** LZ4 block holding the input as one literal run: valid, if uncompressed. */
    const lz4Literals = (input: Uint8Array): Uint8Array => {
      const extra: number[] = []
      if (input.length >= 15) {
        let rest = input.length - 15
        for (; rest >= 255; rest -= 255) extra.push(255)
        extra.push(rest)
      }
      return Uint8Array.from([Math.min(input.length, 15) << 4, ...extra, ...input])
    }
    const writeWith = (codec: 'GZIP' | 'BROTLI' | 'LZ4_RAW' | 'ZSTD' | 'LZO'): Uint8Array => {
      const writer = new ByteWriter()
      const columnData: ColumnSource[] = [
        { name: 's', data: rows.map((r) => r.s), type: 'STRING' },
        { name: 'l', data: rows.map((r) => r.l), type: 'INT64' },
      ]
      void parquetWrite({
        writer,
        columnData,
        codec,
        compressors: {
          GZIP: (b) => zlib.gzipSync(b),
          BROTLI: (b) => zlib.brotliCompressSync(b),
          LZ4_RAW: lz4Literals,
          ZSTD: (b) => b,
          LZO: (b) => b,
        },
      })
      return writer.getBytes()
    }

    it.each(['GZIP', 'BROTLI', 'LZ4_RAW'] as const)('reads %s pages', async (codec) => {
      const file = writeWith(codec)
      expect(readParquetMetadata(file).rowGroups[0]!.columns[0]!.codec).toBe(codec)
      expect(await readParquetRows(file, { schema })).toEqual(rows)
    })

    it('rejects an unsupported codec with PARQUET_ERROR naming the codec', async () => {
      await expectReadError(
        readParquetRows(writeWith('LZO'), { schema, fileName: FILE }),
        'PARQUET_ERROR',
        FILE,
        'LZO',
      )
    })

    it('reads ZSTD on every supported runtime (delta-rs and Polars write it by default)', () => {
      expect(READABLE_CODECS.has('ZSTD')).toBe(true)
    })

    it('reports a corrupt ZSTD page as a PARQUET_ERROR naming the codec', async () => {
      await expectReadError(readParquetRows(writeWith('ZSTD'), { schema }), 'PARQUET_ERROR', 'ZSTD')
    })
  })

  describe('corrupt files', () => {
    const schema = struct(field('s', 'string'))
    const good = writeParquet(
      Array.from({ length: 100 }, (_, i) => ({ s: `row ${i}` })),
      schema,
    )
    it.each([
      ['empty input', new Uint8Array()],
      ['bytes that are not Parquet', new TextEncoder().encode('{"add": {}}\n{"remove": {}}')],
      ['a truncated file', good.subarray(0, good.length - 10)],
      ['a file missing its head', good.subarray(20)],
    ])('rejects %s with PARQUET_ERROR naming the file', async (_, data) => {
      await expectReadError(
        readParquetRows(data, { schema, fileName: FILE }),
        'PARQUET_ERROR',
        FILE,
      )
    })

    it('rejects corrupt page data with PARQUET_ERROR', async () => {
      const broken = Uint8Array.from(good)
      broken.fill(0xff, 4, 60)
      await expectReadError(
        readParquetRows(broken, { schema, fileName: FILE }),
        'PARQUET_ERROR',
        FILE,
      )
    })

    describe('a list column decoding to more or fewer rows than its row group holds', () => {
      // hyparquet clipped the leaves of a nested column to their row group, and placed each
      // piece where its own row count had reached: the values of other rows were read instead.
      const lists = struct(field('id', 'long', false), field('l', listOf('long')))
      const rows = Array.from({ length: 300 }, (_, i) => ({
        id: BigInt(i),
        l: Array.from({ length: 1 + ((i * 7) % 3) }, (_, j) => BigInt(j)),
      }))
      const file = writeParquet(rows, lists, { rowGroupSize: 100 })

      /** Turns one repetition level of the first page (after its first slot) from `from`. */
      function flipRepetitionLevel(from: number): Uint8Array {
        return patchFirstStream(file, 'l.list.element', 'levels', 2, (bytes) => {
          // A one-byte header of a bit-packed run of 1-bit levels, then the first eight.
          expect((bytes[0] as number) & 0x81).toBe(1)
          const bit = [1, 2, 3, 4, 5, 6, 7].find((b) => (((bytes[1] as number) >> b) & 1) === from)
          bytes[1] = (bytes[1] as number) ^ (1 << (bit as number))
        })
      }

      it('reads the undamaged file', async () => {
        expect(await readParquetRows(file, { schema: lists })).toEqual(rows)
      })

      it.each([
        ['one more row (a row starts inside a list)', 1],
        ['one row fewer (a list continues into the next row)', 0],
      ])('rejects %s with PARQUET_ERROR naming the leaf', async (_, from) => {
        await expectReadError(
          readParquetRows(flipRepetitionLevel(from), { schema: lists, fileName: FILE }),
          'PARQUET_ERROR',
          FILE,
          'l.list.element',
          'row group 0',
        )
      })
    })
  })
})

describe('readParquetMetadata', () => {
  it('reports rows, leaf columns, row groups and key/value metadata', () => {
    const schema = struct(
      field('id', 'long', false),
      field('tags', {
        type: 'map',
        keyType: 'string',
        valueType: 'string',
        valueContainsNull: true,
      }),
    )
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: BigInt(i), tags: null }))
    const metadata = readParquetMetadata(writeParquet(rows, schema, { rowGroupSize: 3 }))
    expect(metadata).toMatchObject({
      numRows: 5,
      createdBy: 'polarway-lakehouse',
      topLevelColumns: ['id', 'tags'],
      columns: [
        { path: ['id'], physicalType: 'INT64', repetition: 'REQUIRED' },
        { path: ['tags', 'key_value', 'key'], physicalType: 'BYTE_ARRAY', repetition: 'REQUIRED' },
        {
          path: ['tags', 'key_value', 'value'],
          physicalType: 'BYTE_ARRAY',
          repetition: 'OPTIONAL',
        },
      ],
    })
    expect(metadata.rowGroups.map((g) => g.numRows)).toEqual([3, 2])
    expect(metadata.rowGroups[0]!.columns[0]).toMatchObject({ codec: 'SNAPPY', nullCount: 0 })
  })

  it('rejects a file that is not Parquet', () => {
    expect(() => readParquetMetadata(new Uint8Array(16), FILE)).toThrow(DeltaError)
  })
})

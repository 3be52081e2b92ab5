import fc from 'fast-check'
import { parquetMetadata, snappyUncompress } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { describe, expect, it } from 'vitest'
import { chunkRange } from '../../../src/delta/parquet/check-pages.js'
import {
  readParquetRows,
  writeParquet,
  writeParquetYielding,
} from '../../../src/delta/parquet/index.js'
import { snappyCompress } from '../../../src/delta/parquet/snappy.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { ALL_TYPES_SCHEMA, EDGE_ROWS, asReadBack, field, struct } from './sample-rows.js'

/** The primitive columns of {@link ALL_TYPES_SCHEMA}. */
const FLAT_SCHEMA: StructType = struct(
  ...ALL_TYPES_SCHEMA.fields.filter((f) => typeof f.type === 'string'),
)
const FLAT_NAMES = FLAT_SCHEMA.fields.map((f) => f.name)

function flat(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(FLAT_NAMES.map((n) => [n, row[n]]))
}

const MIN_DAY = -719_162 // 0001-01-01
const MAX_DAY = 2_932_896 // 9999-12-31
const MIN_MS = MIN_DAY * 86_400_000
const MAX_MS = (MAX_DAY + 1) * 86_400_000 - 1

function decimal(precision: number, scale: number): fc.Arbitrary<string> {
  const bound = 10n ** BigInt(precision) - 1n
  return fc.bigInt({ min: -bound, max: bound }).map((u) => {
    const digits = (u < 0n ? -u : u).toString().padStart(scale + 1, '0')
    const sign = u < 0n ? '-' : ''
    return scale === 0
      ? `${sign}${digits}`
      : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  })
}

const VALUES: Record<string, fc.Arbitrary<unknown>> = {
  s: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.string({ unit: 'grapheme', minLength: 60, maxLength: 90 }),
  ),
  l: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  i: fc.integer(),
  sh: fc.integer({ min: -32_768, max: 32_767 }),
  by: fc.integer({ min: -128, max: 127 }),
  fl: fc.float(),
  db: fc.double(),
  bo: fc.boolean(),
  bi: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 60, maxLength: 90 })),
  d: fc
    .integer({ min: MIN_DAY, max: MAX_DAY })
    .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)),
  ts: fc.integer({ min: MIN_MS, max: MAX_MS }).map((t) => new Date(t)),
  ntz: fc.integer({ min: MIN_MS, max: MAX_MS }).map((t) => new Date(t)),
  d9: decimal(9, 2),
  d18: decimal(18, 4),
  d38: decimal(38, 18),
  d380: decimal(38, 0),
  d10: decimal(10, 3),
}

const ROW = fc.record(
  Object.fromEntries(
    FLAT_SCHEMA.fields.map((f) => {
      const values = VALUES[f.name] as fc.Arbitrary<unknown>
      return [f.name, f.nullable ? fc.option(values, { nil: null, freq: 4 }) : values]
    }),
  ),
)

const PAGE_TYPES = ['DATA_PAGE', 'INDEX_PAGE', 'DICTIONARY_PAGE', 'DATA_PAGE_V2']

/** The type of each column chunk's first page (the first field of its Thrift header). */
function pageTypes(bytes: Uint8Array): string[] {
  return parquetMetadata(bytes).row_groups.flatMap((group) =>
    group.columns.map((c) => {
      const start = Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset)
      expect(bytes[start]).toBe(0x15) // field 1, i32
      return PAGE_TYPES[bytes[start + 1]! >> 1]!
    }),
  )
}

/** Every column but the list of lists (repetition level 2), which the general writer takes. */
const NESTED_SCHEMA: StructType = struct(
  ...ALL_TYPES_SCHEMA.fields.filter((f) => f.name !== 'nested'),
)

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null, freq: 4 })
const small = fc.array
const NESTED_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  st: fc.record({ x: opt(fc.integer()), y: VALUES.s!, z: opt(VALUES.d!) }),
  arr: small(opt(VALUES.s!), { maxLength: 4 }),
  arrl: small(VALUES.l!, { maxLength: 4 }),
  arrst: small(opt(fc.record({ p: opt(VALUES.l!), q: opt(decimal(5, 1)) })), { maxLength: 3 }),
  mp: small(fc.tuple(VALUES.s!, opt(VALUES.l!)), { maxLength: 3 }).map((e) => new Map(e)),
  mpi: small(fc.tuple(fc.integer(), opt(VALUES.ts!)), { maxLength: 3 }).map((e) => new Map(e)),
  mps: small(fc.tuple(VALUES.s!, opt(fc.record({ a: opt(fc.double()), b: opt(VALUES.bi!) }))), {
    maxLength: 3,
  }).map((e) => new Map(e)),
}

const NESTED_ROW = fc.record(
  Object.fromEntries(
    NESTED_SCHEMA.fields.map((f) => {
      const values = (VALUES[f.name] ?? NESTED_VALUES[f.name]) as fc.Arbitrary<unknown>
      return [f.name, f.nullable ? opt(values) : values]
    }),
  ),
)

function statistics(bytes: Uint8Array): unknown[] {
  return parquetMetadata(bytes).row_groups.map((group) =>
    group.columns.map((c) => c.meta_data!.statistics),
  )
}

interface PageInfo {
  readonly type: string
  readonly values: number
  readonly encoding: string | undefined
  /** The page's bytes, uncompressed. */
  readonly body: Uint8Array
}

/** Every page of every column chunk, per row group and column, from the page headers. */
function pages(bytes: Uint8Array): PageInfo[][][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return parquetMetadata(bytes).row_groups.map((group) =>
    group.columns.map((c) => {
      const { start, end } = chunkRange(c.meta_data!)
      const reader = { view, offset: start }
      const out: PageInfo[] = []
      while (reader.offset < end) {
        const header = parquetHeader(reader)
        const body = new Uint8Array(header.uncompressed_page_size)
        snappyUncompress(
          bytes.subarray(reader.offset, reader.offset + header.compressed_page_size),
          body,
        )
        out.push({
          body,
          type: header.type,
          values:
            header.data_page_header?.num_values ?? header.dictionary_page_header?.num_values ?? 0,
          encoding: header.data_page_header?.encoding ?? header.dictionary_page_header?.encoding,
        })
        reader.offset += header.compressed_page_size
      }
      return out
    }),
  )
}

describe("the engine's Parquet writer, compact layout (small files)", () => {
  it('writes small files of flat schemas, in one row group with v1 pages', () => {
    const bytes = writeParquet(EDGE_ROWS.map(flat), FLAT_SCHEMA)
    const metadata = parquetMetadata(bytes)
    expect(metadata.row_groups).toHaveLength(1)
    expect(pageTypes(bytes)).toEqual(FLAT_NAMES.map(() => 'DATA_PAGE'))
    for (const column of metadata.row_groups[0]!.columns) {
      expect(column.meta_data!.codec).toBe('SNAPPY')
      expect(column.meta_data!.encodings[0]).toBe('PLAIN')
    }
  })

  it('round-trips rows and writes the statistics the general writer writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ROW, { minLength: 1, maxLength: 24 }), async (rows) => {
        const small = writeParquet(rows, FLAT_SCHEMA)
        const general = writeParquet(rows, FLAT_SCHEMA, { generalWriter: true })
        expect(await readParquetRows(small, { schema: FLAT_SCHEMA })).toEqual(asReadBack(rows))
        expect(pageTypes(general)).not.toContain('DATA_PAGE')
        expect(statistics(small)).toEqual(statistics(general))
      }),
      { numRuns: 150 },
    )
  })

  it('writes structs, lists and maps with one level of repetition like the general writer', async () => {
    const edge = EDGE_ROWS.map((r) => {
      const { nested: _nested, ...rest } = r
      return rest
    })
    await fc.assert(
      fc.asyncProperty(fc.array(NESTED_ROW, { maxLength: 12 }), async (generated) => {
        const rows = [...edge, ...generated]
        const single = writeParquet(rows, NESTED_SCHEMA)
        const general = writeParquet(rows, NESTED_SCHEMA, { generalWriter: true })
        expect(pageTypes(single).every((t) => t === 'DATA_PAGE')).toBe(true)
        expect(await readParquetRows(single, { schema: NESTED_SCHEMA })).toEqual(
          await readParquetRows(general, { schema: NESTED_SCHEMA }),
        )
        expect(await readParquetRows(single, { schema: NESTED_SCHEMA })).toEqual(asReadBack(rows))
        expect(statistics(single)).toEqual(statistics(general))
      }),
      { numRuns: 100 },
    )
  })

  it('writes nothing for null-only columns but their null count', () => {
    const schema = struct(field('a', 'long'), field('s', 'string'), field('b', 'boolean'))
    const bytes = writeParquet([{ a: null, s: null, b: null }, {}], schema)
    expect(statistics(bytes)).toEqual([
      [{ null_count: 2n }, { null_count: 2n }, { null_count: 2n }],
    ])
  })

  it('leaves lists of lists to the general writer', () => {
    const nested = writeParquet(EDGE_ROWS, ALL_TYPES_SCHEMA)
    // The general writer's pages are v2 (or dictionaries), the engine's v1.
    expect(pageTypes(nested)).not.toContain('DATA_PAGE')
  })
})

/**
 * The first repetition level of a data page v1 (its levels come first: a 4-byte length, then
 * the hybrid encoding, whose first run is RLE (header bit 0 clear, value next) or bit-packed
 * (the value in the low bits of the next byte; levels here take at most 1 bit).
 */
function firstLevel(body: Uint8Array): number {
  let at = 4
  let header = 0
  for (let shift = 0; ; shift += 7) {
    const b = body[at++]!
    header |= (b & 0x7f) << shift
    if (b < 0x80) break
  }
  return header & 1 ? body[at]! & 1 : body[at]!
}

describe("the engine's Parquet writer, paged layout (larger files)", () => {
  /** Few rows per group and page, so that small generated inputs cross both boundaries. */
  const PAGED = { singlePageMaxRows: 0, rowGroupSize: 7, pageMaxRows: 3 } as const

  it("round-trips rows across row groups and pages, with the general writer's statistics", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ROW, { minLength: 1, maxLength: 40 }), async (rows) => {
        const paged = writeParquet(rows, FLAT_SCHEMA, PAGED)
        const general = writeParquet(rows, FLAT_SCHEMA, { generalWriter: true, rowGroupSize: 7 })
        expect(await readParquetRows(paged, { schema: FLAT_SCHEMA })).toEqual(asReadBack(rows))
        expect(parquetMetadata(paged).row_groups.map((g) => Number(g.num_rows))).toEqual(
          parquetMetadata(general).row_groups.map((g) => Number(g.num_rows)),
        )
        expect(statistics(paged)).toEqual(statistics(general))
        for (const chunk of pages(paged).flat()) {
          const data = chunk.filter((p) => p.type === 'DATA_PAGE')
          expect(data.length).toBeGreaterThan(0)
          expect(data.every((p) => p.values <= 3)).toBe(true)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('cuts pages of repeated columns at row boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(NESTED_ROW, { minLength: 1, maxLength: 30 }), async (rows) => {
        const paged = writeParquet(rows, NESTED_SCHEMA, PAGED)
        const general = writeParquet(rows, NESTED_SCHEMA, { generalWriter: true, rowGroupSize: 7 })
        expect(await readParquetRows(paged, { schema: NESTED_SCHEMA })).toEqual(asReadBack(rows))
        expect(statistics(paged)).toEqual(statistics(general))
        const metadata = parquetMetadata(paged)
        pages(paged).forEach((group, g) =>
          group.forEach((chunk, c) => {
            const path = metadata.row_groups[g]!.columns[c]!.meta_data!.path_in_schema
            if (!path.includes('list') && !path.includes('key_value')) return
            for (const page of chunk) {
              if (page.type === 'DATA_PAGE') expect(firstLevel(page.body)).toBe(0)
            }
          }),
        )
      }),
      { numRuns: 100 },
    )
  })

  it('dictionary-encodes strings inside structs, lists and maps across pages and row groups', async () => {
    const word = fc.constantFrom('', 'a', 'bb', 'ccc', 'ü', '😀', 'x'.repeat(70))
    const row = fc.record({
      // Never null: at least 64 values of few distinct strings, so one dictionary at least.
      s: word,
      st: opt(fc.record({ x: opt(fc.integer()), y: word, z: opt(VALUES.d!) })),
      arr: opt(fc.array(opt(word), { maxLength: 4 })),
      mp: opt(fc.array(fc.tuple(word, opt(VALUES.l!)), { maxLength: 3 }).map((e) => new Map(e))),
    })
    const schema = struct(
      ...NESTED_SCHEMA.fields.filter((f) => ['s', 'st', 'arr', 'mp'].includes(f.name)),
    )
    const options = { singlePageMaxRows: 0, rowGroupSize: 90, pageMaxRows: 25 } as const
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 64, maxLength: 300 }), async (rows) => {
        const paged = writeParquet(rows, schema, options)
        const general = writeParquet(rows, schema, { generalWriter: true, rowGroupSize: 90 })
        expect(await readParquetRows(paged, { schema })).toEqual(asReadBack(rows))
        expect(statistics(paged)).toEqual(statistics(general))
        const kinds = pages(paged).flatMap((group) => group.flatMap((chunk) => chunk))
        expect(kinds.some((p) => p.encoding === 'RLE_DICTIONARY')).toBe(true)
      }),
      { numRuns: 40 },
    )
  })

  it('dictionary-encodes string columns with repeated values, and only those', async () => {
    const schema = struct(
      field('role', 'string'),
      field('id', 'string'),
      field('bin', 'binary'),
      field('n', 'long'),
    )
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      role: i % 11 === 0 ? null : ['admin', 'trader', 'registered'][i % 3],
      id: `user-${i}`,
      bin: Uint8Array.of(i % 3),
      n: BigInt(i % 3),
    }))
    const bytes = writeParquet(rows, schema, { pageMaxRows: 1000 })
    const [[role, id, bin, n]] = pages(bytes) as [PageInfo[][]]
    expect(role![0]).toMatchObject({ type: 'DICTIONARY_PAGE', values: 3, encoding: 'PLAIN' })
    expect(role!.slice(1).map((p) => [p.type, p.values, p.encoding])).toEqual(
      Array.from({ length: 5 }, () => ['DATA_PAGE', 1000, 'RLE_DICTIONARY']),
    )
    for (const plain of [id!, bin!, n!]) {
      expect(plain.map((p) => [p.type, p.encoding])).toEqual(
        Array.from({ length: 5 }, () => ['DATA_PAGE', 'PLAIN']),
      )
    }
    const meta = parquetMetadata(bytes).row_groups[0]!.columns[0]!.meta_data!
    expect(meta.encodings).toEqual(['PLAIN', 'RLE', 'RLE_DICTIONARY'])
    expect(meta.statistics).toMatchObject({ null_count: 455n })
    expect(await readParquetRows(bytes, { schema })).toEqual(rows)
  })

  it('cuts pages at about 1 MiB of values and row groups at rowGroupSize', async () => {
    const schema = struct(field('text', 'string'), field('n', 'integer'))
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      text: `${i}:${'x'.repeat(1000)}`,
      n: i,
    }))
    const bytes = writeParquet(rows, schema, { rowGroupSize: 2000 })
    const groups = pages(bytes)
    expect(parquetMetadata(bytes).row_groups.map((g) => Number(g.num_rows))).toEqual([2000, 1000])
    // 2000 values of ~1 KB: two pages; the integers' 8 KB: one page.
    expect(groups[0]!.map((chunk) => chunk.map((p) => p.values))).toEqual([[1000, 1000], [2000]])
    expect(groups[1]!.map((chunk) => chunk.map((p) => p.values))).toEqual([[1000], [1000]])
    expect(await readParquetRows(bytes, { schema })).toEqual(rows)
  })
})

describe('writeParquetYielding', () => {
  it('writes the same bytes as writeParquet, letting the event loop run between columns', async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => flat(EDGE_ROWS[i % 4]!))
    const order: string[] = []
    setImmediate(() => order.push('event loop'))
    const bytes = await writeParquetYielding(rows, FLAT_SCHEMA, { singlePageMaxRows: 50_000 })
    order.push('written')
    expect(order).toEqual(['event loop', 'written'])
    expect(bytes).toEqual(writeParquet(rows, FLAT_SCHEMA, { singlePageMaxRows: 50_000 }))
  })

  it('writes a small file without yielding', async () => {
    const order: string[] = []
    setImmediate(() => order.push('event loop'))
    await writeParquetYielding(EDGE_ROWS.map(flat), FLAT_SCHEMA)
    order.push('written')
    expect(order[0]).toBe('written')
  })

  it('rejects invalid rows like writeParquet', async () => {
    await expect(writeParquetYielding([{ l: null }], FLAT_SCHEMA)).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
    })
  })
})

describe('snappyCompress', () => {
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 400 }))
      .map(([unit, times]) => {
        const out = new Uint8Array(unit.length * times)
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length)
        return out
      }),
  )

  it('round-trips through a Snappy decoder', () => {
    fc.assert(
      fc.property(input, (bytes) => {
        const sink = { buf: new Uint8Array(0), length: 0, ensure: grow }
        snappyCompress(bytes, sink)
        const out = new Uint8Array(bytes.length)
        snappyUncompress(sink.buf.subarray(0, sink.length), out)
        expect(out).toEqual(bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('compresses repeated bytes', () => {
    const bytes = new TextEncoder().encode('event from producer 7;'.repeat(100))
    const sink = { buf: new Uint8Array(0), length: 0, ensure: grow }
    expect(snappyCompress(bytes, sink)).toBeLessThan(bytes.length / 10)
  })
})

function grow(this: { buf: Uint8Array; length: number }, n: number): void {
  if (this.length + n <= this.buf.length) return
  const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n))
  next.set(this.buf.subarray(0, this.length))
  this.buf = next
}

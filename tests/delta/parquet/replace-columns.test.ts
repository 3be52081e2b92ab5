import fc from 'fast-check'
import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { chunkRange } from '../../../src/delta/parquet/check-pages.js'
import {
  readParquetRows,
  replaceColumns,
  writeParquet,
  type WriteParquetOptions,
} from '../../../src/delta/parquet/index.js'
import { writeDirectGroups, type CopiedChunk } from '../../../src/delta/parquet/write-direct.js'
import { directWritePlan } from '../../../src/delta/parquet/write-parquet.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { ALL_TYPES_SCHEMA, EDGE_ROWS, asReadBack, field, struct } from './sample-rows.js'

/** Every column of the sample schema but the list of lists (the general writer's). */
const SCHEMA: StructType = struct(...ALL_TYPES_SCHEMA.fields.filter((f) => f.name !== 'nested'))
const NAMES = SCHEMA.fields.map((f) => f.name)

function withoutNested(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(NAMES.map((n) => [n, row[n] ?? null]))
}

/** EDGE_ROWS, and more rows cycling through them with varying longs and strings. */
function sampleRows(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const row = withoutNested(EDGE_ROWS[i % EDGE_ROWS.length]!)
    return i < EDGE_ROWS.length ? row : { ...row, l: BigInt(i), s: `s${i % 7}` }
  })
}

interface Chunk {
  readonly path: string
  readonly bytes: Uint8Array
  readonly statistics: unknown
}

/** Every column chunk's bytes and footer statistics, per row group. */
function chunksOf(file: Uint8Array): Chunk[][] {
  return parquetMetadata(file).row_groups.map((group) =>
    group.columns.map((c) => {
      const meta = c.meta_data!
      const { start, end } = chunkRange(meta)
      return {
        path: meta.path_in_schema.join('.'),
        bytes: file.subarray(start, end),
        statistics: meta.statistics,
      }
    }),
  )
}

const LAYOUTS: readonly WriteParquetOptions[] = [
  {},
  { singlePageMaxRows: 0, rowGroupSize: 5, pageMaxRows: 2 },
  { rowGroupSize: 40 },
]

describe('replaceColumns', () => {
  it('writes the new values and copies every other column chunk byte for byte', async () => {
    const columns = fc.subarray(NAMES, { minLength: 1, maxLength: 4 })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120 }),
        fc.constantFrom(...LAYOUTS),
        columns,
        fc.integer({ min: 0, max: 1000 }),
        async (count, layout, replacedNames, seed) => {
          const rows = sampleRows(count)
          const source = writeParquet(rows, SCHEMA, layout)
          // New values: another row's value of the same column (valid and varied).
          const replaced = new Map(
            replacedNames.map((name) => [
              name,
              rows.map((_, i) => rows[(i * 7 + seed) % rows.length]![name]),
            ]),
          )
          const expected = rows.map((row, i) => {
            const out = { ...row }
            for (const [name, values] of replaced) out[name] = values[i]
            return out
          })
          const file = replaceColumns(source, SCHEMA, replaced)!
          expect(file).toBeDefined()
          expect(await readParquetRows(file, { schema: SCHEMA })).toEqual(asReadBack(expected))

          // Same row groups; untouched chunks identical with their statistics, new ones as the
          // writer writes them for the same rows and row groups.
          const sizes = (f: Uint8Array): number[] =>
            parquetMetadata(f).row_groups.map((g) => Number(g.num_rows))
          expect(sizes(file)).toEqual(sizes(source))
          const reference = chunksOf(
            writeParquet(expected, SCHEMA, {
              singlePageMaxRows: 0,
              rowGroupSize: sizes(source)[0],
            }),
          )
          const before = chunksOf(source)
          chunksOf(file).forEach((group, g) =>
            group.forEach((chunk, c) => {
              const top = chunk.path.split('.')[0]!
              if (replaced.has(top)) {
                expect(chunk.statistics).toEqual(reference[g]![c]!.statistics)
              } else {
                expect(chunk.bytes).toEqual(before[g]![c]!.bytes)
                expect(chunk.statistics).toEqual(before[g]![c]!.statistics)
              }
            }),
          )
        },
      ),
      { numRuns: 120 },
    )
  })

  it('copies chunks of files written by the general writer (pages v2, dictionaries)', async () => {
    const rows = sampleRows(300)
    const schema = struct(...SCHEMA.fields.filter((f) => typeof f.type === 'string'))
    const flat = rows.map((r) => Object.fromEntries(schema.fields.map((f) => [f.name, r[f.name]])))
    const source = writeParquet(flat, schema, { generalWriter: true, rowGroupSize: 128 })
    const file = replaceColumns(source, schema, new Map([['i', flat.map(() => 7)]]))!
    expect(await readParquetRows(file, { schema })).toEqual(
      asReadBack(flat.map((r) => ({ ...r, i: 7 }))),
    )
    const copied = chunksOf(file).map((g) => g.filter((c) => c.path !== 'i').map((c) => c.bytes))
    expect(copied).toEqual(
      chunksOf(source).map((g) => g.filter((c) => c.path !== 'i').map((c) => c.bytes)),
    )
  })

  it('declines files laid out differently from what the engine writes for the schema', () => {
    const schema = struct(field('a', 'long'), field('b', 'string'))
    const rows = [{ a: 1n, b: 'x' }]
    const replaced = new Map([['a', [2n]]])
    // A column the schema lacks, a missing one, another physical type, another name.
    const others: StructType[] = [
      struct(field('a', 'long'), field('b', 'string'), field('c', 'integer')),
      struct(field('a', 'long')),
      struct(field('a', 'integer'), field('b', 'string')),
      struct(field('a', 'long'), field('B', 'string')),
      struct(field('a', 'long', false), field('b', 'string')),
    ]
    const value = { long: 1n, string: 'x', integer: 1 } as const
    for (const other of others) {
      const row = Object.fromEntries(
        other.fields.map((f) => [f.name, value[f.type as keyof typeof value]]),
      )
      expect(replaceColumns(writeParquet([row], other), schema, replaced)).toBeUndefined()
    }
    expect(replaceColumns(writeParquet(rows, schema), schema, replaced)).toBeDefined()
    // Lists of lists are not the engine writer's.
    expect(
      replaceColumns(writeParquet(EDGE_ROWS, ALL_TYPES_SCHEMA), ALL_TYPES_SCHEMA, new Map()),
    ).toBeUndefined()
  })

  it('declines a file with an empty row group', () => {
    const schema = struct(field('a', 'long'), field('b', 'string'))
    const plan = directWritePlan(schema)!
    const steps = writeDirectGroups(
      plan.direct,
      [
        { rowCount: 0, fields: [{ values: [] }, { values: [] }] },
        { rowCount: 2, fields: [{ values: [1n, 2n] }, { values: ['x', 'y'] }] },
      ],
      { createdBy: 'test', paged: true, rowGroupSize: 2, pageMaxRows: 20_000 },
    )
    let step = steps.next()
    while (!step.done) step = steps.next()
    expect(parquetMetadata(step.value).row_groups.map((g) => Number(g.num_rows))).toEqual([0, 2])
    expect(replaceColumns(step.value, schema, new Map([['a', [3n, 4n]]]))).toBeUndefined()
  })

  it('refuses a damaged chunk to copy, bad values and wrong counts with typed errors', () => {
    const schema = struct(field('a', 'long'), field('b', 'string'))
    const rows = Array.from({ length: 50 }, (_, i) => ({ a: BigInt(i), b: `b${i}` }))
    const source = writeParquet(rows, schema)
    const damaged = source.slice()
    const b = chunksOf(source)[0]![1]!
    damaged[b.bytes.byteOffset - source.byteOffset] = 0x7f // the page header's first byte
    expect(() => replaceColumns(damaged, schema, new Map([['a', rows.map(() => 1n)]]))).toThrow(
      expect.objectContaining({ code: 'PARQUET_ERROR' }),
    )
    expect(() => replaceColumns(source, schema, new Map([['a', rows.map(() => 'x')]]))).toThrow(
      expect.objectContaining({ code: 'SCHEMA_MISMATCH' }),
    )
    expect(() => replaceColumns(source, schema, new Map([['a', [1n]]]))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => replaceColumns(source, schema, new Map([['z', [1n]]]))).toThrow(
      expect.objectContaining({ code: 'COLUMN_NOT_FOUND' }),
    )
  })
})

describe('writeDirectGroups with copied chunks', () => {
  it("drops a copied chunk's min/max unless told to keep them, and moves its offsets", async () => {
    const schema = struct(field('a', 'long'), field('b', 'string'))
    const rows = Array.from({ length: 100 }, (_, i) => ({ a: BigInt(i), b: `v${i % 3}` }))
    const source = writeParquet(rows, schema, { singlePageMaxRows: 0 })
    const plan = directWritePlan(schema)!
    const [group] = parquetMetadata(source).row_groups
    const raw = await import('hyparquet/src/thrift.js')
    const view = new DataView(source.buffer, source.byteOffset, source.byteLength)
    const footer = raw.deserializeTCompactProtocol({
      view,
      offset: source.byteLength - 8 - view.getUint32(source.byteLength - 8, true),
    }) as { field_4: { field_1: { field_3: Record<string, unknown> }[] }[] }
    const chunk = chunksOf(source)[0]![1]!
    for (const keepBounds of [true, false]) {
      const copy: CopiedChunk = {
        bytes: chunk.bytes,
        start: chunk.bytes.byteOffset - source.byteOffset,
        meta: footer.field_4[0]!.field_1[1]!.field_3,
        keepBounds,
      }
      const steps = writeDirectGroups(
        plan.direct,
        [{ rowCount: 100, fields: [{ values: rows.map((r) => r.a) }, { copies: [copy] }] }],
        { createdBy: 'test', paged: true, rowGroupSize: 100, pageMaxRows: 20_000 },
      )
      let step = steps.next()
      while (!step.done) step = steps.next()
      const file = step.value
      expect(await readParquetRows(file, { schema })).toEqual(rows)
      const stats = parquetMetadata(file).row_groups[0]!.columns[1]!.meta_data!.statistics
      expect(stats).toEqual(
        keepBounds
          ? group!.columns[1]!.meta_data!.statistics
          : { null_count: group!.columns[1]!.meta_data!.statistics!.null_count },
      )
    }
  })
})

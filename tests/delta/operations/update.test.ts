import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { col } from '../../../src/delta/expr/expression.js'
import { chunkRange } from '../../../src/delta/parquet/check-pages.js'
import {
  collectStats,
  serializeStats,
  statsColumnsFor,
} from '../../../src/delta/stats/collect-stats.js'
import type { DeltaTable } from '../../../src/delta/table/delta-table.js'
import {
  byId,
  commitAt,
  createWithBatches,
  SCHEMA,
  fileWithId,
  livePaths,
  makeTable,
  parquetFiles,
  rowsFor,
} from './dml-support.js'
import { WIDE_NUMBERS } from '../../support/schema.js'
import { writeRawCommit } from './vacuum-support.js'

const BATCHES = [rowsFor([1, 2, 3]), rowsFor([4, 5, 6]), rowsFor([7, 8, 9])]

describe('updateRows', () => {
  it('rewrites only the files holding matching rows', async () => {
    const t = await makeTable(BATCHES)
    const [f1, f2, f3] = [fileWithId(t, 1), fileWithId(t, 5), fileWithId(t, 9)]
    const result = await t.update(col('id').eq(5), { s: 'five', n: 55 })
    expect(result).toMatchObject({ version: 4, skipped: false })
    expect(result.metrics).toEqual({
      numUpdatedRows: 1,
      numCopiedRows: 2,
      numRemovedFiles: 1,
      numAddedFiles: 1,
    })
    const c = await commitAt(t, 4)
    expect(c.removes.map((r) => r.path)).toEqual([f2])
    expect(c.adds).toHaveLength(1)
    expect(livePaths(t)).toEqual(expect.arrayContaining([f1, f3]))
    expect(c.info).toMatchObject({
      operation: 'UPDATE',
      operationParameters: { predicate: 'id = 5' },
      operationMetrics: {
        numUpdatedRows: '1',
        numCopiedRows: '2',
        numRemovedFiles: '1',
        numAddedFiles: '1',
      },
      readVersion: 3,
    })
    const rows = byId(await t.toRows())
    expect(rows[4]).toEqual({ id: 5n, p: 'a', n: 55, s: 'five' })
    expect(rows.filter((r) => r.s === 'five')).toHaveLength(1)
  })

  it('updates every row when there is no filter', async () => {
    const t = await makeTable(BATCHES)
    const result = await t.update(undefined, { s: null })
    expect(result.metrics).toMatchObject({
      numUpdatedRows: 9,
      numCopiedRows: 0,
      numRemovedFiles: 3,
    })
    expect((await commitAt(t, 4)).info.operationParameters).toEqual({ predicate: 'true' })
    for (const r of await t.toRows()) expect(r.s).toBeNull()
  })

  it('computes values from the current row, with typed values', async () => {
    const t = await makeTable(BATCHES)
    const seen: unknown[] = []
    await t.update(col('id').le(2), {
      n: (row: Readonly<Record<string, unknown>>) => {
        seen.push(row.id)
        return Number(row.id) * 1000 + (row.n as number)
      },
      // Every function sees the row before any assignment.
      s: (row: Readonly<Record<string, unknown>>) => `${String(row.n)}`,
    })
    expect(seen.sort()).toEqual([1n, 2n])
    const rows = byId(await t.toRows())
    expect(rows.slice(0, 3)).toEqual([
      { id: 1n, p: 'a', n: 1010, s: '10' },
      { id: 2n, p: 'a', n: 2020, s: '20' },
      { id: 3n, p: 'a', n: 30, s: 's3' },
    ])
  })

  it('coerces new values to the column type', async () => {
    const t = await makeTable(BATCHES)
    await t.update(col('id').eq(1), { id: 100 })
    expect(byId(await t.toRows()).at(-1)?.id).toBe(100n)
  })

  it('moves rows to their new partition when a partition column changes', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    await t.update(col('id').eq(1), { p: 'c' })
    const c = await commitAt(t, 2)
    expect(c.removes.map((r) => r.partitionValues)).toEqual([{ p: 'a' }])
    expect(
      c.adds.map((a) => a.partitionValues).sort((x, y) => ((x.p ?? '') < (y.p ?? '') ? -1 : 1)),
    ).toEqual([{ p: 'a' }, { p: 'c' }])
    expect(c.adds.find((a) => a.partitionValues.p === 'c')?.path).toMatch(/^p=c\//)
    const inC = await t.toRows({ filter: col('p').eq('c') })
    expect(inC.map((r) => r.id)).toEqual([1n])
    expect(byId(await t.toRows()).map((r) => r.p)).toEqual(['c', 'b', 'a', 'b'])
  })

  it('updates rows of a null partition into a non-null one', async () => {
    const t = await makeTable([rowsFor([1, 2], [null])], { partitioned: true })
    await t.update(col('p').isNull(), { p: 'x' })
    expect(t.snapshot.files().map((f) => f.partitionValues)).toEqual([{ p: 'x' }])
  })

  it('commits nothing when no row matches', async () => {
    const t = await makeTable(BATCHES)
    const files = await parquetFiles(t)
    const result = await t.update(col('s').eq('none'), { n: 1 })
    expect(result).toEqual({
      version: 3,
      skipped: true,
      metrics: { numUpdatedRows: 0, numCopiedRows: 0, numRemovedFiles: 0, numAddedFiles: 0 },
    })
    expect((await t.refresh()).version).toBe(3)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it.each([
    ['a missing set column', () => col('id').eq(1), { nope: 1 }, 'COLUMN_NOT_FOUND'],
    ['a missing filter column', () => col('nope').eq(1), { n: 1 }, 'COLUMN_NOT_FOUND'],
    ['a bad filter literal', () => col('n').eq('x'), { n: 1 }, 'INVALID_EXPRESSION'],
    ['a value of the wrong type', () => col('id').eq(1), { n: 'x' }, 'SCHEMA_MISMATCH'],
    ['an out-of-range value', () => col('id').eq(1), { n: 2 ** 40 }, 'SCHEMA_MISMATCH'],
    ['null in a non-nullable column', () => col('id').eq(1), { id: null }, 'SCHEMA_MISMATCH'],
    [
      'a computed value of the wrong type',
      () => col('id').eq(1),
      { s: () => 5 },
      'SCHEMA_MISMATCH',
    ],
    [
      'a computed null in a non-nullable column',
      () => col('id').eq(1),
      { id: () => null },
      'SCHEMA_MISMATCH',
    ],
    ['no assignment', () => col('id').eq(1), {}, 'INVALID_ARGUMENT'],
    ['the same column twice', () => col('id').eq(1), { n: 1, N: 2 }, 'INVALID_ARGUMENT'],
  ])('fails with %s and leaves the table unchanged', async (_name, filter, set, code) => {
    const t = await makeTable(BATCHES)
    const rows = await t.toRows()
    const files = await parquetFiles(t)
    const err = await t.update(filter(), set).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeltaError)
    expect((err as DeltaError).code).toBe(code)
    expect((await t.refresh()).version).toBe(3)
    expect(await t.toRows()).toEqual(rows)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it('names the row and column of a bad computed value', async () => {
    const t = await makeTable(BATCHES)
    const err = (await t
      .update(col('id').eq(5), { n: () => 'x' })
      .catch((e: unknown) => e)) as DeltaError
    expect(err.code).toBe('SCHEMA_MISMATCH')
    expect(err.message).toContain('"n"')
    expect(err.message).toContain('row 1 of file')
  })

  it('propagates an error thrown by a set function and leaves no data file behind', async () => {
    const t = await makeTable(BATCHES)
    const files = await parquetFiles(t)
    const boom = new Error('boom')
    const err = await t
      .update(undefined, {
        n: (row: Readonly<Record<string, unknown>>) => {
          if (row.id === 9n) throw boom
          return 1
        },
      })
      .catch((e: unknown) => e)
    expect(err).toBe(boom)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it('refuses to update an append-only table', async () => {
    const t = await makeTable(BATCHES, { appendOnly: true })
    const files = await parquetFiles(t)
    const err = await t.update(col('id').eq(5), { n: 1 }).catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('APPEND_ONLY')
    expect((await t.refresh()).version).toBe(3)
    expect(await parquetFiles(t)).toEqual(files)
  })

  describe('setting columns to constants', () => {
    /** Each column chunk of a data file: its path and bytes. */
    async function chunks(t: DeltaTable, file: string): Promise<Map<string, Uint8Array>> {
      const data = await t.store.get(file)
      const out = new Map<string, Uint8Array>()
      for (const c of parquetMetadata(data).row_groups[0]!.columns) {
        const meta = c.meta_data!
        const { start, end } = chunkRange(meta)
        out.set(meta.path_in_schema.join('.'), data.subarray(start, end))
      }
      return out
    }

    it("copies the other columns' chunks and keeps their statistics", async () => {
      const t = await makeTable([rowsFor([1, 2, 3, 4, 5, 6])], { partitioned: true })
      const [before] = livePaths(t)
      const oldAdd = t.snapshot.files()[0]!
      const result = await t.update(col('id').gt(3), { s: 'updated' })
      expect(result.metrics).toMatchObject({ numUpdatedRows: 3, numCopiedRows: 3 })
      const c = await commitAt(t, result.version)
      const [add] = c.adds
      const oldChunks = await chunks(t, `p=a/${before!.split('/').pop()}`)
      const newChunks = await chunks(t, decodeURIComponent(add!.path))
      expect(newChunks.get('id')).toEqual(oldChunks.get('id'))
      expect(newChunks.get('n')).toEqual(oldChunks.get('n'))
      expect(newChunks.get('s')).not.toEqual(oldChunks.get('s'))
      expect(add!.partitionValues).toEqual({ p: 'a' })
      // The statistics equal those computed from the new file's rows.
      const rows = byId(await t.toRows())
      expect(rows.map((r) => r.s)).toEqual(['s1', 's2', 's3', 'updated', 'updated', 'updated'])
      const statsColumns = statsColumnsFor(t.snapshot.schema, {}, ['p'])
      expect(JSON.parse(add!.stats!)).toEqual(
        JSON.parse(serializeStats(collectStats(rows, t.snapshot.schema, statsColumns))),
      )
      expect(JSON.parse(add!.stats!).minValues.id).toBe(JSON.parse(oldAdd.stats!).minValues.id)
    })

    it('keeps the exact statistics of longs beyond 2^53 and wide decimals it copies', async () => {
      const t = await createWithBatches('dml-', [], {
        schema: WIDE_NUMBERS,
        partitionColumns: [],
        properties: {},
      })
      await t.append([
        { id: 1n, l: 9007199254740993n, dec: '123456789012345678901.23', v: 'a' },
        { id: 2n, l: -9007199254740995n, dec: '-99999999999999999999999999999999999.99', v: 'b' },
      ])
      const before = t.snapshot.files()[0]!.stats!
      const result = await t.update(col('id').eq(1), { v: 'updated' })
      const [add] = (await commitAt(t, result.version)).adds
      // The copied columns' bounds, digit for digit (JSON.parse would round them).
      for (const text of [
        '"l":9007199254740993',
        '"l":-9007199254740995',
        '"dec":123456789012345678901.23',
        '"dec":-99999999999999999999999999999999999.99',
      ]) {
        expect(before).toContain(text)
        expect(add!.stats).toContain(text)
      }
      expect(JSON.parse(add!.stats!).maxValues.v).toBe('updated')
    })

    it('rewrites a file whole when its statistics lack a column indexed now', async () => {
      const t = await createWithBatches('dml-', [rowsFor([1, 2, 3])], {
        schema: SCHEMA,
        partitionColumns: [],
        properties: { 'delta.dataSkippingNumIndexedCols': '1' },
      })
      const { nullCount } = JSON.parse(t.snapshot.files()[0]!.stats!) as { nullCount: object }
      expect(Object.keys(nullCount)).toEqual(['id'])
      // Every column indexed from version 2 on.
      await writeRawCommit(t.store, 2, [
        { kind: 'commitInfo', info: {} },
        { ...t.snapshot.metadata, configuration: {} },
      ])
      await t.refresh()
      const result = await t.update(col('id').eq(2), { s: 'two' })
      const [add] = (await commitAt(t, result.version)).adds
      expect(JSON.parse(add!.stats!).nullCount).toEqual({ id: 0, p: 0, n: 0, s: 0 })
      expect(byId(await t.toRows()).map((r) => r.s)).toEqual(['s1', 'two', 's3'])
    })

    it('leaves files without a matching row alone', async () => {
      const t = await makeTable(BATCHES)
      const untouched = [fileWithId(t, 1), fileWithId(t, 9)]
      const result = await t.update(col('n').eq(50), { s: 'fifty' })
      expect(result.metrics).toMatchObject({ numRemovedFiles: 1, numCopiedRows: 2 })
      expect(livePaths(t)).toEqual(expect.arrayContaining(untouched))
      expect(byId(await t.toRows()).map((r) => r.s)).toEqual([
        's1',
        's2',
        's3',
        null,
        'fifty',
        's6',
        's7',
        null,
        's9',
      ])
    })
  })
})

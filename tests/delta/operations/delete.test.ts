import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { and, col, lit, or } from '../../../src/delta/expr/expression.js'
import { deleteRows } from '../../../src/delta/operations/delete.js'
import { writeDataFiles } from '../../../src/delta/operations/write-files.js'
import { decodeAddPath } from '../../../src/delta/schema/paths.js'
import type { DeltaTable } from '../../../src/delta/table/delta-table.js'
import { Transaction } from '../../../src/delta/transaction/transaction.js'
import {
  byId,
  commitAt,
  fileWithId,
  livePaths,
  makeTable,
  parquetFiles,
  rowsFor,
  steppingClock,
  T0,
} from './dml-support.js'

/** Three appends of ids 1-3, 4-6, 7-9 (one file each when unpartitioned). */
const BATCHES = [rowsFor([1, 2, 3]), rowsFor([4, 5, 6]), rowsFor([7, 8, 9])]

describe('deleteRows', () => {
  it('rewrites only the file holding matching rows when the predicate is on data', async () => {
    const t = await makeTable(BATCHES)
    const [f1, f2, f3] = [fileWithId(t, 1), fileWithId(t, 5), fileWithId(t, 9)]
    const result = await t.delete(col('id').eq(5))
    expect(result).toMatchObject({ version: 4, skipped: false })
    expect(result.metrics).toEqual({
      numDeletedRows: 1,
      numRemovedFiles: 1,
      numAddedFiles: 1,
      numCopiedRows: 2,
    })
    const c = await commitAt(t, 4)
    expect(c.removes.map((r) => r.path)).toEqual([f2])
    expect(c.adds).toHaveLength(1)
    expect(c.adds[0]?.dataChange).toBe(true)
    expect(c.adds[0]?.stats).toContain('"numRecords":2')
    // The two other files are untouched: still live, no action about them.
    expect(livePaths(t)).toEqual(expect.arrayContaining([f1, f3]))
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n, 2n, 3n, 4n, 6n, 7n, 8n, 9n])
  })

  it('writes Spark-named metrics and the predicate into commitInfo', async () => {
    const t = await makeTable(BATCHES)
    await t.delete(and(col('id').ge(2), col('s').ne('s3')), { userMetadata: 'cleanup' })
    const { info } = await commitAt(t, 4)
    expect(info).toMatchObject({
      operation: 'DELETE',
      operationParameters: { predicate: 'id >= 2 AND s != "s3"' },
      readVersion: 3,
      isBlindAppend: false,
      userMetadata: 'cleanup',
      operationMetrics: {
        numDeletedRows: '5',
        numRemovedFiles: '3',
        numAddedFiles: '1',
        numCopiedRows: '4',
      },
    })
  })

  it('removes a file without replacement when every row of it matches', async () => {
    const t = await makeTable(BATCHES)
    const f2 = fileWithId(t, 5)
    const result = await t.delete(col('id').between(4, 6))
    expect(result.metrics).toMatchObject({
      numRemovedFiles: 1,
      numAddedFiles: 0,
      numDeletedRows: 3,
    })
    const c = await commitAt(t, 4)
    expect(c.removes.map((r) => r.path)).toEqual([f2])
    expect(c.adds).toEqual([])
  })

  it('leaves files whose rows do not match untouched even when their stats overlap', async () => {
    // Both files' id ranges contain 5; only the second holds it.
    const t = await makeTable([rowsFor([1, 3, 9]), rowsFor([4, 5, 6])])
    const withFive = fileWithId(t, 5, 4)
    await t.delete(col('id').eq(5))
    const c = await commitAt(t, 3)
    expect(c.removes.map((r) => r.path)).toEqual([withFive])
  })

  it('writes removes with the add path byte for byte and the extended file metadata', async () => {
    const t = await makeTable([rowsFor([1, 2], ['a b/c%', 'é=x'])], { partitioned: true })
    const adds = t.snapshot.files()
    const clock = steppingClock()
    const { snapshot } = await deleteRows(t.store, t.snapshot, clock, undefined, {})
    const c = await commitAt(t, snapshot.version)
    expect(c.removes).toHaveLength(2)
    for (const r of c.removes) {
      const add = adds.find((a) => a.path === r.path)
      expect(add, r.path).toBeDefined()
      expect(r).toMatchObject({
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: add?.partitionValues,
        size: add?.size,
      })
      expect(typeof r.deletionTimestamp).toBe('number')
    }
    expect(c.removes.some((r) => r.path.includes('%'))).toBe(true)
  })

  it('removes whole partitions without reading them when the predicate is partition-only', async () => {
    const t = await makeTable(
      [rowsFor([1, 2, 3, 4], ['a', 'b']), rowsFor([5, 6, 7, 8], ['a', 'b'])],
      { partitioned: true },
    )
    const inA = t.snapshot.files().filter((f) => f.partitionValues.p === 'a')
    expect(inA).toHaveLength(2)
    // Proof that they are not read: their data files are gone.
    for (const f of inA) await fs.rm(path.join(t.store.location, decodeAddPath(f.path)))
    const result = await t.delete(col('p').eq('a'))
    expect(result.metrics).toEqual({
      numDeletedRows: 4,
      numRemovedFiles: 2,
      numAddedFiles: 0,
      numCopiedRows: 0,
    })
    const c = await commitAt(t, 3)
    expect(c.removes.map((r) => r.path).sort()).toEqual(inA.map((f) => f.path).sort())
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([2n, 4n, 6n, 8n])
  })

  it('handles a null partition and IS NULL on partitions', async () => {
    const t = await makeTable([rowsFor([1, 2, 3], ['a', null])], { partitioned: true })
    await t.delete(col('p').isNull())
    expect(byId(await t.toRows()).map((r) => [r.id, r.p])).toEqual([
      [1n, 'a'],
      [3n, 'a'],
    ])
  })

  it('reads files when a partition predicate is combined with a data predicate', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    const result = await t.delete(and(col('p').eq('a'), col('id').eq(1)))
    expect(result.metrics).toEqual({
      numDeletedRows: 1,
      numRemovedFiles: 1,
      numAddedFiles: 1,
      numCopiedRows: 1,
    })
    const c = await commitAt(t, 2)
    expect(c.adds[0]?.partitionValues).toEqual({ p: 'a' })
  })

  it('removes every file without reading any when there is no filter', async () => {
    const t = await makeTable(BATCHES)
    for (const f of t.snapshot.files()) {
      await fs.rm(path.join(t.store.location, decodeAddPath(f.path)))
    }
    const result = await t.delete()
    expect(result.metrics).toEqual({
      numDeletedRows: 9,
      numRemovedFiles: 3,
      numAddedFiles: 0,
      numCopiedRows: 0,
    })
    expect((await commitAt(t, 4)).info.operationParameters).toEqual({ predicate: 'true' })
    expect(await t.toRows()).toEqual([])
  })

  it('counts the rows of a file without stats from its Parquet footer', async () => {
    const t = await makeTable([], { partitioned: true })
    const adds = await writeDataFiles(t.store, t.snapshot, rowsFor([1, 2, 3]), { now: T0 })
    const txn = new Transaction(t.store, t.snapshot, steppingClock(), { operation: 'WRITE' })
    txn.addActions(adds.map((a) => ({ ...a, stats: null })))
    await txn.commit()
    await t.refresh()
    const result = await t.delete(lit(true))
    expect(result.metrics).toMatchObject({ numDeletedRows: 3, numRemovedFiles: 1 })
    expect(await t.toRows()).toEqual([])
  })

  it('follows SQL null semantics: a comparison never matches a null value', async () => {
    const t = await makeTable(BATCHES)
    // s is null for ids 4 and 8.
    await t.delete(col('s').ne('s1'))
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n, 4n, 8n])
    await t.delete(col('s').isNull())
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n])
  })

  it('commits nothing when no row matches', async () => {
    const t = await makeTable(BATCHES)
    const files = await parquetFiles(t)
    const result = await t.delete(or(col('id').eq(100), col('s').eq('nope')))
    expect(result).toEqual({
      version: 3,
      skipped: true,
      metrics: { numDeletedRows: 0, numRemovedFiles: 0, numAddedFiles: 0, numCopiedRows: 0 },
    })
    expect(t.version).toBe(3)
    expect((await t.refresh()).version).toBe(3)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it.each([
    ['a missing column', () => col('nope').eq(1), 'COLUMN_NOT_FOUND'],
    ['a literal of the wrong type', () => col('id').eq('x'), 'INVALID_EXPRESSION'],
    ['a null literal', () => col('id').eq(null), 'INVALID_EXPRESSION'],
  ])('fails with %s and leaves the table unchanged', async (_name, filter, code) => {
    const t = await makeTable(BATCHES)
    const rows = await t.toRows()
    const err = await t.delete(filter()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeltaError)
    expect((err as DeltaError).code).toBe(code)
    expect((await t.refresh()).version).toBe(3)
    expect(await t.toRows()).toEqual(rows)
  })

  it('refuses to delete from an append-only table and leaves no data files behind', async () => {
    const t = await makeTable(BATCHES, { appendOnly: true })
    const files = await parquetFiles(t)
    for (const filter of [undefined, col('id').eq(5), col('id').le(3)]) {
      const err = await t.delete(filter).catch((e: unknown) => e)
      expect((err as DeltaError).code).toBe('APPEND_ONLY')
    }
    expect((await t.refresh()).version).toBe(3)
    expect(await parquetFiles(t)).toEqual(files)
    expect(await t.toRows()).toHaveLength(9)
  })

  it('skips a delete matching nothing on an append-only table (nothing would be removed)', async () => {
    const t = await makeTable(BATCHES, { appendOnly: true })
    expect((await t.delete(col('id').eq(100))).skipped).toBe(true)
  })

  it('fails with DATA_FILE_NOT_FOUND when a file to rewrite is missing', async () => {
    const t = await makeTable(BATCHES)
    const f = t.snapshot.files()[0]
    await fs.rm(path.join(t.store.location, decodeAddPath(f?.path ?? '')))
    const err = await t.delete(col('n').ge(0)).catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('DATA_FILE_NOT_FOUND')
    expect((await t.refresh()).version).toBe(3)
  })

  describe("reading only the predicate's columns first", () => {
    /** Makes the `s` column chunk of a data file unreadable (its first page header). */
    async function damageColumnS(t: DeltaTable, file: string): Promise<void> {
      const at = path.join(t.store.location, decodeAddPath(file))
      const data = new Uint8Array(await fs.readFile(at))
      const chunk = parquetMetadata(data).row_groups[0]!.columns.find(
        (c) => c.meta_data!.path_in_schema[0] === 's',
      )!.meta_data!
      data[Number(chunk.dictionary_page_offset ?? chunk.data_page_offset)] = 0x7f
      await fs.writeFile(at, data)
    }

    it('leaves a file whose stats overlap but no row matches without reading its other columns', async () => {
      const t = await makeTable(BATCHES)
      await damageColumnS(t, fileWithId(t, 5))
      // n is 40, 50, 60 in that file: the stats cannot rule out 55.
      const result = await t.delete(col('n').eq(55))
      expect(result.skipped).toBe(true)
      const updated = await t.update(col('n').eq(55), { s: () => 'x' })
      expect(updated.skipped).toBe(true)
      // A matching row makes the file be read whole: its damage shows.
      const err = await t.delete(col('n').eq(50)).catch((e: unknown) => e)
      expect((err as DeltaError).code).toBe('PARQUET_ERROR')
    })

    it('removes a file whose rows all match without reading its other columns', async () => {
      const t = await makeTable(BATCHES)
      await damageColumnS(t, fileWithId(t, 5))
      const result = await t.delete(and(col('n').gt(35), col('n').lt(65)))
      expect(result.metrics).toEqual({
        numDeletedRows: 3,
        numRemovedFiles: 1,
        numAddedFiles: 0,
        numCopiedRows: 0,
      })
      expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n, 2n, 3n, 7n, 8n, 9n])
    })
  })
})

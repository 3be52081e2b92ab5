import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { and, col } from '../../../src/delta/expr/expression.js'
import { replaceWhereRows } from '../../../src/delta/operations/delete.js'
import {
  byId,
  commitAt,
  fileWithId,
  livePaths,
  makeTable,
  parquetFiles,
  rowsFor,
  steppingClock,
} from './dml-support.js'

describe('replaceWhereRows', () => {
  it('replaces a partition in one commit, leaving other partitions untouched', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    const inB = t.snapshot.files().filter((f) => f.partitionValues.p === 'b')
    const result = await t.overwrite(rowsFor([20, 21], ['a']), { replaceWhere: col('p').eq('a') })
    expect(result).toMatchObject({ version: 2, skipped: false })
    expect(result.metrics).toMatchObject({
      numFiles: 1,
      numOutputRows: 2,
      numRemovedFiles: 1,
      numDeletedRows: 2,
      numCopiedRows: 0,
    })
    const c = await commitAt(t, 2)
    expect(c.info).toMatchObject({
      operation: 'WRITE',
      operationParameters: { mode: 'Overwrite', partitionBy: '["p"]', predicate: 'p = "a"' },
      isBlindAppend: false,
    })
    expect(c.removes.map((r) => r.partitionValues)).toEqual([{ p: 'a' }])
    expect(livePaths(t)).toEqual(expect.arrayContaining(inB.map((f) => f.path)))
    expect(byId(await t.toRows()).map((r) => [r.id, r.p])).toEqual([
      [2n, 'b'],
      [4n, 'b'],
      [20n, 'a'],
      [21n, 'a'],
    ])
  })

  it('rewrites the files holding matching rows when the predicate is on data', async () => {
    const t = await makeTable([rowsFor([1, 2, 3]), rowsFor([4, 5, 6])])
    const untouched = fileWithId(t, 5)
    const result = await t.overwrite([{ id: 2n, n: -2 }], { replaceWhere: col('id').le(2) })
    expect(result.metrics).toMatchObject({
      numRemovedFiles: 1,
      numDeletedRows: 2,
      numCopiedRows: 1,
      numOutputRows: 2,
    })
    expect(livePaths(t)).toContain(untouched)
    expect(byId(await t.toRows()).map((r) => [r.id, r.n])).toEqual([
      [2n, -2],
      [3n, 30],
      [4n, 40],
      [5n, 50],
      [6n, 60],
    ])
  })

  it('adds the rows when nothing matches, and commits nothing without rows and matches', async () => {
    const t = await makeTable([rowsFor([1, 2])], { partitioned: true })
    const added = await t.overwrite(rowsFor([7], ['z']), { replaceWhere: col('p').eq('z') })
    expect(added.metrics).toMatchObject({ numRemovedFiles: 0, numOutputRows: 1 })
    const nothing = await t.overwrite([], { replaceWhere: col('p').eq('y') })
    expect(nothing).toMatchObject({ version: 2, skipped: true })
  })

  it('deletes the matching rows when given no rows', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    await t.overwrite([], { replaceWhere: col('p').eq('b') })
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n, 3n])
  })

  it('refuses a row outside the predicate, naming it, and leaves the table unchanged', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    const files = await parquetFiles(t)
    const err = (await t
      .overwrite(rowsFor([5, 6], ['a', 'b']), { replaceWhere: col('p').eq('a') })
      .catch((e: unknown) => e)) as DeltaError
    expect(err).toBeInstanceOf(DeltaError)
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.context.row).toBe(1)
    expect((await t.refresh()).version).toBe(1)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it('refuses a row whose predicate value is null (not true)', async () => {
    const t = await makeTable([rowsFor([1])])
    const err = await t
      .overwrite([{ id: 1n, s: null }], { replaceWhere: and(col('s').ne('x')) })
      .catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('INVALID_ARGUMENT')
  })

  it.each([
    ['a row of the wrong shape', [{ id: 'x' }], col('id').eq(1), 'SCHEMA_MISMATCH'],
    ['a missing predicate column', [{ id: 1 }], col('nope').eq(1), 'COLUMN_NOT_FOUND'],
  ])('fails with %s', async (_name, rows, predicate, code) => {
    const t = await makeTable([rowsFor([1])])
    const err = await replaceWhereRows(
      t.store,
      t.snapshot,
      steppingClock(),
      rows,
      predicate,
      {},
    ).catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe(code)
  })

  it('refuses to replace data of an append-only table', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], {
      partitioned: true,
      appendOnly: true,
    })
    const files = await parquetFiles(t)
    const err = await t
      .overwrite(rowsFor([9], ['a']), { replaceWhere: col('p').eq('a') })
      .catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('APPEND_ONLY')
    expect(await parquetFiles(t)).toEqual(files)
  })
})

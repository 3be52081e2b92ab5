import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { CommitConflictError, DeltaError } from '../../../src/delta/errors.js'
import { MAX_KEYS_IN_PREDICATE, mergeRows } from '../../../src/delta/operations/merge.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { decodeAddPath } from '../../../src/delta/schema/paths.js'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import { makeTempDir } from '../../support/temp.js'
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

const BATCHES = [rowsFor([1, 2, 3]), rowsFor([4, 5, 6]), rowsFor([7, 8, 9])]

describe('mergeRows', () => {
  it('updates matched rows, inserts the others, and rewrites only touched files', async () => {
    const t = await makeTable(BATCHES)
    const [f1, f2, f3] = [fileWithId(t, 1), fileWithId(t, 5), fileWithId(t, 9)]
    const result = await t.merge(
      [
        { id: 5, s: 'five' }, // partial: p and n keep the target's values
        { id: 10n, p: 'z', n: 100, s: 'ten' },
        { id: 11, p: 'z' },
      ],
      { on: 'id' },
    )
    expect(result).toMatchObject({ version: 4, skipped: false })
    expect(result.metrics).toEqual({
      numSourceRows: 3,
      numTargetRowsInserted: 2,
      numTargetRowsUpdated: 1,
      numTargetRowsDeleted: 0,
      numTargetRowsCopied: 2,
      numTargetFilesAdded: 1,
      numTargetFilesRemoved: 1,
      numOutputRows: 5,
    })
    const c = await commitAt(t, 4)
    expect(c.removes.map((r) => r.path)).toEqual([f2])
    expect(livePaths(t)).toEqual(expect.arrayContaining([f1, f3]))
    const rows = byId(await t.toRows())
    expect(rows.map((r) => r.id)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n])
    expect(rows[4]).toEqual({ id: 5n, p: 'a', n: 50, s: 'five' })
    expect(rows[9]).toEqual({ id: 10n, p: 'z', n: 100, s: 'ten' })
    expect(rows[10]).toEqual({ id: 11n, p: 'z', n: null, s: null })
  })

  it('writes the Spark-shaped operation parameters', async () => {
    const t = await makeTable(BATCHES)
    await t.merge([{ id: 1, n: 0 }], { on: ['id'], whenMatched: 'delete', userMetadata: 'm' })
    const { info } = await commitAt(t, 4)
    expect(info).toMatchObject({
      operation: 'MERGE',
      operationParameters: {
        predicate: 'target.id = source.id',
        matchedPredicates: '[{"actionType":"delete"}]',
        notMatchedPredicates: '[{"actionType":"insert"}]',
        notMatchedBySourcePredicates: '[]',
      },
      readVersion: 3,
      isBlindAppend: false,
      userMetadata: 'm',
    })
    expect(info.operationMetrics).toMatchObject({
      numSourceRows: '1',
      numTargetRowsDeleted: '1',
      numTargetRowsInserted: '0',
    })
  })

  it('deletes matched rows with whenMatched delete', async () => {
    const t = await makeTable(BATCHES)
    const result = await t.merge([{ id: 4 }, { id: 5 }, { id: 6 }, { id: 20 }], {
      on: 'id',
      whenMatched: 'delete',
      whenNotMatched: 'ignore',
    })
    expect(result.metrics).toMatchObject({
      numTargetRowsDeleted: 3,
      numTargetRowsInserted: 0,
      numTargetFilesRemoved: 1,
      numTargetFilesAdded: 0,
    })
    expect(byId(await t.toRows()).map((r) => r.id)).toEqual([1n, 2n, 3n, 7n, 8n, 9n])
  })

  it('inserts only new keys with whenMatched ignore', async () => {
    const t = await makeTable(BATCHES)
    const result = await t.merge(
      [
        { id: 1, s: 'changed?' },
        { id: 12, s: 'new' },
      ],
      { on: 'id', whenMatched: 'ignore' },
    )
    expect(result.metrics).toMatchObject({
      numTargetRowsInserted: 1,
      numTargetRowsUpdated: 0,
      numTargetFilesRemoved: 0,
      numTargetFilesAdded: 1,
    })
    expect((await commitAt(t, 4)).removes).toEqual([])
    const rows = byId(await t.toRows())
    expect(rows[0]?.s).toBe('s1')
    expect(rows.at(-1)).toEqual({ id: 12n, p: null, n: null, s: 'new' })
  })

  it('applies a whenMatched function that updates or deletes', async () => {
    const t = await makeTable(BATCHES)
    const result = await t.merge(
      [
        { id: 1, n: 5 },
        { id: 2, n: -1 },
      ],
      {
        on: 'id',
        whenMatched: (target, source) =>
          (source.n as number) < 0 ? null : { n: (target.n as number) + (source.n as number) },
      },
    )
    expect(result.metrics).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsDeleted: 1 })
    const rows = byId(await t.toRows())
    expect(rows[0]).toEqual({ id: 1n, p: 'a', n: 15, s: 's1' })
    expect(rows[1]?.id).toBe(3n)
    expect((await commitAt(t, 4)).info.operationParameters).toMatchObject({
      matchedPredicates: '[{"actionType":"update"},{"actionType":"delete"}]',
    })
  })

  it('matches on several key columns', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    await t.merge(
      [
        { id: 1, p: 'a', s: 'hit' },
        { id: 2, p: 'a', s: 'miss' }, // id 2 lives in partition b
      ],
      { on: ['p', 'id'] },
    )
    const rows = byId(await t.toRows())
    expect(rows.map((r) => [r.id, r.p, r.s])).toEqual([
      [1n, 'a', 'hit'],
      [2n, 'a', 'miss'],
      [2n, 'b', 's2'],
      [3n, 'a', 's3'],
      [4n, 'b', null],
    ])
    expect((await commitAt(t, 2)).info.operationParameters).toMatchObject({
      predicate: 'target.p = source.p AND target.id = source.id',
    })
  })

  it('reads only the partitions of the source keys when a key is a partition column', async () => {
    const t = await makeTable([rowsFor([1, 2, 3, 4], ['a', 'b'])], { partitioned: true })
    // Proof that partition b is not read: its data file is gone.
    for (const f of t.snapshot.files().filter((a) => a.partitionValues.p === 'b')) {
      await fs.rm(path.join(t.store.location, decodeAddPath(f.path)))
    }
    const result = await t.merge([{ id: 3, p: 'a', n: 0 }], { on: ['p', 'id'] })
    expect(result.metrics).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsCopied: 1 })
    expect((await commitAt(t, 2)).removes.map((r) => r.partitionValues)).toEqual([{ p: 'a' }])
  })

  it('never matches null keys and inserts those rows', async () => {
    const dir = await makeTempDir('merge-null-')
    const schema: StructType = {
      type: 'struct',
      fields: [
        { name: 'k', type: 'string', nullable: true, metadata: {} },
        { name: 'v', type: 'integer', nullable: true, metadata: {} },
      ],
    }
    const t = await DeltaTable.create(dir, { schema, clock: steppingClock() })
    await t.append([
      { k: null, v: 1 },
      { k: 'a', v: 2 },
    ])
    const result = await t.merge(
      [
        { k: null, v: 10 },
        { k: null, v: 11 },
        { k: 'a', v: 20 },
      ],
      { on: 'k' },
    )
    expect(result.metrics).toMatchObject({ numTargetRowsInserted: 2, numTargetRowsUpdated: 1 })
    const rows = (await t.toRows()).map((r) => `${String(r.k)}:${String(r.v)}`).sort()
    expect(rows).toEqual(['a:20', 'null:1', 'null:10', 'null:11'])
  })

  it('compares keys by typed value (a number matches a long, dates and timestamps by value)', async () => {
    const dir = await makeTempDir('merge-typed-')
    const schema: StructType = {
      type: 'struct',
      fields: [
        { name: 'd', type: 'date', nullable: false, metadata: {} },
        { name: 'ts', type: 'timestamp', nullable: false, metadata: {} },
        { name: 'dec', type: 'decimal(10,2)', nullable: false, metadata: {} },
        { name: 'v', type: 'long', nullable: true, metadata: {} },
      ],
    }
    const t = await DeltaTable.create(dir, { schema, clock: steppingClock() })
    await t.append([{ d: '2024-02-29', ts: new Date(Date.UTC(2024, 0, 1)), dec: '1.5', v: 1 }])
    const result = await t.merge(
      [{ d: new Date(Date.UTC(2024, 1, 29, 12)), ts: '2024-01-01T01:00:00+01:00', dec: 1.5, v: 2 }],
      { on: ['d', 'ts', 'dec'] },
    )
    expect(result.metrics).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 0 })
    expect((await t.toRows())[0]?.v).toBe(2n)
  })

  it('refuses two source rows with the same key', async () => {
    const t = await makeTable(BATCHES)
    const err = await t.merge([{ id: 20 }, { id: 20n }], { on: 'id' }).catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('MERGE_CARDINALITY')
    expect((await t.refresh()).version).toBe(3)
  })

  it('refuses a key that matches several target rows and leaves the table unchanged', async () => {
    const t = await makeTable([rowsFor([1, 2]), rowsFor([2, 3])])
    const files = await parquetFiles(t)
    const err = await t.merge([{ id: 2, s: 'x' }], { on: 'id' }).catch((e: unknown) => e)
    expect((err as DeltaError).code).toBe('MERGE_CARDINALITY')
    expect((await t.refresh()).version).toBe(2)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it('commits nothing when nothing changes', async () => {
    const t = await makeTable(BATCHES)
    const ignored = await t.merge([{ id: 1 }, { id: 50 }], {
      on: 'id',
      whenMatched: 'ignore',
      whenNotMatched: 'ignore',
    })
    expect(ignored).toMatchObject({ version: 3, skipped: true })
    const empty = await t.merge([], { on: 'id' })
    expect(empty).toMatchObject({ version: 3, skipped: true, metrics: { numSourceRows: 0 } })
    expect((await t.refresh()).version).toBe(3)
  })

  it.each([
    ['a missing key column', [{ id: 1 }], { on: 'nope' }, 'COLUMN_NOT_FOUND'],
    ['no key column', [{ id: 1 }], { on: [] as string[] }, 'INVALID_ARGUMENT'],
    ['an unknown source column', [{ id: 1, extra: 1 }], { on: 'id' }, 'SCHEMA_MISMATCH'],
    ['a source value of the wrong type', [{ id: 1, n: 'x' }], { on: 'id' }, 'SCHEMA_MISMATCH'],
    ['a null in a non-nullable source column', [{ id: null }], { on: 'id' }, 'SCHEMA_MISMATCH'],
    ['an insert without a non-nullable column', [{ n: 1 }], { on: 'n' }, 'SCHEMA_MISMATCH'],
    ['a bad whenMatched', [{ id: 1 }], { on: 'id', whenMatched: 'upsert' }, 'INVALID_ARGUMENT'],
    ['a bad whenNotMatched', [{ id: 1 }], { on: 'id', whenNotMatched: 'x' }, 'INVALID_ARGUMENT'],
    [
      'a whenMatched result of the wrong type',
      [{ id: 1 }],
      { on: 'id', whenMatched: () => ({ n: 'x' }) },
      'SCHEMA_MISMATCH',
    ],
    [
      'a whenMatched result with an unknown column',
      [{ id: 1 }],
      { on: 'id', whenMatched: () => ({ zzz: 1 }) },
      'SCHEMA_MISMATCH',
    ],
    [
      'a whenMatched function returning undefined',
      [{ id: 1 }],
      { on: 'id', whenMatched: () => undefined },
      'INVALID_ARGUMENT',
    ],
  ])('fails with %s and leaves the table unchanged', async (_name, rows, options, code) => {
    const t = await makeTable(BATCHES)
    const before = await t.toRows()
    const files = await parquetFiles(t)
    const err = await t
      .merge(rows as Record<string, unknown>[], options as Parameters<DeltaTable['merge']>[1])
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeltaError)
    expect((err as DeltaError).code).toBe(code)
    expect((await t.refresh()).version).toBe(3)
    expect(await t.toRows()).toEqual(before)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it('inserts into an append-only table but refuses to update or delete', async () => {
    const t = await makeTable(BATCHES, { appendOnly: true })
    const inserted = await t.merge([{ id: 1 }, { id: 30 }], { on: 'id', whenMatched: 'ignore' })
    expect(inserted.metrics).toMatchObject({ numTargetRowsInserted: 1 })
    // Only new keys: nothing is removed even with the default whenMatched.
    await t.merge([{ id: 31 }], { on: 'id' })
    const files = await parquetFiles(t)
    for (const whenMatched of ['update', 'delete'] as const) {
      const err = await t
        .merge([{ id: 1, n: 0 }], { on: 'id', whenMatched })
        .catch((e: unknown) => e)
      expect((err as DeltaError).code).toBe('APPEND_ONLY')
    }
    expect((await t.refresh()).version).toBe(5)
    expect(await parquetFiles(t)).toEqual(files)
  })

  it(`reads the whole table beyond ${MAX_KEYS_IN_PREDICATE} keys`, async () => {
    const t = await makeTable([rowsFor([1, 2])])
    const stale = t.snapshot
    // A concurrent append of an unrelated key: it conflicts only with a whole-table read.
    await t.append(rowsFor([1_000_000]))
    const source = Array.from({ length: MAX_KEYS_IN_PREDICATE + 1 }, (_, i) => ({ id: i + 10 }))
    const err = await mergeRows(t.store, stale, steppingClock(), source, { on: 'id' }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(CommitConflictError)
    expect((err as CommitConflictError).conflict).toBe('concurrent-append')
    // With few keys, the same concurrent append does not conflict.
    const ok = await mergeRows(t.store, stale, steppingClock(), [{ id: 10 }], { on: 'id' })
    expect(ok.result.version).toBe(3)
    await t.refresh()
    expect(await t.toRows()).toHaveLength(4)
  })
})

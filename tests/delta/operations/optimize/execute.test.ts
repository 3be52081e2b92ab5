import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { AddAction, RemoveAction } from '../../../../src/delta/actions/actions.js'
import {
  CommitConflictError,
  DeltaError,
  UnsupportedProtocolError,
} from '../../../../src/delta/errors.js'
import { col } from '../../../../src/delta/expr/expression.js'
import { parseStats } from '../../../../src/delta/expr/skipping.js'
import { commitKey } from '../../../../src/delta/log/log-path.js'
import {
  executeOptimize,
  type OptimizeInternals,
} from '../../../../src/delta/operations/optimize/execute.js'
import type { OptimizeOptions } from '../../../../src/delta/operations/optimize/plan.js'
import { removeFor } from '../../../../src/delta/operations/write-files.js'
import type { StructType } from '../../../../src/delta/schema/data-type.js'
import { MemoryStore } from '../../../../src/delta/storage/memory-store.js'
import { DeltaTable } from '../../../../src/delta/table/delta-table.js'
import { Transaction } from '../../../../src/delta/transaction/transaction.js'
import {
  commitActions,
  commitInfo,
  contents,
  dataFilesOnDisk,
  makeTable,
  rowsFor,
  steppingClock,
  T0,
} from './support.js'

const ENGINES = ['hyparquet', 'duckdb'] as const

async function optimize(
  table: DeltaTable,
  options: OptimizeOptions = {},
  internals: OptimizeInternals = {},
) {
  await table.refresh()
  const { result } = await executeOptimize(
    table.store,
    table.snapshot,
    table.clock,
    options,
    internals,
  )
  await table.refresh()
  return result
}

async function expectRejects(promise: Promise<unknown>, code: string): Promise<DeltaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeltaError)
  expect((error as DeltaError).code).toBe(code)
  return error as DeltaError
}

describe.each(ENGINES)('OPTIMIZE with the %s engine', (engine) => {
  it('compacts small files into one and keeps every row and older versions', async () => {
    const table = await makeTable([rowsFor([1, 2]), rowsFor([3]), rowsFor([4, 5, 6])])
    const before = await contents(table)
    const result = await optimize(table, {}, { engine })
    expect(result.skipped).toBe(false)
    expect(result.engines).toEqual([engine])
    expect(result.version).toBe(4)
    expect(await contents(table)).toEqual(before)
    expect(await table.files()).toHaveLength(1)
    expect(parseStats((await table.files())[0]?.stats)?.numRecords).toBe(6)
    // The old files are only logically removed: earlier versions still read.
    expect(await contents(table, 3)).toEqual(before)
    expect(await contents(table, 1)).toHaveLength(2)
  })

  it('commits removes and adds with dataChange=false and the OPTIMIZE commitInfo', async () => {
    const table = await makeTable([rowsFor([1]), rowsFor([2]), rowsFor([3])])
    const liveBefore = await table.files()
    const result = await optimize(table, { targetFileSize: 10_000 }, { engine })
    const actions = await commitActions(table.store, result.version)
    const removes = actions.filter((a): a is RemoveAction => a.kind === 'remove')
    const adds = actions.filter((a): a is AddAction => a.kind === 'add')
    expect(removes.map((r) => r.path).sort()).toEqual(liveBefore.map((f) => f.path).sort())
    expect(removes.every((r) => !r.dataChange && r.deletionTimestamp !== undefined)).toBe(true)
    expect(removes[0]).toMatchObject({ extendedFileMetadata: true, size: expect.any(Number) })
    expect(adds).toHaveLength(1)
    expect(adds[0]?.dataChange).toBe(false)
    const info = await commitInfo(table.store, result.version)
    expect(info.operation).toBe('OPTIMIZE')
    expect(info.operationParameters).toEqual({
      predicate: '[]',
      targetSize: '10000',
      zOrderBy: '[]',
    })
    const metrics = info.operationMetrics as Record<string, string>
    const addedSize = adds[0]?.size ?? 0
    const removedSize = liveBefore.reduce((s, f) => s + f.size, 0)
    expect(metrics).toMatchObject({
      numFilesAdded: '1',
      numFilesRemoved: '3',
      partitionsOptimized: '1',
      numBatches: '1',
      totalConsideredFiles: '3',
      totalFilesSkipped: '0',
      numAddedBytes: String(addedSize),
      numRemovedBytes: String(removedSize),
    })
    expect(JSON.parse(metrics.filesAdded ?? '')).toEqual({
      min: addedSize,
      max: addedSize,
      avg: addedSize,
      totalFiles: 1,
      totalSize: addedSize,
    })
    expect(JSON.parse(metrics.filesRemoved ?? '')).toMatchObject({
      totalFiles: 3,
      totalSize: removedSize,
    })
    expect(result.metrics.filesRemoved.totalSize).toBe(removedSize)
    expect(info.isBlindAppend).toBe(false)
    expect(info.readVersion).toBe(3)
    // History shows the operation with its parameters and metrics.
    const [latest] = await table.history({ limit: 1 })
    expect(latest).toMatchObject({
      version: result.version,
      operation: 'OPTIMIZE',
      operationParameters: { targetSize: '10000', zOrderBy: '[]' },
    })
    expect(latest?.operationMetrics).toMatchObject({ numFilesRemoved: '3' })
  })

  it('compacts only the partitions matching the filter', async () => {
    const batches = [rowsFor([1, 2, 3], ['a', 'b', null]), rowsFor([4, 5, 6], ['a', 'b', null])]
    const table = await makeTable(batches, { partitionColumns: ['p'] })
    const before = await contents(table)
    const result = await optimize(table, { partitionFilter: col('p').eq('b') }, { engine })
    expect(result.metrics).toMatchObject({ numFilesRemoved: 2, numFilesAdded: 1 })
    expect(result.metrics.totalConsideredFiles).toBe(2)
    const files = await table.files()
    expect(files.filter((f) => f.partitionValues.p === 'b')).toHaveLength(1)
    expect(files.filter((f) => f.partitionValues.p === 'a')).toHaveLength(2)
    expect(files.filter((f) => f.partitionValues.p === null)).toHaveLength(2)
    expect(files.find((f) => f.partitionValues.p === 'b')?.path).toMatch(/^p=b\/part-/)
    expect(await contents(table)).toEqual(before)
    const info = await commitInfo(table.store, result.version)
    expect(info.operationParameters).toMatchObject({ predicate: '["p = \\"b\\""]' })
  })

  it('z-orders, cuts into the planned number of files and narrows the ranges', async () => {
    // 4,000 rows; `a` and `b` independent, so unclustered files span both whole ranges.
    const rows = Array.from({ length: 4000 }, (_, i) => ({
      id: BigInt(i),
      p: 'x',
      n: (i * 7919) % 400,
      s: `k${String((i * 104729) % 50).padStart(3, '0')}`,
    }))
    const batches = Array.from({ length: 8 }, (_, k) => rows.slice(k * 500, (k + 1) * 500))
    const table = await makeTable(batches)
    const before = await contents(table)
    const bytes = (await table.files()).reduce((s, f) => s + f.size, 0)
    const target = Math.ceil(bytes / 16)
    const result = await optimize(table, { zOrder: ['n', 's'], targetFileSize: target }, { engine })
    expect(await contents(table)).toEqual(before)
    const files = await table.files()
    expect(files.length).toBeGreaterThanOrEqual(12)
    expect(files.length).toBeLessThanOrEqual(20)
    expect(result.metrics.numFilesAdded).toBe(files.length)
    const info = await commitInfo(table.store, result.version)
    expect(info.operationParameters).toMatchObject({ zOrderBy: '["n","s"]' })
    // A point filter on the first z-order column touches few files, and reads the right rows.
    for (const n of [0, 137, 399]) {
      const touched = await table.files({ filter: col('n').eq(n) })
      expect(touched.length).toBeLessThanOrEqual(Math.ceil(files.length / 4))
      const got = await table.toRows({ filter: col('n').eq(n) })
      expect(got.map((r) => r.id).sort()).toEqual(
        rows
          .filter((r) => r.n === n)
          .map((r) => r.id)
          .sort(),
      )
    }
    for (const s of ['k000', 'k049']) {
      const touched = await table.files({ filter: col('s').eq(s) })
      expect(touched.length).toBeLessThan(files.length)
    }
  })

  it('z-orders a single-file partition too', async () => {
    const table = await makeTable([rowsFor([3, 1, 2])])
    const result = await optimize(table, { zOrder: ['id'] }, { engine })
    expect(result.skipped).toBe(false)
    expect(result.metrics).toMatchObject({ numFilesRemoved: 1, numFilesAdded: 1 })
    expect(await contents(table)).toEqual(await contents(table, 1))
  })
})

describe('OPTIMIZE', () => {
  it('preserves contents and time travel on random tables (property)', async () => {
    const row = fc.record({
      p: fc.option(fc.constantFrom('a', 'b', 'c d', 'é/x'), { freq: 4 }),
      n: fc.option(fc.integer({ min: -1000, max: 1000 }), { freq: 4 }),
      s: fc.option(fc.string({ maxLength: 40 }), { freq: 4 }),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(row, { minLength: 0, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 300, max: 20_000 }),
        fc.constantFrom<readonly string[] | undefined>(undefined, ['n'], ['s', 'n']),
        fc.constantFrom(...ENGINES),
        async (batches, partitioned, targetFileSize, zOrder, engine) => {
          let id = 0
          const withIds = batches.map((b) => b.map((r) => ({ ...r, id: BigInt(id++) })))
          const table = await makeTable(withIds, { partitionColumns: partitioned ? ['p'] : [] })
          const versionBefore = table.version
          const before = await contents(table)
          const result = await optimize(table, { targetFileSize, zOrder }, { engine })
          expect(await contents(table)).toEqual(before)
          expect(result.skipped).toBe(table.version === versionBefore)
          for (let v = 1; v <= versionBefore; v++) {
            const expected = withIds.slice(0, v).flat().length
            expect(await contents(table, v)).toHaveLength(expected)
          }
          if (!result.skipped) {
            const live = await table.files()
            const rows = live.reduce((n, f) => n + (parseStats(f.stats)?.numRecords ?? 0), 0)
            expect(rows).toBe(before.length)
          }
        },
      ),
      { numRuns: 12 },
    )
  }, 240_000)

  it('compacts append-only tables (its removes change no data)', async () => {
    const table = await makeTable([rowsFor([1]), rowsFor([2])], {
      properties: { 'delta.appendOnly': 'true' },
    })
    const result = await optimize(table)
    expect(result.skipped).toBe(false)
    expect(await table.files()).toHaveLength(1)
  })

  it('commits nothing when there is nothing to compact', async () => {
    const table = await makeTable([rowsFor([1, 2, 3])])
    const result = await optimize(table)
    expect(result).toMatchObject({ skipped: true, dryRun: false, version: 1 })
    expect(result.metrics).toMatchObject({
      numFilesAdded: 0,
      numFilesRemoved: 0,
      totalConsideredFiles: 1,
      totalFilesSkipped: 1,
    })
    expect(table.version).toBe(1)
    const empty = await makeTable([])
    expect((await optimize(empty)).skipped).toBe(true)
    expect((await optimize(empty, { zOrder: ['n'] })).skipped).toBe(true)
    expect(empty.version).toBe(0)
  })

  it('returns the plan and its metrics on a dry run, writing nothing', async () => {
    const table = await makeTable([rowsFor([1]), rowsFor([2]), rowsFor([3])])
    const files = await dataFilesOnDisk(table)
    const result = await table.optimize({ dryRun: true })
    expect(result).toMatchObject({ skipped: true, dryRun: true, version: 3 })
    expect(result.plan.bins).toHaveLength(1)
    expect(result.plan.bins[0]?.files).toHaveLength(3)
    expect(result.metrics).toMatchObject({
      numFilesRemoved: 3,
      numFilesAdded: 1,
      numBatches: 1,
      partitionsOptimized: 1,
    })
    expect(result.metrics.numRemovedBytes).toBeGreaterThan(0)
    expect(table.version).toBe(3)
    expect(await dataFilesOnDisk(table)).toEqual(files)
  })

  it('runs through DeltaTable.optimize and moves the handle to the new version', async () => {
    const table = await makeTable([rowsFor([1]), rowsFor([2])])
    const result = await table.optimize()
    expect(result.version).toBe(3)
    expect(table.version).toBe(3)
    expect(result.engines).toEqual(['hyparquet'])
  })

  it('commits after a concurrent append, which survives', async () => {
    const table = await makeTable([rowsFor([1]), rowsFor([2]), rowsFor([3])])
    const other = await DeltaTable.open(table.store.location)
    const result = await optimize(
      table,
      {},
      { beforeCommit: async () => void (await other.append(rowsFor([100, 101]))) },
    )
    expect(result.version).toBe(5)
    expect((await commitInfo(table.store, 4)).operation).toBe('WRITE')
    const ids = (await table.toRows()).map((r) => r.id).sort()
    expect(ids).toEqual([1n, 100n, 101n, 2n, 3n])
    // The appended file is live next to the compacted one.
    expect(await table.files()).toHaveLength(2)
  })

  it.each(ENGINES)(
    'fails with a conflict and cleans up when a compacted file is deleted concurrently (%s)',
    async (engine) => {
      const table = await makeTable([rowsFor([1]), rowsFor([2]), rowsFor([3])])
      const filesBefore = await dataFilesOnDisk(table)
      const victim = (await table.files())[0] as AddAction
      const error = await expectRejects(
        optimize(
          table,
          {},
          {
            engine,
            beforeCommit: async () => {
              // A DELETE that drops a whole file, committed between optimize's read and commit.
              const snapshot = (await DeltaTable.open(table.store.location)).snapshot
              const txn = new Transaction(table.store, snapshot, steppingClock(), {
                operation: 'DELETE',
              })
              txn.recordRead(col('id').eq(1), [victim])
              txn.addActions([removeFor(victim, T0, true)])
              await txn.commit()
            },
          },
        ),
        'COMMIT_CONFLICT',
      )
      expect(error).toBeInstanceOf(CommitConflictError)
      expect(['concurrent-delete-read', 'concurrent-delete-delete']).toContain(
        (error as CommitConflictError).conflict,
      )
      // The table holds the delete only; the files optimize wrote are gone.
      await table.refresh()
      expect(table.version).toBe(4)
      expect((await commitInfo(table.store, 4)).operation).toBe('DELETE')
      expect(await table.store.head(commitKey(5))).toBeUndefined()
      expect(await dataFilesOnDisk(table)).toEqual(filesBefore)
      expect(await table.files()).toHaveLength(2)
    },
  )

  it.each<[string, OptimizeOptions, string]>([
    ['a missing z-order column', { zOrder: ['nope'] }, 'COLUMN_NOT_FOUND'],
    ['a partition column in z-order', { zOrder: ['p'] }, 'INVALID_ARGUMENT'],
    ['a nested z-order column', { zOrder: ['st'] }, 'INVALID_ARGUMENT'],
    ['a zero targetFileSize', { targetFileSize: 0 }, 'INVALID_ARGUMENT'],
    ['a negative targetFileSize', { targetFileSize: -1 }, 'INVALID_ARGUMENT'],
    ['a filter on a data column', { partitionFilter: col('id').eq(1) }, 'INVALID_ARGUMENT'],
    ['zero maxAttempts', { maxAttempts: 0 }, 'INVALID_ARGUMENT'],
  ])('rejects %s and changes nothing', async (_, options, code) => {
    const schema: StructType = {
      type: 'struct',
      fields: [
        { name: 'id', type: 'long', nullable: false, metadata: {} },
        { name: 'p', type: 'string', nullable: true, metadata: {} },
        {
          name: 'st',
          type: {
            type: 'struct',
            fields: [{ name: 'x', type: 'integer', nullable: true, metadata: {} }],
          },
          nullable: true,
          metadata: {},
        },
      ],
    }
    const table = await makeTable(
      [[{ id: 1n, p: 'a', st: { x: 1 } }], [{ id: 2n, p: 'a', st: null }]],
      { schema, partitionColumns: ['p'] },
    )
    const files = await dataFilesOnDisk(table)
    const error = await expectRejects(table.optimize(options), code)
    const named = options.zOrder?.[0] ?? (options.partitionFilter ? 'id' : undefined)
    if (named !== undefined) expect(error.message).toContain(named)
    expect(table.version).toBe(2)
    expect(await dataFilesOnDisk(table)).toEqual(files)
  })

  it('refuses tables with writer features it does not honour', async () => {
    const store = new MemoryStore({ location: 'memory://row-tracking' })
    const lines = [
      { commitInfo: { timestamp: T0, operation: 'CREATE TABLE' } },
      {
        protocol: {
          minReaderVersion: 1,
          minWriterVersion: 7,
          writerFeatures: ['domainMetadata', 'rowTracking'],
        },
      },
      {
        metaData: {
          id: 'rt',
          format: { provider: 'parquet', options: {} },
          schemaString: JSON.stringify({
            type: 'struct',
            fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
          }),
          partitionColumns: [],
          configuration: {},
          createdTime: T0,
        },
      },
      ...['a', 'b'].map((name) => ({
        add: {
          path: `${name}.parquet`,
          partitionValues: {},
          size: 10,
          modificationTime: T0,
          dataChange: true,
        },
      })),
    ]
    await store.put(
      commitKey(0),
      new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'),
    )
    const table = await DeltaTable.open(store)
    for (const options of [{}, { dryRun: true }, { zOrder: ['id'] }]) {
      const error = await expectRejects(table.optimize(options), 'UNSUPPORTED_FEATURE')
      expect(error).toBeInstanceOf(UnsupportedProtocolError)
      expect((error as UnsupportedProtocolError).features).toContain('rowTracking')
      expect(error.message).toContain('rowTracking')
    }
    expect(table.version).toBe(0)
    expect(await store.head(commitKey(1))).toBeUndefined()
  })

  it('compacts tables on any store with the hyparquet engine', async () => {
    const store = new MemoryStore({ location: 'memory://optimize' })
    const table = await DeltaTable.create(store, {
      schema: {
        type: 'struct',
        fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
      },
      clock: steppingClock(),
    })
    await table.append([{ id: 1n }])
    await table.append([{ id: 2n }, { id: null }])
    await expectRejects(
      executeOptimize(store, table.snapshot, table.clock, {}, { engine: 'duckdb' }),
      'INVALID_ARGUMENT',
    )
    const result = await table.optimize()
    expect(result.engines).toEqual(['hyparquet'])
    expect((await table.toRows()).map((r) => String(r.id)).sort()).toEqual(['1', '2', 'null'])
  })
})

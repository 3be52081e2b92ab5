import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import { DeltaError, isDeltaError } from '../../../src/delta/errors.js'
import type { WriteResult } from '../../../src/delta/operations/finish-commit.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { readCommit } from '../../../src/delta/snapshot/snapshot.js'
import { LocalFsStore } from '../../../src/delta/storage/local-fs-store.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'
import type { ObjectStore } from '../../../src/delta/storage/object-store.js'
import { commitKey, LAST_CHECKPOINT_KEY } from '../../../src/delta/log/log-path.js'
import { GroupCommitQueue } from '../../../src/delta/transaction/group-commit.js'
import { makeTempDir } from '../../support/temp.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'who', type: 'string', nullable: true, metadata: {} },
  ],
}

const ok = (version: number, rows = 0): WriteResult => ({
  version,
  skipped: false,
  metrics: { numOutputRows: rows },
})

/** A promise with its resolve function, to hold a fake commit open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function localTable(properties: Record<string, string> = {}): Promise<DeltaTable> {
  const dir = await makeTempDir('group-commit-')
  return DeltaTable.create(path.join(dir, 'table'), { schema: SCHEMA, properties })
}

async function ids(table: DeltaTable): Promise<bigint[]> {
  const t = await DeltaTable.open(table.store)
  return (await t.toRows({ columns: ['id'] }))
    .map((r) => r.id as bigint)
    .sort((a, b) => (a < b ? -1 : 1))
}

describe('GroupCommitQueue', () => {
  it('commits concurrent callers in few commits and resolves each with the version holding its rows', async () => {
    const table = await localTable()
    const n = 200
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => table.appendQueued([{ id: BigInt(i), who: `c${i}` }])),
    )
    await table.close()
    expect(await ids(table)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)))
    const versions = new Set(results.map((r) => r.version))
    expect(versions.size).toBeLessThan(n / 4)
    // Each caller's rows are in exactly the commit its promise named.
    for (const v of versions) {
      const actions = await readCommit(table.store, table.store.location, {
        version: v,
        key: commitKey(v),
      })
      const expected = results.filter((r) => r.version === v).length
      const info = actions.find((a) => a.kind === 'commitInfo')
      expect(info?.kind === 'commitInfo' && info.info.operationMetrics).toMatchObject({
        numOutputRows: String(expected),
      })
    }
  })

  it('resolves a caller only once its commit file and data file are durable in the store', async () => {
    const table = await localTable()
    const seen: boolean[] = []
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const r = await table.appendQueued([{ id: BigInt(i) }])
        // At resolution the commit exists and a fresh reader sees the row at that version.
        const reader = await DeltaTable.open(table.store, { version: r.version })
        const rows = await reader.toRows({ columns: ['id'] })
        seen.push(rows.some((row) => row.id === BigInt(i)))
      }),
    )
    await table.close()
    expect(seen).toEqual(Array.from({ length: 30 }, () => true))
  })

  it('rejects a caller with invalid rows alone and commits the others', async () => {
    const table = await localTable()
    const outcomes = await Promise.allSettled([
      table.appendQueued([{ id: 1n }]),
      table.appendQueued([{ id: 'not a long' }]),
      table.appendQueued([{ id: 2n }, { id: 3n, extra: true }]),
      table.appendQueued([{ id: 4n }]),
    ])
    await table.close()
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ])
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(isDeltaError(o.reason, 'SCHEMA_MISMATCH')).toBe(true)
    }
    expect(await ids(table)).toEqual([1n, 4n])
  })

  it('rejects exactly the callers of a failed commit with its error', async () => {
    const gates = [gate(), gate(), gate()]
    let calls = 0
    const failure = new DeltaError('STORAGE_ERROR', 'test store: injected failure')
    const batches: number[][] = []
    const queue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      commit: async (rows) => {
        const call = calls++
        batches.push(rows.map((r) => Number(r.id)))
        await gates[call]?.promise
        if (call === 1) throw failure
        return ok(call, rows.length)
      },
    })
    const first = queue.enqueue([{ id: 0n }])
    await tick()
    // These three arrive while the first commit runs: they share the second (failing) commit.
    const second = [1n, 2n, 3n].map((id) => queue.enqueue([{ id }]))
    const settledSecond = Promise.allSettled(second)
    gates[0]?.open()
    await first
    await tick()
    const third = queue.enqueue([{ id: 4n }])
    gates[1]?.open()
    const outcomes = await settledSecond
    gates[2]?.open()
    expect((await third).version).toBe(2)
    expect(batches).toEqual([[0], [1, 2, 3], [4]])
    for (const o of outcomes) {
      expect(o.status).toBe('rejected')
      expect(o.status === 'rejected' && o.reason).toBe(failure)
    }
    await queue.close()
  })

  it('never holds more rows than maxQueuedRows and admits waiting callers in arrival order', async () => {
    const max = 10
    let release = gate()
    let maxSeen = 0
    const order: number[] = []
    const queue: GroupCommitQueue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      maxQueuedRows: max,
      commit: async (rows) => {
        maxSeen = Math.max(maxSeen, queue.queuedRows)
        for (const r of rows) order.push(Number(r.id))
        await release.promise
        release = gate()
        return ok(0, rows.length)
      },
    })
    const sizes = Array.from({ length: 40 }, (_, i) => 1 + (i % 4))
    let next = 0
    const pending = sizes.map((size, i) => {
      const rows = Array.from({ length: size }, () => ({ id: BigInt(i) }))
      next++
      const p = queue.enqueue(rows)
      maxSeen = Math.max(maxSeen, queue.queuedRows)
      return p
    })
    expect(next).toBe(sizes.length)
    const sampler = setInterval(() => {
      maxSeen = Math.max(maxSeen, queue.queuedRows)
      release.open()
    }, 1)
    try {
      await Promise.all(pending)
    } finally {
      clearInterval(sampler)
    }
    await queue.close()
    expect(maxSeen).toBeLessThanOrEqual(max)
    expect(maxSeen).toBeGreaterThan(max / 2)
    // First come, first served: the callers' rows were committed in arrival order.
    const firstSeen = [...new Set(order)]
    expect(firstSeen).toEqual(sizes.map((_, i) => i))
  })

  it('admits a request larger than the bound alone once the queue is empty', async () => {
    const batches: number[] = []
    const queue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      maxQueuedRows: 5,
      commit: async (rows) => {
        batches.push(rows.length)
        await tick()
        return ok(0, rows.length)
      },
    })
    const small = queue.enqueue([{ id: 1n }])
    const big = queue.enqueue(Array.from({ length: 12 }, (_, i) => ({ id: BigInt(i) })))
    const after = queue.enqueue([{ id: 2n }])
    await Promise.all([small, big, after])
    await queue.close()
    expect(batches).toEqual([1, 12, 1])
  })

  it('splits batches at maxBatchRows without splitting a caller', async () => {
    const batches: number[] = []
    const queue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      maxBatchRows: 5,
      commit: (rows) => {
        batches.push(rows.length)
        return Promise.resolve(ok(0, rows.length))
      },
    })
    const sizes = [2, 2, 2, 6, 1, 3]
    await Promise.all(
      sizes.map((n) => queue.enqueue(Array.from({ length: n }, (_, i) => ({ id: BigInt(i) })))),
    )
    await queue.close()
    expect(batches).toEqual([4, 2, 6, 4])
  })

  it('drains every queued caller on close and refuses new ones', async () => {
    const table = await localTable()
    const pending = Array.from({ length: 50 }, (_, i) => table.appendQueued([{ id: BigInt(i) }]))
    await table.close()
    const outcomes = await Promise.allSettled(pending)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(await ids(table)).toHaveLength(50)
    await expect(table.appendQueued([{ id: 99n }])).rejects.toMatchObject({ code: 'QUEUE_CLOSED' })
  })

  it('rejects callers still waiting for room with QUEUE_CLOSED when the queue closes', async () => {
    const hold = gate()
    const queue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      maxQueuedRows: 1,
      commit: async (rows) => {
        await hold.promise
        return ok(0, rows.length)
      },
    })
    const first = queue.enqueue([{ id: 1n }])
    const waiting = queue.enqueue([{ id: 2n }])
    await tick()
    const closed = queue.close()
    hold.open()
    await expect(waiting).rejects.toMatchObject({ code: 'QUEUE_CLOSED' })
    await expect(first).resolves.toMatchObject({ skipped: false })
    await closed
  })

  it('rejects an empty request and invalid limits', async () => {
    const queue = new GroupCommitQueue({
      schema: () => SCHEMA,
      location: () => 'mem://t',
      commit: (rows) => Promise.resolve(ok(0, rows.length)),
    })
    await expect(queue.enqueue([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(
      () =>
        new GroupCommitQueue({
          schema: () => SCHEMA,
          location: () => 'mem://t',
          commit: (rows) => Promise.resolve(ok(0, rows.length)),
          maxQueuedRows: 0,
        }),
    ).toThrow(DeltaError)
  })

  it('writes checkpoints in the background and reports them on a later acknowledgement', async () => {
    const table = await localTable({ 'delta.checkpointInterval': '3' })
    const results: WriteResult[] = []
    for (let round = 0; round < 12; round++) {
      results.push(
        ...(await Promise.all(
          Array.from({ length: 5 }, (_, i) => table.appendQueued([{ id: BigInt(round * 5 + i) }])),
        )),
      )
    }
    await table.close()
    expect(results.some((r) => r.checkpoint !== undefined)).toBe(true)
    expect(results.every((r) => r.checkpointError === undefined)).toBe(true)
    expect(await table.store.head(LAST_CHECKPOINT_KEY)).toBeDefined()
    const reopened = await DeltaTable.open(table.store.location)
    expect(await reopened.toRows()).toHaveLength(60)
  })

  it('writes the checkpoint due at the last commit when the handle closes', async () => {
    const table = await localTable({ 'delta.checkpointInterval': '2' })
    // Versions 1..6: checkpoints fall due at 2, 4 and 6; the background writer paces them
    // and folds the ones due meanwhile, but close() writes the last one due before returning.
    for (let i = 0; i < 6; i++) await table.appendQueued([{ id: BigInt(i) }])
    await table.close()
    const hint = JSON.parse(
      new TextDecoder().decode(await table.store.get(LAST_CHECKPOINT_KEY)),
    ) as { version: number }
    expect(hint.version).toBe(6)
    expect(
      await table.store.head('_delta_log/00000000000000000006.checkpoint.parquet'),
    ).toBeDefined()
  })

  it('commits through a store without the local fast paths (in-memory)', async () => {
    const store: ObjectStore = new MemoryStore()
    const table = await DeltaTable.create(store, { schema: SCHEMA })
    await Promise.all(Array.from({ length: 40 }, (_, i) => table.appendQueued([{ id: BigInt(i) }])))
    await table.close()
    expect(await ids(table)).toHaveLength(40)
  })

  it('catches up with commits of another writer before committing', async () => {
    const table = await localTable()
    await table.appendQueued([{ id: 1n }])
    const other = await DeltaTable.open(new LocalFsStore(table.store.location))
    await other.append([{ id: 2n }])
    await other.append([{ id: 3n }])
    const r = await table.appendQueued([{ id: 4n }])
    await table.close()
    expect(r.version).toBe(4)
    expect(await ids(table)).toEqual([1n, 2n, 3n, 4n])
  })
})

describe('group commit to a table another writer upgraded', () => {
  it('refuses the batch and removes its data files when the protocol cannot be written', async () => {
    const store = new MemoryStore()
    const table = await DeltaTable.create(store, { schema: SCHEMA })
    // Another writer adds a writer feature this engine does not implement.
    const upgrade = {
      protocol: {
        minReaderVersion: 1,
        minWriterVersion: 7,
        writerFeatures: ['appendOnly', 'invariants', 'checkConstraints', 'someFutureFeature'],
      },
    }
    await store.putIfAbsent(
      commitKey(1),
      new TextEncoder().encode(
        `{"commitInfo":{"operation":"UPGRADE"}}\n${JSON.stringify(upgrade)}\n`,
      ),
    )
    const rows = Array.from({ length: 3 }, (_, i) => ({ id: BigInt(i), who: 'x' }))
    const outcomes = await Promise.allSettled(rows.map((row) => table.appendQueued([row])))
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected')
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        code: 'UNSUPPORTED_FEATURE',
      })
    }
    const dataFiles = (await store.listKeys('', { recursive: true })).filter((k) =>
      k.endsWith('.parquet'),
    )
    expect(dataFiles).toEqual([])
    await table.close()
  })
})

import * as path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { col } from '../../../src/delta/expr/expression.js'
import { CommitConflictError, isDeltaError } from '../../../src/delta/errors.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { readCommit } from '../../../src/delta/snapshot/snapshot.js'
import { LocalFsStore } from '../../../src/delta/storage/local-fs-store.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import type { TransactionContext } from '../../../src/delta/transaction/transact.js'
import { makeTempDir } from '../../support/temp.js'
import { DAY, FakeClock } from '../operations/vacuum-support.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'key', type: 'string', nullable: false, metadata: {} },
    { name: 'n', type: 'long', nullable: true, metadata: {} },
  ],
}

async function newTable(): Promise<DeltaTable> {
  const dir = await makeTempDir('transact-')
  return DeltaTable.create(path.join(dir, 'table'), { schema: SCHEMA })
}

/** Another handle on the same table (as another process would have). */
function otherHandle(table: DeltaTable): Promise<DeltaTable> {
  return DeltaTable.open(new LocalFsStore(table.store.location))
}

/** The "insert if absent" body of the user domain: read key = k, append when empty. */
function insertIfAbsent(key: string, n: bigint, runs?: { count: number }) {
  return async (tx: TransactionContext): Promise<'created' | 'exists'> => {
    if (runs) runs.count++
    const found = await tx.read({ filter: col('key').eq(key) })
    if (found.length > 0) return 'exists'
    tx.append([{ key, n }])
    return 'created'
  }
}

async function rowsOf(table: DeltaTable): Promise<Record<string, unknown>[]> {
  const t = await DeltaTable.open(table.store)
  return (await t.toRows()).sort((a, b) => String(a.key).localeCompare(String(b.key)))
}

describe('DeltaTable.transact', () => {
  it('commits the staged rows and returns the value of the callback', async () => {
    const table = await newTable()
    const { value, result } = await table.transact(insertIfAbsent('a', 1n))
    expect(value).toBe('created')
    expect(result).toMatchObject({ version: 1, skipped: false })
    expect(table.version).toBe(1)
    expect(await rowsOf(table)).toEqual([{ key: 'a', n: 1n }])
  })

  it('commits nothing when the callback stages nothing', async () => {
    const table = await newTable()
    await table.transact(insertIfAbsent('a', 1n))
    const { value, result } = await table.transact(insertIfAbsent('a', 2n))
    expect(value).toBe('exists')
    expect(result).toMatchObject({ version: 1, skipped: true })
    expect((await DeltaTable.open(table.store)).version).toBe(1)
  })

  it('records its reads: the commit is not a blind append and keeps the operation name', async () => {
    const table = await newTable()
    await table.transact(insertIfAbsent('a', 1n), {
      operation: 'INSERT IF ABSENT',
      userMetadata: 'signup',
    })
    const actions = await readCommit(table.store, table.store.location, {
      version: 1,
      key: commitKey(1),
    })
    const info = actions.find((a) => a.kind === 'commitInfo')
    expect(info?.kind === 'commitInfo' && info.info).toMatchObject({
      operation: 'INSERT IF ABSENT',
      isBlindAppend: false,
      readVersion: 0,
      userMetadata: 'signup',
    })
  })

  it('lets exactly one of many concurrent inserts of one key succeed', async () => {
    const table = await newTable()
    const handles = await Promise.all(Array.from({ length: 12 }, () => otherHandle(table)))
    const outcomes = await Promise.all(
      handles.map((h, i) => h.transact(insertIfAbsent('same', BigInt(i)))),
    )
    const created = outcomes.filter((o) => o.value === 'created')
    expect(created).toHaveLength(1)
    expect(outcomes.filter((o) => o.value === 'exists')).toHaveLength(11)
    expect(outcomes.filter((o) => o.result.skipped)).toHaveLength(11)
    const rows = await rowsOf(table)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.key).toBe('same')
  })

  it('does not re-run transactions on disjoint keys that commit concurrently', async () => {
    const table = await newTable()
    const a = await otherHandle(table)
    const b = await otherHandle(table)
    const runs = { count: 0 }
    // Both read version 0, then both commit: the loser's commit is retried at the next version
    // by the transaction itself (no conflict: the winner's file cannot hold key 'b').
    const [ra, rb] = await Promise.all([
      a.transact(insertIfAbsent('a', 1n, runs)),
      b.transact(insertIfAbsent('b', 2n, runs)),
    ])
    expect([ra.value, rb.value]).toEqual(['created', 'created'])
    expect(runs.count).toBe(2)
    expect((await rowsOf(table)).map((r) => r.key)).toEqual(['a', 'b'])
  })

  it('re-runs the callback on a fresh snapshot after a concurrent matching append', async () => {
    const table = await newTable()
    const other = await otherHandle(table)
    const snapshots: number[] = []
    const { value } = await table.transact(async (tx) => {
      snapshots.push(tx.snapshot.version)
      const found = await tx.read({ filter: col('key').eq('k') })
      if (found.length > 0) return 'exists'
      if (snapshots.length === 1) await other.append([{ key: 'k', n: 7n }])
      tx.append([{ key: 'k', n: 1n }])
      return 'created'
    })
    expect(value).toBe('exists')
    expect(snapshots).toEqual([0, 1])
    expect(await rowsOf(table)).toEqual([{ key: 'k', n: 7n }])
  })

  it('throws the conflict after maxConflictRetries re-runs', async () => {
    const table = await newTable()
    const other = await otherHandle(table)
    let runs = 0
    const error = await table
      .transact(
        async (tx) => {
          runs++
          await tx.read({ filter: col('key').eq('k') })
          await other.append([{ key: 'k', n: BigInt(runs) }])
          tx.append([{ key: 'k', n: 0n }])
        },
        { maxConflictRetries: 2 },
      )
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommitConflictError)
    expect((error as CommitConflictError).conflict).toBe('concurrent-append')
    expect(runs).toBe(3)
    expect((await rowsOf(table)).map((r) => r.n as bigint).sort()).toEqual([1n, 2n, 3n])
  })

  it('treats a read without filter as a read of the whole table', async () => {
    const table = await newTable()
    const other = await otherHandle(table)
    let runs = 0
    await table.transact(async (tx) => {
      runs++
      const all = await tx.read()
      if (runs === 1) await other.append([{ key: 'unrelated', n: 0n }])
      tx.append([{ key: `count-${all.length}`, n: BigInt(all.length) }])
    })
    expect(runs).toBe(2)
    expect((await rowsOf(table)).map((r) => r.key)).toEqual(['count-1', 'unrelated'])
  })

  it('conflicts when a file it read is deleted concurrently', async () => {
    const table = await newTable()
    await table.append([{ key: 'x', n: 1n }])
    const other = await otherHandle(table)
    const seen: number[] = []
    await table.transact(async (tx) => {
      const found = await tx.read({ filter: col('key').eq('x') })
      seen.push(found.length)
      if (seen.length === 1) await other.delete(col('key').eq('x'))
      if (found.length > 0) tx.append([{ key: 'x-seen', n: 0n }])
    })
    expect(seen).toEqual([1, 0])
    expect(await rowsOf(table)).toEqual([])
  })

  it('commits nothing when the callback throws', async () => {
    const table = await newTable()
    const boom = new Error('callback failed')
    await expect(
      table.transact(async (tx) => {
        tx.append([{ key: 'a', n: 1n }])
        await Promise.resolve()
        throw boom
      }),
    ).rejects.toBe(boom)
    expect((await DeltaTable.open(table.store)).version).toBe(0)
  })

  it('validates staged rows at append and refuses use after the callback returned', async () => {
    const table = await newTable()
    let escaped: TransactionContext | undefined
    await table.transact(async (tx) => {
      escaped = tx
      expect(() => tx.append([{ key: 1 }])).toThrow(
        expect.objectContaining({ code: 'SCHEMA_MISMATCH' }),
      )
      tx.append([{ key: 'ok' }])
      return Promise.resolve()
    })
    expect(() => escaped?.append([{ key: 'late' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    await expect(escaped?.read()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(await rowsOf(table)).toEqual([{ key: 'ok', n: null }])
  })

  it('rejects a negative retry bound', async () => {
    const table = await newTable()
    const error = await table
      .transact(() => Promise.resolve(), { maxConflictRetries: -1 })
      .catch((e: unknown) => e)
    expect(isDeltaError(error, 'INVALID_ARGUMENT')).toBe(true)
  })

  it('works on a store without the local fast paths (in-memory)', async () => {
    const table = await DeltaTable.create(new MemoryStore(), { schema: SCHEMA })
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => table.transact(insertIfAbsent('m', 1n))),
    )
    expect(outcomes.filter((o) => o.value === 'created')).toHaveLength(1)
    expect(await table.refresh().then((t) => t.toRows())).toHaveLength(1)
  })
})

describe('TransactionContext.declareRead and update', () => {
  it('conflicts on a declared read like on a scanned one', async () => {
    const table = await newTable()
    const other = await otherHandle(table)
    let runs = 0
    const { value } = await table.transact(async (tx) => {
      runs++
      tx.declareRead(col('key').eq('k'), tx.snapshot.files())
      const exists = tx.snapshot.version > 0
      if (runs === 1) await other.append([{ key: 'k', n: 1n }])
      if (!exists) tx.append([{ key: 'k', n: 2n }])
      return exists ? 'exists' : 'created'
    })
    expect(runs).toBe(2)
    expect(value).toBe('exists')
    expect(await rowsOf(table)).toEqual([{ key: 'k', n: 1n }])
  })

  it('stages a copy-on-write update together with an append in one commit', async () => {
    const table = await newTable()
    await table.append([
      { key: 'a', n: 1n },
      { key: 'b', n: 2n },
    ])
    const { value, result } = await table.transact(
      async (tx) => {
        const updated = await tx.update(col('key').eq('a'), {
          n: (row: Record<string, unknown>) => (row.n as bigint) + 10n,
        })
        tx.append([{ key: 'c', n: 3n }])
        return updated
      },
      { operation: 'UPDATE' },
    )
    expect(value).toBe(1)
    expect(result).toMatchObject({ version: 2, skipped: false })
    expect(await rowsOf(table)).toEqual([
      { key: 'a', n: 11n },
      { key: 'b', n: 2n },
      { key: 'c', n: 3n },
    ])
  })

  it('counts the rows of an update of constants, which replaces the set column only', async () => {
    const table = await newTable()
    await table.append([
      { key: 'a', n: 1n },
      { key: 'b', n: 2n },
      { key: 'a', n: 3n },
    ])
    const { value } = await table.transact((tx) => tx.update(col('key').eq('a'), { n: 7n }), {
      operation: 'UPDATE',
    })
    expect(value).toBe(2)
    expect(await rowsOf(table)).toEqual([
      { key: 'a', n: 7n },
      { key: 'a', n: 7n },
      { key: 'b', n: 2n },
    ])
  })

  it('re-runs an update whose file was rewritten concurrently', async () => {
    const table = await newTable()
    await table.append([{ key: 'a', n: 1n }])
    const other = await otherHandle(table)
    let runs = 0
    await table.transact(async (tx) => {
      runs++
      if (runs === 1) await other.update(col('key').eq('a'), { n: 5n })
      await tx.update(col('key').eq('a'), {
        n: (row: Record<string, unknown>) => (row.n as bigint) * 2n,
      })
    })
    expect(runs).toBe(2)
    expect(await rowsOf(table)).toEqual([{ key: 'a', n: 10n }])
  })

  it('refuses to update one file twice in a run and commits nothing', async () => {
    const table = await newTable()
    await table.append([
      { key: 'a', n: 1n },
      { key: 'b', n: 2n },
    ])
    const error = await table
      .transact(async (tx) => {
        await tx.update(col('key').eq('a'), { n: 0n })
        await tx.update(col('key').eq('b'), { n: 0n })
      })
      .catch((e: unknown) => e)
    expect(isDeltaError(error, 'INVALID_ARGUMENT')).toBe(true)
    expect((await DeltaTable.open(table.store)).version).toBe(1)
  })
})

describe('DeltaTable.transact with an app transaction', () => {
  const APP = { appId: 'watermark-app' }

  it('records the txn, also with nothing staged, and skips a version already recorded', async () => {
    const table = await newTable()
    const first = await table.transact(() => Promise.resolve(), {
      appTransaction: { ...APP, version: 3 },
    })
    expect(first.result).toMatchObject({ version: 1, skipped: false })
    expect(table.snapshot.txnVersion(APP.appId)).toBe(3)
    const again = await table.transact(
      (tx) => {
        tx.append([{ key: 'a', n: 1n }])
        return Promise.resolve()
      },
      { appTransaction: { ...APP, version: 3 } },
    )
    expect(again.result.skipped).toBe(true)
    expect(await rowsOf(table)).toEqual([])
  })

  it('runs the body again when another writer recorded the same app id meanwhile', async () => {
    const table = await newTable()
    const other = await otherHandle(table)
    const seen: (number | undefined)[] = []
    const { result } = await table.transact(
      async (tx) => {
        const mark = tx.snapshot.txnVersion(APP.appId)
        seen.push(mark)
        // The first run loses the watermark to another writer between its read and its commit.
        if (seen.length === 1) {
          await other.transact((o) => Promise.resolve(o.append([{ key: 'other', n: 1n }])), {
            appTransaction: { ...APP, version: 5 },
          })
        }
        tx.append([{ key: `from ${String(mark)}`, n: 2n }])
      },
      { appTransaction: { ...APP, version: 9 } },
    )
    expect(seen).toEqual([undefined, 5])
    expect(result.skipped).toBe(false)
    expect((await rowsOf(table)).map((r) => r.key)).toEqual(['from 5', 'other'])
    expect((await DeltaTable.open(table.store)).snapshot.txnVersion(APP.appId)).toBe(9)
  })
})

describe('transact behind a log cleanup', () => {
  it('re-reads instead of committing where readers never look when cleanup removed the next commits', async () => {
    // The read version's next commits were removed by log cleanup (a checkpoint covers them)
    // while the callback ran: a put at the next version would succeed, below the checkpoint.
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const properties = { 'delta.logRetentionDuration': 'interval 1 days' }
    const table = await DeltaTable.create(store, { schema: SCHEMA, properties, clock })
    const other = await DeltaTable.open(store, { clock })
    await table.append([{ key: 'a', n: 1n }])
    const runs = { count: 0 }
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const { value, result } = await table.transact(async (tx) => {
        if (runs.count === 0) {
          for (let i = 2; i <= 5; i++) await other.append([{ key: `k${i}`, n: BigInt(i) }])
          await other.checkpoint()
          clock.advance(2 * DAY)
          vi.setSystemTime(Date.now() + 2 * DAY)
          expect((await other.cleanupLog()).deletedFiles).toContain(commitKey(2))
        }
        return insertIfAbsent('new', 100n, runs)(tx)
      })
      expect(value).toBe('created')
      // The first run conflicted (log-cleaned-up); the second read the table again.
      expect(runs.count).toBe(2)
      expect(result.version).toBe(6)
    } finally {
      vi.useRealTimers()
    }
    const fresh = await DeltaTable.open(store)
    expect((await fresh.toRows()).map((r) => r.key).sort()).toEqual(
      ['a', 'k2', 'k3', 'k4', 'k5', 'new'].sort(),
    )
  })
})

import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaTable, MemoryStore, type StructType } from '../../../src/delta/index.js'
import type { Action, CommitInfoAction } from '../../../src/delta/actions/actions.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import { writeDataFiles } from '../../../src/delta/operations/write-files.js'
import { readCommit } from '../../../src/delta/snapshot/snapshot.js'
import { Transaction } from '../../../src/delta/transaction/transaction.js'
import { makeTempDir } from '../../support/temp.js'

const schema: StructType = {
  type: 'struct',
  fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }],
}

async function table(properties: Record<string, string> = {}): Promise<DeltaTable> {
  return DeltaTable.create(path.join(await makeTempDir('txn-'), 't'), { schema, properties })
}

/** A blind append of `ids` over the table's current snapshot, its data file written. */
async function appendTxn(t: DeltaTable, ids: number[]): Promise<Transaction> {
  const txn = new Transaction(t.store, t.snapshot, t.clock, { operation: 'WRITE' })
  const rows = ids.map((id) => ({ id: BigInt(id) }))
  txn.addActions(await writeDataFiles(t.store, t.snapshot, rows, { now: t.clock.now() }))
  return txn
}

/** Names in `_delta_log` that are not log files (the staged temp files). */
async function temps(t: DeltaTable): Promise<string[]> {
  return (await readdir(path.join(t.store.location, '_delta_log'))).filter((f) => f.startsWith('.'))
}

function commitActions(t: DeltaTable, version: number): Promise<Action[]> {
  return readCommit(t.store, t.store.location, { version, key: commitKey(version) })
}

async function commitInfo(t: DeltaTable, version: number): Promise<Record<string, unknown>> {
  const info = (await commitActions(t, version)).find(
    (a): a is CommitInfoAction => a.kind === 'commitInfo',
  )
  return info?.info ?? {}
}

async function ids(t: DeltaTable): Promise<bigint[]> {
  return (await (await DeltaTable.open(t.store)).toRows())
    .map((r) => r.id as bigint)
    .sort((a, b) => Number(a - b))
}

describe('Transaction.stageCommitFile', () => {
  it('writes the commit file ahead under a temp name; commit only links it', async () => {
    const t = await table()
    const txn = await appendTxn(t, [1])
    expect(txn.stageCommitFile()).toBe(true)
    expect(txn.stageCommitFile()).toBe(false) // once
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await temps(t)).toHaveLength(1)
    // Not visible before the commit.
    expect((await DeltaTable.open(t.store)).version).toBe(0)
    const result = await txn.commit()
    expect(result).toMatchObject({ version: 1, attempts: 1 })
    expect(await temps(t)).toEqual([])
    expect(await ids(t)).toEqual([1n])
    expect(await commitInfo(t, 1)).toMatchObject({ operation: 'WRITE', readVersion: 0 })
  })

  it('loses the race for its version cleanly and commits at the next one', async () => {
    const t = await table()
    const txn = await appendTxn(t, [1])
    expect(txn.stageCommitFile()).toBe(true)
    const other = await DeltaTable.open(t.store)
    await other.append([{ id: 2n }])
    const result = await txn.commit()
    expect(result).toMatchObject({ version: 2, attempts: 2 })
    expect(await temps(t)).toEqual([])
    expect(await ids(t)).toEqual([1n, 2n])
    // Version 1 is the other writer's, untouched.
    const adds = (await commitActions(t, 1)).filter((a) => a.kind === 'add')
    expect(adds).toHaveLength(1)
    expect(await commitInfo(t, 2)).toMatchObject({ readVersion: 0 })
  })

  it('removes the staged file on abandon, and when the metrics change before the commit', async () => {
    const t = await table()
    const txn = await appendTxn(t, [1])
    txn.setOperationMetrics({ numFiles: '1' })
    expect(txn.stageCommitFile()).toBe(true)
    await txn.abandon()
    expect(await temps(t)).toEqual([])
    await txn.abandon() // nothing left: harmless
    const second = await appendTxn(t, [2])
    second.setOperationMetrics({ numFiles: '1' })
    expect(second.stageCommitFile()).toBe(true)
    second.setOperationMetrics({ numFiles: '1', numOutputRows: '1' })
    await second.commit()
    expect(await commitInfo(t, 1)).toMatchObject({
      operationMetrics: { numFiles: '1', numOutputRows: '1' },
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await temps(t)).toEqual([])
  })

  it('stages in-commit timestamps that follow the previous commit', async () => {
    const t = await table({ 'delta.enableInCommitTimestamps': 'true' })
    await t.append([{ id: 0n }])
    const previous = (await commitInfo(t, 1)).inCommitTimestamp as number
    const txn = await appendTxn(t, [1])
    expect(txn.stageCommitFile()).toBe(true)
    await txn.commit()
    const info = await commitInfo(t, 2)
    expect(info.inCommitTimestamp).toBeGreaterThan(previous)
    expect(info.inCommitTimestamp).toBe(Math.max(info.timestamp as number, previous + 1))
  })

  it('stages nothing where it cannot: other stores, non-blind commits, idempotent writes', async () => {
    const memory = await DeltaTable.create(new MemoryStore(), { schema })
    expect((await appendTxn(memory, [1])).stageCommitFile()).toBe(false)
    const t = await table()
    const reading = await appendTxn(t, [1])
    reading.recordRead(undefined, [])
    expect(reading.stageCommitFile()).toBe(false)
    const idempotent = new Transaction(t.store, t.snapshot, t.clock, {
      operation: 'WRITE',
      appTransaction: { appId: 'app', version: 1 },
    })
    expect(idempotent.stageCommitFile()).toBe(false)
    expect(await temps(t)).toEqual([])
  })
})

/**
 * One writer process of mixed-workload.test.ts.
 * Usage: node --import tsx mixed-workload.child.ts <table> <worker> <durationMs> <ackLog> <seed>
 *
 * Until the deadline the worker appends (single commits and bursts of concurrent group-committed
 * appends), deletes, merges (upserts) and updates rows of its own id range, one operation at a
 * time. After each operation resolves it appends one JSON line to its acknowledgement log:
 * `{"op":"append"|"merge","v":N,"rows":[[id,value],...]}`, `{"op":"delete","v":N,"ids":[...]}`,
 * `{"op":"update","v":N,"ids":[id],"value":x}` (ids and values as decimal strings), or
 * `{"op":..., "failed":"COMMIT_CONFLICT"}` for an operation that lost to a concurrent one (it
 * committed nothing). Any other error ends the process with code 1. Besides its own range, every
 * worker upserts a few hot keys shared by all workers, which makes their merges conflict.
 * @module
 */
import * as fs from 'node:fs'
import { col } from '../../src/delta/expr/expression.js'
import { CommitConflictError } from '../../src/delta/errors.js'
import type { WriteResult } from '../../src/delta/operations/finish-commit.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { readyAndWaitForStart, seededRandom } from './support/child-process.js'

const [dir, workerArg, durationArg, ackLog, seedArg] = process.argv.slice(2)
if (!dir || !workerArg || !durationArg || !ackLog || !seedArg) {
  throw new Error('usage: mixed-workload.child.ts <table> <worker> <durationMs> <ackLog> <seed>')
}
const worker = Number(workerArg)
const random = seededRandom(Number(seedArg) * 7919 + worker)
const table = await DeltaTable.open(dir)
const log = fs.openSync(ackLog, 'a')
const ack = (entry: Record<string, unknown>): void => {
  fs.writeSync(log, `${JSON.stringify(entry)}\n`)
}

/** Ids of this worker: a range no other worker uses. */
let nextId = BigInt(worker + 1) * 1_000_000_000n
let nextValue = BigInt(worker + 1) * 1_000_000_000n + 1n
/** Acknowledged live rows of this worker: id -> value. */
const live = new Map<bigint, bigint>()

const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
const liveIds = (max: number): bigint[] => {
  const all = [...live.keys()]
  const out = new Set<bigint>()
  for (let i = 0; i < max && all.length > 0; i++) out.add(pick(all))
  return [...out]
}
const newRow = (): { id: bigint; owner: number; value: bigint; note: string } => ({
  id: nextId++,
  owner: worker,
  value: 0n,
  note: `w${worker}`,
})
const str = (rows: readonly { id: bigint; value: bigint }[]): string[][] =>
  rows.map((r) => [String(r.id), String(r.value)])

async function attempt(op: string, run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (error) {
    if (error instanceof CommitConflictError) ack({ op, failed: error.code, kind: error.conflict })
    else throw error
  }
}

function versionOf(op: string, result: WriteResult): number {
  if (result.skipped) throw new Error(`${op} of worker ${worker} was skipped unexpectedly`)
  return result.version
}

async function step(): Promise<void> {
  const r = random()
  if (r < 0.25) {
    const rows = Array.from({ length: 1 + Math.floor(random() * 3) }, newRow)
    await attempt('append', async () => {
      const v = versionOf('append', await table.append(rows))
      ack({ op: 'append', v, rows: str(rows) })
      for (const row of rows) live.set(row.id, row.value)
    })
  } else if (r < 0.45) {
    // A burst of concurrent group-committed appends: each is acknowledged on its own.
    const burst = Array.from({ length: 2 + Math.floor(random() * 5) }, () => [newRow()])
    const outcomes = await Promise.allSettled(
      burst.map(async (rows) => {
        const v = versionOf('append', await table.appendQueued(rows))
        ack({ op: 'append', v, rows: str(rows) })
        for (const row of rows) live.set(row.id, row.value)
      }),
    )
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        if (o.reason instanceof CommitConflictError) ack({ op: 'append', failed: o.reason.code })
        else throw o.reason
      }
    }
  } else if (r < 0.6) {
    const ids = liveIds(3)
    if (ids.length === 0) return
    await attempt('delete', async () => {
      const result = await table.delete(col('id').in(ids))
      const v = versionOf('delete', result)
      if (result.metrics.numDeletedRows !== ids.length) {
        throw new Error(`delete of ${ids.join(',')} deleted ${result.metrics.numDeletedRows} rows`)
      }
      ack({ op: 'delete', v, ids: ids.map(String) })
      for (const id of ids) live.delete(id)
    })
  } else if (r < 0.7) {
    // A hot key shared by every worker (ids 0..4): concurrent upserts of one key conflict, and
    // exactly one row per key must survive, holding the value of the last acknowledged merge.
    const hot = { id: BigInt(Math.floor(random() * 5)), owner: -1, value: nextValue++, note: 'hot' }
    await attempt('merge', async () => {
      const v = versionOf('merge', await table.merge([hot], { on: 'id' }))
      ack({ op: 'merge', v, rows: str([hot]) })
    })
  } else if (r < 0.85) {
    const rows = liveIds(2).map((id) => ({ id, owner: worker, value: nextValue++, note: 'merged' }))
    rows.push({ ...newRow(), value: nextValue++, note: 'merged' })
    await attempt('merge', async () => {
      const v = versionOf('merge', await table.merge(rows, { on: 'id' }))
      ack({ op: 'merge', v, rows: str(rows) })
      for (const row of rows) live.set(row.id, row.value)
    })
  } else {
    const ids = liveIds(1)
    const id = ids[0]
    if (id === undefined) return
    const value = nextValue++
    await attempt('update', async () => {
      const v = versionOf('update', await table.update(col('id').eq(id), { value }))
      ack({ op: 'update', v, ids: [String(id)], value: String(value) })
      live.set(id, value)
    })
  }
}

await readyAndWaitForStart()
const deadline = Date.now() + Number(durationArg)
while (Date.now() < deadline) {
  await step()
  // A short pause keeps the number of versions (each checked by both readers) moderate.
  await new Promise((resolve) => setTimeout(resolve, 5 + random() * 25))
}
await table.close()
fs.fsyncSync(log)
fs.closeSync(log)
process.stdout.write('done\n')

/**
 * The victim of kill.test.ts: commits appends in a loop until it is killed.
 * Usage: node --import tsx kill.child.ts <table> <ackLog> <firstId> <mode> <seed>
 *
 * Each commit appends 1 to 4 rows with consecutive ids starting at `firstId`, one commit at a
 * time (`mode` `append`: `table.append`; `queued`: `table.appendQueued`). Only after the promise
 * resolved is the commit acknowledged: one line `<firstId> <count> <version>` is appended to the
 * acknowledgement log and fsync-ed before the next commit starts.
 * @module
 */
import * as fs from 'node:fs'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { readyAndWaitForStart, seededRandom } from './support/child-process.js'

const [dir, ackLog, firstIdArg, mode, seedArg] = process.argv.slice(2)
if (!dir || !ackLog || !firstIdArg || (mode !== 'append' && mode !== 'queued') || !seedArg) {
  throw new Error('usage: kill.child.ts <table> <ackLog> <firstId> <append|queued> <seed>')
}
const random = seededRandom(Number(seedArg))
const table = await DeltaTable.open(dir)
const log = fs.openSync(ackLog, 'a')
let next = BigInt(firstIdArg)

await readyAndWaitForStart()
for (;;) {
  const count = 1 + Math.floor(random() * 4)
  const first = next
  const rows = Array.from({ length: count }, () => ({ id: next++, payload: `p${String(next)}` }))
  const result = mode === 'append' ? await table.append(rows) : await table.appendQueued(rows)
  fs.writeSync(log, `${String(first)} ${count} ${result.version}\n`)
  fs.fsyncSync(log)
}

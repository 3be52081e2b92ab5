/**
 * The victim of kill-dml.test.ts: runs random DML operations (`tests/support/dml-model.ts`)
 * until it is killed.
 * Usage: node --import tsx kill-dml.child.ts <table> <log> <firstId> <seed>
 *
 * Before each operation it appends `{"intent": <op>}` to the log, and after the operation
 * resolved `{"ack": <version>}`, each line fsync-ed before it goes on. Fresh ids start at
 * `firstId`, so that the parent, preparing the same operations in the same order, gets the
 * same rows.
 * @module
 */
import * as fs from 'node:fs'
import fc from 'fast-check'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { ModelRun, operation, opToJson } from '../support/dml-model.js'
import { readyAndWaitForStart } from './support/child-process.js'

const [dir, logFile, firstIdArg, seedArg] = process.argv.slice(2)
if (!dir || !logFile || !firstIdArg || !seedArg) {
  throw new Error('usage: kill-dml.child.ts <table> <log> <firstId> <seed>')
}
const table = await DeltaTable.open(dir)
const run = new ModelRun(table, BigInt(firstIdArg))
const ops = fc.sample(operation, { seed: Number(seedArg), numRuns: 10_000 })
const log = fs.openSync(logFile, 'a')
const line = (text: string): void => {
  fs.writeSync(log, `${text}\n`)
  fs.fsyncSync(log)
}

await readyAndWaitForStart()
for (const op of ops) {
  line(`{"intent":${opToJson(op)}}`)
  await run.prepare(op).run(table)
  line(`{"ack":${table.version}}`)
}

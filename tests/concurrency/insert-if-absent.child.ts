/**
 * One process of insert-if-absent.test.ts.
 * Usage: node --import tsx insert-if-absent.child.ts <table> <worker> <attempts> <key>
 *
 * After the start signal, runs `attempts` concurrent "insert if absent" transactions for one key
 * (each on its own table handle, as separate requests would): read `key = k`; when no row
 * matches, append one. Prints one JSON line: the outcome of each attempt, `created`, `exists`
 * or `error:<code>`.
 * @module
 */
import { col } from '../../src/delta/expr/expression.js'
import { isDeltaError } from '../../src/delta/errors.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { readyAndWaitForStart } from './support/child-process.js'

const [dir, worker, attemptsArg, key] = process.argv.slice(2)
if (!dir || !worker || !attemptsArg || !key) {
  throw new Error('usage: insert-if-absent.child.ts <table> <worker> <attempts> <key>')
}
const handles = await Promise.all(
  Array.from({ length: Number(attemptsArg) }, () => DeltaTable.open(dir)),
)
await readyAndWaitForStart()
const outcomes = await Promise.all(
  handles.map(async (table, i) => {
    try {
      const { value } = await table.transact(
        async (tx) => {
          const found = await tx.read({ filter: col('key').eq(key) })
          if (found.length > 0) return 'exists'
          tx.append([{ key, owner: `${worker}/${i}` }])
          return 'created'
        },
        { operation: 'INSERT IF ABSENT', maxConflictRetries: 20 },
      )
      return value
    } catch (error) {
      if (isDeltaError(error)) return `error:${error.code}`
      throw error
    }
  }),
)
process.stdout.write(`${JSON.stringify(outcomes)}\n`)

/**
 * Model-based property test of the DML: random sequences of appends, deletes, updates (some
 * moving rows between partitions), merges, overwrites, checkpoints and compactions leave the
 * table with exactly the rows of a plain model that applies SQL's three-valued logic, after
 * every operation and, by time travel, at every version. The interop suite runs the same model
 * against delta-rs (`tests/interop/dml-model.test.ts`). `POLARWAY_FULL=1`: 2,000 sequences.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaTable, MemoryStore } from '../../../src/delta/index.js'
import {
  FULL_MODEL_RUN,
  MODEL_PARTITIONINGS,
  MODEL_SCHEMA,
  ModelRun,
  operation,
  sortRows,
} from '../../support/dml-model.js'

describe('DML against a model', () => {
  it('keeps the rows of the model after every operation and at every version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MODEL_PARTITIONINGS),
        fc.array(operation, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 4 }),
        async (partitionColumns, ops, interval) => {
          const store = new MemoryStore()
          const table = await DeltaTable.create(store, {
            schema: MODEL_SCHEMA,
            partitionColumns: [...partitionColumns],
            properties: { 'delta.checkpointInterval': String(interval) },
          })
          const run = new ModelRun(table)
          for (const op of ops) {
            await run.apply(op)
            expect(sortRows(await table.toRows())).toEqual(run.rows)
          }
          for (const [version, rows] of run.versions) {
            const then = await DeltaTable.open(store, { version })
            expect(sortRows(await then.toRows()), `version ${version}`).toEqual(rows)
          }
        },
      ),
      { numRuns: FULL_MODEL_RUN ? 2000 : 60 },
    )
  }, 600_000)
})

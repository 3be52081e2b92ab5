/**
 * Model-based property test of the DML: random sequences of appends, deletes, updates (some
 * moving rows between partitions), merges, overwrites, checkpoints and compactions leave the
 * table with exactly the rows of a plain model that applies SQL's three-valued logic, after
 * every operation and, by time travel, at every version. The interop suite runs the same model
 * against delta-rs (`tests/interop/dml-model.test.ts`). `POLARWAY_FULL=1`: 2,000 sequences.
 *
 * Then serializability: two operations run at once on two handles of one table, both reading
 * the same version. Whatever the engine lets commit must equal running the committed ones one
 * after the other in commit order; an operation that committed nothing must be a no-op in some
 * serial order; the others fail with CommitConflictError and change nothing.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CommitConflictError,
  DeltaTable,
  MemoryStore,
  type WriteResult,
} from '../../../src/delta/index.js'
import {
  FULL_MODEL_RUN,
  MODEL_PARTITIONINGS,
  MODEL_SCHEMA,
  ModelRun,
  operation,
  sortRows,
  type ModelRow,
  type Step,
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

  it('commits concurrent operations only when the result is that of a serial order', async () => {
    let raced = 0
    let conflicts = 0
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MODEL_PARTITIONINGS),
        fc.array(operation, { minLength: 1, maxLength: 5 }),
        operation,
        operation,
        async (partitionColumns, prefix, opA, opB) => {
          const store = new MemoryStore()
          const table = await DeltaTable.create(store, {
            schema: MODEL_SCHEMA,
            partitionColumns: [...partitionColumns],
          })
          const run = new ModelRun(table)
          for (const op of prefix) await run.apply(op)
          const before = run.rows
          const other = await DeltaTable.open(store)
          const a = run.prepare(opA)
          const b = run.prepare(opB)
          const [ra, rb] = await Promise.allSettled([a.run(table), b.run(other)])
          const outcome = (r: PromiseSettledResult<WriteResult | undefined>) => {
            if (r.status === 'rejected') {
              if (!(r.reason instanceof CommitConflictError)) throw r.reason
              conflicts++
              return 'conflict' as const
            }
            return r.value === undefined || r.value.skipped ? ('none' as const) : r.value.version
          }
          const [oa, ob] = [outcome(ra), outcome(rb)]
          if (typeof oa === 'number' && typeof ob === 'number') raced++
          // Blind appends never conflict with each other.
          if (opA.k === 'append' && opB.k === 'append') expect([oa, ob]).not.toContain('conflict')
          const final = sortRows(await (await DeltaTable.open(store)).toRows())
          expect(final).toEqual(sortRows(serial(before, [a, oa], [b, ob])))
        },
      ),
      { numRuns: FULL_MODEL_RUN ? 2000 : 150 },
    )
    // The runs raced for real: some committed both sides, some conflicted.
    expect(raced).toBeGreaterThan(0)
    expect(conflicts).toBeGreaterThan(0)
  }, 600_000)
})

type Outcome = number | 'none' | 'conflict'

/**
 * The model's rows after the committed steps in commit order; a step that committed nothing
 * must leave the rows as they are where it ran (before or after the other), else the test
 * fails.
 */
function serial(
  before: readonly ModelRow[],
  ...steps: readonly (readonly [Step, Outcome])[]
): ModelRow[] {
  const committed = steps
    .filter((s): s is readonly [Step, number] => typeof s[1] === 'number')
    .sort((x, y) => x[1] - y[1])
  let rows = [...before]
  for (const [step] of committed) rows = step.model(rows)
  for (const [step, outcome] of steps) {
    if (outcome !== 'none') continue
    // A no-op: nothing to change in either serial position.
    const same = (x: readonly ModelRow[], y: readonly ModelRow[]): boolean =>
      JSON.stringify(sortRows(x), replacer) === JSON.stringify(sortRows(y), replacer)
    const first = committed.reduce((r, [s]) => s.model(r), step.model(before))
    if (!same(step.model(rows), rows) && !same(first, rows)) {
      throw new Error('an operation committed nothing although it changes the rows in every order')
    }
  }
  return rows
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value
}

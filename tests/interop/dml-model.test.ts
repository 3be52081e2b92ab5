/**
 * Interop (DML model): random sequences of our DML (the operations of
 * `tests/support/dml-model.ts`, drawn with a fixed seed per partitioning) are written to disk;
 * delta-rs reads exactly the rows we read at every version, and those are the rows of the
 * model at that version.
 *
 * The other way round, delta-rs writes a table through a random sequence of its own DML
 * (`py/rs_random_dml.py`: SQL predicates, updates, merges, overwrites, compactions,
 * checkpoints); we read every version as delta-rs does, then continue the same table with our
 * random DML against the model, and delta-rs reads the whole mixed history as we do.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { DeltaTable } from '../../src/delta/index.js'
import { canonicalRows } from '../support/canonical.js'
import {
  FULL_MODEL_RUN,
  MODEL_PARTITIONINGS,
  MODEL_SCHEMA,
  ModelRun,
  operation,
  sortRows,
} from '../support/dml-model.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

/** Operations per table, and the seed of each partitioning's sequence. */
const OPS = 20
const SEED = 20_261_126

describeWithOracle('DML model interop with delta-rs', (oracle) => {
  // One sequence per partitioning; 40 in the full run (`POLARWAY_FULL=1`).
  const seeds = FULL_MODEL_RUN ? 40 : 1
  const cases = MODEL_PARTITIONINGS.flatMap((p, i) =>
    Array.from(
      { length: seeds },
      (_, k) => [p.join(',') || 'unpartitioned', i * 1000 + k, p] as const,
    ),
  )
  it.each(cases)(
    '%s (seed +%i): delta-rs reads the model at every version',
    async (_name, i, partitionColumns) => {
      const dir = await makeTempDir('dml-model-interop-')
      const table = await DeltaTable.create(dir, {
        schema: MODEL_SCHEMA,
        partitionColumns: [...partitionColumns],
        properties: { 'delta.checkpointInterval': '4' },
      })
      const [ops] = fc.sample(fc.array(operation, { minLength: OPS, maxLength: OPS }), {
        seed: SEED + i,
        numRuns: 1,
      })
      const run = new ModelRun(table)
      for (const op of ops ?? []) await run.apply(op)
      const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [dir])
      // Versions without data files are compared by file count (delta-rs cannot read them).
      expect(await expectSameAtEveryVersion(dir, read)).toBeGreaterThan(0)
      for (const [version, rows] of run.versions) {
        const want = read.versions[String(version)]
        if (want === undefined || 'error' in want) continue
        expect(want.rows, `version ${version}`).toEqual(canonicalRows(rows, MODEL_SCHEMA))
      }
    },
    180_000,
  )

  // One delta-rs sequence per partitioning; 20 in the full run.
  const rsCases = MODEL_PARTITIONINGS.flatMap((p, i) =>
    Array.from(
      { length: FULL_MODEL_RUN ? 20 : 1 },
      (_, k) => [p.join(',') || 'unpartitioned', i * 1000 + k, p] as const,
    ),
  )
  it.each(rsCases)(
    '%s (seed +%i): delta-rs writes random DML, we read it and continue, delta-rs reads it all',
    async (_name, i, partitionColumns) => {
      const dir = await makeTempDir('rs-dml-model-')
      const theirs = await oracle.runJson<VersionsRead>('tests/interop/py/rs_random_dml.py', [
        dir,
        String(SEED + i),
        String(OPS),
        partitionColumns[0] ?? '-',
      ])
      expect(await expectSameAtEveryVersion(dir, theirs)).toBeGreaterThan(0)
      const table = await DeltaTable.open(dir)
      expect(table.snapshot.partitionColumns).toEqual(partitionColumns)
      const rows = sortRows(await table.toRows())
      const top = rows.reduce((m, r) => (r.id > m ? r.id : m), -1n)
      const run = new ModelRun(table, top + 100n)
      run.rows = rows
      const [ops] = fc.sample(fc.array(operation, { minLength: OPS, maxLength: OPS }), {
        seed: SEED + 500 + i,
        numRuns: 1,
      })
      for (const op of ops ?? []) {
        await run.apply(op)
        expect(sortRows(await table.toRows())).toEqual(run.rows)
      }
      const all = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [dir])
      expect(all.latest).toBeGreaterThanOrEqual(theirs.latest)
      expect(await expectSameAtEveryVersion(dir, all)).toBeGreaterThan(0)
    },
    180_000,
  )
})

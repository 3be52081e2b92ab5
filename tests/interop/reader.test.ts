/**
 * Interop (reader): tables written by delta-rs (`deltalake`) — plain, partitioned by string,
 * int and date, with appends, overwrites, deletes, updates, a checkpoint, after
 * `optimize.compact()` and after `vacuum` — are read by us with contents identical to
 * delta-rs's own read, at every version.
 */
import { describe, expect, it } from 'vitest'
import { DeltaTable, isDeltaError, type StructType } from '../../src/delta/index.js'
import { canonicalRows } from '../support/canonical.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { readFile } from 'node:fs/promises'
import path from 'node:path'

interface Expected {
  latest: number
  versions: Record<string, { schema: string; rows: string[] } | { error: string }>
}

const TABLES = [
  'plain',
  'part_string',
  'part_int',
  'part_date',
  'checkpointed',
  'compacted',
  'vacuumed',
]

describeWithOracle('reading tables written by delta-rs', async (oracle) => {
  const out = await makeTempDir('reader-interop-')
  await oracle.run('tests/support/py/make_reader_tables.py', [out], { timeoutMs: 180_000 })

  describe.each(TABLES)('%s', (name) => {
    const dir = path.join(out, name, 'table')
    const expectedP = readFile(path.join(out, name, 'expected.json'), 'utf8').then(
      (t) => JSON.parse(t) as Expected,
    )

    it('has the latest version delta-rs reports', async () => {
      const expected = await expectedP
      expect((await DeltaTable.open(dir)).version).toBe(expected.latest)
    })

    it('reads the same rows as delta-rs at every version', async () => {
      const expected = await expectedP
      let compared = 0
      for (const [v, want] of Object.entries(expected.versions)) {
        const result = await DeltaTable.open(dir, { version: Number(v) })
          .then(async (t) => ({ rows: await t.toRows(), schema: t.schema }))
          .catch((e: unknown) => e)
        if ('error' in want) {
          // delta-rs could not read this version (files vacuumed): we must fail too, typed.
          expect(isDeltaError(result, 'DATA_FILE_NOT_FOUND'), `version ${v}`).toBe(true)
          continue
        }
        if (result instanceof Error) throw result
        const { rows, schema } = result as { rows: Record<string, unknown>[]; schema: StructType }
        expect(canonicalRows(rows, schema), `version ${v}`).toEqual(want.rows)
        compared++
      }
      expect(compared).toBeGreaterThan(0)
    })
  })

  it('prunes partitions of delta-rs tables without losing rows', async () => {
    const { col } = await import('../../src/delta/index.js')
    const t = await DeltaTable.open(path.join(out, 'part_int', 'table'))
    const all = await t.files()
    const part = t.partitionColumns[0] as string
    const one = await t.files({ filter: col(part).isNull() })
    expect(one.length).toBeGreaterThan(0)
    expect(one.length).toBeLessThan(all.length)
    const rows = await t.toRows({ filter: col(part).isNull() })
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(r[part]).toBeNull()
  })
})

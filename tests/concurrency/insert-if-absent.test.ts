/**
 * "Insert if absent" across processes: many concurrent transactions, in several processes, each
 * read `key = k` and append a row when none matches. Exactly one must create the row; every
 * other attempt must see it and report "exists" (never an error, never a second row).
 */
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StructType } from '../../src/delta/schema/data-type.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { makeTempDir } from '../support/temp.js'
import { expectSuccess, FULL, startChild } from './support/child-process.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'key', type: 'string', nullable: false, metadata: {} },
    { name: 'owner', type: 'string', nullable: false, metadata: {} },
  ],
}

const PROCESSES = 5
const ATTEMPTS_PER_PROCESS = 10
const ROUNDS = FULL ? 10 : 1

describe('insert if absent across processes', () => {
  it(
    `creates exactly one row from ${PROCESSES * ATTEMPTS_PER_PROCESS} concurrent attempts`,
    async () => {
      const dir = await makeTempDir('insert-if-absent-')
      const location = path.join(dir, 'table')
      await DeltaTable.create(location, { schema: SCHEMA })
      const table = await DeltaTable.open(location)
      // Unrelated keys already in the table must neither block nor be duplicated.
      await table.append([{ key: 'other', owner: 'setup' }])
      for (let round = 0; round < ROUNDS; round++) {
        const key = `user-${round}`
        const children = Array.from({ length: PROCESSES }, (_, w) =>
          startChild('insert-if-absent.child.ts', [
            location,
            String(w),
            String(ATTEMPTS_PER_PROCESS),
            key,
          ]),
        )
        await Promise.all(children.map((c) => c.ready))
        for (const c of children) c.start()
        const outcomes = (
          await Promise.all(children.map((c, w) => expectSuccess(c, `process ${w}`)))
        ).flatMap((out) => JSON.parse(out.trim()) as string[])
        expect(outcomes).toHaveLength(PROCESSES * ATTEMPTS_PER_PROCESS)
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1)
        expect(outcomes.filter((o) => o === 'exists')).toHaveLength(outcomes.length - 1)
        const rows = await (await table.refresh()).toRows()
        expect(rows.filter((r) => r.key === key)).toHaveLength(1)
        expect(rows.filter((r) => r.key === 'other')).toHaveLength(1)
      }
    },
    120_000 * ROUNDS,
  )
})

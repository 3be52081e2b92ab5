/**
 * Interop (signed zeros): delta-rs's DataFusion prunes files by their float stats in a total
 * order (-0.0 < 0.0) but compares values with -0.0 = 0.0. On a table we write whose files hold
 * -0.0, 0.0 or both (by appends, and by updates that replace a column and so merge old and new
 * stats), DataFusion answers comparisons with either zero exactly as it does on the same rows
 * written by delta-rs: no file holding a match is pruned.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { col, DeltaTable, type StructType } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'd', type: 'double', nullable: true, metadata: {} },
    { name: 'f', type: 'float', nullable: true, metadata: {} },
  ],
}

/** One append (one file) each: [id, d, f]. */
const FILES: [number, number, number][][] = [
  [[1, -0, -0]],
  [[2, 0, 0]],
  [
    [3, -0, 0],
    [4, 0, -0],
  ],
  [
    [5, 1, 1],
    [6, -1, -1],
  ],
  [
    [7, -0, -0],
    [8, 2, 2],
  ],
  [
    [9, -2, -2],
    [10, 0, 0],
  ],
  [[11, 5, 5]],
  [
    [12, 3, 3],
    [13, 4, 4],
  ],
]

const LITERALS: Record<'d' | 'f', [string, string]> = {
  d: ['-0.0', '0.0'],
  f: ["arrow_cast(-0.0, 'Float32')", "arrow_cast(0.0, 'Float32')"],
}

describeWithOracle('signed float zeros read by delta-rs', (oracle) => {
  it('are never pruned by DataFusion from the stats we write', async () => {
    const dir = path.join(await makeTempDir('float-zeros-'), 'table')
    const table = await DeltaTable.create(dir, { schema: SCHEMA })
    for (const rows of FILES) {
      await table.append(rows.map(([id, d, f]) => ({ id: BigInt(id), d, f })))
    }
    // Constant updates of data columns replace those columns and merge their new stats in.
    await table.update(col('id').eq(11), { d: -0, f: -0 })
    await table.update(col('id').eq(12), { d: 0, f: 0 })

    const queries: string[] = []
    for (const [column, literals] of Object.entries(LITERALS)) {
      for (const literal of literals) {
        for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
          queries.push(`SELECT id FROM t WHERE ${column} ${op} ${literal}`)
        }
        queries.push(`SELECT id FROM t WHERE ${column} IN (${literal})`)
      }
    }
    const file = path.join(path.dirname(dir), 'queries.json')
    await writeFile(file, JSON.stringify(queries))
    const { ours, reference } = await oracle.runJson<{ ours: string[][]; reference: string[][] }>(
      'tests/interop/py/rs_sql.py',
      [dir, file, path.join(path.dirname(dir), 'copy')],
    )
    queries.forEach((sql, i) => expect(ours[i], sql).toEqual(reference[i]))
    // DataFusion holds -0.0 = 0.0: every zero row matches either zero.
    const zeros = ['1', '2', '3', '4', '7', '10', '11', '12']
    expect(reference[queries.indexOf('SELECT id FROM t WHERE d = -0.0')]).toEqual(zeros)
    expect(reference[queries.indexOf('SELECT id FROM t WHERE d = 0.0')]).toEqual(zeros)
  })
})

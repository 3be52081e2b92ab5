/**
 * Interop (exact statistics): delta-rs's DataFusion trusts a file's min/max as exact bounds and
 * prunes files by them. After an UPDATE of constants, which copies the other columns' stats
 * from the old file, a long beyond 2^53 or a wide decimal must still be bounded exactly, or
 * DataFusion skips the file holding it.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { col, DeltaTable } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { WIDE_NUMBERS } from '../support/schema.js'
import { makeTempDir } from '../support/temp.js'

const BIG = '123456789012345678901.23'

describeWithOracle('exact statistics read by delta-rs', (oracle) => {
  it('bound longs beyond 2^53 and wide decimals after an UPDATE copied them', async () => {
    const dir = path.join(await makeTempDir('exact-stats-'), 'table')
    const table = await DeltaTable.create(dir, { schema: WIDE_NUMBERS })
    await table.append([{ id: 1n, l: 9007199254740993n, dec: BIG, v: 'a' }])
    await table.append([{ id: 2n, l: 9007199254740992n, dec: '123456789012345678901.22', v: 'b' }])
    await table.update(col('id').eq(1), { v: 'updated' })
    await table.update(col('id').eq(2), { v: 'updated' })
    const queries = [
      'SELECT id FROM t WHERE l = 9007199254740993',
      'SELECT id FROM t WHERE l = 9007199254740992',
      'SELECT id FROM t WHERE l > 9007199254740992',
      `SELECT id FROM t WHERE dec = CAST('${BIG}' AS DECIMAL(38,2))`,
      `SELECT id FROM t WHERE dec < CAST('${BIG}' AS DECIMAL(38,2))`,
    ]
    const file = path.join(path.dirname(dir), 'queries.json')
    await writeFile(file, JSON.stringify(queries))
    const { ours, reference } = await oracle.runJson<{ ours: string[][]; reference: string[][] }>(
      'tests/interop/py/rs_sql.py',
      [dir, file, path.join(path.dirname(dir), 'copy')],
    )
    expect(reference).toEqual([['1'], ['2'], ['1'], ['1'], ['2']])
    queries.forEach((sql, i) => expect(ours[i], sql).toEqual(reference[i]))
  })
})

/**
 * Interop (float partition values): delta-rs writes a double or float partition value as Rust
 * prints it ("inf", "-inf", "NaN", "-0"), where Spark writes Java's "Infinity" and "-Infinity".
 * We read delta-rs's spellings as the values delta-rs reads, filters on them included.
 */
import path from 'node:path'
import { expect, it } from 'vitest'
import { col, DeltaTable } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'

/** A float as the script shows it. */
function shown(x: unknown): string | null {
  if (x === null) return null
  const n = x as number
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (Object.is(n, -0)) return '-0.0'
  return Number.isInteger(n) ? `${n}.0` : String(n)
}

describeWithOracle('float partition values written by delta-rs', (oracle) => {
  it('reads inf, -inf, NaN and -0 as delta-rs reads them', async () => {
    const dir = path.join(await makeTempDir('float-partitions-'), 'table')
    const out = await oracle.runJson<{ partitionValues: string[][]; rows: unknown[][] }>(
      'tests/interop/py/rs_float_partitions.py',
      [dir],
    )
    // The spellings this test is about.
    expect(out.partitionValues.flat()).toEqual(expect.arrayContaining(['inf', '-inf']))
    const table = await DeltaTable.open(dir)
    const rows = (await table.toRows()).sort((a, b) => Number(a.id) - Number(b.id))
    expect(rows.map((r) => [Number(r.id), shown(r.pd), shown(r.pf)])).toEqual(out.rows)
    const positive = await table.toRows({ filter: col('pd').eq(Infinity), columns: ['id'] })
    expect(positive.map((r) => r.id)).toEqual([1n])
    const below = await table.toRows({ filter: col('pf').lt(0), columns: ['id'] })
    expect(below.map((r) => r.id)).toEqual([2n])
  })
})

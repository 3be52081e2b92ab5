/**
 * Interop (OPTIMIZE): delta-rs reads our tables after compaction and Z-order, with either rewrite
 * engine, identically to us at every version; we read delta-rs's tables after its
 * `optimize.compact()` and `optimize.z_order()` identically to delta-rs at every version; and a
 * delta-rs table we optimize keeps its microsecond timestamps.
 */
import { cp, readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaTable, type StructType } from '../../src/delta/index.js'
import { executeOptimize } from '../../src/delta/operations/optimize/execute.js'
import { canonicalRows } from '../support/canonical.js'
import { describeWithOracle, type Oracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'

interface Expected {
  latest: number
  versions: Record<string, { schema: string; rows: string[] } | { error: string }>
}

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
    { name: 'user_id', type: 'string', nullable: true, metadata: {} },
    { name: 'action', type: 'string', nullable: true, metadata: {} },
    { name: 'n', type: 'integer', nullable: true, metadata: {} },
    { name: 'x', type: 'double', nullable: true, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'd', type: 'date', nullable: true, metadata: {} },
    { name: 'amount', type: 'decimal(12,3)', nullable: true, metadata: {} },
    { name: 'flag', type: 'boolean', nullable: true, metadata: {} },
  ],
}

function ourRows(start: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, k) => {
    const i = start + k
    const pick = <T>(values: readonly T[]): T => values[i % values.length] as T
    return {
      id: BigInt(i),
      p: pick([null, 'a', 'b c', 'é/x']),
      user_id: i % 11 === 5 ? null : `user-${String((i * 37) % 40).padStart(4, '0')}`,
      action: i % 13 === 7 ? null : `action.${(i * 7) % 6}`,
      n: i % 9 === 2 ? null : ((i * 7919) % 2000) - 1000,
      x: i % 8 === 3 ? null : (i * 1.25) ** 1.5 * (i % 2 === 0 ? 1 : -1),
      ts: i % 10 === 4 ? null : new Date(Date.UTC(2024, 2, 1) + i * 3_600_123),
      d: i % 12 === 1 ? null : `2024-${String((i % 12) + 1).padStart(2, '0')}-15`,
      amount: i % 7 === 6 ? null : (((i * 104729) % 2_000_000) / 1000 - 1000).toFixed(3),
      flag: i % 6 === 0 ? null : i % 4 < 2,
    }
  })
}

async function readByUs(dir: string, version: number): Promise<string[]> {
  const table = await DeltaTable.open(dir, { version })
  return canonicalRows(await table.toRows(), table.schema)
}

async function expectSameAtEveryVersion(dir: string, expected: Expected): Promise<number> {
  let compared = 0
  for (const [v, want] of Object.entries(expected.versions)) {
    if ('error' in want) {
      // delta-rs's pyarrow conversion fails on an empty partitioned table ("Must pass at least
      // one array"); that is the empty version 0, nothing else.
      if (v === '0' && (await readByUs(dir, 0)).length === 0) continue
      throw new Error(`delta-rs could not read version ${v}: ${want.error}`)
    }
    expect(await readByUs(dir, Number(v)), `version ${v}`).toEqual(want.rows)
    compared++
  }
  return compared
}

async function readByDeltaRs(oracle: Oracle, dir: string): Promise<Expected> {
  return oracle.runJson<Expected>('tests/support/py/read_table.py', [dir], { timeoutMs: 180_000 })
}

describeWithOracle('OPTIMIZE interop with delta-rs', async (oracle) => {
  const out = await makeTempDir('optimize-interop-')
  await oracle.run('tests/interop/py/optimize_tables.py', ['build', out], { timeoutMs: 300_000 })

  describe.each(['rs_compact', 'rs_zorder'])('%s, optimized by delta-rs', (name) => {
    it('reads the same rows as delta-rs at every version', async () => {
      const dir = path.join(out, name, 'table')
      const expected = JSON.parse(
        await readFile(path.join(out, name, 'expected.json'), 'utf8'),
      ) as Expected
      expect((await DeltaTable.open(dir)).version).toBe(expected.latest)
      expect(await expectSameAtEveryVersion(dir, expected)).toBe(expected.latest + 1)
      const history = await (await DeltaTable.open(dir)).history()
      expect(history.some((h) => h.operation === 'OPTIMIZE')).toBe(true)
    })
  })

  it.each(['hyparquet', 'duckdb'] as const)(
    'delta-rs reads our tables after compaction and z-order (%s) at every version',
    async (engine) => {
      const dir = path.join(await makeTempDir('optimize-ours-'), 'table')
      const table = await DeltaTable.create(dir, { schema: SCHEMA, partitionColumns: ['p'] })
      for (let k = 0; k < 5; k++) await table.append(ourRows(k * 25, 25))
      const compacted = await executeOptimize(
        table.store,
        table.snapshot,
        table.clock,
        {},
        {
          engine,
        },
      )
      expect(compacted.result.skipped).toBe(false)
      await table.refresh()
      await table.append(ourRows(500, 10))
      await table.refresh()
      const zordered = await executeOptimize(
        table.store,
        table.snapshot,
        table.clock,
        { zOrder: ['user_id', 'action'], targetFileSize: 1500 },
        { engine },
      )
      expect(zordered.result.metrics.numFilesAdded).toBeGreaterThan(4)
      await table.refresh()
      await table.append(ourRows(600, 3))
      const expected = await readByDeltaRs(oracle, dir)
      expect(expected.latest).toBe(9)
      expect(await expectSameAtEveryVersion(dir, expected)).toBeGreaterThanOrEqual(9)
      const info = JSON.parse(
        await oracle.run('tests/interop/py/optimize_tables.py', ['info', dir]),
      ) as Record<string, unknown>
      expect(info.operation).toBe('WRITE')
      const history = await table.history()
      expect(history.find((h) => h.version === 8)).toMatchObject({
        operation: 'OPTIMIZE',
        operationParameters: { zOrderBy: '["user_id","action"]', targetSize: '1500' },
      })
    },
  )

  it('optimizes a delta-rs table keeping its microseconds, and delta-rs reads it', async () => {
    const dir = path.join(await makeTempDir('optimize-rs-source-'), 'table')
    await cp(path.join(out, 'rs_source', 'table'), dir, { recursive: true })
    const table = await DeltaTable.open(dir)
    const before = table.version
    const compacted = await table.optimize()
    // Few rows: `auto` rewrites in process, and the engine keeps the microseconds it read.
    expect(compacted.engines).toEqual(['hyparquet'])
    const zordered = await table.optimize({ zOrder: ['n', 'user_id'], targetFileSize: 2000 })
    expect(zordered.engines).toEqual(['hyparquet'])
    const expected = await readByDeltaRs(oracle, dir)
    expect(expected.latest).toBe(before + 2)
    await expectSameAtEveryVersion(dir, expected)
    for (const version of [compacted.version, zordered.version]) {
      const same = await oracle.runJson<{ same: boolean; rows: number }>(
        'tests/interop/py/optimize_tables.py',
        ['same', dir, String(before), String(version)],
      )
      expect(same).toEqual({ same: true, rows: 150 })
    }
    const info = JSON.parse(
      await oracle.run('tests/interop/py/optimize_tables.py', ['info', dir]),
    ) as Record<string, unknown>
    expect(info).toMatchObject({ operation: 'OPTIMIZE' })
  })
})

/**
 * Interop (DML): tables built by our engine through appends, deletes (partition-only and by
 * data), an update that moves rows between partitions, a merge that updates, deletes and
 * inserts, a replaceWhere overwrite, a full overwrite and checkpoints are read by delta-rs with
 * exactly the rows we read, at every version. Then delta-rs appends to and deletes from the
 * same tables, and we read exactly what delta-rs reads, at every version.
 */
import { describe, expect, it } from 'vitest'
import { and, col, DeltaTable, type StructType } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

const nullable = (name: string, type: StructType['fields'][number]['type']) => ({
  name,
  type,
  nullable: true,
  metadata: {},
})

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    nullable('p', 'string'),
    nullable('i', 'integer'),
    nullable('sh', 'short'),
    nullable('b', 'byte'),
    nullable('f', 'float'),
    nullable('d', 'double'),
    nullable('bo', 'boolean'),
    nullable('bin', 'binary'),
    nullable('dt', 'date'),
    nullable('ts', 'timestamp'),
    nullable('dec', 'decimal(10,2)'),
    nullable('st', {
      type: 'struct',
      fields: [nullable('a', 'integer'), nullable('b', 'string')],
    }),
    nullable('arr', { type: 'array', elementType: 'long', containsNull: true }),
    nullable('m', {
      type: 'map',
      keyType: 'string',
      valueType: 'integer',
      valueContainsNull: true,
    }),
  ],
}

const PARTS = ['a', 'b', null]
const DAY = 86_400_000

/** The same rows as `row()` in py/rs_append_delete.py (plus a NaN double). */
function row(n: number): Record<string, unknown> {
  const blank = n % 7 === 0
  const v = <T>(x: T): T | null => (blank ? null : x)
  return {
    id: BigInt(n),
    p: PARTS[n % 3] ?? null,
    i: v(n * 3 - 50),
    sh: v(n % 300),
    b: v((n % 100) - 50),
    f: v(n * 0.5),
    d: v(n === 13 ? Number.NaN : n / 3),
    bo: v(n % 2 === 0),
    bin: v(new Uint8Array([n % 256, 255, 0])),
    dt: v(new Date(Date.UTC(2024, 1, 29) + n * DAY).toISOString().slice(0, 10)),
    ts: v(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678) + n * 3_600_000)),
    dec: v(`${n}.25`),
    st: v({ a: n, b: `x${n}` }),
    arr: v([BigInt(n), null]),
    m: v(
      new Map<string, number | null>([
        ['k', n],
        ['z', null],
      ]),
    ),
  }
}

const range = (from: number, to: number): Record<string, unknown>[] =>
  Array.from({ length: to - from + 1 }, (_, i) => row(from + i))

/** Builds a table with every kind of write of our engine; returns it at its last version. */
async function buildTable(dir: string, partitionBy: string[]): Promise<DeltaTable> {
  const t = await DeltaTable.create(dir, {
    schema: SCHEMA,
    partitionColumns: partitionBy,
  })
  await t.append(range(1, 20))
  await t.append(range(21, 40))
  await t.append(range(41, 60))
  await t.delete(col('p').eq('b'))
  await t.delete(and(col('i').gt(40), col('i').lt(80)))
  await t.update(col('bo').eq(true), {
    d: (r: Readonly<Record<string, unknown>>) => ((r.d as number | null) ?? 0) * 2,
    st: { a: -1, b: 'upd' },
    dec: '0.50',
    p: (r: Readonly<Record<string, unknown>>) => (r.p === 'a' ? 'c' : r.p),
  })
  await t.merge([...range(1, 5), ...range(55, 58), ...range(100, 103)], {
    on: 'id',
    whenMatched: (target) =>
      (target.id as bigint) >= 55n ? null : { i: -7, m: new Map([['merged', 1]]) },
  })
  await t.overwrite(
    range(300, 304).map((r) => ({ ...r, p: 'c' })),
    { replaceWhere: col('p').eq('c') },
  )
  await t.overwrite(range(400, 430))
  await t.checkpoint()
  await t.append(range(500, 505))
  return t
}

describeWithOracle('DML interop with delta-rs', (oracle) => {
  describe.each([
    ['unpartitioned', []],
    ['partitioned by p (string)', ['p']],
    ['partitioned by dt (date) and i (integer), with nulls', ['dt', 'i']],
  ])('%s', (_name, partitionBy) => {
    const dirP = makeTempDir('dml-interop-').then(async (dir) => {
      await buildTable(dir, partitionBy)
      return dir
    })

    it('delta-rs reads what we read at every version', async () => {
      const dir = await dirP
      const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [dir])
      expect(read.latest).toBe(10)
      expect(await expectSameAtEveryVersion(dir, read)).toBe(10)
      // Sanity: the sequence did what it says (rows moved, merged, replaced).
      const v8 = await DeltaTable.open(dir, { version: 8 })
      expect((await v8.toRows({ filter: col('p').eq('c') })).map((r) => r.id).sort()).toEqual([
        300n,
        301n,
        302n,
        303n,
        304n,
      ])
    }, 180_000)

    it('we read what delta-rs reads after it appends to and deletes from our table', async () => {
      const dir = await dirP
      const read = await oracle.runJson<VersionsRead>(
        'tests/interop/py/rs_append_delete.py',
        [dir],
        {
          timeoutMs: 180_000,
        },
      )
      expect(read.latest).toBe(14)
      expect(await expectSameAtEveryVersion(dir, read)).toBe(14)
      const t = await DeltaTable.open(dir)
      const ids = (await t.toRows({ columns: ['id'] })).map((r) => r.id as bigint)
      expect(ids.some((id) => id >= 2000n)).toBe(true)
      expect(ids.some((id) => id >= 1002n && id < 1008n)).toBe(false)
    }, 240_000)
  })
})

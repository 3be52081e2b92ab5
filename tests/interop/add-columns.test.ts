/**
 * Interop (ADD COLUMNS): after our `addColumns`, delta-rs reads the table with the new columns,
 * null in the rows written before and set in the rows written after, at every version; and a
 * table delta-rs added columns to (`alter.add_columns`) is read by us with delta-rs's schema and
 * rows, and stays readable by delta-rs after we append to it.
 */
import { describe, expect, it } from 'vitest'
import { col, DeltaTable, type StructField } from '../../src/delta/index.js'
import { NEW_FIELDS as SOME_FIELDS, SCHEMA } from '../delta/operations/add-columns-support.js'
import { describeWithOracle } from '../support/oracle.js'
import { field } from '../support/schema.js'
import { makeTempDir } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

/** The columns both directions add (the same as py/rs_add_columns.py). */
const NEW_FIELDS: readonly StructField[] = [...SOME_FIELDS, field('local', 'timestamp_ntz')]
const NEW_NAMES = NEW_FIELDS.map((f) => f.name)

/** delta-rs's canonical rows of one version, parsed. */
function rowsAt(read: VersionsRead, version: number): Record<string, unknown>[] {
  const at = read.versions[String(version)]
  if (at === undefined || 'error' in at) throw new Error(`delta-rs did not read version ${version}`)
  return at.rows.map((r) => JSON.parse(r) as Record<string, unknown>)
}

/** delta-rs's schema of one version. */
function schemaAt(read: VersionsRead, version: number): unknown {
  const at = read.versions[String(version)]
  if (at === undefined || 'error' in at) throw new Error(`delta-rs did not read version ${version}`)
  return JSON.parse(at.schema)
}

describeWithOracle('ADD COLUMNS interop with delta-rs', (oracle) => {
  describe.each([
    ['unpartitioned', []],
    ['partitioned by region', ['region']],
  ])('our addColumns on a table %s', (_name, partitionColumns) => {
    it('is read by delta-rs with the new columns, null in the rows written before', async () => {
      const dir = await makeTempDir('add-columns-interop-')
      const t = await DeltaTable.create(dir, { schema: SCHEMA, partitionColumns })
      await t.append([
        { id: 1n, name: 'ann', region: 'eu' },
        { id: 2n, name: 'bob', region: 'us' },
        { id: 3n, name: null, region: null },
      ]) // v1
      await t.addColumns(NEW_FIELDS) // v2
      await t.append([
        {
          id: 4n,
          name: 'cat',
          region: 'eu',
          email: 'cat@example.com',
          score: 7n,
          address: { city: 'Oslo' },
          tags: ['a', null],
          local: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
        },
        { id: 5n, name: 'dan', region: 'us' },
      ]) // v3
      await t.update(col('id').eq(1n), { email: 'ann@example.com' }) // v4, rewrites an old file

      const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [dir])
      expect(read.latest).toBe(4)
      expect(await expectSameAtEveryVersion(dir, read)).toBe(4)
      expect(schemaAt(read, 1)).toEqual(SCHEMA)
      expect(schemaAt(read, 2)).toEqual({ ...SCHEMA, fields: [...SCHEMA.fields, ...NEW_FIELDS] })
      for (const r of rowsAt(read, 2)) {
        for (const name of NEW_NAMES) expect(r[name], `${String(r.id)}.${name}`).toBeNull()
      }
      const byId = new Map(rowsAt(read, 4).map((r) => [r.id, r]))
      expect(byId.get('4')).toMatchObject({
        email: 'cat@example.com',
        score: '7',
        address: { city: 'Oslo' },
        tags: ['a', null],
        local: '2026-01-02T03:04:05.678000Z',
      })
      expect(byId.get('1')).toMatchObject({ email: 'ann@example.com', score: null, local: null })
      expect(byId.get('5')).toMatchObject({ email: null, score: null, address: null })
    }, 120_000)
  })

  it('we read a table delta-rs added columns to, and delta-rs reads our append to it', async () => {
    const dir = await makeTempDir('add-columns-interop-rs-')
    const read = await oracle.runJson<VersionsRead>('tests/interop/py/rs_add_columns.py', [dir])
    expect(read.latest).toBe(2)
    expect(await expectSameAtEveryVersion(dir, read)).toBe(3)
    const t = await DeltaTable.open(dir)
    expect(t.schema).toEqual(schemaAt(read, 2))
    expect(t.schema.fields.slice(2)).toEqual(NEW_FIELDS)
    expect(t.protocol.readerFeatures).toContain('timestampNtz')
    const old = await DeltaTable.open(dir, { version: 0 })
    expect(old.schema.fields.map((f) => f.name)).toEqual(['id', 'name'])
    const rows = await t.toRows()
    const byId = new Map(rows.map((r) => [r.id, r]))
    for (const id of [1n, 2n, 3n, 5n]) {
      for (const name of NEW_NAMES) expect(byId.get(id)?.[name], `${id}.${name}`).toBeNull()
    }
    expect(byId.get(4n)).toMatchObject({
      email: 'cat@example.com',
      score: 7n,
      address: { city: 'Oslo' },
      tags: ['a', null],
      local: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    })

    await t.append([{ id: 6n, name: 'eve', email: 'eve@example.com', tags: [] }]) // v3
    const after = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [
      dir,
      '--versions',
      '3',
    ])
    expect(await expectSameAtEveryVersion(dir, after)).toBe(1)
    expect(rowsAt(after, 3).find((r) => r.id === '6')).toMatchObject({
      email: 'eve@example.com',
      tags: [],
      score: null,
    })
  }, 120_000)
})

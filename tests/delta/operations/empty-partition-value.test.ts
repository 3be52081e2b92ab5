/**
 * An empty string is written as a null partition value (as Spark does), so a non-nullable
 * partition column cannot hold one: every write path refuses it before changing the table, and
 * nullable partition columns keep turning `''` into null.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  col,
  DeltaTable,
  isDeltaError,
  type StructType,
  type WriteResult,
} from '../../../src/delta/index.js'
import { writeDataFiles } from '../../../src/delta/operations/write-files.js'
import { makeTempDir } from '../../support/temp.js'

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: false, metadata: {} },
    { name: 'q', type: 'string', nullable: true, metadata: {} },
    { name: 'n', type: 'long', nullable: true, metadata: {} },
  ],
}

async function seeded(): Promise<DeltaTable> {
  const t = await DeltaTable.create(path.join(await makeTempDir('empty-partition-'), 't'), {
    schema,
    partitionColumns: ['p', 'q'],
  })
  await t.append([
    { id: 1n, p: 'a', q: 'x', n: 1n },
    { id: 2n, p: 'b', q: null, n: 2n },
  ])
  return t
}

/** What a refused write must leave alone: the version, the rows and the files in the store. */
async function state(t: DeltaTable): Promise<unknown> {
  const latest = await DeltaTable.open(t.store)
  const rows = await latest.toRows()
  rows.sort((a, b) => Number(a.id) - Number(b.id))
  const keys = await t.store.listKeys('', { recursive: true })
  return { version: latest.version, rows, keys: keys.filter((k) => !k.includes('/.')).sort() }
}

type Write = (t: DeltaTable) => Promise<unknown>

const refused: [string, Write, string][] = [
  [
    'append',
    (t) =>
      t.append([
        { id: 3n, p: 'a' },
        { id: 4n, p: '' },
      ]),
    'row 1 column "p"',
  ],
  ['appendQueued', (t) => t.appendQueued([{ id: 4n, p: '' }]), 'row 0 column "p"'],
  [
    'prepareAppend',
    (t) => Promise.resolve().then(() => t.prepareAppend([{ id: 4n, p: '' }])),
    'row 0 column "p"',
  ],
  [
    'an append in a transaction',
    (t) =>
      t.transact((tx) => {
        tx.append([{ id: 4n, p: '' }])
        return Promise.resolve()
      }),
    'row 0 column "p"',
  ],
  [
    'overwrite',
    (t) =>
      t.overwrite([
        { id: 1n, p: 'a' },
        { id: 4n, p: '' },
      ]),
    'row 1 column "p"',
  ],
  [
    'overwrite with replaceWhere',
    (t) => t.overwrite([{ id: 1n, p: '' }], { replaceWhere: col('id').eq(1) }),
    'row 0 column "p"',
  ],
  [
    'an update setting the partition column',
    (t) => t.update(col('id').eq(1), { p: '' }),
    'update of column "p"',
  ],
  [
    'an update computing the partition column',
    (t) =>
      t.update(col('id').eq(2), {
        p: (row: Readonly<Record<string, unknown>>) => (row.n === 2n ? '' : 'c'),
      }),
    'column "p"',
  ],
  [
    'an update in a transaction',
    (t) => t.transact(async (tx) => tx.update(col('id').eq(1), { p: () => '' })),
    'column "p"',
  ],
  [
    'a merge updating a row',
    (t) => t.merge([{ id: 1n, p: '' }], { on: 'id' }),
    'source row 0 column "p"',
  ],
  [
    'a merge function updating a row',
    (t) => t.merge([{ id: 2n }], { on: 'id', whenMatched: () => ({ p: '' }) }),
    'whenMatched result for source row 0 column "p"',
  ],
  [
    'a merge inserting a row',
    (t) =>
      t.merge(
        [
          { id: 1n, n: 5n },
          { id: 9n, p: '' },
        ],
        { on: 'id' },
      ),
    'source row 1 column "p"',
  ],
]

describe('an empty string in a non-nullable partition column', () => {
  it.each(refused)('is refused by %s, leaving the table unchanged', async (_, write, where) => {
    const t = await seeded()
    const before = await state(t)
    const error = await write(t).catch((e: unknown) => e)
    await t.close()
    expect(isDeltaError(error, 'SCHEMA_MISMATCH')).toBe(true)
    const message = (error as Error).message
    expect(message).toContain(where)
    expect(message).toContain('partition column "p" is not nullable')
    expect(await state(t)).toEqual(before)
  })

  it('is refused by the writer even for rows it trusts', async () => {
    const t = await seeded()
    const error = await writeDataFiles(t.store, t.snapshot, [{ id: 4n, p: '', q: null, n: null }], {
      now: 0,
      trusted: true,
    }).catch((e: unknown) => e)
    expect(isDeltaError(error, 'SCHEMA_MISMATCH')).toBe(true)
    expect((error as Error).message).toContain('non-nullable partition column "p"')
  })

  it('does not stop a merge from deleting or ignoring the source row that holds it', async () => {
    const t = await seeded()
    const deleted = await t.merge([{ id: 1n, p: '' }], { on: 'id', whenMatched: 'delete' })
    expect(deleted.metrics).toMatchObject({ numTargetRowsDeleted: 1, numTargetRowsInserted: 0 })
    const ignored: WriteResult = await t.merge([{ id: 7n, p: '' }], {
      on: 'id',
      whenNotMatched: 'ignore',
    })
    expect(ignored.skipped).toBe(true)
    expect((await t.toRows()).map((r) => r.id)).toEqual([2n])
  })
})

describe('an empty string in a nullable partition column', () => {
  it('is written as a null partition value and read back as null', async () => {
    const t = await seeded()
    await t.append([{ id: 3n, p: 'c', q: '' }])
    await t.update(col('id').eq(1), { q: '' })
    const files = await t.files()
    expect(files.filter((f) => f.partitionValues.q === null)).toHaveLength(3)
    expect(files.some((f) => f.partitionValues.q === '')).toBe(false)
    const rows = await t.toRows()
    expect(rows.map((r) => r.q)).toEqual([null, null, null])
  })

  it('never matches in a merge keyed on it, so the source row is inserted again', async () => {
    const t = await seeded()
    await t.append([{ id: 3n, p: 'c', q: '' }])
    const result = await t.merge([{ id: 30n, p: 'c', q: '' }], { on: 'q' })
    expect(result.metrics).toMatchObject({ numTargetRowsInserted: 1, numTargetRowsUpdated: 0 })
    const rows = (await t.toRows()).filter((r) => r.p === 'c')
    expect(rows.map((r) => [r.id, r.q]).sort()).toEqual([
      [3n, null],
      [30n, null],
    ])
  })
})

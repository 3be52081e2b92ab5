import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { col } from '../../src/delta/expr/expression.js'
import type { StructType } from '../../src/delta/schema/data-type.js'
import { Snapshot } from '../../src/delta/snapshot/snapshot.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { TableView, type ViewCodec } from '../../src/lakehouse/table-view.js'
import { makeTempDir } from '../support/temp.js'

interface Entry {
  readonly key: string
  readonly value: string
}

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'key', type: 'string', nullable: false, metadata: {} },
    { name: 'value', type: 'string', nullable: false, metadata: {} },
    { name: 'extra', type: 'string', nullable: true, metadata: {} },
  ],
}

const CODEC: ViewCodec<Entry> = {
  columns: ['key', 'value'],
  decode: (row) => ({ key: row.key as string, value: row.value as string }),
  keyOf: (e) => e.key,
}

async function setup(): Promise<{ writer: DeltaTable; view: TableView<Entry>; location: string }> {
  const location = path.join(await makeTempDir('view-'), 'table')
  const writer = await DeltaTable.create(location, { schema: SCHEMA })
  const view = new TableView(await DeltaTable.open(location), CODEC)
  return { writer, view, location }
}

const entries = (view: TableView<Entry>): Entry[] =>
  [...view.values()].sort((a, b) => (a.key < b.key ? -1 : 1))

describe('TableView', () => {
  it('builds from the snapshot and follows appends, updates and deletes', async () => {
    const { writer, view } = await setup()
    expect(await view.advance()).toBe(0)
    expect(view.size).toBe(0)
    await writer.append([
      { key: 'a', value: '1', extra: 'x' },
      { key: 'b', value: '2' },
    ])
    await writer.append([{ key: 'c', value: '3' }])
    expect(await view.advance()).toBe(2)
    expect(entries(view)).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
      { key: 'c', value: '3' },
    ])
    const fileOfA = view.fileOf('a')
    expect(fileOfA).toBeDefined()
    expect(view.fileOf('b')).toBe(fileOfA)

    // Copy-on-write: the updated row and its file-mate move to a new file.
    await writer.update(col('key').eq('a'), { value: '10' })
    await view.advance()
    expect(view.get('a')).toEqual({ key: 'a', value: '10' })
    expect(view.get('b')).toEqual({ key: 'b', value: '2' })
    expect(view.fileOf('a')).not.toBe(fileOfA)

    await writer.delete(col('key').eq('c'))
    expect(await view.advance()).toBe(4)
    expect(view.get('c')).toBeUndefined()
    expect(view.size).toBe(2)
    expect(view.version).toBe(4)
  })

  it("takes a writer's own commit from its hint without comparing every live file", async () => {
    const { writer, view } = await setup()
    await writer.append([{ key: 'a', value: '1' }])
    await writer.append([
      { key: 'b', value: '2' },
      { key: 'c', value: '3' },
    ])
    await view.advance()
    // Calls of Snapshot.files() made by the view's advances (the writer's own DML lists too).
    const files = vi.spyOn(Snapshot.prototype, 'files')
    let listed = 0
    const advance = async (hint: Parameters<typeof view.advance>[0]): Promise<void> => {
      const before = files.mock.calls.length
      await view.advance(hint)
      listed += files.mock.calls.length - before
    }
    try {
      // An append: one added file holding the hint's rows.
      const appended = await writer.append([{ key: 'd', value: '4' }])
      await advance({
        snapshot: writer.snapshot,
        commit: { version: appended.version, removed: [], rows: [{ key: 'd', value: '4' }] },
      })
      // A copy-on-write update: `b` changes, `c` moves to the new file unchanged.
      const fileOfB = view.fileOf('b') ?? ''
      const updated = await writer.update(col('key').eq('b'), { value: '20' })
      await advance({
        snapshot: writer.snapshot,
        commit: {
          version: updated.version,
          removed: [fileOfB],
          rows: [{ key: 'b', value: '20', extra: null }],
          moved: ['c'],
        },
      })
      expect(listed).toBe(0)
    } finally {
      files.mockRestore()
    }
    expect(view.version).toBe(4)
  })

  it('tells listeners about upserts (with the previous entry) and deletes', async () => {
    const { writer, view } = await setup()
    await writer.append([{ key: 'a', value: '1' }])
    await view.advance()
    const events: string[] = []
    view.listen({
      onUpsert: (e, prev) => events.push(`upsert ${e.key}=${e.value} (was ${prev?.value ?? '-'})`),
      onDelete: (e) => events.push(`delete ${e.key}`),
    })
    // A late listener first receives the current entries.
    expect(events).toEqual(['upsert a=1 (was -)'])
    await writer.update(col('key').eq('a'), { value: '2' })
    await writer.append([{ key: 'b', value: '1' }])
    await view.advance()
    expect(events).toContain('upsert a=2 (was 1)')
    expect(events).toContain('upsert b=1 (was -)')
    expect(events).not.toContain('delete a')
    events.length = 0
    await writer.delete(col('key').eq('b'))
    await view.advance()
    expect(events).toEqual(['delete b'])
  })

  it('serializes concurrent advances and returns the same version', async () => {
    const { writer, view } = await setup()
    for (let i = 0; i < 3; i++) await writer.append([{ key: `k${i}`, value: String(i) }])
    const versions = await Promise.all([view.advance(), view.advance(), view.advance()])
    expect(versions).toEqual([3, 3, 3])
    expect(view.size).toBe(3)
  })

  it('stays at its previous version when reading new files fails', async () => {
    const { writer, view, location } = await setup()
    await writer.append([{ key: 'a', value: '1' }])
    await view.advance()
    const result = await writer.append([{ key: 'b', value: '2' }])
    const added = (await writer.refresh()).snapshot.files().map((f) => f.path)
    const newest = added.find((p) => p !== view.fileOf('a'))!
    const bytes = await fs.readFile(path.join(location, newest))
    await fs.rm(path.join(location, newest))
    await expect(view.advance()).rejects.toThrow()
    expect(view.version).toBe(result.version - 1)
    expect(entries(view)).toEqual([{ key: 'a', value: '1' }])
    // The next advance after the file is back succeeds (a failure does not poison the chain).
    await fs.writeFile(path.join(location, newest), bytes)
    expect(await view.advance()).toBe(result.version)
    expect(view.size).toBe(2)
  })
})

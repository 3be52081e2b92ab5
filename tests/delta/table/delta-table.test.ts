import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DeltaTable,
  MemoryStore,
  type ListOptions,
  type StructType,
} from '../../../src/delta/index.js'
import { makeTempDir } from '../../support/temp.js'

const schema: StructType = {
  type: 'struct',
  fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }],
}

describe('DeltaTable.changes', () => {
  it('returns the commits after a version, up to the latest or to a given one', async () => {
    const t = await DeltaTable.create(path.join(await makeTempDir('changes-'), 't'), { schema })
    for (let i = 1; i <= 4; i++) await t.append([{ id: BigInt(i) }])
    const all = await t.changes(1)
    expect(all.map((c) => c.version)).toEqual([2, 3, 4])
    // A known range is read by name: the same commits, without listing the log.
    expect(await t.changes(1, 4)).toEqual(all)
    expect((await t.changes(1, 2)).map((c) => c.version)).toEqual([2])
    expect(await t.changes(4)).toEqual([])
    expect(await t.changes(4, 4)).toEqual([])
    await expect(t.changes(3, 6)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' })
  })
})

/** A memory store that counts listings of the log. */
class ListCountingStore extends MemoryStore {
  listings = 0
  override async listKeys(prefix: string, options?: ListOptions): Promise<string[]> {
    if (prefix === '_delta_log/') this.listings++
    return super.listKeys(prefix, options)
  }
}

describe('finding new commits', () => {
  it('probes the names of a few new commits and lists the log only when far behind', async () => {
    const store = new ListCountingStore()
    const writer = await DeltaTable.create(store, { schema })
    const reader = await DeltaTable.open(store)
    const changes = await DeltaTable.open(store)
    for (let i = 1; i <= 3; i++) await writer.append([{ id: BigInt(i) }])
    store.listings = 0
    await reader.refresh()
    expect(reader.version).toBe(3)
    expect((await changes.changes(0)).map((c) => c.version)).toEqual([1, 2, 3])
    expect(store.listings).toBe(0)
    for (let i = 4; i <= 30; i++) await writer.append([{ id: BigInt(i) }])
    await reader.refresh()
    expect(reader.version).toBe(30)
    expect((await changes.changes(3)).map((c) => c.version)).toEqual(
      Array.from({ length: 27 }, (_, i) => i + 4),
    )
    expect(store.listings).toBe(2)
    expect(await reader.files()).toHaveLength(30)
  })
})

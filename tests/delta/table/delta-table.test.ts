import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import {
  DeltaTable,
  MemoryStore,
  type ListOptions,
  type StructType,
} from '../../../src/delta/index.js'
import { makeTempDir } from '../../support/temp.js'
import { DAY, FakeClock } from '../operations/vacuum-support.js'

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

describe('DeltaTable.oldestCommitVersion', () => {
  it('is the first commit still in the log, which log cleanup moves to a checkpoint', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const properties = { 'delta.checkpointInterval': '5' }
    const t = await DeltaTable.create(store, { schema, properties, clock })
    expect(await t.oldestCommitVersion()).toBe(0)
    for (let i = 1; i <= 7; i++) {
      clock.advance(DAY)
      await t.append([{ id: BigInt(i) }])
    }
    expect(await t.oldestCommitVersion()).toBe(0)
    clock.advance(40 * DAY)
    await t.cleanupLog()
    // The checkpoint at 5 keeps its own commit; everything older is gone.
    expect(await t.oldestCommitVersion()).toBe(5)
    await expect(t.changes(3)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' })
    expect((await t.changes(4)).map((c) => c.version)).toEqual([5, 6, 7])
  })

  it('fails with TABLE_NOT_FOUND when the log holds no commit', async () => {
    const store = new MemoryStore()
    const t = await DeltaTable.create(store, { schema })
    await store.delete('_delta_log/00000000000000000000.json')
    await expect(t.oldestCommitVersion()).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND' })
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

  it('lists the log when log cleanup may have removed the next commit since the last look', async () => {
    // Log cleanup removes commits older than the retention (30 days) that a checkpoint covers.
    // A reader that last looked before them cannot tell from a missing next commit file that
    // there is none; past half the retention since its last look, it lists the log.
    const clock = new FakeClock()
    const store = new ListCountingStore({ clock })
    const properties = { 'delta.checkpointInterval': '3' }
    const writer = await DeltaTable.create(store, { schema, properties, clock })
    const reader = await DeltaTable.open(store, { clock })
    for (let i = 1; i <= 12; i++) {
      clock.advance(DAY)
      await writer.append([{ id: BigInt(i) }])
    }
    clock.advance(40 * DAY)
    expect((await writer.cleanupLog()).deletedFiles).toContain(
      '_delta_log/00000000000000000001.json',
    )
    store.listings = 0
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 16 * DAY)
      await reader.refresh()
      expect(reader.version).toBe(12)
      expect(await reader.files()).toHaveLength(12)
      expect(store.listings).toBeGreaterThan(0)
      // Having just looked, the reader probes again.
      await writer.append([{ id: 13n }])
      store.listings = 0
      await reader.refresh()
      expect(reader.version).toBe(13)
      expect(store.listings).toBe(0)
      // A tail from before the cleanup fails instead of finding nothing new.
      await expect(reader.changes(0)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' })
    } finally {
      vi.useRealTimers()
    }
  })
})

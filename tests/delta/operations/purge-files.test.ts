import { describe, expect, it } from 'vitest'
import { DeltaTable, col, isDeltaError } from '../../../src/delta/index.js'
import { allKeys, HookedStore, newTable, rows, FakeClock } from './vacuum-support.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('purgeFiles', () => {
  it('deletes files the latest version no longer references, at once, and records it', async () => {
    const { table, store } = await newTable({ partitioned: true })
    await table.append([
      { id: 1n, part: 'a', v: 'secret' },
      { id: 2n, part: 'a', v: 'keep' },
    ])
    const v1 = table.version
    const old = table.snapshot.files().map((f) => f.path)
    // GDPR erasure: rewrite without the row, then purge the file that still holds it.
    await table.delete(col('id').eq(1n))
    const result = await table.purgeFiles(old)
    expect(result.filesDeleted).toEqual(old)
    expect(result.filesMissing).toEqual([])
    expect(result.bytesDeleted).toBeGreaterThan(0)
    expect(result.version).toBe(table.version)
    for (const p of old) expect(await store.head(p)).toBeUndefined()
    expect(await table.toRows()).toEqual([{ id: 2n, part: 'a', v: 'keep' }])
    const error = await DeltaTable.open(store, { version: v1 })
      .then((t) => t.toRows())
      .catch((e: unknown) => e)
    expect(isDeltaError(error, 'DATA_FILE_NOT_FOUND')).toBe(true)
    const [entry] = await table.history({ limit: 1 })
    expect(entry).toMatchObject({
      operation: 'PURGE FILES',
      operationParameters: { paths: JSON.stringify(old) },
      operationMetrics: {
        numPurgedFiles: String(old.length),
        sizeOfPurgedData: String(result.bytesDeleted),
        numMissingFiles: '0',
      },
    })
    // Idempotent: purging again finds nothing and commits nothing.
    const again = await table.purgeFiles(old)
    expect(again).toMatchObject({ filesDeleted: [], filesMissing: old })
    expect(again.version).toBeUndefined()
    expect(table.version).toBe(result.version)
  })

  it('decodes paths as written in the log', async () => {
    const { table, store } = await newTable({ partitioned: true })
    await table.append([{ id: 1n, part: 'a b%c', v: 'x' }])
    const [file] = table.snapshot.files()
    expect(file!.path).toContain('%25')
    await table.overwrite([{ id: 2n, part: 'z', v: 'y' }])
    const result = await table.purgeFiles([file!.path])
    expect(result.filesDeleted).toHaveLength(1)
    expect(result.filesDeleted[0]).toMatch(/^part=a b%25c\//)
    expect(dataFiles(await allKeys(store))).toHaveLength(1)
  })

  it.each([
    ['a live file', 'live'],
    ['_delta_log/00000000000000000000.json', 'literal'],
    ['_delta_log/00000000000000000000.checkpoint.parquet', 'literal'],
    ['.hidden.parquet', 'literal'],
    ['part=a/_tmp/x.parquet', 'literal'],
    ['../outside.parquet', 'literal'],
    ['a/../../outside.parquet', 'literal'],
    ['/etc/passwd', 'literal'],
    ['file:///etc/passwd', 'literal'],
    ['s3://bucket/other/part.parquet', 'literal'],
    ['', 'literal'],
    ['bad%zzescape.parquet', 'literal'],
  ])('refuses %s with INVALID_ARGUMENT and deletes nothing', async (what, kind) => {
    const { table, store } = await newTable()
    await table.append(rows(2))
    await store.put('orphan.parquet', enc('x'))
    const live = table.snapshot.files()[0]!.path
    const target = kind === 'live' ? live : what
    const before = await allKeys(store)
    const error = await table.purgeFiles(['orphan.parquet', target]).catch((e: unknown) => e)
    expect(isDeltaError(error, 'INVALID_ARGUMENT')).toBe(true)
    expect((error as Error).message).toContain(JSON.stringify(target))
    expect(await allKeys(store)).toEqual(before)
  })

  it('does nothing for an empty list', async () => {
    const { table } = await newTable()
    const v = table.version
    const result = await table.purgeFiles([])
    expect(result.filesDeleted).toEqual([])
    expect(result.version).toBeUndefined()
    expect(table.version).toBe(v)
  })

  it('refuses, after recording, a file that a racing commit made live again', async () => {
    const clock = new FakeClock()
    const store = new HookedStore(new MemoryStore({ clock }))
    const { table } = await newTable({ clock, store })
    await table.append(rows(1))
    const old = table.snapshot.files().map((f) => f.path)
    await table.overwrite(rows(1))
    const restoredAt = table.version
    let raced = false
    store.hooks.putIfAbsent = async (key, data, inner) => {
      if (!raced) {
        raced = true
        // A RESTORE to version 1 wins the race for the version the purge wants.
        await DeltaTable.open(inner, { clock }).then((t) => t.restore({ version: 1 }))
      }
      return inner.putIfAbsent(key, data)
    }
    const error = await table.purgeFiles(old).catch((e: unknown) => e)
    expect(isDeltaError(error, 'INVALID_ARGUMENT')).toBe(true)
    for (const p of old) expect(await store.head(p)).toBeDefined()
    expect(restoredAt).toBe(2)
  })
})

function dataFiles(keys: readonly string[]): string[] {
  return keys.filter((k) => !k.startsWith('_delta_log/'))
}

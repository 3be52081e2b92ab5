import { describe, expect, it } from 'vitest'
import {
  DeltaTable,
  UnsupportedProtocolError,
  VersionNotFoundError,
  MemoryStore,
  isDeltaError,
} from '../../../src/delta/index.js'
import { padVersion } from '../../../src/delta/log/log-path.js'
import { planLogCleanup } from '../../../src/delta/operations/log-cleanup.js'
import type { ObjectStore } from '../../../src/delta/storage/object-store.js'
import { DAY, newTable, readAllVersions, rows, SCHEMA, writeRawCommit } from './vacuum-support.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const log = (name: string): string => `_delta_log/${name}`
const json = (v: number): string => log(`${padVersion(v)}.json`)
const cp = (v: number): string => log(`${padVersion(v)}.checkpoint.parquet`)

async function logKeys(store: ObjectStore): Promise<string[]> {
  return store.listKeys('_delta_log/')
}

/** Commits 1..n, one per day, checkpoints every `interval` versions. */
async function dailyTable(n: number, interval = 3, properties: Record<string, string> = {}) {
  const t = await newTable({
    properties: { 'delta.checkpointInterval': String(interval), ...properties },
  })
  for (let i = 0; i < n; i++) {
    t.clock.advance(DAY)
    await t.table.append(rows(1))
  }
  return t
}

describe('cleanupExpiredLogs', () => {
  it('deletes commits and checkpoints below the newest checkpoint older than the retention', async () => {
    const { table, store, clock } = await dailyTable(12) // v0 at T0, v_i at T0 + i days
    const before = await readAllVersions(store)
    // now = T0 + 40 days: cutoff T0 + 10 days; v9 is the newest commit older than it (v10 is at
    // the cutoff, not older); the newest checkpoint at or below v9 is v9.
    clock.advance(28 * DAY)
    const result = await table.cleanupLog()
    expect(result).toMatchObject({ dryRun: false, enabled: true, checkpointVersion: 9 })
    const expected = [...[0, 1, 2, 3, 4, 5, 6, 7, 8].map(json), cp(3), cp(6)].sort()
    expect([...result.deletedFiles].sort()).toEqual(expected)
    const keys = await logKeys(store)
    for (const k of expected) expect(keys).not.toContain(k)
    expect(keys).toContain(json(9))
    expect(keys).toContain(cp(9))
    const after = await readAllVersions(store)
    for (let v = 9; v <= 12; v++) expect(after[v], `version ${v}`).toEqual(before[v])
    for (let v = 0; v < 9; v++) {
      const error = await DeltaTable.open(store, { version: v }).catch((e: unknown) => e)
      expect(error, `version ${v}`).toBeInstanceOf(VersionNotFoundError)
    }
    const history = await table.history()
    expect(history.at(-1)!.version).toBe(9)
    expect(history.at(-1)!.operation).toBe('WRITE')
  })

  it('deletes oldest first and lists the same files in a dry run, deleting nothing', async () => {
    const { table, store, clock } = await dailyTable(12)
    clock.advance(28 * DAY)
    const keys = await logKeys(store)
    const dry = await table.cleanupLog({ dryRun: true })
    expect(dry.dryRun).toBe(true)
    expect(await logKeys(store)).toEqual(keys)
    const real = await table.cleanupLog()
    expect(real.deletedFiles).toEqual(dry.deletedFiles)
    const versions = real.deletedFiles.map((k) => Number(k.slice(11, 31)))
    expect(versions).toEqual([...versions].sort((a, b) => a - b))
  })

  it('deletes nothing when no checkpoint is at or below the newest expired commit', async () => {
    const { table, store, clock } = await dailyTable(12, 100)
    clock.advance(40 * DAY)
    const keys = await logKeys(store)
    const result = await table.cleanupLog()
    expect(result.checkpointVersion).toBeUndefined()
    expect(result.deletedFiles).toEqual([])
    expect(await logKeys(store)).toEqual(keys)
  })

  it('deletes nothing while no commit is older than the retention', async () => {
    const { table, clock } = await dailyTable(12)
    clock.advance(10 * DAY) // cutoff T0 - 8 days: before every commit
    expect((await table.cleanupLog()).deletedFiles).toEqual([])
  })

  it('keeps a commit exactly at the cutoff (only older commits are expired)', async () => {
    const { table, clock } = await dailyTable(12)
    clock.advance(21 * DAY) // now T0 + 33 days: cutoff T0 + 3 days = time of v3
    const atCutoff = await table.cleanupLog({ dryRun: true })
    expect(atCutoff.checkpointVersion).toBeUndefined() // newest expired is v2: no checkpoint
    clock.advance(1)
    const after = await table.cleanupLog({ dryRun: true })
    expect(after.checkpointVersion).toBe(3)
    expect(after.deletedFiles).toEqual([0, 1, 2].map(json))
  })

  it('uses delta.logRetentionDuration and honours delta.enableExpiredLogCleanup', async () => {
    const short = await dailyTable(12, 3, { 'delta.logRetentionDuration': 'interval 2 days' })
    short.clock.advance(DAY) // now T0 + 13 days: cutoff T0 + 11 days
    expect((await short.table.cleanupLog({ dryRun: true })).checkpointVersion).toBe(9)
    const off = await dailyTable(12, 3, { 'delta.enableExpiredLogCleanup': 'false' })
    off.clock.advance(100 * DAY)
    const result = await off.table.cleanupLog()
    expect(result).toMatchObject({ enabled: false, deletedFiles: [] })
  })

  it('deletes checkpoint parts, checksums and compaction files below the safe checkpoint', async () => {
    const { table, store, clock } = await dailyTable(7)
    const extra = [
      log(`${padVersion(1)}.checkpoint.0000000001.0000000002.parquet`),
      log(`${padVersion(1)}.checkpoint.0000000002.0000000002.parquet`),
      log(`${padVersion(2)}.checkpoint.0000000001.0000000003.parquet`), // incomplete
      log(`${padVersion(1)}.crc`),
      log(`${padVersion(2)}.${padVersion(4)}.compacted.json`),
      log(`${padVersion(6)}.${padVersion(7)}.compacted.json`), // starts at the safe checkpoint
    ]
    const kept = [
      log(`${padVersion(6)}.crc`),
      log(`${padVersion(7)}.${padVersion(7)}.compacted.json`),
      log('.00000000000000000001.json.crc'),
      log('_last_checkpoint'),
      log('.tmp/00000000000000000003.json'),
    ]
    for (const k of [...extra, ...kept]) await store.put(k, enc('{}'))
    clock.advance(40 * DAY)
    const result = await table.cleanupLog()
    expect(result.checkpointVersion).toBe(6)
    for (const k of extra) expect(result.deletedFiles).toContain(k)
    const keys = await store.listKeys('_delta_log/', { recursive: true })
    for (const k of kept) expect(keys).toContain(k)
    expect((await DeltaTable.open(store)).version).toBe(7)
  })

  it('never goes past the checkpoint named by _last_checkpoint', async () => {
    const { store, clock } = await dailyTable(12)
    await store.put(log('_last_checkpoint'), enc(JSON.stringify({ version: 3, size: 1 })))
    clock.advance(40 * DAY)
    const table = await DeltaTable.open(store, { clock })
    const result = await table.cleanupLog()
    expect(result.checkpointVersion).toBe(3)
    expect(result.deletedFiles).toEqual([0, 1, 2].map(json))
  })

  it('passes over an empty or truncated checkpoint a crashed writer left, for an older one', async () => {
    for (const damage of ['empty', 'truncated'] as const) {
      const { store, clock } = await dailyTable(12) // checkpoints at 3, 6, 9, 12
      const before = await readAllVersions(store)
      const good = await store.get(cp(12))
      await store.put(cp(12), damage === 'empty' ? new Uint8Array(0) : good.subarray(0, 40))
      await store.delete(log('_last_checkpoint'))
      clock.advance(40 * DAY)
      const table = await DeltaTable.open(store, { clock })
      const result = await table.cleanupLog()
      expect(result.checkpointVersion, damage).toBe(9)
      const after = await readAllVersions(store)
      for (let v = 9; v <= 12; v++) expect(after[v], `${damage}: version ${v}`).toEqual(before[v])
    }
  })

  it('keeps time travel by timestamp consistent with what is left', async () => {
    const { table, store, clock } = await dailyTable(12)
    clock.advance(28 * DAY)
    await table.cleanupLog()
    const error = await DeltaTable.open(store, { timestamp: 0, clock }).catch((e: unknown) => e)
    expect(isDeltaError(error, 'TIMESTAMP_BEFORE_FIRST_COMMIT')).toBe(true)
    expect((await DeltaTable.open(store, { timestamp: clock.now(), clock })).version).toBe(12)
  })

  it('refuses tables with writer features it does not implement', async () => {
    const store = new MemoryStore()
    await writeRawCommit(store, 0, [
      { kind: 'commitInfo', info: {} },
      {
        kind: 'protocol',
        minReaderVersion: 1,
        minWriterVersion: 7,
        writerFeatures: ['rowTracking'],
      },
      {
        kind: 'metaData',
        id: 'x',
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify(SCHEMA),
        partitionColumns: [],
        configuration: {},
      },
    ])
    const error = await DeltaTable.open(store)
      .then((t) => t.cleanupLog())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnsupportedProtocolError)
  })
})

describe('planLogCleanup', () => {
  it('monotonizes commit times the way time travel does', () => {
    const listing = [
      { key: json(0), lastModified: 100 },
      { key: json(1), lastModified: 50 }, // clock skew: counts as 101
      { key: cp(1), lastModified: 50 },
      { key: json(2), lastModified: 300 },
    ]
    expect(planLogCleanup(listing, 2, 101).checkpointVersion).toBeUndefined()
    expect(planLogCleanup(listing, 2, 102)).toMatchObject({
      checkpointVersion: 1,
      files: [json(0)],
    })
  })

  it("deletes writers' stale temp files older than the cutoff, whatever the checkpoints", () => {
    const temp = log(`.${padVersion(3)}.json.0b3f.tmp`)
    const fresh = log(`.${padVersion(4)}.json.9c1d.tmp`)
    const listing = [
      { key: json(0), lastModified: 100 },
      { key: temp, lastModified: 100 },
      { key: fresh, lastModified: 500 },
      { key: log('.hidden'), lastModified: 100 }, // not a temp file
      { key: log('_last_checkpoint'), lastModified: 100 },
    ]
    // No checkpoint: no log file goes, the stale temp file does; the recent one stays.
    expect(planLogCleanup(listing, 0, 200)).toMatchObject({
      checkpointVersion: undefined,
      files: [temp],
    })
    expect(planLogCleanup(listing, 0, 100).files).toEqual([])
  })
})

describe('cleanupExpiredLogs and temp files', () => {
  it('removes a temp commit file left by a crashed writer, once older than the retention', async () => {
    const { table, store, clock } = await dailyTable(2)
    const temp = log(`.${padVersion(3)}.json.dead.tmp`)
    await store.put(temp, enc('{"commitInfo":{}}\n'))
    expect((await table.cleanupLog()).deletedFiles).toEqual([])
    clock.advance(40 * DAY)
    const result = await table.cleanupLog()
    expect(result.deletedFiles).toContain(temp)
    expect(await logKeys(store)).not.toContain(temp)
    expect((await DeltaTable.open(store)).version).toBe(2)
  })
})

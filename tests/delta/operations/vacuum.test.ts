import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DeltaTable,
  MemoryStore,
  UnsupportedProtocolError,
  col,
  isDeltaError,
} from '../../../src/delta/index.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import { isHiddenPath, planVacuum } from '../../../src/delta/operations/vacuum.js'
import { decodeAddPath } from '../../../src/delta/schema/paths.js'
import { makeTempDir } from '../../support/temp.js'
import {
  DAY,
  FakeClock,
  HOUR,
  HookedStore,
  SCHEMA,
  allKeys,
  compactFiles,
  newTable,
  readAllVersions,
  rowKey,
  rows,
  writeRawCommit,
} from './vacuum-support.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isDeltaError(e) ? e.code : `untyped: ${String(e)}`),
  )
}

function dataKeys(keys: readonly string[]): string[] {
  return keys.filter((k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'))
}

describe('isHiddenPath', () => {
  it.each([
    ['_delta_log/00000000000000000000.json', true],
    ['_delta_log', true],
    ['.hidden.parquet', true],
    ['_tmp/part-0.parquet', true],
    ['a=1/.part-0.parquet.crc', true],
    ['a=1/_staging/part-0.parquet', true],
    ['metadata/v1.metadata.json', true],
    ['part-0.parquet', false],
    ['a=1/part-0.parquet', false],
    ['_change_data/cdc-0.parquet', false],
    ['_delta_index/x.parquet', false],
    ['_p=1/part-0.parquet', false],
    ['_q=1/part-0.parquet', true],
    ['a=1/_p=2/part-0.parquet', false],
  ])('says %s is hidden: %s', (key, hidden) => {
    expect(isHiddenPath(key, ['a', '_p'])).toBe(hidden)
  })
})

describe('vacuum', () => {
  it('deletes files unreferenced for longer than the retention and records VACUUM START/END', async () => {
    const { table, store, clock } = await newTable()
    await table.append(rows(3))
    await table.append(rows(3))
    const before = dataKeys(await allKeys(store))
    clock.advance(HOUR)
    await table.overwrite(rows(2))
    clock.advance(8 * DAY)
    const versionBefore = table.version
    const result = await table.vacuum()
    expect(result.dryRun).toBe(false)
    expect([...result.filesDeleted].sort()).toEqual([...before].sort())
    expect(result.startVersion).toBe(versionBefore + 1)
    expect(result.endVersion).toBe(versionBefore + 2)
    expect(table.version).toBe(versionBefore + 2)
    const left = dataKeys(await allKeys(store))
    expect(left).toHaveLength(table.snapshot.numFiles)
    expect(await table.toRows()).toHaveLength(2)

    const history = await table.history({ limit: 2 })
    expect(history[1]).toMatchObject({
      operation: 'VACUUM START',
      operationParameters: {
        retentionCheckEnabled: 'true',
        defaultRetentionMillis: String(7 * DAY),
      },
      operationMetrics: {
        numFilesToDelete: String(before.length),
        sizeOfDataToDelete: String(result.bytesDeleted),
      },
    })
    expect(history[1]!.operationParameters).not.toHaveProperty('specifiedRetentionMillis')
    expect(history[0]).toMatchObject({
      operation: 'VACUUM END',
      operationParameters: { status: 'COMPLETED' },
      operationMetrics: { numDeletedFiles: String(before.length), numVacuumedDirectories: '0' },
    })
  })

  it('lists in a dry run exactly what the real run deletes, and changes nothing', async () => {
    const { table, store, clock } = await newTable({ partitioned: true })
    await table.append(rows(4))
    await table.overwrite(rows(4))
    clock.advance(8 * DAY)
    const keysBefore = await allKeys(store)
    const dry = await table.vacuum({ dryRun: true })
    expect(dry.dryRun).toBe(true)
    expect(dry.filesDeleted.length).toBeGreaterThan(0)
    expect(await allKeys(store)).toEqual(keysBefore)
    expect(dry.plan.files.map((f) => f.key)).toEqual(dry.filesDeleted)
    const real = await table.vacuum()
    expect(real.filesDeleted).toEqual(dry.filesDeleted)
    expect(real.bytesDeleted).toBe(dry.bytesDeleted)
  })

  it('commits nothing when there is nothing to delete', async () => {
    const { table } = await newTable()
    await table.append(rows(2))
    const v = table.version
    const result = await table.vacuum()
    expect(result.filesDeleted).toEqual([])
    expect(result.startVersion).toBeUndefined()
    expect(table.version).toBe(v)
  })

  it('keeps files removed within the retention (unexpired tombstones) even when they are old', async () => {
    const { table, store, clock } = await newTable()
    await table.append(rows(2))
    const first = dataKeys(await allKeys(store))
    clock.advance(30 * DAY)
    await table.overwrite(rows(2)) // tombstones of `first` are fresh; the files are 30 days old
    clock.advance(DAY)
    const result = await table.vacuum()
    expect(result.filesDeleted).toEqual([])
    for (const k of first) expect(await store.head(k)).toBeDefined()
    expect(await DeltaTable.open(store, { version: 1 }).then(async (t) => t.toRows())).toHaveLength(
      2,
    )
  })

  it('never touches _delta_log, hidden paths or recent files, and deletes old orphans', async () => {
    const { table, store, clock } = await newTable({
      partitioned: true,
      properties: { 'delta.deletedFileRetentionDuration': 'interval 1 hours' },
    })
    await table.append(rows(2))
    const old = [
      'orphan-old.parquet',
      'part=a/orphan-old.parquet',
      '_change_data/cdc-old.parquet',
      'part=zz/deeper/old.bin',
    ]
    const hidden = [
      '.hidden-old.parquet',
      '_tmp/old.parquet',
      'part=a/.part-0.parquet.crc',
      'part=a/_staging/old.parquet',
      '_delta_log/.tmp/00000000000000000009.json',
      '_delta_log/_staged_commits/x.json',
      '.maintenance/lease.json',
    ]
    for (const k of [...old, ...hidden]) await store.put(k, enc('x'))
    clock.advance(2 * HOUR)
    const recent = ['orphan-new.parquet', 'part=b/orphan-new.parquet']
    for (const k of recent) await store.put(k, enc('y'))
    const logBefore = await store.listKeys('_delta_log/', { recursive: true })
    const result = await table.vacuum()
    expect([...result.filesDeleted].sort()).toEqual([...old].sort())
    for (const k of [...hidden, ...recent]) expect(await store.head(k)).toBeDefined()
    const logAfter = await store.listKeys('_delta_log/', { recursive: true })
    for (const k of logBefore) expect(logAfter).toContain(k)
    expect(await table.toRows()).toHaveLength(2)
  })

  it('deletes files of expired tombstones whatever their modification time (a copied table)', async () => {
    const { table, store, clock } = await newTable()
    await table.append(rows(2))
    const [removed] = dataKeys(await allKeys(store))
    await table.overwrite(rows(1))
    clock.advance(8 * DAY)
    await store.put('orphan-copied.parquet', enc('x'))
    // A copy refreshed every modification time.
    ;(store as MemoryStore).setLastModified(removed!, clock.now())
    const result = await table.vacuum()
    expect(result.filesDeleted).toEqual([removed])
    expect(await store.head('orphan-copied.parquet')).toBeDefined()
  })

  it('lets the modification time decide for tombstones without a deletion timestamp', async () => {
    const { table, store, clock } = await newTable()
    await table.append(rows(1))
    await table.append(rows(1))
    const [a, b] = table.snapshot.files()
    clock.advance(8 * DAY)
    ;(store as MemoryStore).setLastModified(b!.path, clock.now() - HOUR) // b written recently
    await writeRawCommit(store, table.version + 1, [
      { kind: 'commitInfo', info: { operation: 'DELETE' } },
      { kind: 'remove', path: a!.path, dataChange: true },
      { kind: 'remove', path: b!.path, dataChange: true },
    ])
    const result = await (await DeltaTable.open(store, { clock })).vacuum()
    expect(result.filesDeleted).toEqual([a!.path])
  })

  it('deletes unreferenced files of a partition column starting with _', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const table = await DeltaTable.create(store, {
      schema: {
        type: 'struct',
        fields: [
          { name: 'id', type: 'long', nullable: true, metadata: {} },
          { name: '_p', type: 'string', nullable: true, metadata: {} },
        ],
      },
      partitionColumns: ['_p'],
      clock,
    })
    await table.append([{ id: 1n, _p: 'x' }])
    const [first] = dataKeys(await allKeys(store))
    expect(first).toMatch(/^_p=x\//)
    await table.overwrite([{ id: 2n, _p: 'x' }])
    clock.advance(8 * DAY)
    const result = await table.vacuum()
    expect(result.filesDeleted).toEqual([first])
  })

  it.each([
    [{ retentionHours: 1 }, 'RETENTION_TOO_SHORT'],
    [{ retentionHours: 167 }, 'RETENTION_TOO_SHORT'],
    [{ retentionHours: 168 }, 'ok'],
    [{ retentionHours: 1, enforceRetentionDuration: false }, 'ok'],
    [{ retentionHours: 0, enforceRetentionDuration: false }, 'ok'],
    [{ retentionHours: -1 }, 'INVALID_ARGUMENT'],
    [{ retentionHours: -1, enforceRetentionDuration: false }, 'INVALID_ARGUMENT'],
    [{ retentionHours: Number.NaN, enforceRetentionDuration: false }, 'INVALID_ARGUMENT'],
    [{ retentionHours: Number.POSITIVE_INFINITY }, 'INVALID_ARGUMENT'],
  ])('answers %j with %s', async (options, expected) => {
    const { table } = await newTable()
    expect(await codeOf(table.vacuum({ ...options, dryRun: true }))).toBe(expected)
  })

  it('names both retentions when refusing a short one', async () => {
    const { table } = await newTable({
      properties: { 'delta.deletedFileRetentionDuration': 'interval 2 days' },
    })
    const error = await table.vacuum({ retentionHours: 12 }).catch((e: unknown) => e)
    expect(isDeltaError(error, 'RETENTION_TOO_SHORT')).toBe(true)
    expect((error as Error).message).toContain('12 hours')
    expect((error as Error).message).toContain('48 hours')
    expect(await codeOf(table.vacuum({ retentionHours: 48, dryRun: true }))).toBe('ok')
  })

  it('refuses tables with writer features it does not implement, dry run included', async () => {
    const store = new MemoryStore()
    await writeRawCommit(store, 0, [
      { kind: 'commitInfo', info: { operation: 'CREATE TABLE' } },
      {
        kind: 'protocol',
        minReaderVersion: 1,
        minWriterVersion: 7,
        writerFeatures: ['rowTracking', 'domainMetadata'],
      },
      {
        kind: 'metaData',
        id: 'id',
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify(SCHEMA),
        partitionColumns: [],
        configuration: {},
      },
    ])
    const table = await DeltaTable.open(store)
    const error = await table.vacuum({ dryRun: true }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnsupportedProtocolError)
    expect((error as UnsupportedProtocolError).features).toContain('rowTracking')
  })

  it('protects tombstones a checkpoint dropped when the retention is longer than the table one', async () => {
    const { table, store, clock } = await newTable({
      properties: {
        'delta.deletedFileRetentionDuration': 'interval 1 days',
        'delta.checkpointInterval': '2',
      },
    })
    await table.append(rows(2)) // v1
    const first = dataKeys(await allKeys(store))
    clock.advance(DAY)
    await table.overwrite(rows(2)) // v2: tombstones of `first`; checkpoint at v2
    clock.advance(3 * DAY)
    await table.append(rows(1)) // v3
    await table.append(rows(1)) // v4: checkpoint drops the 3-day-old tombstones
    clock.advance(HOUR)
    const result = await table.vacuum({ retentionHours: 10 * 24 })
    expect(result.filesDeleted).toEqual([])
    for (const k of first) expect(await store.head(k)).toBeDefined()
    // With the table's own retention they are expired and go.
    const short = await table.vacuum()
    expect([...short.filesDeleted].sort()).toEqual([...first].sort())
  })

  it('records status FAILED in VACUUM END and rethrows when a deletion fails', async () => {
    const clock = new FakeClock()
    const store = new HookedStore(new MemoryStore({ clock }))
    const fail: { key?: string } = {}
    store.hooks.delete = async (key, inner) => {
      if (key === fail.key) throw new Error('disk on fire')
      return inner.delete(key)
    }
    const { table } = await newTable({ clock, store })
    await table.append(rows(2))
    await table.append(rows(2))
    await table.overwrite(rows(1))
    clock.advance(8 * DAY)
    const plan = await table.vacuum({ dryRun: true })
    fail.key = plan.filesDeleted[0]
    const error = await table.vacuum().catch((e: unknown) => e)
    expect((error as Error).message).toBe('disk on fire')
    const history = await DeltaTable.open(store).then((t) => t.history({ limit: 1 }))
    expect(history[0]).toMatchObject({
      operation: 'VACUUM END',
      operationParameters: { status: 'FAILED' },
      operationMetrics: { numDeletedFiles: String(plan.filesDeleted.length - 1) },
    })
  })

  it('keeps the files a RESTORE committed after VACUUM START made live again', async () => {
    const clock = new FakeClock()
    const store = new HookedStore(new MemoryStore({ clock }))
    const { table } = await newTable({ clock, store })
    await table.append([{ id: 1n, part: 'a', v: 'restored' }]) // v1: file F
    await table.delete(col('id').eq(1n)) // v2: F's tombstone
    await table.append([{ id: 2n, part: 'a', v: 'kept' }])
    clock.advance(8 * DAY) // F's tombstone has expired
    const restorer = await DeltaTable.open(store, { clock })
    let restoredAt: number | undefined
    store.hooks.putIfAbsent = async (key, data, inner) => {
      const created = await inner.putIfAbsent(key, data)
      // Right after VACUUM START commits, another writer restores version 1 (F live again).
      if (
        created &&
        restoredAt === undefined &&
        new TextDecoder().decode(data).includes('VACUUM START')
      ) {
        restoredAt = (await restorer.restore({ version: 1 })).version
      }
      return created
    }
    const result = await table.vacuum()
    expect(restoredAt).toBe((result.startVersion ?? -1) + 1)
    expect(result.filesDeleted).toEqual([])
    const fresh = await DeltaTable.open(store)
    expect((await fresh.toRows()).map((r) => r.v)).toEqual(['restored'])
  })

  it('retries VACUUM START on the new snapshot when a metadata change wins the race', async () => {
    const clock = new FakeClock()
    const store = new HookedStore(new MemoryStore({ clock }))
    let race: (() => Promise<void>) | undefined
    store.hooks.putIfAbsent = async (key, data, inner) => {
      const r = race
      race = undefined
      if (r) await r()
      return inner.putIfAbsent(key, data)
    }
    const { table } = await newTable({ clock, store })
    await table.append(rows(2))
    await table.overwrite(rows(1))
    clock.advance(8 * DAY)
    const v = table.version
    const other = await DeltaTable.open(store, { clock })
    race = async () => {
      // Another writer changes the metadata (a new property) at the version vacuum wants.
      await writeRawCommit(store.inner, v + 1, [
        { kind: 'commitInfo', info: { operation: 'SET TBLPROPERTIES' } },
        {
          ...other.metadata,
          configuration: { ...other.metadata.configuration, 'x.custom': '1' },
        },
      ])
    }
    const result = await table.vacuum()
    expect(result.startVersion).toBe(v + 2)
    expect(result.filesDeleted.length).toBeGreaterThan(0)
    expect(table.metadata.configuration['x.custom']).toBe('1')
  })

  it('never deletes a file a version inside the retention window needs (random histories)', async () => {
    let deleted = 0
    let unreadable = 0
    for (let seed = 1; seed <= 12; seed++) {
      const r = await randomHistory(seed)
      deleted += r.deleted
      unreadable += r.unreadable
    }
    // The histories exercise the interesting cases: files go, and old versions stop reading.
    expect(deleted).toBeGreaterThan(20)
    expect(unreadable).toBeGreaterThan(5)
  }, 120_000)
})

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function randomHistory(seed: number): Promise<{ deleted: number; unreadable: number }> {
  const rand = prng(seed)
  const pick = (n: number): number => Math.floor(rand() * n)
  const retentionDays = 1 + pick(4)
  const configDays = rand() < 0.5 ? retentionDays : Math.max(1, retentionDays - 1 - pick(2))
  const { table, store, clock } = await newTable({
    partitioned: rand() < 0.5,
    properties: {
      'delta.deletedFileRetentionDuration': `interval ${configDays} days`,
      'delta.checkpointInterval': String(2 + pick(4)),
    },
  })
  const steps = 15 + pick(15)
  for (let i = 0; i < steps; i++) {
    const r = rand()
    if (r < 0.35) await table.append(rows(1 + pick(3)))
    else if (r < 0.45) await table.overwrite(rows(1 + pick(3)))
    else if (r < 0.6) {
      const live = await table.toRows()
      const victim = live[pick(Math.max(1, live.length))]
      if (victim) await table.delete(col('id').eq(victim.id))
    } else if (r < 0.75) await compactFiles(table, 2 + pick(3), pick)
    else if (r < 0.85) {
      // A failed write: a data file no commit references.
      await store.put(`part-orphan-${seed}-${i}.parquet`, enc('orphan'))
    }
    clock.advance(Math.floor(rand() * 2 * DAY))
  }
  const expected = await readAllVersions(store)
  const history = (await table.history()).reverse()
  const latest = table.version
  const listing = await store.list('', { recursive: true })
  const now = clock.now()
  const cutoff = now - retentionDays * DAY
  // Versions whose lifetime reaches into the window: [t_v, t_{v+1}) intersects (cutoff, now].
  const retained = history
    .filter((h, i) => h.version === latest || history[i + 1]!.timestamp.getTime() > cutoff)
    .map((h) => h.version)
  // Files any retained version needs.
  const needed = new Set<string>()
  for (const v of retained) {
    const t = await DeltaTable.open(store, { version: v })
    for (const f of t.snapshot.files()) needed.add(decodeAddPath(f.path))
  }
  const expectedDeleted = listing
    .filter(
      (m) => !m.key.startsWith('_delta_log/') && m.lastModified < cutoff && !needed.has(m.key),
    )
    .map((m) => m.key)
    .sort()
  const options = { retentionHours: retentionDays * 24, enforceRetentionDuration: false }
  const dry = await table.vacuum({ ...options, dryRun: true })
  const real = await table.vacuum(options)
  expect(real.filesDeleted, `seed ${seed}`).toEqual(dry.filesDeleted)
  expect(real.filesDeleted, `seed ${seed}`).toEqual(expectedDeleted)
  const after = await readAllVersions(store)
  for (const v of retained) expect(after[v], `seed ${seed} version ${v}`).toEqual(expected[v])
  for (const key of expectedDeleted) expect(await store.head(key)).toBeUndefined()
  const unreadable = after.filter((a) => a === 'DATA_FILE_NOT_FOUND').length
  return { deleted: real.filesDeleted.length, unreadable }
}

describe('vacuum on a local table', () => {
  it('removes directories it empties and old empty ones, keeps hidden and recent ones', async () => {
    const dir = await makeTempDir('vacuum-dirs-')
    const realNow = Date.now()
    const clock = new FakeClock(realNow)
    const table = await DeltaTable.create(dir, {
      schema: SCHEMA,
      partitionColumns: ['part'],
      clock,
    })
    await table.append(rows(4, ['a', 'b']))
    await table.overwrite(rows(2, ['c']))
    await fs.mkdir(path.join(dir, 'part=empty-old/nested'), { recursive: true })
    await fs.mkdir(path.join(dir, '_hidden/inner'), { recursive: true })
    await fs.mkdir(path.join(dir, 'part=b/_keep'), { recursive: true })
    await fs.writeFile(path.join(dir, '_hidden/inner/old.parquet'), 'x')
    await fs.writeFile(path.join(dir, 'part=c/.old.parquet.crc'), 'x')
    // Everything above is "old" once the clock moves past the retention.
    clock.advance(8 * DAY)
    await fs.mkdir(path.join(dir, 'part=empty-new'))
    const old = new Date(realNow - DAY)
    await fs.utimes(path.join(dir, 'part=b/_keep'), old, old)
    await fs.utimes(path.join(dir, 'part=b'), old, old)
    // part=empty-new has a real (recent) mtime, but "recent" is relative to the fake clock:
    // make it newer than the cutoff.
    const fresh = new Date(clock.now())
    await fs.utimes(path.join(dir, 'part=empty-new'), fresh, fresh)

    const dry = await DeltaTable.open(dir, { clock }).then((t) => t.vacuum({ dryRun: true }))
    expect([...dry.directoriesDeleted].sort()).toEqual(
      ['part=a', 'part=empty-old', 'part=empty-old/nested'].sort(),
    )
    const t = await DeltaTable.open(dir, { clock })
    const result = await t.vacuum()
    expect(result.directoriesDeleted).toEqual(dry.directoriesDeleted)
    const entries = (await fs.readdir(dir)).sort()
    expect(entries).toEqual(['_delta_log', '_hidden', 'part=b', 'part=c', 'part=empty-new'])
    expect(await fs.readdir(path.join(dir, 'part=b'))).toEqual(['_keep'])
    expect(await fs.readdir(path.join(dir, '_hidden/inner'))).toEqual(['old.parquet'])
    expect(await fs.readdir(path.join(dir, 'part=c'))).toContain('.old.parquet.crc')
    const history = await t.history({ limit: 1 })
    expect(history[0]!.operationMetrics).toMatchObject({ numVacuumedDirectories: '3' })
    expect(rowKey(await t.toRows())).toHaveLength(2)
  })
})

describe('planVacuum', () => {
  it('is a pure function of the listing', async () => {
    const { table, clock } = await newTable()
    await table.append(rows(1))
    const snapshot = table.snapshot
    const [live] = snapshot.files()
    const plan = planVacuum({
      snapshot,
      location: 'memory://',
      listing: [
        { key: live!.path, size: 10, lastModified: 0 },
        { key: 'x.parquet', size: 5, lastModified: 0 },
        { key: 'y.parquet', size: 5, lastModified: clock.now() },
        { key: commitKey(0), size: 1, lastModified: 0 },
      ],
      retention: {
        retentionMs: 0,
        defaultRetentionMs: 0,
        specifiedRetentionMs: 0,
        retentionCheckEnabled: true,
      },
      now: clock.now(),
    })
    expect(plan.files.map((f) => f.key)).toEqual(['x.parquet'])
    expect(plan).toMatchObject({
      sizeInBytes: 5,
      numFilesListed: 4,
      numProtectedFiles: 1,
      numRecentFiles: 1,
      directories: [],
    })
  })
})

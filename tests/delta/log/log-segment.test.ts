import { describe, expect, it } from 'vitest'
import { serializeCommit } from '../../../src/delta/actions/serialize-action.js'
import type { Action } from '../../../src/delta/actions/actions.js'
import { writeCheckpoint } from '../../../src/delta/checkpoint/write-checkpoint.js'
import { isDeltaError, VersionNotFoundError } from '../../../src/delta/errors.js'
import { buildLogSegment, listCommitFiles } from '../../../src/delta/log/log-segment.js'
import {
  checkpointKey,
  commitKey,
  LAST_CHECKPOINT_KEY,
  parseLogKey,
} from '../../../src/delta/log/log-path.js'
import { Snapshot } from '../../../src/delta/snapshot/snapshot.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'
import type { ListOptions, ObjectMeta } from '../../../src/delta/storage/object-store.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const SCHEMA = JSON.stringify({
  type: 'struct',
  fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
})

function commit(v: number): Action[] {
  const actions: Action[] = [{ kind: 'commitInfo', info: { operation: 'WRITE' } }]
  if (v === 0) {
    actions.push(
      { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 2 },
      {
        kind: 'metaData',
        id: 'x',
        format: { provider: 'parquet', options: {} },
        schemaString: SCHEMA,
        partitionColumns: [],
        configuration: {},
      },
    )
  }
  actions.push({
    kind: 'add',
    path: `f${v}.parquet`,
    partitionValues: {},
    size: 1,
    modificationTime: v,
    dataChange: true,
  })
  return actions
}

async function table(versions: number): Promise<MemoryStore> {
  const store = new MemoryStore()
  for (let v = 0; v < versions; v++)
    await store.putIfAbsent(commitKey(v), enc(serializeCommit(commit(v))))
  return store
}

/** A store whose listings leave out some commits, as a listing racing with writers can. */
class RacingStore extends MemoryStore {
  heads = 0
  readonly #hidden: ReadonlySet<string>

  constructor(hidden: readonly number[]) {
    super()
    this.#hidden = new Set(hidden.map(commitKey))
  }

  override async listKeys(prefix: string, options?: ListOptions): Promise<string[]> {
    return (await super.listKeys(prefix, options)).filter((k) => !this.#hidden.has(k))
  }

  override async list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]> {
    return (await super.list(prefix, options)).filter((m) => !this.#hidden.has(m.key))
  }

  override async head(key: string): Promise<ObjectMeta | undefined> {
    this.heads++
    return super.head(key)
  }
}

/** A store whose successive listings of the log show what a growing log would show. */
class ScriptedListings extends MemoryStore {
  readonly #script: readonly { upTo: number; hidden: readonly number[] }[]
  #calls = 0

  constructor(script: readonly { upTo: number; hidden: readonly number[] }[]) {
    super()
    this.#script = script
  }

  static async of(
    versions: number,
    script: readonly { upTo: number; hidden: readonly number[] }[],
  ): Promise<ScriptedListings> {
    const store = new ScriptedListings(script)
    for (let v = 0; v < versions; v++) {
      await store.putIfAbsent(commitKey(v), enc(serializeCommit(commit(v))))
    }
    return store
  }

  override async listKeys(prefix: string, options?: ListOptions): Promise<string[]> {
    const step = this.#script[Math.min(this.#calls++, this.#script.length - 1)]
    const hidden = new Set(step?.hidden.map(commitKey))
    const keys = await super.listKeys(prefix, options)
    return keys.filter((k) => {
      const f = parseLogKey(k)
      return f?.type !== 'commit' || (f.version <= (step?.upTo ?? Infinity) && !hidden.has(k))
    })
  }
}

async function racingStore(versions: number, hidden: readonly number[]): Promise<RacingStore> {
  const store = new RacingStore(hidden)
  for (let v = 0; v < versions; v++)
    await store.putIfAbsent(commitKey(v), enc(serializeCommit(commit(v))))
  return store
}

async function checkpointAt(store: MemoryStore, v: number): Promise<void> {
  await writeCheckpoint(store, await Snapshot.load(store, { version: v }), Date.now())
}

describe('parseLogKey', () => {
  it.each([
    ['_delta_log/00000000000000000007.json', { type: 'commit', version: 7 }],
    [
      '_delta_log/00000000000000000010.checkpoint.parquet',
      { type: 'checkpoint', flavor: 'classic', version: 10 },
    ],
    [
      '_delta_log/00000000000000000010.checkpoint.0000000001.0000000002.parquet',
      { type: 'checkpoint', flavor: 'multipart', part: 1, parts: 2 },
    ],
    [
      '_delta_log/00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet',
      { type: 'checkpoint', flavor: 'v2' },
    ],
    [
      '_delta_log/00000000000000000001.00000000000000000003.compacted.json',
      { type: 'compacted', version: 1, endVersion: 3 },
    ],
    ['_delta_log/00000000000000000003.crc', { type: 'crc', version: 3 }],
  ])('classifies %s', (key, want) => {
    expect(parseLogKey(key)).toMatchObject(want)
  })

  it.each([
    '_delta_log/.00000000000000000003.json.crc',
    '_delta_log/.tmp/00000000000000000005.json',
    '_delta_log/_last_checkpoint',
    '_delta_log/0000000000000000003.json',
    '_delta_log/00000000000000000003.json.tmp',
    '_delta_log/_commit_abc.json.tmp',
    '_delta_log/00000000000000000010.checkpoint.0000000003.0000000002.parquet',
    'data/00000000000000000003.json',
  ])('ignores %s', (key) => {
    expect(parseLogKey(key)).toBeUndefined()
  })
})

describe('buildLogSegment', () => {
  it('replays from the newest checkpoint at or below the target', async () => {
    const store = await table(25)
    await checkpointAt(store, 10)
    await checkpointAt(store, 20)
    const latest = await buildLogSegment(store, 't')
    expect(latest.checkpoint?.version).toBe(20)
    expect(latest.commits.map((c) => c.version)).toEqual([21, 22, 23, 24])
    const v15 = await buildLogSegment(store, 't', { version: 15 })
    expect(v15.checkpoint?.version).toBe(10)
    expect(v15.commits.map((c) => c.version)).toEqual([11, 12, 13, 14, 15])
    expect((await buildLogSegment(store, 't', { version: 20 })).commits).toEqual([])
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['corrupt', '{"version": '],
    ['not an object', '42'],
    ['pointing to a deleted checkpoint', JSON.stringify({ version: 30, size: 3 })],
    ['stale', JSON.stringify({ version: 10, size: 3 })],
  ])('tolerates a %s _last_checkpoint hint', async (_name, hint) => {
    const store = await table(25)
    await checkpointAt(store, 10)
    await checkpointAt(store, 20)
    if (hint === undefined) await store.delete(LAST_CHECKPOINT_KEY)
    else await store.put(LAST_CHECKPOINT_KEY, enc(hint))
    const seg = await buildLogSegment(store, 't')
    expect(seg.version).toBe(24)
    expect(seg.checkpoint?.version).toBe(20)
    expect((await Snapshot.load(store)).numFiles).toBe(25)
  })

  it('ignores an incomplete multi-part checkpoint', async () => {
    const store = await table(12)
    await checkpointAt(store, 5)
    await store.put(
      '_delta_log/00000000000000000010.checkpoint.0000000001.0000000002.parquet',
      await store.get(checkpointKey(5)),
    )
    const seg = await buildLogSegment(store, 't')
    expect(seg.checkpoint?.version).toBe(5)
  })

  it.each([
    ['with', true],
    ['without', false],
  ])(
    'passes over a checkpoint with an empty file for an older one (%s _last_checkpoint)',
    async (_, hint) => {
      const store = await table(25)
      await checkpointAt(store, 10)
      await checkpointAt(store, 20)
      await store.put(checkpointKey(20), new Uint8Array())
      if (!hint) await store.delete(LAST_CHECKPOINT_KEY)
      const seg = await buildLogSegment(store, 't')
      expect(seg.checkpoint?.version).toBe(10)
      expect(seg.commits.map((c) => c.version)).toEqual(
        Array.from({ length: 14 }, (_, i) => i + 11),
      )
      expect((await Snapshot.load(store)).numFiles).toBe(25)
    },
  )

  it('replays from commit 0 when the only checkpoint is empty', async () => {
    // A 0-byte checkpoint beside every commit: delta-rs opens such a table.
    const store = await table(15)
    await checkpointAt(store, 13)
    await store.put(checkpointKey(13), new Uint8Array())
    const seg = await buildLogSegment(store, 't')
    expect(seg.checkpoint).toBeUndefined()
    expect(seg.commits.map((c) => c.version)).toEqual(Array.from({ length: 15 }, (_, v) => v))
    const snapshot = await Snapshot.load(store)
    expect([snapshot.version, snapshot.numFiles]).toEqual([14, 15])
  })

  it('prefers another complete checkpoint of the same version to an empty one', async () => {
    const store = await table(12)
    await checkpointAt(store, 5)
    await checkpointAt(store, 10)
    const single = '_delta_log/00000000000000000010.checkpoint.0000000001.0000000001.parquet'
    await store.put(single, await store.get(checkpointKey(10)))
    await store.put(checkpointKey(10), new Uint8Array())
    const seg = await buildLogSegment(store, 't')
    expect(seg.checkpoint).toEqual({ version: 10, flavor: 'multipart', keys: [single] })
    expect((await Snapshot.load(store)).numFiles).toBe(12)
  })

  it('passes over a multi-part checkpoint with an empty part', async () => {
    const store = await table(12)
    await checkpointAt(store, 5)
    const part = (i: number): string =>
      `_delta_log/00000000000000000010.checkpoint.000000000${i}.0000000002.parquet`
    await store.put(part(1), await store.get(checkpointKey(5)))
    await store.put(part(2), new Uint8Array())
    expect((await buildLogSegment(store, 't')).checkpoint?.version).toBe(5)
  })

  it('fails on a gap in the commits', async () => {
    const store = await table(6)
    await store.delete(commitKey(3))
    const err = await buildLogSegment(store, 't').catch((e: unknown) => e)
    expect(isDeltaError(err, 'VERSIONS_NOT_CONTIGUOUS')).toBe(true)
    expect((err as { context: Record<string, unknown> }).context.missingVersion).toBe(3)
  })

  it('finds commits a listing left out while later ones were listed (a listing race)', async () => {
    const store = await racingStore(12, [7, 9, 10])
    await checkpointAt(store, 5)
    const seg = await buildLogSegment(store, 't')
    expect(seg.version).toBe(11)
    expect(seg.commits.map((c) => c.version)).toEqual([6, 7, 8, 9, 10, 11])
    const files = await listCommitFiles(store)
    expect(files.map((f) => f.version)).toEqual(Array.from({ length: 12 }, (_, v) => v))
    expect((await Snapshot.load(store)).version).toBe(11)
  })

  it('keeps what the previous listing reached when the last one races with many commits', async () => {
    // Three listings of a log that grows while it is listed: each shows a hole that the next
    // fills, and the last shows more than 64 holes above what the second reached.
    const store = await ScriptedListings.of(201, [
      { upTo: 50, hidden: [40] },
      { upTo: 60, hidden: [52, 53, 54, 55, 56, 57, 58] },
      { upTo: 200, hidden: Array.from({ length: 130 }, (_, i) => 61 + i) },
    ])
    const seg = await buildLogSegment(store, 't')
    expect(seg.version).toBe(60)
    expect(seg.commits.map((c) => c.version)).toEqual(Array.from({ length: 61 }, (_, v) => v))
  })

  it('still fails on a commit that is really missing, and on many holes', async () => {
    const store = await racingStore(8, [4])
    await store.delete(commitKey(3))
    const err = await buildLogSegment(store, 't').catch((e: unknown) => e)
    expect((err as { context: Record<string, unknown> }).context.missingVersion).toBe(3)
    // Past 64 holes no name is probed: a damaged log, reported as such.
    const holes = Array.from({ length: 65 }, (_, i) => i + 1)
    const many = await racingStore(70, holes)
    expect(
      isDeltaError(
        await buildLogSegment(many, 't').catch((e: unknown) => e),
        'VERSIONS_NOT_CONTIGUOUS',
      ),
    ).toBe(true)
    expect(many.heads).toBe(0)
  })

  it('fails when the log neither starts at 0 nor has a checkpoint', async () => {
    const store = await table(4)
    await store.delete(commitKey(0))
    expect(
      isDeltaError(await buildLogSegment(store, 't').catch((e: unknown) => e), 'MALFORMED_LOG'),
    ).toBe(true)
  })

  it('reports the reconstructable range for versions before log cleanup', async () => {
    const store = await table(12)
    await checkpointAt(store, 6)
    for (let v = 0; v < 6; v++) await store.delete(commitKey(v))
    const err = await buildLogSegment(store, 't', { version: 2 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VersionNotFoundError)
    expect((err as VersionNotFoundError).earliest).toBe(6)
    expect((err as VersionNotFoundError).latest).toBe(11)
    expect((await buildLogSegment(store, 't', { version: 6 })).checkpoint?.version).toBe(6)
  })

  it.each([
    [-1, 'INVALID_VERSION'],
    [1.5, 'INVALID_VERSION'],
    [Number.NaN, 'INVALID_VERSION'],
    [99, 'VERSION_NOT_FOUND'],
  ] as const)('rejects version %s with %s', async (version, code) => {
    const store = await table(3)
    const err = await buildLogSegment(store, 't', { version }).catch((e: unknown) => e)
    expect(isDeltaError(err, code)).toBe(true)
    expect((err as Error).message).toContain('t')
  })

  it('reports TABLE_NOT_FOUND for an empty or junk-only log', async () => {
    const store = new MemoryStore()
    expect(
      isDeltaError(await buildLogSegment(store, 't').catch((e: unknown) => e), 'TABLE_NOT_FOUND'),
    ).toBe(true)
    await store.put('_delta_log/.tmp/00000000000000000000.json', enc('{}'))
    await store.put('_delta_log/_last_checkpoint', enc('{}'))
    expect(
      isDeltaError(await buildLogSegment(store, 't').catch((e: unknown) => e), 'TABLE_NOT_FOUND'),
    ).toBe(true)
  })

  it('ignores names that only look like commit files', async () => {
    const store = await table(2)
    for (const name of [
      '0000000000000000000a.json',
      '000000000000000000002.json',
      '0000000000000000002.json',
      '00000000000000000002.JSON',
      '00000000000000000002.json.tmp',
      '.00000000000000000002.json',
      '０0000000000000000002.json',
    ]) {
      await store.put(`_delta_log/${name}`, enc('{}'))
    }
    const segment = await buildLogSegment(store, 't')
    expect(segment.version).toBe(1)
    expect(segment.commits.map((c) => c.version)).toEqual([0, 1])
  })
})

describe('Snapshot.load with an unreadable checkpoint', () => {
  /** Cuts a checkpoint to its first 100 bytes: not a readable Parquet file. */
  async function truncate(store: MemoryStore, v: number): Promise<void> {
    await store.put(checkpointKey(v), (await store.get(checkpointKey(v))).subarray(0, 100))
  }

  it('replays from an older checkpoint', async () => {
    const store = await table(25)
    await checkpointAt(store, 10)
    await checkpointAt(store, 20)
    await truncate(store, 20)
    const snapshot = await Snapshot.load(store)
    expect([snapshot.version, snapshot.numFiles]).toEqual([24, 25])
    expect((await Snapshot.load(store, { version: 20 })).numFiles).toBe(21)
  })

  it('replays from commit 0 when no other checkpoint is older', async () => {
    const store = await table(25)
    await checkpointAt(store, 20)
    await truncate(store, 20)
    expect((await Snapshot.load(store)).numFiles).toBe(25)
  })

  it('reports CORRUPT_CHECKPOINT when the commits before it are gone', async () => {
    const store = await table(25)
    await checkpointAt(store, 20)
    await truncate(store, 20)
    for (let v = 0; v < 20; v++) await store.delete(commitKey(v))
    const err = await Snapshot.load(store).catch((e: unknown) => e)
    expect(isDeltaError(err, 'CORRUPT_CHECKPOINT')).toBe(true)
    expect(isDeltaError((err as Error).cause, 'CORRUPT_CHECKPOINT')).toBe(true)
  })
})

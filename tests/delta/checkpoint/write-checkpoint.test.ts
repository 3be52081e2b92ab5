import fc from 'fast-check'
import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import type { Action, AddAction } from '../../../src/delta/actions/actions.js'
import { serializeCommit } from '../../../src/delta/actions/serialize-action.js'
import { readLastCheckpoint } from '../../../src/delta/checkpoint/last-checkpoint.js'
import { writeCheckpoint } from '../../../src/delta/checkpoint/write-checkpoint.js'
import { buildLogSegment } from '../../../src/delta/log/log-segment.js'
import { checkpointKey, commitKey, LAST_CHECKPOINT_KEY } from '../../../src/delta/log/log-path.js'
import { Snapshot } from '../../../src/delta/snapshot/snapshot.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'

const NOW = Date.UTC(2026, 10, 25)
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

const SCHEMA = JSON.stringify({
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
  ],
})

function baseCommit(config: Record<string, string> = {}): Action[] {
  return [
    { kind: 'commitInfo', info: { operation: 'CREATE TABLE' } },
    { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 2 },
    {
      kind: 'metaData',
      id: 'table-id',
      format: { provider: 'parquet', options: {} },
      schemaString: SCHEMA,
      partitionColumns: ['p'],
      configuration: config,
      createdTime: NOW,
    },
  ]
}

/** A generated step: add files, remove some live ones, set txn versions, change a property. */
interface Step {
  adds: { p: string | null; size: number }[]
  removeIdx: number[]
  txn: { app: string; v: number } | null
  setInterval: number | null
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  adds: fc.array(
    fc.record({
      p: fc.option(fc.constantFrom('a', 'b', 'c d', 'x/y'), { nil: null }),
      size: fc.nat(5000),
    }),
    { maxLength: 4 },
  ),
  removeIdx: fc.array(fc.nat(50), { maxLength: 3 }),
  txn: fc.option(fc.record({ app: fc.constantFrom('app-1', 'app-2'), v: fc.nat(100) }), {
    nil: null,
  }),
  setInterval: fc.option(fc.integer({ min: 2, max: 50 }), { nil: null }),
})

async function writeLog(store: MemoryStore, steps: Step[]): Promise<void> {
  await store.putIfAbsent(commitKey(0), enc(serializeCommit(baseCommit())))
  const live: AddAction[] = []
  let n = 0
  for (let v = 1; v <= steps.length; v++) {
    const step = steps[v - 1] as Step
    const actions: Action[] = [{ kind: 'commitInfo', info: { operation: 'WRITE' } }]
    const removed = new Set<number>()
    for (const i of step.removeIdx) {
      if (live.length === 0) break
      const idx = i % live.length
      if (removed.has(idx)) continue
      removed.add(idx)
      const f = live[idx] as AddAction
      actions.push({
        kind: 'remove',
        path: f.path,
        dataChange: true,
        deletionTimestamp: NOW - 1000,
        extendedFileMetadata: true,
        partitionValues: f.partitionValues,
        size: f.size,
      })
    }
    for (const idx of [...removed].sort((a, b) => b - a)) live.splice(idx, 1)
    for (const a of step.adds) {
      const add: AddAction = {
        kind: 'add',
        path: `p=${encodeURIComponent(a.p ?? '__HIVE_DEFAULT_PARTITION__')}/f-${n++}.parquet`,
        partitionValues: { p: a.p },
        size: a.size,
        modificationTime: NOW - 5000 + n,
        dataChange: true,
        stats: JSON.stringify({ numRecords: a.size % 7 }),
      }
      actions.push(add)
      live.push(add)
    }
    if (step.txn)
      actions.push({ kind: 'txn', appId: step.txn.app, version: step.txn.v, lastUpdated: NOW })
    if (step.setInterval !== null) {
      actions.push({
        ...(baseCommit()[2] as Action & { kind: 'metaData' }),
        configuration: { 'delta.checkpointInterval': String(step.setInterval) },
      })
    }
    await store.putIfAbsent(commitKey(v), enc(serializeCommit(actions)))
  }
}

function stateOf(s: Snapshot): unknown {
  return {
    version: s.version,
    files: s
      .files()
      .map((f) => ({
        path: f.path,
        pv: f.partitionValues,
        size: f.size,
        mt: f.modificationTime,
        stats: f.stats,
      }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
    tombstones: s
      .tombstones()
      .map((r) => r.path)
      .sort(),
    txns: s
      .txns()
      .map((t) => [t.appId, t.version])
      .sort(),
    metadata: s.metadata.configuration,
    protocol: [s.protocol.minReaderVersion, s.protocol.minWriterVersion],
  }
}

describe('writeCheckpoint', () => {
  it('gives the same state with and without a checkpoint in the middle (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 12 }),
        fc.nat(),
        // The layout of small checkpoints, or of large ones (pages, row groups, dictionaries).
        fc.constantFrom({}, { singlePageMaxRows: 0, pageMaxRows: 3, rowGroupSize: 5 }),
        async (steps, k, layout) => {
          const store = new MemoryStore({ clock: { now: () => NOW } })
          await writeLog(store, steps)
          const plain = await Snapshot.load(store)
          const at = k % (steps.length + 1)
          await writeCheckpoint(store, await Snapshot.load(store, { version: at }), NOW, layout)
          const seg = await buildLogSegment(store, store.location)
          expect(seg.checkpoint?.version).toBe(at)
          const viaCheckpoint = await Snapshot.load(store)
          expect(stateOf(viaCheckpoint)).toEqual(stateOf(plain))
          // And every intermediate version agrees too.
          for (let v = at; v <= steps.length; v++) {
            expect(stateOf(await Snapshot.load(store, { version: v }))).toEqual(
              stateOf(
                await Snapshot.fromSegment(store, {
                  version: v,
                  checkpoint: undefined,
                  commits: Array.from({ length: v + 1 }, (_, i) => ({
                    version: i,
                    key: commitKey(i),
                  })),
                  checkpointCommit: undefined,
                }),
              ),
            )
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('drops expired tombstones and writes dataChange=false adds', async () => {
    const store = new MemoryStore({ clock: { now: () => NOW } })
    await writeLog(store, [
      {
        adds: [
          { p: 'a', size: 1 },
          { p: 'b', size: 2 },
        ],
        removeIdx: [],
        txn: null,
        setInterval: null,
      },
      { adds: [], removeIdx: [0], txn: null, setInterval: null },
    ])
    const snap = await Snapshot.load(store)
    // Eight days later the tombstone (deleted at NOW - 1s) is past the 7-day retention.
    await writeCheckpoint(store, snap, NOW + 8 * 86_400_000)
    const fromCp = await Snapshot.load(store)
    expect(fromCp.tombstones()).toEqual([])
    expect(fromCp.files().every((f) => !f.dataChange)).toBe(true)
    // A checkpoint of the version exists: it would be kept.
    await store.delete(checkpointKey(snap.version))
    await writeCheckpoint(store, snap, NOW)
    expect((await Snapshot.load(store)).tombstones().map((t) => t.path)).toHaveLength(1)
  })

  it('writes a large checkpoint in row groups of 1,024 actions, read back as the same state', async () => {
    const store = new MemoryStore({ clock: { now: () => NOW } })
    const adds = Array.from({ length: 2500 }, (_, i) => ({
      p: i % 3 === 0 ? null : `p${i % 5}`,
      size: i,
    }))
    await writeLog(store, [
      { adds, removeIdx: [], txn: { app: 'app-1', v: 7 }, setInterval: null },
      { adds: [], removeIdx: [3, 30, 300], txn: null, setInterval: null },
    ])
    const snap = await Snapshot.load(store)
    const result = await writeCheckpoint(store, snap, NOW)
    // protocol, metaData, one txn, 2,497 adds and 3 tombstones
    expect(result.size).toBe(2503)
    const metadata = parquetMetadata(toArrayBuffer(await store.get(checkpointKey(snap.version))))
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([1024, 1024, 455])
    expect(stateOf(await Snapshot.load(store))).toEqual(stateOf(snap))
  })

  it("keeps another writer's checkpoint of the version, and replaces only a damaged one", async () => {
    const store = new MemoryStore({ clock: { now: () => NOW } })
    const adds = Array.from({ length: 30 }, (_, i) => ({ p: `p${i % 3}`, size: i }))
    await writeLog(store, [{ adds, removeIdx: [], txn: null, setInterval: null }])
    const snap = await Snapshot.load(store)
    const key = checkpointKey(snap.version)
    // "Another writer's": the same state in another layout (one page per 7 actions).
    const theirs = await writeCheckpoint(store, snap, NOW, { singlePageMaxRows: 0, pageMaxRows: 7 })
    const theirBytes = await store.get(key)
    const ours = await writeCheckpoint(store, snap, NOW)
    expect(await store.get(key)).toEqual(theirBytes)
    // The result describes the file that is there.
    expect(ours).toEqual(theirs)
    // An empty file (a crashed writer's) is replaced.
    await store.delete(key)
    await store.put(key, new Uint8Array(0))
    const repaired = await writeCheckpoint(store, snap, NOW)
    expect(repaired.sizeInBytes).toBeGreaterThan(0)
    expect((await store.get(key)).byteLength).toBe(repaired.sizeInBytes)
    expect(stateOf(await Snapshot.load(store))).toEqual(stateOf(snap))
  })

  it('updates _last_checkpoint but never moves it backwards', async () => {
    const store = new MemoryStore({ clock: { now: () => NOW } })
    await writeLog(
      store,
      Array.from({ length: 4 }, () => ({
        adds: [{ p: 'a', size: 1 }],
        removeIdx: [],
        txn: null,
        setInterval: null,
      })),
    )
    await writeCheckpoint(store, await Snapshot.load(store, { version: 3 }), NOW)
    expect((await readLastCheckpoint(store))?.version).toBe(3)
    await writeCheckpoint(store, await Snapshot.load(store, { version: 2 }), NOW)
    expect((await readLastCheckpoint(store))?.version).toBe(3)
    const hint = JSON.parse(
      new TextDecoder().decode(await store.get(LAST_CHECKPOINT_KEY)),
    ) as Record<string, number>
    expect(hint).toMatchObject({ version: 3, size: 5, numOfAddFiles: 3 })
    expect(hint.sizeInBytes).toBeGreaterThan(0)
  })
})

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

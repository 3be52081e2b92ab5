import { describe, expect, it } from 'vitest'
import type { Action } from '../../../src/delta/actions/actions.js'
import { serializeCommit } from '../../../src/delta/actions/serialize-action.js'
import { isDeltaError } from '../../../src/delta/errors.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import {
  parseTimestampArg,
  readHistory,
  versionAtTimestamp,
} from '../../../src/delta/snapshot/history.js'
import { Snapshot } from '../../../src/delta/snapshot/snapshot.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const SCHEMA = JSON.stringify({
  type: 'struct',
  fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
})
const T0 = Date.UTC(2026, 0, 1)
const HOUR = 3_600_000

async function table(opts: {
  mtimes: number[]
  ict?: number[]
  config?: Record<string, string>
}): Promise<MemoryStore> {
  const store = new MemoryStore()
  for (let v = 0; v < opts.mtimes.length; v++) {
    const info: Record<string, unknown> = {
      operation: v === 0 ? 'CREATE TABLE' : 'WRITE',
      operationParameters: { mode: 'Append' },
      operationMetrics: { numFiles: '1' },
      timestamp: 42,
    }
    if (opts.ict?.[v] !== undefined) info.inCommitTimestamp = opts.ict[v]
    const actions: Action[] = [{ kind: 'commitInfo', info }]
    if (v === 0) {
      actions.push(
        {
          kind: 'protocol',
          minReaderVersion: 1,
          minWriterVersion: opts.ict ? 7 : 2,
          ...(opts.ict ? { writerFeatures: ['inCommitTimestamp'] } : {}),
        },
        {
          kind: 'metaData',
          id: 'x',
          format: { provider: 'parquet', options: {} },
          schemaString: SCHEMA,
          partitionColumns: [],
          configuration: opts.config ?? {},
        },
      )
    }
    await store.putIfAbsent(commitKey(v), enc(serializeCommit(actions)))
    store.setLastModified(commitKey(v), opts.mtimes[v] as number)
  }
  return store
}

async function at(
  store: MemoryStore,
  ts: number,
  now = T0 + 1000 * HOUR,
): Promise<number | string> {
  const latest = await Snapshot.load(store)
  return versionAtTimestamp(store, latest, ts, now).catch((e: unknown) =>
    isDeltaError(e) ? e.code : 'untyped',
  )
}

describe('versionAtTimestamp (file modification times)', () => {
  const mtimes = [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]

  it.each([
    [T0, 0],
    [T0 + HOUR - 1, 0],
    [T0 + HOUR, 1],
    [T0 + 2.5 * HOUR, 2],
    [T0 + 3 * HOUR, 3],
    [T0 + 500 * HOUR, 3],
  ])('resolves %s to version %s', async (ts, v) => {
    expect(await at(await table({ mtimes }), ts)).toBe(v)
  })

  it('fails before the first commit and in the future', async () => {
    const store = await table({ mtimes })
    expect(await at(store, T0 - 1)).toBe('TIMESTAMP_BEFORE_FIRST_COMMIT')
    expect(await at(store, T0 + 2000 * HOUR)).toBe('TIMESTAMP_IN_FUTURE')
  })

  it('makes file times monotonic the way Spark does', async () => {
    // Version 2's file time went backwards (clock skew, copy): it counts as version 1 + 1 ms.
    const store = await table({ mtimes: [T0, T0 + HOUR, T0 + 10, T0 + 3 * HOUR] })
    expect(await at(store, T0 + HOUR)).toBe(1)
    expect(await at(store, T0 + HOUR + 1)).toBe(2)
    expect(await at(store, T0 + HOUR + 2)).toBe(2)
  })
})

describe('versionAtTimestamp (in-commit timestamps)', () => {
  it('uses inCommitTimestamp when the table enables it, ignoring file times', async () => {
    const store = await table({
      mtimes: [T0 + 9 * HOUR, T0 + 9 * HOUR, T0 + 9 * HOUR],
      ict: [T0, T0 + HOUR, T0 + 2 * HOUR],
      config: { 'delta.enableInCommitTimestamps': 'true' },
    })
    expect(await at(store, T0 + 30 * 60_000)).toBe(0)
    expect(await at(store, T0 + HOUR)).toBe(1)
    expect(await at(store, T0 + 5 * HOUR)).toBe(2)
    expect(await at(store, T0 - 1)).toBe('TIMESTAMP_BEFORE_FIRST_COMMIT')
  })

  it('splits the log at the enablement version', async () => {
    const store = await table({
      mtimes: [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 50 * HOUR],
      ict: [
        undefined as unknown as number,
        undefined as unknown as number,
        T0 + 10 * HOUR,
        T0 + 11 * HOUR,
      ],
      config: {
        'delta.enableInCommitTimestamps': 'true',
        'delta.inCommitTimestampEnablementVersion': '2',
        'delta.inCommitTimestampEnablementTimestamp': String(T0 + 10 * HOUR),
      },
    })
    expect(await at(store, T0 + HOUR + 1)).toBe(1)
    expect(await at(store, T0 + 10 * HOUR)).toBe(2)
    expect(await at(store, T0 + 12 * HOUR)).toBe(3)
  })
})

describe('readHistory', () => {
  it('lists commits newest first with the same timestamps time travel uses', async () => {
    const store = await table({ mtimes: [T0, T0 + HOUR, T0 + 2 * HOUR] })
    const snap = await Snapshot.load(store)
    const h = await readHistory(store, snap)
    expect(h.map((e) => e.version)).toEqual([2, 1, 0])
    expect(h[2]).toMatchObject({ operation: 'CREATE TABLE', operationMetrics: { numFiles: '1' } })
    for (const e of h) expect(await at(store, e.timestamp.getTime())).toBe(e.version)
    expect((await readHistory(store, snap, 1)).map((e) => e.version)).toEqual([2])
    expect(await readHistory(store, snap, 0)).toEqual([])
    expect(
      (await readHistory(store, await Snapshot.load(store, { version: 1 }))).map((e) => e.version),
    ).toEqual([1, 0])
  })

  it('rejects a bad limit', async () => {
    const store = await table({ mtimes: [T0] })
    const err = await readHistory(store, await Snapshot.load(store), -1).catch((e: unknown) => e)
    expect(isDeltaError(err, 'INVALID_ARGUMENT')).toBe(true)
  })
})

describe('parseTimestampArg', () => {
  it.each([
    ['2026-02-10T00:00:00Z', Date.UTC(2026, 1, 10)],
    ['2026-02-10T01:00:00+01:00', Date.UTC(2026, 1, 10)],
    ['2026-02-10 00:00:00.5Z', Date.UTC(2026, 1, 10) + 500],
    ['2026-02-10', Date.UTC(2026, 1, 10)],
  ])('parses %s', (text, ms) => {
    expect(parseTimestampArg(text, 't')).toBe(ms)
  })

  it.each(['yesterday', '2026-02-10T00:00:00', '2026-02-31', '2026-13-01T00:00:00Z', ''])(
    'rejects %s',
    (text) => {
      expect(() => parseTimestampArg(text, 't')).toThrowError(
        expect.objectContaining({ code: 'INVALID_TIMESTAMP' }) as Error,
      )
    },
  )

  it('rejects an invalid Date', () => {
    expect(() => parseTimestampArg(new Date('nope'), 't')).toThrowError(
      expect.objectContaining({ code: 'INVALID_TIMESTAMP' }) as Error,
    )
  })
})

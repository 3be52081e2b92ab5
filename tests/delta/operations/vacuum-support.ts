/**
 * Shared helpers of the vacuum, purge, restore and log cleanup tests: a fake clock, small
 * tables, a compaction-like rewrite (`dataChange=false`) and readers of every version.
 */
import type { Action } from '../../../src/delta/actions/actions.js'
import { serializeCommit } from '../../../src/delta/actions/serialize-action.js'
import { isDeltaError } from '../../../src/delta/errors.js'
import { DeltaTable, MemoryStore, type StructType } from '../../../src/delta/index.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import { finishCommit } from '../../../src/delta/operations/finish-commit.js'
import { removeFor, writeDataFiles } from '../../../src/delta/operations/write-files.js'
import { Snapshot } from '../../../src/delta/snapshot/snapshot.js'
import type {
  ListOptions,
  ObjectMeta,
  ObjectStore,
} from '../../../src/delta/storage/object-store.js'
import { scanFileRows } from '../../../src/delta/table/scan.js'
import { Transaction } from '../../../src/delta/transaction/transaction.js'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR
/** 2026-01-01T00:00:00Z */
export const T0 = Date.UTC(2026, 0, 1)

/** A clock tests move by hand. */
export class FakeClock {
  t: number
  constructor(t = T0) {
    this.t = t
  }
  now(): number {
    return this.t
  }
  advance(ms: number): void {
    this.t += ms
  }
}

export const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'part', type: 'string', nullable: true, metadata: {} },
    { name: 'v', type: 'string', nullable: true, metadata: {} },
  ],
}

export interface TableOptions {
  readonly clock?: FakeClock
  readonly partitioned?: boolean
  readonly properties?: Record<string, string>
  readonly store?: ObjectStore
}

/** A new table in a MemoryStore driven by a fake clock. */
export async function newTable(options: TableOptions = {}): Promise<{
  table: DeltaTable
  store: ObjectStore
  clock: FakeClock
}> {
  const clock = options.clock ?? new FakeClock()
  const store = options.store ?? new MemoryStore({ clock })
  const table = await DeltaTable.create(store, {
    schema: SCHEMA,
    partitionColumns: options.partitioned ? ['part'] : [],
    properties: options.properties,
    clock,
  })
  return { table, store, clock }
}

let nextId = 0n
/** `n` fresh rows in partitions `a`/`b`. */
export function rows(n: number, parts: readonly string[] = ['a', 'b']): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const id = nextId++
    return { id, part: parts[i % parts.length] ?? null, v: `row-${id}` }
  })
}

/**
 * Rewrites some live files into one new file with `dataChange=false` (what OPTIMIZE commits).
 * @returns the committed version, or undefined when fewer than two files were given
 */
export async function compactFiles(
  table: DeltaTable,
  count: number,
  pick: (n: number) => number = () => 0,
): Promise<number | undefined> {
  await table.refresh()
  const snapshot = table.snapshot
  const live = snapshot.files()
  if (live.length < 2) return undefined
  const chosen = new Set<number>()
  while (chosen.size < Math.min(count, live.length)) chosen.add(pick(live.length) % live.length)
  const inputs = [...chosen].map((i) => live[i]!)
  // Stay within one partition so the output file has one set of partition values.
  const first = inputs[0]!.partitionValues
  const same = inputs.filter((f) => JSON.stringify(f.partitionValues) === JSON.stringify(first))
  if (same.length < 2) return undefined
  const data = (await Promise.all(same.map((f) => scanFileRows(table.store, snapshot, f)))).flat()
  const txn = new Transaction(table.store, snapshot, table.clock, { operation: 'OPTIMIZE' })
  const now = table.clock.now()
  const adds = await writeDataFiles(table.store, snapshot, data, { now, dataChange: false })
  txn.addActions(same.map((f) => removeFor(f, now, false)))
  txn.addActions(adds)
  const done = await finishCommit(table.store, txn, table.clock, {})
  await table.refresh()
  return done.result.version
}

/** Canonical, sorted text of a table's rows (for equality checks). */
export function rowKey(rs: readonly Record<string, unknown>[]): string[] {
  return rs.map((r) => `${String(r.id)}|${String(r.part)}|${String(r.v)}`).sort()
}

/** Rows of every version 0..latest, or the error code a read fails with. */
export async function readAllVersions(store: ObjectStore): Promise<(string[] | string)[]> {
  const latest = await Snapshot.load(store)
  const out: (string[] | string)[] = []
  for (let v = 0; v <= latest.version; v++) {
    out.push(
      await DeltaTable.open(store, { version: v })
        .then(async (t) => rowKey(await t.toRows()))
        .catch((e: unknown) => (isDeltaError(e) ? e.code : `untyped: ${String(e)}`)),
    )
  }
  return out
}

/** Writes a raw commit (for protocol/feature tests). */
export async function writeRawCommit(
  store: ObjectStore,
  version: number,
  actions: Action[],
): Promise<void> {
  const ok = await store.putIfAbsent(
    commitKey(version),
    new TextEncoder().encode(serializeCommit(actions)),
  )
  if (!ok) throw new Error(`commit ${version} exists`)
}

/** Every key of a store. */
export async function allKeys(store: ObjectStore): Promise<string[]> {
  return store.listKeys('', { recursive: true })
}

/** Hooks of a {@link HookedStore}: each may replace the inner store's method. */
export interface StoreHooks {
  delete?: (key: string, inner: ObjectStore) => Promise<boolean>
  putIfAbsent?: (key: string, data: Uint8Array, inner: ObjectStore) => Promise<boolean>
  head?: (key: string, inner: ObjectStore) => Promise<ObjectMeta | undefined>
}

/** A store that forwards to another one, with hooks to inject failures and races. */
export class HookedStore implements ObjectStore {
  readonly hooks: StoreHooks = {}
  readonly inner: ObjectStore
  constructor(inner: ObjectStore) {
    this.inner = inner
  }
  get location(): string {
    return this.inner.location
  }
  list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]> {
    return this.inner.list(prefix, options)
  }
  listKeys(prefix: string, options?: ListOptions): Promise<string[]> {
    return this.inner.listKeys(prefix, options)
  }
  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key)
  }
  getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.inner.getRange(key, start, end)
  }
  head(key: string): Promise<ObjectMeta | undefined> {
    return this.hooks.head ? this.hooks.head(key, this.inner) : this.inner.head(key)
  }
  put(key: string, data: Uint8Array): Promise<void> {
    return this.inner.put(key, data)
  }
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    return this.hooks.putIfAbsent
      ? this.hooks.putIfAbsent(key, data, this.inner)
      : this.inner.putIfAbsent(key, data)
  }
  delete(key: string): Promise<boolean> {
    return this.hooks.delete ? this.hooks.delete(key, this.inner) : this.inner.delete(key)
  }
}

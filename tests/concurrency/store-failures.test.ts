/**
 * Store failures in the middle of a commit: a wrapper store fails the write of a data file or of
 * the commit file. The operation must reject with a typed error (`STORAGE_ERROR`) and the table
 * must stay exactly as it was: same version, same rows, no temp file left in the log. Each case
 * runs through the local store's fast paths (data files created in place, commit file staged
 * while they are written) and through the plain `ObjectStore` contract.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaError, isDeltaError } from '../../src/delta/errors.js'
import { col } from '../../src/delta/expr/expression.js'
import type { StructType } from '../../src/delta/schema/data-type.js'
import { LocalFsStore, type StagedPut } from '../../src/delta/storage/local-fs-store.js'
import type { ListOptions, ObjectMeta, ObjectStore } from '../../src/delta/storage/object-store.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { makeTempDir } from '../support/temp.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'v', type: 'string', nullable: true, metadata: {} },
  ],
}

/** The write steps a fault can hit. */
type Step = 'data' | 'commit' | 'publish' | 'checkpoint'

/** Fails chosen write steps; forwards everything else to a local store. */
class FaultyStore implements ObjectStore {
  readonly location: string
  readonly #inner: LocalFsStore
  /** Steps that fail, with how many more times. */
  readonly faults = new Map<Step, number>()
  putNew?: (key: string, data: Uint8Array) => Promise<void>
  stagePutIfAbsent?: (key: string, data: Uint8Array) => Promise<StagedPut>

  constructor(root: string, fastPaths: boolean) {
    this.#inner = new LocalFsStore(root)
    this.location = this.#inner.location
    if (fastPaths) {
      this.putNew = async (key, data) => {
        this.#maybeFail('data', key)
        return this.#inner.putNew(key, data)
      }
      this.stagePutIfAbsent = async (key, data) => {
        this.#maybeFail('commit', key)
        const staged = await this.#inner.stagePutIfAbsent(key, data)
        return {
          publish: async () => {
            if (this.#take('publish')) {
              await staged.discard()
              throw this.#error('publish', key)
            }
            return staged.publish()
          },
          discard: () => staged.discard(),
        }
      }
    }
  }

  #take(step: Step): boolean {
    const left = this.faults.get(step) ?? 0
    if (left <= 0) return false
    this.faults.set(step, left - 1)
    return true
  }

  #error(step: Step, key: string): DeltaError {
    return new DeltaError('STORAGE_ERROR', `faulty store: injected ${step} failure for ${key}`)
  }

  #maybeFail(step: Step, key: string): void {
    if (this.#take(step)) throw this.#error(step, key)
  }

  list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]> {
    return this.#inner.list(prefix, options)
  }
  listKeys(prefix: string, options?: ListOptions): Promise<string[]> {
    return this.#inner.listKeys(prefix, options)
  }
  get(key: string): Promise<Uint8Array> {
    return this.#inner.get(key)
  }
  getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.#inner.getRange(key, start, end)
  }
  head(key: string): Promise<ObjectMeta | undefined> {
    return this.#inner.head(key)
  }
  async put(key: string, data: Uint8Array): Promise<void> {
    this.#maybeFail(key.startsWith('_delta_log/') ? 'checkpoint' : 'data', key)
    return this.#inner.put(key, data)
  }
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    this.#maybeFail('commit', key)
    return this.#inner.putIfAbsent(key, data)
  }
  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key)
  }
}

async function setUp(fastPaths: boolean): Promise<{
  table: DeltaTable
  store: FaultyStore
  location: string
}> {
  const dir = await makeTempDir('store-failures-')
  const location = path.join(dir, 'table')
  const store = new FaultyStore(location, fastPaths)
  const table = await DeltaTable.create(store, { schema: SCHEMA })
  await table.append([
    { id: 1n, v: 'a' },
    { id: 2n, v: 'b' },
  ])
  await table.append([{ id: 3n, v: 'c' }])
  return { table, store, location }
}

/** Version and rows as a fresh reader sees them. */
async function state(location: string): Promise<{ version: number; rows: string[] }> {
  const t = await DeltaTable.open(location)
  const rows = (await t.toRows()).map((r) => `${String(r.id)}=${String(r.v)}`).sort()
  return { version: t.version, rows }
}

async function expectStorageError(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  )
  expect(isDeltaError(error, 'STORAGE_ERROR'), String(error)).toBe(true)
}

async function tempFilesInLog(location: string): Promise<string[]> {
  return (await fs.readdir(path.join(location, '_delta_log'))).filter((n) => n.startsWith('.'))
}

const OPERATIONS: [string, (t: DeltaTable) => Promise<unknown>][] = [
  ['append', (t) => t.append([{ id: 9n, v: 'new' }])],
  ['delete', (t) => t.delete(col('id').eq(1n))],
  ['update', (t) => t.update(col('id').eq(2n), { v: 'changed' })],
  [
    'merge',
    (t) =>
      t.merge(
        [
          { id: 3n, v: 'merged' },
          { id: 10n, v: 'inserted' },
        ],
        { on: 'id' },
      ),
  ],
  [
    'transact',
    (t) =>
      t.transact(async (tx) => {
        if ((await tx.read({ filter: col('id').eq(11n) })).length === 0) {
          tx.append([{ id: 11n, v: 'tx' }])
        }
      }),
  ],
]

describe.each([
  ['local fast paths', true],
  ['plain object store', false],
])('store failures mid-commit (%s)', (_, fastPaths) => {
  it.each(OPERATIONS)(
    '%s rejects with STORAGE_ERROR and leaves the table unchanged when the commit file cannot be written',
    async (_op, run) => {
      const { table, store, location } = await setUp(fastPaths)
      const before = await state(location)
      store.faults.set('commit', 1)
      await expectStorageError(run(table))
      expect(await state(location)).toEqual(before)
      expect(await tempFilesInLog(location)).toEqual([])
      // The failure is not sticky: the same operation then succeeds.
      await run(table)
      expect((await state(location)).version).toBe(before.version + 1)
    },
  )

  it.each(OPERATIONS.filter(([op]) => op !== 'delete'))(
    '%s rejects with STORAGE_ERROR and leaves the table unchanged when a data file cannot be written',
    async (_op, run) => {
      const { table, store, location } = await setUp(fastPaths)
      const before = await state(location)
      store.faults.set('data', 1)
      await expectStorageError(run(table))
      expect(await state(location)).toEqual(before)
      expect(await tempFilesInLog(location)).toEqual([])
    },
  )

  it.runIf(fastPaths)(
    'rejects and leaves the table unchanged when linking the staged commit file fails',
    async () => {
      const { table, store, location } = await setUp(fastPaths)
      const before = await state(location)
      store.faults.set('publish', 1)
      await expectStorageError(table.append([{ id: 9n, v: 'new' }]))
      expect(await state(location)).toEqual(before)
      expect(await tempFilesInLog(location)).toEqual([])
    },
  )

  it('rejects exactly the group-commit callers whose commit failed', async () => {
    const { table, store, location } = await setUp(fastPaths)
    const before = await state(location)
    store.faults.set('commit', 1)
    const failed = Promise.allSettled([
      table.appendQueued([{ id: 20n }]),
      table.appendQueued([{ id: 21n }]),
    ])
    const outcomes = await failed
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(isDeltaError(o.reason, 'STORAGE_ERROR')).toBe(true)
    }
    expect(await state(location)).toEqual(before)
    await table.appendQueued([{ id: 22n }])
    await table.close()
    const after = await state(location)
    expect(after.version).toBe(before.version + 1)
    expect(after.rows).toEqual([...before.rows, '22=null'].sort())
  })

  it('reports a failed post-commit checkpoint without failing the committed append', async () => {
    const dir = await makeTempDir('store-failures-')
    const location = path.join(dir, 'table')
    const store = new FaultyStore(location, fastPaths)
    const table = await DeltaTable.create(store, {
      schema: SCHEMA,
      properties: { 'delta.checkpointInterval': '1' },
    })
    store.faults.set('checkpoint', 1)
    const result = await table.append([{ id: 1n }])
    expect(result.skipped).toBe(false)
    expect(result.checkpointError?.code).toBe('STORAGE_ERROR')
    expect(await state(location)).toEqual({ version: 1, rows: ['1=null'] })
  })
})

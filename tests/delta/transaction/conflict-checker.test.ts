import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Action, AddAction, RemoveAction } from '../../../src/delta/actions/actions.js'
import { CommitConflictError, type ConflictKind } from '../../../src/delta/errors.js'
import { bindExpression } from '../../../src/delta/expr/bind-expression.js'
import { col, type Expression } from '../../../src/delta/expr/expression.js'
import { removeFor, writeDataFiles } from '../../../src/delta/operations/write-files.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { decodeAddPath } from '../../../src/delta/schema/paths.js'
import type { ObjectStore } from '../../../src/delta/storage/object-store.js'
import { openStore } from '../../../src/delta/storage/open-store.js'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import {
  checkConflict,
  type TransactionFootprint,
} from '../../../src/delta/transaction/conflict-checker.js'
import { Transaction } from '../../../src/delta/transaction/transaction.js'
import {
  createWithBatches,
  fileWithId,
  SCHEMA as DML_SCHEMA,
  parquetFiles,
  rowsFor,
  steppingClock,
  T0,
} from '../operations/dml-support.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
  ],
}

const bind = (e: Expression) => bindExpression(e, SCHEMA)

function footprint(over: Partial<TransactionFootprint> = {}): TransactionFootprint {
  return {
    readPredicates: [],
    readWholeTable: false,
    readFiles: new Set(),
    removedPaths: new Set(),
    appIds: new Set(),
    domains: new Set(),
    changesMetadata: false,
    changesProtocol: false,
    onlyRearrangesData: false,
    partitionColumns: ['p'],
    ...over,
  }
}

function add(
  path: string,
  p: string | null,
  ids?: readonly [number, number],
  dataChange = true,
): AddAction {
  return {
    kind: 'add',
    path,
    partitionValues: { p },
    size: 100,
    modificationTime: T0,
    dataChange,
    stats:
      ids === undefined
        ? null
        : JSON.stringify({
            numRecords: 2,
            minValues: { id: ids[0] },
            maxValues: { id: ids[1] },
            nullCount: { id: 0 },
          }),
  }
}

function remove(path: string, dataChange = true): RemoveAction {
  return { kind: 'remove', path, dataChange, deletionTimestamp: T0, extendedFileMetadata: false }
}

const PROTOCOL: Action = { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 2 }
const METADATA: Action = {
  kind: 'metaData',
  id: 'x',
  format: { provider: 'parquet', options: {} },
  schemaString: JSON.stringify(SCHEMA),
  partitionColumns: ['p'],
  configuration: {},
}
const INFO: Action = { kind: 'commitInfo', info: { operation: 'WRITE' } }

/** A transaction that deleted from partition a after reading file `a1`. */
const DELETE_IN_A = footprint({
  readPredicates: [bind(col('p').eq('a'))],
  readFiles: new Set(['a1']),
  removedPaths: new Set(['a1']),
})

/** A transaction that read `id = 5` in an unpartitioned table, file `f1`. */
const READ_ID_5 = footprint({
  readPredicates: [bind(col('id').eq(5))],
  readFiles: new Set(['f1']),
  partitionColumns: [],
})

const BLIND_APPEND = footprint()

/** OPTIMIZE: read and removed `a1` with dataChange=false, added a compacted file. */
const COMPACTION = footprint({
  readWholeTable: true,
  readFiles: new Set(['a1']),
  removedPaths: new Set(['a1']),
  onlyRearrangesData: true,
})

describe('checkConflict', () => {
  it.each<[string, TransactionFootprint, Action[], ConflictKind | undefined]>([
    // 1. protocol
    ['a winner that changes the protocol', BLIND_APPEND, [INFO, PROTOCOL], 'protocol-changed'],
    ['a winner that does not change the protocol', BLIND_APPEND, [INFO, add('x', 'a')], undefined],
    // 2. metadata
    ['a winner that changes the metadata', BLIND_APPEND, [INFO, METADATA], 'metadata-changed'],
    [
      'a winner that changes the metadata, before any data check',
      DELETE_IN_A,
      [add('a2', 'a'), METADATA],
      'metadata-changed',
    ],
    // 3. domains and app ids
    [
      'the same domain written by both',
      footprint({ domains: new Set(['d1']) }),
      [{ kind: 'domainMetadata', domain: 'd1', configuration: '{}', removed: false }],
      'concurrent-transaction',
    ],
    [
      'different domains',
      footprint({ domains: new Set(['d1']) }),
      [{ kind: 'domainMetadata', domain: 'd2', configuration: '{}', removed: false }],
      undefined,
    ],
    [
      'the same app id written by both',
      footprint({ appIds: new Set(['app']) }),
      [{ kind: 'txn', appId: 'app', version: 3 }],
      'concurrent-transaction',
    ],
    [
      'different app ids',
      footprint({ appIds: new Set(['app']) }),
      [{ kind: 'txn', appId: 'other', version: 3 }],
      undefined,
    ],
    // 4. concurrent append
    [
      'an append into the partition that was read',
      DELETE_IN_A,
      [add('a2', 'a')],
      'concurrent-append',
    ],
    ['an append into another partition', DELETE_IN_A, [add('b2', 'b')], undefined],
    ['an append into the null partition', DELETE_IN_A, [add('n2', null)], undefined],
    [
      'an append whose stats may match the read',
      READ_ID_5,
      [add('f2', null, [1, 9])],
      'concurrent-append',
    ],
    ['an append whose stats exclude the read', READ_ID_5, [add('f2', null, [6, 9])], undefined],
    ['an append without stats (may match)', READ_ID_5, [add('f2', null)], 'concurrent-append'],
    [
      'any append after a whole-table read',
      footprint({ readWholeTable: true }),
      [add('z', 'zz', [100, 100])],
      'concurrent-append',
    ],
    [
      'a dataChange=false add in the partition read',
      DELETE_IN_A,
      [add('a2', 'a', undefined, false)],
      undefined,
    ],
    ['an append against a blind append', BLIND_APPEND, [add('a2', 'a'), add('b2', 'b')], undefined],
    ['an append against a compaction', COMPACTION, [INFO, add('a2', 'a')], undefined],
    // 5. concurrent delete of a file that was read
    ['a delete of a file that was read', READ_ID_5, [remove('f1')], 'concurrent-delete-read'],
    [
      'a compaction (dataChange=false) of a file that was read',
      READ_ID_5,
      [remove('f1', false), add('f9', null, [1, 9], false)],
      'concurrent-delete-read',
    ],
    ['a delete of a file that was not read', READ_ID_5, [remove('f7')], undefined],
    [
      'any delete after a whole-table read',
      footprint({ readWholeTable: true }),
      [remove('zz')],
      'concurrent-delete-read',
    ],
    [
      'a delete of a file compacted concurrently',
      COMPACTION,
      [remove('a1')],
      'concurrent-delete-read',
    ],
    ['a delete against a blind append', BLIND_APPEND, [remove('a1')], undefined],
    // 6. both delete the same file
    [
      'a delete of a file this transaction removes without having read it',
      footprint({ removedPaths: new Set(['g1']) }),
      [remove('g1')],
      'concurrent-delete-delete',
    ],
    [
      'deletes of different files',
      footprint({ removedPaths: new Set(['g1']) }),
      [remove('g2')],
      undefined,
    ],
    // Order: a matching append is reported before the delete of a read file.
    [
      'an append and a delete of a read file',
      DELETE_IN_A,
      [remove('a1'), add('a3', 'a')],
      'concurrent-append',
    ],
    ['a commit with only commitInfo', DELETE_IN_A, [INFO], undefined],
  ])('reports %s', (_name, txn, winner, expected) => {
    expect(checkConflict(txn, winner)?.kind).toBe(expected)
  })

  describe('isolation levels (digest 6.4)', () => {
    const BLIND: Action = { kind: 'commitInfo', info: { operation: 'WRITE', isBlindAppend: true } }
    const ws = (over: Partial<TransactionFootprint> = {}): TransactionFootprint =>
      footprint({ ...DELETE_IN_A, isolationLevel: 'WriteSerializable', ...over })
    it.each<[string, TransactionFootprint, Action[], ConflictKind | undefined]>([
      [
        'Serializable: a blind append into what was read',
        DELETE_IN_A,
        [BLIND, add('a2', 'a')],
        'concurrent-append',
      ],
      [
        'WriteSerializable: a blind append into what was read',
        ws(),
        [BLIND, add('a2', 'a')],
        undefined,
      ],
      [
        'WriteSerializable: a non-blind write into what was read',
        ws(),
        [INFO, add('a2', 'a')],
        'concurrent-append',
      ],
      [
        'WriteSerializable, metadata changed by the transaction: a blind append',
        ws({ changesMetadata: true }),
        [BLIND, add('a2', 'a')],
        'concurrent-append',
      ],
      [
        'WriteSerializable: a blind append that also removes a file read',
        ws(),
        [BLIND, add('a2', 'a'), remove('a1')],
        'concurrent-delete-read',
      ],
    ])('%s', (_label, txn, winner, expected) => {
      expect(checkConflict(txn, winner)?.kind).toBe(expected)
    })
  })

  it('never fails a blind append against a winner that touches no shared metadata, protocol, app id or domain', () => {
    const path = fc.constantFrom('a1', 'a2', 'b1', 'p=x/f.parquet', 'f%20g')
    const winnerAction: fc.Arbitrary<Action> = fc.oneof(
      fc
        .tuple(path, fc.option(fc.constantFrom('a', 'b'), { nil: null }), fc.boolean())
        .map(([p, part, dc]) => add(p, part, [1, 5], dc)),
      fc.tuple(path, fc.boolean()).map(([p, dc]) => remove(p, dc)),
      fc.constant(INFO),
      fc
        .tuple(fc.constantFrom('theirs-1', 'theirs-2'), fc.nat(10))
        .map(([appId, version]): Action => ({ kind: 'txn', appId, version })),
      fc.constantFrom('their.domain', 'other').map((domain): Action => ({
        kind: 'domainMetadata',
        domain,
        configuration: '',
        removed: false,
      })),
    )
    fc.assert(
      fc.property(
        fc.array(winnerAction, { maxLength: 12 }),
        fc.uniqueArray(fc.constantFrom('mine-1', 'mine-2'), { maxLength: 2 }),
        fc.uniqueArray(fc.constantFrom('my.domain'), { maxLength: 1 }),
        (winner, appIds, domains) => {
          const txn = footprint({ appIds: new Set(appIds), domains: new Set(domains) })
          expect(checkConflict(txn, winner)).toBeUndefined()
        },
      ),
    )
  })
})

/** A store that runs a hook (once) right before the next commit file is written. */
class RacingStore implements ObjectStore {
  readonly #inner: ObjectStore
  #hook: (() => Promise<void>) | undefined
  constructor(inner: ObjectStore) {
    this.#inner = inner
  }
  get location(): string {
    return this.#inner.location
  }
  beforeNextCommit(hook: () => Promise<void>): void {
    this.#hook = hook
  }
  list(...args: Parameters<ObjectStore['list']>): ReturnType<ObjectStore['list']> {
    return this.#inner.list(...args)
  }
  listKeys(...args: Parameters<ObjectStore['listKeys']>): ReturnType<ObjectStore['listKeys']> {
    return this.#inner.listKeys(...args)
  }
  get(key: string): Promise<Uint8Array> {
    return this.#inner.get(key)
  }
  getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.#inner.getRange(key, start, end)
  }
  head(key: string): ReturnType<ObjectStore['head']> {
    return this.#inner.head(key)
  }
  put(key: string, data: Uint8Array): Promise<void> {
    return this.#inner.put(key, data)
  }
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const hook = this.#hook
    if (hook && key.startsWith('_delta_log/') && key.endsWith('.json')) {
      this.#hook = undefined
      await hook()
    }
    return this.#inner.putIfAbsent(key, data)
  }
  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key)
  }
}

type Dml = (t: DeltaTable) => Promise<unknown>

const DMLS: [string, Dml][] = [
  ['delete', (t) => t.delete(col('id').eq(5))],
  ['update', (t) => t.update(col('id').eq(5), { s: 'x' })],
  ['merge', (t) => t.merge([{ id: 5, s: 'x' }], { on: 'id' })],
  ['replaceWhere', (t) => t.overwrite([{ id: 5n }], { replaceWhere: col('id').eq(5) })],
]

/** Handle A (racing store) and handle B on one table of ids 1-3 and 4-6 (two files). */
async function twoHandles(
  properties: Record<string, string> = {},
): Promise<{ a: DeltaTable; b: DeltaTable; racing: RacingStore }> {
  const base = await createWithBatches('dml-', [rowsFor([1, 2, 3]), rowsFor([4, 5, 6])], {
    schema: DML_SCHEMA,
    partitionColumns: [],
    properties,
  })
  const racing = new RacingStore(openStore(base.store.location))
  const a = await DeltaTable.open(racing, { clock: steppingClock() })
  const b = await DeltaTable.open(base.store.location, { clock: steppingClock() })
  return { a, b, racing }
}

/** Parquet files on disk that no live or removed file of the log refers to. */
async function orphans(t: DeltaTable): Promise<string[]> {
  await t.refresh()
  const known = new Set(
    [...t.snapshot.files(), ...t.snapshot.tombstones()].map((f) => decodeAddPath(f.path)),
  )
  return (await parquetFiles(t)).filter((f) => !known.has(f))
}

describe('concurrent writers', () => {
  it.each(DMLS)(
    '%s fails with concurrent-append when another handle appends a matching row meanwhile',
    async (_name, dml) => {
      const { a, b, racing } = await twoHandles()
      racing.beforeNextCommit(async () => {
        await b.append([{ id: 5n, s: 'concurrent' }])
      })
      const err = await dml(a).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CommitConflictError)
      expect((err as CommitConflictError).conflict).toBe('concurrent-append')
      expect((err as CommitConflictError).winningVersion).toBe(3)
      await a.refresh()
      expect(a.version).toBe(3)
      // The concurrent row survives, and the files written by the failed operation are gone.
      expect((await a.toRows()).filter((r) => r.id === 5n)).toHaveLength(2)
      expect(await orphans(a)).toEqual([])
    },
  )

  it.each(DMLS)(
    '%s retries and commits when another handle appends a non-matching row meanwhile',
    async (_name, dml) => {
      const { a, b, racing } = await twoHandles()
      racing.beforeNextCommit(async () => {
        await b.append([{ id: 100n, s: 'concurrent' }])
      })
      await dml(a)
      expect(a.version).toBe(4)
      const rows = await a.toRows()
      expect(rows.filter((r) => r.id === 100n)).toHaveLength(1)
      expect(rows.length).toBeGreaterThanOrEqual(6)
    },
  )

  it.each(DMLS)(
    '%s commits over a blind append of a matching row on a WriteSerializable table',
    async (_name, dml) => {
      const { a, b, racing } = await twoHandles({ 'delta.isolationLevel': 'WriteSerializable' })
      racing.beforeNextCommit(async () => {
        await b.append([{ id: 5n, s: 'concurrent' }])
      })
      await dml(a)
      expect(a.version).toBe(4)
      // The concurrent row is kept as appended: the operation did not see it.
      const concurrent = (await a.toRows()).filter((r) => r.s === 'concurrent')
      expect(concurrent).toHaveLength(1)
    },
  )

  it('fails with concurrent-delete-read when another handle deletes a file that was read', async () => {
    const { a, b, racing } = await twoHandles()
    racing.beforeNextCommit(async () => {
      // Removes the whole file (a partial delete would also re-add id 5: concurrent-append).
      await b.delete(col('id').ge(4))
    })
    const err = await a.delete(col('id').eq(5)).catch((e: unknown) => e)
    expect((err as CommitConflictError).conflict).toBe('concurrent-delete-read')
  })

  it('fails with concurrent-delete-read when another handle compacts a file that was read', async () => {
    const { a, b, racing } = await twoHandles()
    racing.beforeNextCommit(async () => {
      const path = fileWithId(b, 5)
      const old = b.snapshot.file(path) as AddAction
      const txn = new Transaction(b.store, b.snapshot, steppingClock(), { operation: 'OPTIMIZE' })
      const rows = await b.toRows({ filter: col('id').ge(4) })
      const adds = await writeDataFiles(b.store, b.snapshot, rows, { now: T0, dataChange: false })
      txn.addActions([removeFor(old, T0, false), ...adds])
      await txn.commit()
    })
    const err = await a.update(col('id').eq(5), { n: 0 }).catch((e: unknown) => e)
    expect((err as CommitConflictError).conflict).toBe('concurrent-delete-read')
  })

  it('lets two blind appends both commit', async () => {
    const { a, b, racing } = await twoHandles()
    racing.beforeNextCommit(async () => {
      await b.append(rowsFor([5]))
    })
    await a.append(rowsFor([5]))
    expect(a.version).toBe(4)
    expect((await a.toRows()).filter((r) => r.id === 5n)).toHaveLength(3)
  })

  it('lets a merge that only inserts new keys race with an append of other keys', async () => {
    const { a, b, racing } = await twoHandles()
    racing.beforeNextCommit(async () => {
      await b.append(rowsFor([200]))
    })
    await a.merge([{ id: 7 }], { on: 'id' })
    expect(a.version).toBe(4)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ProtocolAction } from '../../../src/delta/actions/actions.js'
import {
  CommitConflictError,
  DeltaTable,
  MemoryStore,
  VersionNotFoundError,
  col,
  isDeltaError,
  type ObjectStore,
} from '../../../src/delta/index.js'
import { restoredProtocol } from '../../../src/delta/operations/restore.js'
import {
  DAY,
  FakeClock,
  HOUR,
  HookedStore,
  newTable,
  readAllVersions,
  rowKey,
  rows,
  writeRawCommit,
} from './vacuum-support.js'

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isDeltaError(e) ? e.code : `untyped: ${String(e)}`),
  )
}

describe('restore', () => {
  it('brings back the rows of a version in one RESTORE commit', async () => {
    const { table, store } = await newTable({ partitioned: true })
    await table.append(rows(3)) // v1
    await table.append(rows(2)) // v2
    const atV2 = rowKey(await table.toRows())
    const sizeAtV2 = table.snapshot.files().reduce((s, f) => s + f.size, 0)
    const filesAtV2 = table.snapshot.numFiles
    await table.overwrite(rows(1)) // v3
    await table.append(rows(1)) // v4
    const removedSize = table.snapshot.files().reduce((s, f) => s + f.size, 0)
    const removedCount = table.snapshot.numFiles
    const result = await table.restore({ version: 2 })
    expect(result).toMatchObject({ version: 5, skipped: false })
    expect(rowKey(await table.toRows())).toEqual(atV2)
    expect(rowKey(await DeltaTable.open(store).then((t) => t.toRows()))).toEqual(atV2)
    const metrics = {
      numRemovedFiles: removedCount,
      numRestoredFiles: filesAtV2,
      removedFilesSize: removedSize,
      restoredFilesSize: sizeAtV2,
      tableSizeAfterRestore: sizeAtV2,
      numOfFilesAfterRestore: filesAtV2,
    }
    expect(result.metrics).toEqual(metrics)
    const [entry] = await table.history({ limit: 1 })
    expect(entry).toMatchObject({
      operation: 'RESTORE',
      operationParameters: { version: '2' },
      operationMetrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)])),
    })
    expect(entry!.operationParameters).not.toHaveProperty('timestamp')
    // Every file action of the commit changes data.
    const actions = table.snapshot.files()
    expect(actions.every((a) => a.dataChange)).toBe(true)
    // Restoring forward again works too.
    await table.restore({ version: 4 })
    expect(await table.toRows()).toHaveLength(2)
  })

  it('restores to the version current at a timestamp', async () => {
    const { table, clock } = await newTable()
    await table.append(rows(2)) // v1 at T0
    const atV1 = rowKey(await table.toRows())
    clock.advance(HOUR)
    const between = new Date(clock.now() - HOUR / 2).toISOString()
    await table.append(rows(2)) // v2 at T0 + 1h
    clock.advance(HOUR)
    const result = await table.restore({ timestamp: between })
    expect(result.skipped).toBe(false)
    expect(rowKey(await table.toRows())).toEqual(atV1)
    const [entry] = await table.history({ limit: 1 })
    expect(entry!.operationParameters).toEqual({ version: '1', timestamp: between })
  })

  it('is a no-op when the target is the current version', async () => {
    const { table } = await newTable()
    await table.append(rows(1))
    const v = table.version
    const result = await table.restore({ version: v })
    expect(result).toMatchObject({ version: v, skipped: true })
    expect(table.version).toBe(v)
  })

  it('fails with DATA_FILE_NOT_FOUND naming the file when the version was vacuumed', async () => {
    const { table, clock } = await newTable()
    await table.append(rows(2)) // v1
    const [gone] = table.snapshot.files()
    await table.overwrite(rows(1)) // v2
    clock.advance(8 * DAY)
    await table.vacuum()
    const v = table.version
    const error = await table.restore({ version: 1 }).catch((e: unknown) => e)
    expect(isDeltaError(error, 'DATA_FILE_NOT_FOUND')).toBe(true)
    expect((error as Error).message).toContain(gone!.path)
    expect((error as Error).message).toContain('version 1')
    expect(await DeltaTable.open(table.store).then((t) => t.version)).toBe(v)
  })

  it('fails with VersionNotFoundError when the version does not exist or its log is gone', async () => {
    const { table, store } = await newTable({
      properties: { 'delta.checkpointInterval': '2' },
    })
    await table.append(rows(1))
    await table.append(rows(1)) // checkpoint at 2
    await table.append(rows(1))
    expect(await table.restore({ version: 9 }).catch((e: unknown) => e)).toBeInstanceOf(
      VersionNotFoundError,
    )
    await store.delete('_delta_log/00000000000000000000.json')
    expect(await table.restore({ version: 0 }).catch((e: unknown) => e)).toBeInstanceOf(
      VersionNotFoundError,
    )
  })

  it.each([
    [{}, 'INVALID_ARGUMENT'],
    [{ version: 1, timestamp: 0 }, 'INVALID_ARGUMENT'],
    [{ version: -1 }, 'INVALID_VERSION'],
    [{ version: 1.5 }, 'INVALID_VERSION'],
    [{ timestamp: 'yesterday' }, 'INVALID_TIMESTAMP'],
    [{ timestamp: Date.UTC(2030, 0, 1) }, 'TIMESTAMP_IN_FUTURE'],
    [{ timestamp: Date.UTC(2020, 0, 1) }, 'TIMESTAMP_BEFORE_FIRST_COMMIT'],
  ])('refuses %j with %s', async (target, code) => {
    const { table } = await newTable()
    await table.append(rows(1))
    expect(await codeOf(table.restore(target as never))).toBe(code)
  })

  it('restores the metadata of the target and keeps the newer protocol', async () => {
    const { table, store } = await newTable()
    await table.append(rows(2)) // v1
    const v1 = table.snapshot
    // v2: another engine adds a column, a property and a writer feature.
    const schema = {
      ...v1.schema,
      fields: [
        ...v1.schema.fields,
        { name: 'extra', type: 'string', nullable: true, metadata: {} },
      ],
    }
    await writeRawCommit(store, 2, [
      { kind: 'commitInfo', info: { operation: 'ADD COLUMNS' } },
      {
        kind: 'protocol',
        minReaderVersion: 1,
        minWriterVersion: 7,
        writerFeatures: ['appendOnly', 'invariants', 'domainMetadata'],
      },
      {
        ...v1.metadata,
        schemaString: JSON.stringify(schema),
        configuration: { 'x.owner': 'data-team' },
      },
    ])
    await table.refresh()
    await table.append([{ id: 99n, part: 'a', v: 'new', extra: 'e' }]) // v3
    const result = await table.restore({ version: 1 })
    expect(result.skipped).toBe(false)
    expect(table.schema).toEqual(v1.schema)
    expect(table.metadata.configuration).toEqual(v1.metadata.configuration)
    expect(table.metadata.id).toBe(v1.metadata.id)
    expect(table.protocol).toMatchObject({ minWriterVersion: 7 })
    expect(rowKey(await table.toRows())).toEqual(rowKey(await v1ToRows(store)))
  })

  it('conflicts with a concurrent data change instead of silently undoing it', async () => {
    const clock = new FakeClock()
    const store = new HookedStore(new MemoryStore({ clock }))
    const { table } = await newTable({ clock, store })
    await table.append(rows(1))
    await table.append(rows(1))
    let raced = false
    store.hooks.putIfAbsent = async (key, data, inner) => {
      if (!raced && key.startsWith('_delta_log/')) {
        raced = true
        await DeltaTable.open(inner, { clock }).then((t) => t.append(rows(1)))
      }
      return inner.putIfAbsent(key, data)
    }
    const error = await table.restore({ version: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommitConflictError)
    expect((error as CommitConflictError).conflict).toBe('concurrent-append')
  })
})

async function v1ToRows(store: ObjectStore): Promise<Record<string, unknown>[]> {
  return DeltaTable.open(store, { version: 1 }).then((t) => t.toRows())
}

describe('restoredProtocol', () => {
  const p = (r: number, w: number, rf?: string[], wf?: string[]): ProtocolAction => ({
    kind: 'protocol',
    minReaderVersion: r,
    minWriterVersion: w,
    ...(rf ? { readerFeatures: rf } : {}),
    ...(wf ? { writerFeatures: wf } : {}),
  })

  it.each([
    ['the same protocol', p(1, 2), p(1, 2), undefined],
    ['an older, lower protocol', p(1, 7, undefined, ['appendOnly']), p(1, 1), undefined],
    [
      'a legacy target with an implied feature the current lacks',
      p(1, 7, undefined, ['appendOnly']),
      p(1, 2),
      p(1, 7, undefined, ['appendOnly', 'invariants']),
    ],
    [
      'legacy features already listed',
      p(1, 7, undefined, ['appendOnly', 'invariants']),
      p(1, 2),
      undefined,
    ],
    [
      'a target feature the current lacks',
      p(1, 7, undefined, ['domainMetadata']),
      p(1, 7, undefined, ['appendOnly']),
      p(1, 7, undefined, ['domainMetadata', 'appendOnly']),
    ],
    ['a higher legacy target', p(1, 2), p(1, 4), p(1, 4)],
    [
      'a legacy current below a feature target',
      p(1, 3),
      p(3, 7, ['timestampNtz'], ['timestampNtz']),
      p(3, 7, ['timestampNtz'], ['appendOnly', 'invariants', 'checkConstraints', 'timestampNtz']),
    ],
  ])('merges %s without downgrading', (_name, current, target, expected) => {
    expect(restoredProtocol(current, target)).toEqual(expected)
  })
})

describe('restore on time travel timestamps', () => {
  it('uses commit times of the log, not the clock of the caller', async () => {
    const clock = new FakeClock()
    const { table } = await newTable({ clock })
    await table.append(rows(1))
    clock.advance(DAY)
    await table.append(rows(1))
    clock.advance(DAY)
    const result = await table.restore({ timestamp: new Date(clock.now() - DAY - HOUR) })
    expect(result.skipped).toBe(false)
    expect(await table.toRows()).toHaveLength(1)
  })
})

describe('restore (property)', () => {
  type Op =
    | { kind: 'append'; n: number; part: string }
    | { kind: 'delete'; part: string }
    | { kind: 'update'; part: string }
    | { kind: 'overwrite'; n: number }
    | { kind: 'optimize' }
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      n: fc.integer({ min: 1, max: 4 }),
      part: fc.constantFrom('a', 'b', 'c'),
    }),
    fc.record({ kind: fc.constant('delete' as const), part: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ kind: fc.constant('update' as const), part: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ kind: fc.constant('overwrite' as const), n: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('optimize' as const) }),
  )

  it('gives exactly the rows of the target version and leaves older versions readable', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.nat(),
        async (ops, partitioned, pick) => {
          const { table, store, clock } = await newTable({ partitioned })
          for (const o of ops) {
            clock.t += HOUR
            if (o.kind === 'append') await table.append(rows(o.n, [o.part]))
            else if (o.kind === 'delete') await table.delete(col('part').eq(o.part))
            else if (o.kind === 'update')
              await table.update(col('part').eq(o.part), { v: 'updated' })
            else if (o.kind === 'overwrite') await table.overwrite(rows(o.n))
            else await table.optimize()
          }
          const before = await readAllVersions(store)
          const target = pick % (table.version + 1)
          clock.t += HOUR
          await table.restore({ version: target })
          expect(rowKey(await table.toRows())).toEqual(before[target])
          const after = await readAllVersions(store)
          expect(after.slice(0, before.length)).toEqual(before)
          expect(after.at(-1)).toEqual(before[target])
        },
      ),
      { numRuns: 40 },
    )
  })
})

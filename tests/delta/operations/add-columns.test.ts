import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  and,
  col,
  CommitConflictError,
  DeltaError,
  DeltaTable,
  LocalFsStore,
  UnsupportedProtocolError,
  type DeltaErrorCode,
  type StructField,
} from '../../../src/delta/index.js'
import { parseStats } from '../../../src/delta/expr/skipping.js'
import { field } from '../../support/schema.js'
import { makeTempDir } from '../../support/temp.js'
import { NEW_FIELDS, SCHEMA } from './add-columns-support.js'
import { HookedStore, writeRawCommit } from './vacuum-support.js'

async function newTable(
  options: { partitioned?: boolean; properties?: Record<string, string> } = {},
): Promise<{ table: DeltaTable; dir: string }> {
  const dir = path.join(await makeTempDir('add-columns-'), 't')
  const table = await DeltaTable.create(dir, {
    schema: SCHEMA,
    partitionColumns: options.partitioned ? ['region'] : [],
    properties: options.properties,
    name: 'people',
    description: 'who is who',
  })
  await table.append([
    { id: 1n, name: 'ann', region: 'eu' },
    { id: 2n, name: 'bob', region: 'us' },
  ])
  return { table, dir }
}

/** The actions of one commit file, as JSON objects. */
async function commitJson(dir: string, version: number): Promise<Record<string, unknown>[]> {
  const text = await readFile(
    path.join(dir, '_delta_log', `${String(version).padStart(20, '0')}.json`),
    'utf8',
  )
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  Number(a.id) - Number(b.id)

describe('addColumns', () => {
  it('appends the columns in one ADD COLUMNS commit that changes only the schema', async () => {
    const { table, dir } = await newTable()
    const before = table.metadata
    const result = await table.addColumns(NEW_FIELDS)
    expect(result).toEqual({ version: 2, skipped: false, metrics: {} })
    expect(table.schema.fields).toEqual([...SCHEMA.fields, ...NEW_FIELDS])
    const { schemaString, ...rest } = table.metadata
    const { schemaString: oldSchemaString, ...oldRest } = before
    expect(rest).toEqual(oldRest)
    expect(JSON.parse(schemaString)).toEqual({
      ...(JSON.parse(oldSchemaString) as object),
      fields: [...SCHEMA.fields, ...NEW_FIELDS],
    })

    const actions = await commitJson(dir, 2)
    expect(actions.map((a) => Object.keys(a)[0])).toEqual(['commitInfo', 'metaData'])
    const info = actions[0]!.commitInfo as Record<string, unknown>
    expect(info).toMatchObject({
      operation: 'ADD COLUMNS',
      isBlindAppend: false,
      readVersion: 1,
      operationMetrics: {},
    })
    // Spark's shape: the type's name, nested types by their kind.
    expect(JSON.parse((info.operationParameters as { columns: string }).columns)).toEqual([
      {
        column: {
          name: 'email',
          type: 'string',
          nullable: true,
          metadata: { comment: 'contact address' },
        },
      },
      { column: { name: 'score', type: 'long', nullable: true, metadata: {} } },
      { column: { name: 'address', type: 'struct', nullable: true, metadata: {} } },
      { column: { name: 'tags', type: 'array', nullable: true, metadata: {} } },
    ])
    const [entry] = await table.history({ limit: 1 })
    expect(entry).toMatchObject({ version: 2, operation: 'ADD COLUMNS', isBlindAppend: false })
  })

  it('reads null in the new columns for old rows and the values of new rows', async () => {
    const { table, dir } = await newTable()
    await table.addColumns(NEW_FIELDS)
    expect((await table.toRows()).sort(byId)).toEqual([
      { id: 1n, name: 'ann', region: 'eu', email: null, score: null, tags: null, address: null },
      { id: 2n, name: 'bob', region: 'us', email: null, score: null, tags: null, address: null },
    ])
    const cat = {
      id: 3n,
      name: 'cat',
      region: 'eu',
      email: 'cat@example.com',
      score: 7n,
      tags: ['a', null],
      address: { city: 'Oslo' },
    }
    await table.append([cat, { id: 4n, name: 'dan', region: 'us', score: 9n }])
    const reopened = await DeltaTable.open(dir)
    expect(reopened.schema).toEqual(table.schema)
    const rows = (await reopened.toRows()).sort(byId)
    expect(rows.slice(2)).toEqual([
      cat,
      { id: 4n, name: 'dan', region: 'us', email: null, score: 9n, tags: null, address: null },
    ])
    // Old files have no stats for the new columns: skipping keeps them.
    const ids = async (filter: Parameters<DeltaTable['toRows']>[0]): Promise<unknown[]> =>
      (await reopened.toRows({ ...filter, columns: ['id'] })).map((r) => r.id).sort()
    expect(await ids({ filter: col('email').isNull() })).toEqual([1n, 2n, 4n])
    expect(await ids({ filter: col('score').gt(8) })).toEqual([4n])
    // New files carry stats for them.
    const newest = reopened.snapshot.files().find((f) => (f.stats ?? '').includes('score'))
    expect(parseStats(newest?.stats)).toMatchObject({
      minValues: { score: 7 },
      maxValues: { score: 9 },
      nullCount: { email: 1, score: 0 },
    })
  })

  it('lets update, delete, merge and optimize rewrite the files written before', async () => {
    const { table } = await newTable()
    await table.append([{ id: 3n, name: 'cat', region: 'eu' }])
    await table.addColumns([field('email', 'string'), field('score', 'long')])
    await table.update(col('id').eq(1n), { name: 'ANN' }) // a constant on an old column
    await table.update(col('id').eq(2n), { email: 'bob@example.com' }) // a new column
    await table.delete(col('id').eq(3n))
    await table.merge([{ id: 4n, score: 4n }], { on: 'id' })
    const optimized = await table.optimize()
    expect(optimized.metrics.numFilesRemoved).toBeGreaterThan(1)
    expect((await table.toRows()).sort(byId)).toEqual([
      { id: 1n, name: 'ANN', region: 'eu', email: null, score: null },
      { id: 2n, name: 'bob', region: 'us', email: 'bob@example.com', score: null },
      { id: 4n, name: null, region: null, email: null, score: 4n },
    ])
  })

  it('leaves the version before readable with the old schema (time travel)', async () => {
    const { table, dir } = await newTable()
    await table.addColumns(NEW_FIELDS)
    await table.append([{ id: 3n, email: 'x@example.com' }])
    const old = await DeltaTable.open(dir, { version: 1 })
    expect(old.schema).toEqual(SCHEMA)
    expect((await old.toRows()).sort(byId)).toEqual([
      { id: 1n, name: 'ann', region: 'eu' },
      { id: 2n, name: 'bob', region: 'us' },
    ])
    await expect(old.toRows({ columns: ['email'] })).rejects.toMatchObject({
      code: 'COLUMN_NOT_FOUND',
    })
  })

  it('keeps the partitioning of a partitioned table', async () => {
    const { table, dir } = await newTable({ partitioned: true })
    await table.addColumns([field('email', 'string')])
    expect(table.partitionColumns).toEqual(['region'])
    await table.append([
      { id: 3n, region: 'eu', email: 'c@example.com' },
      { id: 4n, region: null, email: 'd@example.com' },
    ])
    const reopened = await DeltaTable.open(dir)
    expect(reopened.partitionColumns).toEqual(['region'])
    expect((await reopened.toRows({ columns: ['id', 'region', 'email'] })).sort(byId)).toEqual([
      { id: 1n, region: 'eu', email: null },
      { id: 2n, region: 'us', email: null },
      { id: 3n, region: 'eu', email: 'c@example.com' },
      { id: 4n, region: null, email: 'd@example.com' },
    ])
    const eu = await reopened.toRows({
      columns: ['id'],
      filter: and(col('region').eq('eu'), col('email').isNotNull()),
    })
    expect(eu).toEqual([{ id: 3n }])
  })

  it.each<[string, DeltaErrorCode, StructField[]]>([
    ['no columns', 'INVALID_ARGUMENT', []],
    ['a column that is not nullable', 'INVALID_ARGUMENT', [field('e', 'string', false)]],
    ['a name that exists', 'INVALID_ARGUMENT', [field('name', 'string')]],
    ['a name that exists in another case', 'INVALID_ARGUMENT', [field('NAME', 'integer')]],
    [
      'a name listed twice',
      'INVALID_ARGUMENT',
      [field('email', 'string'), field('Email', 'string')],
    ],
    ['a struct without fields', 'INVALID_ARGUMENT', [field('s', { type: 'struct', fields: [] })]],
    ['a field without a name', 'INVALID_SCHEMA', [field('', 'string')]],
    ['a decimal out of range', 'INVALID_SCHEMA', [field('d', 'decimal(40,2)')]],
    [
      'an array without containsNull',
      'INVALID_SCHEMA',
      [field('a', { type: 'array', elementType: 'long' } as never)],
    ],
    ['an unsupported type', 'UNSUPPORTED_FEATURE', [field('v', 'variant' as never)]],
    [
      'a generated column',
      'UNSUPPORTED_FEATURE',
      [{ ...field('g', 'long'), metadata: { 'delta.generationExpression': 'id + 1' } }],
    ],
    [
      'a nested field with an invariant',
      'UNSUPPORTED_FEATURE',
      [
        field('s', {
          type: 'struct',
          fields: [{ ...field('x', 'long'), metadata: { 'delta.invariants': '{}' } }],
        }),
      ],
    ],
  ])('refuses %s with %s and leaves the table unchanged', async (_what, code, fields) => {
    const { table, dir } = await newTable()
    const error = await table.addColumns(fields).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeltaError)
    expect((error as DeltaError).code).toBe(code)
    if (code === 'INVALID_ARGUMENT') {
      expect((error as DeltaError).context.table).toBe(table.store.location)
    }
    const reopened = await DeltaTable.open(dir)
    expect(reopened.version).toBe(1)
    expect(reopened.schema).toEqual(SCHEMA)
  })

  it('names the column that exists in the error context', async () => {
    const { table } = await newTable()
    const error = await table
      .addColumns([field('email', 'string'), field('Region', 'string')])
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', context: { column: 'Region' } })
  })

  it.each([
    [
      'an unsupported writer feature',
      {
        kind: 'protocol',
        minReaderVersion: 1,
        minWriterVersion: 7,
        writerFeatures: ['domainMetadata', 'rowTracking'],
      },
      {},
    ],
    [
      'change data feed enabled',
      { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 4 },
      { 'delta.enableChangeDataFeed': 'true' },
    ],
  ] as const)('refuses a table with %s, like other writes', async (_what, protocol, config) => {
    const { table } = await newTable()
    await writeRawCommit(table.store, 2, [
      { kind: 'commitInfo', info: { operation: 'SET TBLPROPERTIES' } },
      { ...protocol, kind: 'protocol' },
      { ...table.metadata, configuration: { ...config } },
    ])
    for (const write of [
      () => table.addColumns([field('email', 'string')]),
      () => table.append([{ id: 3n }]),
    ]) {
      const error = await write().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnsupportedProtocolError)
    }
    expect((await DeltaTable.open(table.store)).version).toBe(2)
  })

  it('adds the timestampNtz feature for a timestamp_ntz column, once', async () => {
    const { table, dir } = await newTable()
    expect(table.protocol).toEqual({ kind: 'protocol', minReaderVersion: 1, minWriterVersion: 2 })
    await table.addColumns([
      field('s', { type: 'struct', fields: [field('local', 'timestamp_ntz')] }),
    ])
    // Legacy writer 2 implies appendOnly and invariants: they are listed explicitly.
    expect(table.protocol).toEqual({
      kind: 'protocol',
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['timestampNtz'],
      writerFeatures: ['appendOnly', 'invariants', 'timestampNtz'],
    })
    expect((await commitJson(dir, 2)).map((a) => Object.keys(a)[0])).toEqual([
      'commitInfo',
      'protocol',
      'metaData',
    ])
    await table.addColumns([field('at', 'timestamp_ntz')])
    expect((await commitJson(dir, 3)).map((a) => Object.keys(a)[0])).toEqual([
      'commitInfo',
      'metaData',
    ])
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5))
    await table.append([{ id: 3n, s: { local: at }, at }])
    const rows = (await DeltaTable.open(dir).then((t) => t.toRows())).sort(byId)
    expect(rows.map((r) => [r.id, r.s, r.at])).toEqual([
      [1n, null, null],
      [2n, null, null],
      [3n, { local: at }, at],
    ])
  })

  it.each([
    ['past delta.dataSkippingNumIndexedCols', { 'delta.dataSkippingNumIndexedCols': '3' }, false],
    [
      'named in delta.dataSkippingStatsColumns',
      { 'delta.dataSkippingStatsColumns': 'id,email' },
      true,
    ],
  ])('collects stats for a new column %s as for any column', async (_what, properties, has) => {
    const { table } = await newTable({ properties })
    await table.addColumns([field('email', 'string')])
    await table.append([{ id: 3n, email: 'e@example.com' }])
    const stats = parseStats(table.snapshot.files().find((f) => f.stats?.includes('"id":3'))?.stats)
    expect(stats?.minValues).toBeDefined()
    expect(stats?.minValues?.email !== undefined).toBe(has)
  })

  it('writes a checkpoint when one is due, holding the new schema', async () => {
    const { table, dir } = await newTable({ properties: { 'delta.checkpointInterval': '2' } })
    const result = await table.addColumns([field('email', 'string')])
    expect(result.checkpoint).toBeDefined()
    await table.store.delete('_delta_log/00000000000000000002.json')
    expect((await DeltaTable.open(dir)).schema.fields.map((f) => f.name)).toContain('email')
  })
})

describe('addColumns with a concurrent writer', () => {
  /** Handle A on a store whose next commit attempt first runs `other` (handle B's write). */
  async function race(other: (b: DeltaTable) => Promise<unknown>): Promise<{
    a: DeltaTable
    b: DeltaTable
    dir: string
  }> {
    const { dir } = await newTable()
    const store = new HookedStore(new LocalFsStore(dir))
    const a = await DeltaTable.open(store)
    const b = await DeltaTable.open(dir)
    let raced = false
    store.hooks.putIfAbsent = async (key, data, inner) => {
      if (!raced && key.startsWith('_delta_log/')) {
        raced = true
        await other(b)
      }
      return inner.putIfAbsent(key, data)
    }
    return { a, b, dir }
  }

  it('commits after an append that won the race; the appended rows read null', async () => {
    const { a, dir } = await race((b) => b.append([{ id: 3n, name: 'cat' }]))
    const result = await a.addColumns([field('email', 'string')])
    expect(result.version).toBe(3)
    const history = await a.history({ limit: 2 })
    expect(history.map((h) => h.operation)).toEqual(['ADD COLUMNS', 'WRITE'])
    const rows = (await DeltaTable.open(dir).then((t) => t.toRows())).sort(byId)
    expect(rows.map((r) => [r.id, r.email])).toEqual([
      [1n, null],
      [2n, null],
      [3n, null],
    ])
  })

  it('makes an append that lost the race to it fail with metadata-changed', async () => {
    const { a, dir } = await race((b) => b.addColumns([field('email', 'string')]))
    const error = await a.append([{ id: 3n, name: 'cat' }]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommitConflictError)
    expect((error as CommitConflictError).conflict).toBe('metadata-changed')
    const reopened = await DeltaTable.open(dir)
    expect(reopened.version).toBe(2)
    expect(reopened.schema.fields.map((f) => f.name)).toEqual(['id', 'name', 'region', 'email'])
  })

  it('fails with metadata-changed when another writer changed the schema first', async () => {
    const { a, dir } = await race((b) => b.addColumns([field('email', 'string')]))
    const error = await a.addColumns([field('EMAIL', 'long')]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommitConflictError)
    expect((error as CommitConflictError).conflict).toBe('metadata-changed')
    const reopened = await DeltaTable.open(dir)
    expect(reopened.version).toBe(2)
    expect(reopened.schema.fields.at(-1)).toEqual(field('email', 'string'))
    // Retried on the new snapshot, the same change is refused up front.
    await expect(a.addColumns([field('EMAIL', 'long')])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})

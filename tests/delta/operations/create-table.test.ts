import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DeltaTable,
  isDeltaError,
  UnsupportedProtocolError,
  type StructType,
} from '../../../src/delta/index.js'
import { makeTempDir } from '../../support/temp.js'

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
    {
      name: 'tags',
      type: { type: 'array', elementType: 'string', containsNull: true },
      nullable: true,
      metadata: {},
    },
  ],
}

describe('DeltaTable.create', () => {
  it('commits version 0 with protocol (1,2), metadata and a CREATE TABLE commitInfo', async () => {
    const dir = path.join(await makeTempDir('create-'), 't')
    const t = await DeltaTable.create(dir, {
      schema,
      partitionColumns: ['day'],
      description: 'events',
    })
    expect(t.version).toBe(0)
    expect(t.protocol).toMatchObject({ minReaderVersion: 1, minWriterVersion: 2 })
    expect(t.schema).toEqual(schema)
    expect(t.partitionColumns).toEqual(['day'])
    expect(t.metadata.description).toBe('events')
    const log = await readFile(path.join(dir, '_delta_log', '00000000000000000000.json'), 'utf8')
    const lines = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>)
    expect(Object.keys(lines[0] ?? {})).toEqual(['commitInfo'])
    expect(lines[0]?.commitInfo?.operation).toBe('CREATE TABLE')
    expect((await t.history())[0]?.operation).toBe('CREATE TABLE')
  })

  it.each([
    [{ 'delta.appendOnly': 'true' }, ['appendOnly']],
    [{ 'delta.enableInCommitTimestamps': 'true' }, ['inCommitTimestamp']],
    [
      { 'delta.appendOnly': 'true', 'delta.enableInCommitTimestamps': 'true' },
      ['appendOnly', 'inCommitTimestamp'],
    ],
  ])('uses writer version 7 with exactly the features %o needs', async (properties, features) => {
    const t = await DeltaTable.create(path.join(await makeTempDir('create-'), 't'), {
      schema,
      properties,
    })
    expect(t.protocol).toEqual({
      kind: 'protocol',
      minReaderVersion: 1,
      minWriterVersion: 7,
      writerFeatures: features,
    })
  })

  it('declares timestampNtz (reader 3, writer 7) when a timestamp_ntz column is anywhere in the schema', async () => {
    const ntz = { name: 'local', type: 'timestamp_ntz', nullable: true, metadata: {} }
    const nested = {
      name: 'n',
      type: {
        type: 'map',
        keyType: 'string',
        valueType: { type: 'array', elementType: 'timestamp_ntz', containsNull: true },
        valueContainsNull: true,
      },
      nullable: true,
      metadata: {},
    }
    for (const field of [ntz, nested]) {
      const t = await DeltaTable.create(path.join(await makeTempDir('create-'), 't'), {
        schema: { type: 'struct', fields: [...schema.fields, field] } as StructType,
        properties: { 'delta.appendOnly': 'true' },
      })
      expect(t.protocol).toEqual({
        kind: 'protocol',
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: ['timestampNtz'],
        writerFeatures: ['appendOnly', 'timestampNtz'],
      })
    }
  })

  it('refuses a struct without fields anywhere in the schema (Parquet cannot store one)', async () => {
    const empty = { type: 'struct', fields: [] }
    for (const [type, where] of [
      [empty, 'e'],
      [{ type: 'array', elementType: empty, containsNull: true }, 'e.element'],
      [
        {
          type: 'struct',
          fields: [
            {
              name: 'm',
              type: { type: 'map', keyType: 'string', valueType: empty, valueContainsNull: true },
              nullable: true,
              metadata: {},
            },
          ],
        },
        'e.m.value',
      ],
    ] as const) {
      const dir = path.join(await makeTempDir('create-'), 't')
      const err = await DeltaTable.create(dir, {
        schema: {
          type: 'struct',
          fields: [...schema.fields, { name: 'e', type, nullable: true, metadata: {} }],
        } as StructType,
      }).catch((e: unknown) => e)
      expect(isDeltaError(err, 'INVALID_ARGUMENT')).toBe(true)
      expect((err as Error).message).toContain(JSON.stringify(where))
    }
  })

  it('refuses to write a table whose timestamp_ntz columns lack the feature in its protocol', async () => {
    const dir = path.join(await makeTempDir('create-'), 't')
    await DeltaTable.create(dir, {
      schema: {
        type: 'struct',
        fields: [{ name: 'local', type: 'timestamp_ntz', nullable: true, metadata: {} }],
      },
    })
    // What this engine wrote before it declared the feature.
    const first = path.join(dir, '_delta_log', '00000000000000000000.json')
    const log = (await readFile(first, 'utf8')).replace(
      /\{"protocol":\{[^}]*\}\}/,
      '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}',
    )
    await writeFile(first, log)
    const t = await DeltaTable.open(dir)
    expect(t.protocol).toMatchObject({ minReaderVersion: 1, minWriterVersion: 2 })
    const err = await t.append([{ local: new Date(0) }]).catch((e: unknown) => e)
    expect(isDeltaError(err, 'UNSUPPORTED_FEATURE')).toBe(true)
    expect((err as Error).message).toContain('timestampNtz')
    expect((await DeltaTable.open(dir)).version).toBe(0)
  })

  it('writes in-commit timestamps when enabled, and they drive time travel', async () => {
    const t = await DeltaTable.create(path.join(await makeTempDir('create-'), 't'), {
      schema,
      properties: { 'delta.enableInCommitTimestamps': 'true' },
    })
    await t.append([{ id: 1n }])
    const h = await t.history()
    expect(h.map((e) => typeof e.commitInfo.inCommitTimestamp)).toEqual(['number', 'number'])
    expect(h[0]!.timestamp.getTime()).toBeGreaterThan(h[1]!.timestamp.getTime())
    expect((await DeltaTable.open(t.store, { timestamp: h[1]!.timestamp })).version).toBe(0)
  })

  it('refuses a second create at the same location, unless ifNotExists', async () => {
    const dir = path.join(await makeTempDir('create-'), 't')
    await DeltaTable.create(dir, { schema })
    const err = await DeltaTable.create(dir, { schema }).catch((e: unknown) => e)
    expect(isDeltaError(err, 'TABLE_ALREADY_EXISTS')).toBe(true)
    expect((await DeltaTable.create(dir, { schema, ifNotExists: true })).version).toBe(0)
  })

  it('lets exactly one of several racing creators win', async () => {
    const dir = path.join(await makeTempDir('create-'), 't')
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => DeltaTable.create(dir, { schema })),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results)
      if (r.status === 'rejected') expect(isDeltaError(r.reason, 'TABLE_ALREADY_EXISTS')).toBe(true)
  })

  it.each([
    [
      'a partition column that does not exist',
      { schema, partitionColumns: ['nope'] },
      'INVALID_ARGUMENT',
    ],
    ['a nested partition column', { schema, partitionColumns: ['tags'] }, 'INVALID_ARGUMENT'],
    [
      'only partition columns',
      {
        schema: { type: 'struct', fields: [schema.fields[1]!] },
        partitionColumns: ['day'],
      },
      'INVALID_ARGUMENT',
    ],
    ['an empty schema', { schema: { type: 'struct', fields: [] } }, 'INVALID_ARGUMENT'],
    [
      'a duplicate column (case-insensitive)',
      {
        schema: {
          type: 'struct',
          fields: [schema.fields[0]!, { ...schema.fields[0]!, name: 'ID' }],
        },
      },
      'INVALID_SCHEMA',
    ],
    [
      'an unknown type',
      {
        schema: {
          type: 'struct',
          fields: [{ name: 'x', type: 'varchar', nullable: true, metadata: {} }],
        } as unknown as StructType,
      },
      'UNSUPPORTED_FEATURE',
    ],
    [
      'a malformed boolean property',
      { schema, properties: { 'delta.appendOnly': 'yes' } },
      'INVALID_ARGUMENT',
    ],
    [
      'a malformed interval',
      { schema, properties: { 'delta.logRetentionDuration': 'forever' } },
      'INVALID_ARGUMENT',
    ],
    [
      'an unknown delta property',
      { schema, properties: { 'delta.fancyNewThing': 'true' } },
      'INVALID_ARGUMENT',
    ],
    [
      'a checkpoint interval of 0',
      { schema, properties: { 'delta.checkpointInterval': '0' } },
      'INVALID_ARGUMENT',
    ],
    [
      'deletion vectors',
      { schema, properties: { 'delta.enableDeletionVectors': 'true' } },
      'UNSUPPORTED_FEATURE',
    ],
    [
      'column mapping',
      { schema, properties: { 'delta.columnMapping.mode': 'name' } },
      'UNSUPPORTED_FEATURE',
    ],
    [
      'change data feed',
      { schema, properties: { 'delta.enableChangeDataFeed': 'true' } },
      'UNSUPPORTED_FEATURE',
    ],
  ])('refuses %s and writes nothing', async (_name, options, code) => {
    const dir = path.join(await makeTempDir('create-'), 't')
    const err = await DeltaTable.create(
      dir,
      options as Parameters<typeof DeltaTable.create>[1],
    ).catch((e: unknown) => e)
    expect(isDeltaError(err, code as never)).toBe(true)
    if (code === 'UNSUPPORTED_FEATURE') expect(err).toBeInstanceOf(UnsupportedProtocolError)
    expect(
      isDeltaError(await DeltaTable.open(dir).catch((e: unknown) => e), 'TABLE_NOT_FOUND'),
    ).toBe(true)
  })

  it('keeps non-delta properties and reads them back', async () => {
    const t = await DeltaTable.create(path.join(await makeTempDir('create-'), 't'), {
      schema,
      properties: { owner: 'team-a', 'delta.checkpointInterval': '5' },
    })
    expect(t.metadata.configuration).toEqual({ owner: 'team-a', 'delta.checkpointInterval': '5' })
    expect(t.snapshot.config.checkpointInterval).toBe(5)
  })
})

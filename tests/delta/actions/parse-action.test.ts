import { describe, expect, it } from 'vitest'
import { parseAction, parseCommitFile } from '../../../src/delta/actions/parse-action.js'
import { actionToJson, serializeCommit } from '../../../src/delta/actions/serialize-action.js'
import type { Action } from '../../../src/delta/actions/actions.js'
import { fileActionKey } from '../../../src/delta/actions/actions.js'
import { isDeltaError } from '../../../src/delta/errors.js'

const samples: Action[] = [
  {
    kind: 'protocol',
    minReaderVersion: 3,
    minWriterVersion: 7,
    readerFeatures: ['timestampNtz'],
    writerFeatures: ['timestampNtz', 'appendOnly'],
  },
  {
    kind: 'metaData',
    id: 'id-1',
    name: 'users-table',
    description: 'users',
    format: { provider: 'parquet', options: {} },
    schemaString: '{"type":"struct","fields":[]}',
    partitionColumns: ['day'],
    configuration: { 'delta.appendOnly': 'true' },
    createdTime: 1,
  },
  {
    kind: 'add',
    path: 'day=2026-01-01/a%20b.parquet',
    partitionValues: { day: '2026-01-01', n: null },
    size: 10,
    modificationTime: 2,
    dataChange: true,
    stats: '{"numRecords":1}',
  },
  {
    kind: 'remove',
    path: 'x.parquet',
    dataChange: false,
    deletionTimestamp: 3,
    extendedFileMetadata: true,
    partitionValues: {},
    size: 5,
  },
  { kind: 'txn', appId: 'app', version: 7, lastUpdated: 9 },
  { kind: 'domainMetadata', domain: 'd', configuration: '{}', removed: false },
  { kind: 'cdc', path: '_change_data/c.parquet', partitionValues: {}, size: 1, dataChange: false },
  { kind: 'commitInfo', info: { operation: 'WRITE', custom: { nested: true } } },
]

describe('parseAction', () => {
  it.each(samples.map((s) => [s.kind, s] as const))('round-trips %s through JSON', (_k, action) => {
    const parsed = parseAction(JSON.parse(JSON.stringify(actionToJson(action))), 'x:1')
    expect(parsed).toMatchObject(JSON.parse(JSON.stringify(action)) as object)
  })

  it('ignores unknown action types and unknown fields', () => {
    expect(parseAction({ somethingNew: { a: 1 } }, 'x:1')).toBeUndefined()
    const add = parseAction(
      {
        add: {
          path: 'p',
          partitionValues: {},
          size: 1,
          modificationTime: 1,
          dataChange: true,
          futureField: [1],
        },
      },
      'x:1',
    )
    expect(add).toMatchObject({ kind: 'add', path: 'p' })
    expect(add).not.toHaveProperty('futureField')
  })

  it.each([
    [{ add: { partitionValues: {}, size: 1, modificationTime: 1, dataChange: true } }, 'path'],
    [
      { add: { path: 'p', partitionValues: {}, size: '1', modificationTime: 1, dataChange: true } },
      'size',
    ],
    [
      {
        add: {
          path: 'p',
          partitionValues: { a: 1 },
          size: 1,
          modificationTime: 1,
          dataChange: true,
        },
      },
      'partitionValues.a',
    ],
    [{ protocol: { minReaderVersion: 'one', minWriterVersion: 2 } }, 'minReaderVersion'],
    [{ metaData: { id: 'x', schemaString: '{}' } }, 'partitionColumns'],
    [{ remove: 'not an object' }, 'remove'],
  ])('rejects a malformed action %#', (obj, field) => {
    const err = (() => {
      try {
        parseAction(obj, 'f.json:3')
      } catch (e) {
        return e
      }
    })()
    expect(isDeltaError(err, 'MALFORMED_ACTION')).toBe(true)
    expect((err as Error).message).toContain('f.json:3')
    expect((err as Error).message).toContain(field)
  })

  it('accepts checkpoint-style maps and bigints', () => {
    const add = parseAction(
      {
        txn: null,
        add: {
          path: 'p',
          partitionValues: new Map([['d', '1']]),
          size: 5n,
          modificationTime: 6n,
          dataChange: false,
        },
      },
      'cp#row0',
    )
    expect(add).toMatchObject({
      kind: 'add',
      partitionValues: { d: '1' },
      size: 5,
      modificationTime: 6,
    })
  })
})

describe('parseCommitFile', () => {
  it('parses newline-delimited actions and skips blank lines', () => {
    const text = serializeCommit(samples) + '\n\n'
    expect(parseCommitFile(text, 'c.json').map((a) => a.kind)).toEqual(samples.map((s) => s.kind))
  })

  it('names file and line of a truncated commit', () => {
    const text = serializeCommit(samples.slice(0, 2)) + '{"add":{"path":"p","partitionValues"'
    const err = (() => {
      try {
        parseCommitFile(text, '00000000000000000004.json')
      } catch (e) {
        return e
      }
    })()
    expect(isDeltaError(err, 'MALFORMED_LOG')).toBe(true)
    expect((err as Error).message).toContain('00000000000000000004.json:3')
  })
})

describe('fileActionKey', () => {
  it('distinguishes deletion vectors on the same path', () => {
    const dv = { storageType: 'u', pathOrInlineDv: 'abc', sizeInBytes: 1, cardinality: 1 }
    expect(fileActionKey({ path: 'a' })).toBe('a')
    expect(fileActionKey({ path: 'a', deletionVector: dv })).not.toBe('a')
    expect(fileActionKey({ path: 'a', deletionVector: { ...dv, offset: 4 } })).not.toBe(
      fileActionKey({ path: 'a', deletionVector: dv }),
    )
  })
})

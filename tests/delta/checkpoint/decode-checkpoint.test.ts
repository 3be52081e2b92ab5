import { readdirSync, readFileSync, statSync } from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Action } from '../../../src/delta/actions/actions.js'
import { CHECKPOINT_SCHEMA } from '../../../src/delta/checkpoint/checkpoint-schema.js'
import { decodeCheckpoint } from '../../../src/delta/checkpoint/decode-checkpoint.js'
import {
  decodeCheckpointRows,
  readCheckpoint,
} from '../../../src/delta/checkpoint/read-checkpoint.js'
import { DeltaError } from '../../../src/delta/errors.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { writeParquet } from '../../../src/delta/parquet/index.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'
import { describeWithFixtures } from '../../support/fixtures.js'
import { describeWithOracle } from '../../support/oracle.js'
import { cleanupTempDirs, makeTempDir } from '../../support/temp.js'
import { indexOf, removeAt, rewriteFooter } from '../parquet/rewrite-footer.js'

afterAll(cleanupTempDirs)

function checkpointFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name)
    if (statSync(file).isDirectory()) out.push(...checkpointFiles(file))
    else if (name.endsWith('.parquet') && file.includes(`${path.sep}_delta_log${path.sep}`)) {
      out.push(file)
    }
  }
  return out.sort()
}

/** Both decoders' output in a comparable form (errors by code and message). */
async function bothWays(data: Uint8Array, key: string): Promise<{ fast: unknown; rows: unknown }> {
  const fast = decodeCheckpoint(data, key)
  const rows = await decodeCheckpointRows(data, '<table>', key)
  const plain = (c: typeof fast): unknown => ({
    actions: c.actions,
    malformed: c.malformed && { code: c.malformed.code, message: c.malformed.message },
  })
  return { fast: plain(fast), rows: plain(rows) }
}

const map = (entries: Record<string, string | null>): Map<string, string | null> =>
  new Map(Object.entries(entries))

/** Checkpoint rows in the engine's value representation, for writeParquet. */
const ROWS: Record<string, unknown>[] = [
  {
    protocol: {
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['deletionVectors'],
      writerFeatures: ['deletionVectors'],
    },
  },
  {
    metaData: {
      id: 'id-1',
      name: null,
      description: null,
      format: { provider: 'parquet', options: new Map() },
      schemaString:
        '{"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}}]}',
      partitionColumns: ['p'],
      configuration: map({ 'delta.checkpointInterval': '2' }),
      createdTime: 1n,
    },
  },
  { txn: { appId: 'a', version: 7n, lastUpdated: null } },
  ...Array.from({ length: 50 }, (_, i) => ({
    add: {
      path: `p=${i % 3}/f-${i}-😀.parquet`,
      partitionValues: map({ p: i % 5 === 0 ? null : String(i % 3) }),
      size: BigInt(100 + i),
      modificationTime: BigInt(1_700_000_000_000 + i),
      dataChange: i % 2 === 0,
      tags: i % 4 === 0 ? map({ t: 'x' }) : null,
      deletionVector:
        i % 7 === 0
          ? {
              storageType: 'u',
              pathOrInlineDv: `dv${i}`,
              offset: i % 14 === 0 ? null : i,
              sizeInBytes: 10,
              cardinality: BigInt(i),
            }
          : null,
      baseRowId: null,
      defaultRowCommitVersion: null,
      clusteringProvider: null,
      stats: i % 3 === 0 ? null : `{"numRecords":${i}}`,
    },
  })),
  {
    remove: {
      path: 'old.parquet',
      deletionTimestamp: 5n,
      dataChange: true,
      extendedFileMetadata: null,
      partitionValues: null,
      size: null,
      deletionVector: null,
      baseRowId: null,
      defaultRowCommitVersion: null,
    },
  },
  { domainMetadata: { domain: 'd', configuration: '{}', removed: false } },
]

function writtenCheckpoint(): Uint8Array {
  return writeParquet(ROWS, CHECKPOINT_SCHEMA, { rowGroupSize: 16 })
}

describe('decodeCheckpoint', () => {
  it('decodes a checkpoint written by writeParquet exactly like the row reader', async () => {
    const { fast, rows } = await bothWays(writtenCheckpoint(), 'written.parquet')
    expect(fast).toStrictEqual(rows)
    expect((fast as { actions: unknown[] }).actions).toHaveLength(ROWS.length)
  })

  it('decodes a 2-level list (repeated primitive) exactly like the row reader', async () => {
    // Required elements: a 3-level list then has exactly the levels of the 2-level form.
    const schema: StructType = structuredClone(CHECKPOINT_SCHEMA)
    const metaData = schema.fields.find((f) => f.name === 'metaData')!.type as StructType
    const columns = metaData.fields.find((f) => f.name === 'partitionColumns')!
    ;(columns as { type: DataType }).type = {
      type: 'array',
      elementType: 'string',
      containsNull: false,
    }
    const file = rewriteFooter(writeParquet(ROWS, schema), {
      schema: (e) => {
        const list = indexOf(e, 'list', indexOf(e, 'partitionColumns'))
        e[list + 1] = { ...e[list + 1]!, name: 'array', repetition_type: 'REPEATED' }
        return removeAt(e, list)
      },
      paths: { 'metaData.partitionColumns.list.element': 'metaData.partitionColumns.array' },
    })
    const { fast, rows } = await bothWays(file, 'two-level.parquet')
    expect(fast).toStrictEqual(rows)
    const metadata = (fast as { actions: Action[] }).actions.find((a) => a.kind === 'metaData')
    expect(metadata).toMatchObject({ partitionColumns: ['p'] })
  })

  it('throws for a column matching only case-insensitively, which readCheckpoint still reads', async () => {
    const file = rewriteFooter(writtenCheckpoint(), {
      schema: (e) => {
        const appId = indexOf(e, 'appId')
        e[appId] = { ...e[appId]!, name: 'APPID' }
        return e
      },
      paths: { 'txn.appId': 'txn.APPID' },
    })
    expect(() => decodeCheckpoint(file, 'edited.parquet')).toThrow()
    const store = new MemoryStore()
    const key = '_delta_log/00000000000000000001.checkpoint.parquet'
    await store.put(key, file)
    const actions = await readCheckpoint(store, 'mem', {
      version: 1,
      flavor: 'classic',
      keys: [key],
    })
    expect(actions.find((a) => a.kind === 'txn')).toMatchObject({ appId: 'a', version: 7 })
    expect(actions.filter((a) => a.kind === 'add')).toHaveLength(50)
  })

  it('rejects a mistyped column that no row uses, like the row reader', async () => {
    const schema: StructType = structuredClone(CHECKPOINT_SCHEMA)
    const remove = schema.fields.find((f) => f.name === 'remove')!.type as StructType
    ;(remove.fields.find((f) => f.name === 'size') as { type: DataType }).type = 'string'
    const file = writeParquet(
      ROWS.filter((r) => !('remove' in r)),
      schema,
    )
    expect(() => decodeCheckpoint(file, 'mistyped.parquet')).toThrow()
    const store = new MemoryStore()
    const key = '_delta_log/00000000000000000001.checkpoint.parquet'
    await store.put(key, file)
    await expect(
      readCheckpoint(store, 'mem', { version: 1, flavor: 'classic', keys: [key] }),
    ).rejects.toMatchObject({ code: 'CORRUPT_CHECKPOINT' })
  })

  it('throws for a truncated file, and readCheckpoint reports CORRUPT_CHECKPOINT', async () => {
    const file = writtenCheckpoint().slice(0, 400)
    expect(() => decodeCheckpoint(file, 'cut.parquet')).toThrow(DeltaError)
    const store = new MemoryStore()
    const key = '_delta_log/00000000000000000001.checkpoint.parquet'
    await store.put(key, file)
    await expect(
      readCheckpoint(store, 'mem', { version: 1, flavor: 'classic', keys: [key] }),
    ).rejects.toMatchObject({ code: 'CORRUPT_CHECKPOINT' })
  })
})

describeWithFixtures('decodeCheckpoint on every golden checkpoint', (root) => {
  const files = checkpointFiles(root)

  it('finds checkpoint files', () => {
    expect(files.length).toBeGreaterThan(10)
  })

  it.each(files.map((file) => [path.relative(root, file), file]))(
    'decodes %s exactly like the row reader',
    async (_name, file) => {
      const { fast, rows } = await bothWays(new Uint8Array(readFileSync(file)), file)
      expect(fast).toStrictEqual(rows)
    },
  )
})

describeWithOracle('decodeCheckpoint on checkpoints written by pyarrow', async (oracle) => {
  const dir = await makeTempDir('checkpoint-variants-')
  const root = path.resolve(import.meta.dirname, '../../../../shared/fixtures/delta')
  const sources = (() => {
    try {
      return checkpointFiles(root).filter((f) => !f.includes('_sidecars'))
    } catch {
      return []
    }
  })()
  const { files } = await oracle.runJson<{ files: { name: string; path: string }[] }>(
    'tests/delta/checkpoint/py/checkpoint_variants.py',
    [dir, ...sources],
    { timeoutMs: 300_000 },
  )

  it.each(files.map((f) => [f.name, f.path]))(
    'decodes %s exactly like the row reader',
    async (name, file) => {
      const { fast, rows } = await bothWays(new Uint8Array(readFileSync(file)), name)
      expect(fast).toStrictEqual(rows)
    },
  )

  it('reports the first malformed row like the row reader', () => {
    const file = files.find((f) => f.name === 'malformed (default)')!
    const content = decodeCheckpoint(new Uint8Array(readFileSync(file.path)), 'm.parquet')
    expect(content.malformed?.code).toBe('MALFORMED_ACTION')
    expect(content.malformed?.context).toMatchObject({ action: 'add', field: 'path' })
  })
})

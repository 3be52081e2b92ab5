/**
 * Performance smoke test of the Parquet adapter: prints timings, asserts only correctness.
 * Sizes: PARQUET_PERF_CHECKPOINT_ROWS (default 10000) checkpoint-like rows with nested `add`
 * structs, and PARQUET_PERF_FLAT_ROWS (default 1000000) rows of five flat columns.
 */
import { describe, expect, it } from 'vitest'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import type { DataType } from '../../../src/delta/schema/data-type.js'
import { field, struct } from './sample-rows.js'

const CHECKPOINT_ROWS = Number(process.env.PARQUET_PERF_CHECKPOINT_ROWS ?? 10_000)
const FLAT_ROWS = Number(process.env.PARQUET_PERF_FLAT_ROWS ?? 1_000_000)

const stringMap: DataType = {
  type: 'map',
  keyType: 'string',
  valueType: 'string',
  valueContainsNull: true,
}
const strings: DataType = { type: 'array', elementType: 'string', containsNull: true }

/** The V1 checkpoint schema (PROTOCOL-DIGEST 4.1), without the optional parsed stats. */
const CHECKPOINT_SCHEMA = struct(
  field(
    'txn',
    struct(field('appId', 'string'), field('version', 'long'), field('lastUpdated', 'long')),
  ),
  field(
    'add',
    struct(
      field('path', 'string'),
      field('partitionValues', stringMap),
      field('size', 'long'),
      field('modificationTime', 'long'),
      field('dataChange', 'boolean'),
      field('tags', stringMap),
      field(
        'deletionVector',
        struct(
          field('storageType', 'string'),
          field('pathOrInlineDv', 'string'),
          field('offset', 'integer'),
          field('sizeInBytes', 'integer'),
          field('cardinality', 'long'),
        ),
      ),
      field('baseRowId', 'long'),
      field('defaultRowCommitVersion', 'long'),
      field('stats', 'string'),
    ),
  ),
  field(
    'remove',
    struct(
      field('path', 'string'),
      field('deletionTimestamp', 'long'),
      field('dataChange', 'boolean'),
      field('extendedFileMetadata', 'boolean'),
      field('partitionValues', stringMap),
      field('size', 'long'),
    ),
  ),
  field(
    'metaData',
    struct(
      field('id', 'string'),
      field('name', 'string'),
      field('description', 'string'),
      field('format', struct(field('provider', 'string'), field('options', stringMap))),
      field('schemaString', 'string'),
      field('partitionColumns', strings),
      field('configuration', stringMap),
      field('createdTime', 'long'),
    ),
  ),
  field(
    'protocol',
    struct(
      field('minReaderVersion', 'integer'),
      field('minWriterVersion', 'integer'),
      field('readerFeatures', strings),
      field('writerFeatures', strings),
    ),
  ),
)

function checkpointRows(count: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [
    {
      protocol: {
        minReaderVersion: 1,
        minWriterVersion: 2,
        readerFeatures: null,
        writerFeatures: null,
      },
    },
    {
      metaData: {
        id: 'table-id',
        name: null,
        description: null,
        format: { provider: 'parquet', options: new Map() },
        schemaString: '{"type":"struct","fields":[]}',
        partitionColumns: ['date'],
        configuration: new Map([['delta.checkpointInterval', '10']]),
        createdTime: 1_700_000_000_000n,
      },
    },
  ]
  for (let i = 0; i < count; i++) {
    const date = `2024-01-${String((i % 28) + 1).padStart(2, '0')}`
    const file = `date=${date}/part-${String(i).padStart(5, '0')}-${i.toString(16).padStart(32, '0')}-c000.snappy.parquet`
    const stats = {
      numRecords: 1000,
      minValues: { id: i },
      maxValues: { id: i + 999 },
      nullCount: { id: 0 },
    }
    rows.push(
      i % 10 === 9
        ? {
            remove: {
              path: file,
              deletionTimestamp: BigInt(1_700_000_000_000 + i),
              dataChange: true,
              extendedFileMetadata: true,
              partitionValues: new Map([['date', date]]),
              size: BigInt(100_000 + i),
            },
          }
        : {
            add: {
              path: file,
              partitionValues: new Map([['date', date]]),
              size: BigInt(100_000 + i),
              modificationTime: BigInt(1_700_000_000_000 + i),
              dataChange: true,
              tags: null,
              deletionVector: null,
              baseRowId: null,
              defaultRowCommitVersion: null,
              stats: JSON.stringify(stats),
            },
          },
    )
  }
  return rows
}

const FLAT_SCHEMA = struct(
  field('id', 'long', false),
  field('name', 'string'),
  field('score', 'double'),
  field('at', 'timestamp'),
  field('active', 'boolean'),
)

async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const start = performance.now()
  const result = await fn()
  console.log(`[parquet perf] ${label}: ${(performance.now() - start).toFixed(0)} ms`)
  return result
}

describe('Parquet adapter performance (smoke, prints timings)', () => {
  it(`writes and reads ${CHECKPOINT_ROWS} checkpoint-like rows`, async () => {
    const rows = checkpointRows(CHECKPOINT_ROWS)
    const file = await timed(`write checkpoint (${rows.length} rows)`, () =>
      writeParquet(rows, CHECKPOINT_SCHEMA),
    )
    console.log(`[parquet perf] checkpoint file: ${file.byteLength} bytes`)
    let read: Record<string, unknown>[] = []
    for (const run of ['cold', 'warm']) {
      read = await timed(`read checkpoint, all columns (${run})`, () =>
        readParquetRows(file, { schema: CHECKPOINT_SCHEMA }),
      )
    }
    await timed('read checkpoint, add and remove only', () =>
      readParquetRows(file, { schema: CHECKPOINT_SCHEMA, columns: ['add', 'remove'] }),
    )
    expect(read).toHaveLength(rows.length)
    expect(read[5]).toEqual({ txn: null, remove: null, metaData: null, protocol: null, ...rows[5] })
  })

  it(`writes and reads ${FLAT_ROWS} rows of five flat columns`, async () => {
    const rows = Array.from({ length: FLAT_ROWS }, (_, i) => ({
      id: BigInt(i),
      name: `user-${i % 50_000}`,
      score: i * 0.5,
      at: new Date(1_700_000_000_000 + i * 1000),
      active: i % 3 === 0,
    }))
    const file = await timed(`write flat (${FLAT_ROWS} rows)`, () =>
      writeParquet(rows, FLAT_SCHEMA),
    )
    console.log(`[parquet perf] flat file: ${file.byteLength} bytes`)
    const read = await timed(`read flat (${FLAT_ROWS} rows)`, () =>
      readParquetRows(file, { schema: FLAT_SCHEMA }),
    )
    expect(read).toHaveLength(FLAT_ROWS)
    expect(read[FLAT_ROWS - 1]).toEqual(rows[FLAT_ROWS - 1])
  }, 180_000)
})

/**
 * Damaged run headers of RLE / bit-packed hybrid streams (run-checks.ts). hyparquet repeats an
 * RLE run as often as its header says into an array sized by the page, so one header claiming
 * 2^28 values or more in the definition or repetition levels, the dictionary indices or the RLE
 * booleans of a page grew that array until V8 aborted the process (exit 133, nothing to catch).
 * Each case overwrites the first run header of one stream of a valid file with such a count, in
 * data pages v1 and v2, stored uncompressed or SNAPPY-compressed (inside the compressed stream's
 * first literal, whose bytes are the page's own), and expects `PARQUET_ERROR`. The tests run
 * in-process: a crash fails the suite.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { describeWithOracle } from '../../support/oracle.js'
import { makeTempDir } from '../../support/temp.js'
import { patchFirstStream } from './page-streams.js'
import type { PageStream } from './page-streams.js'
import { field, struct } from './sample-rows.js'

const longs: DataType = { type: 'array', elementType: 'long', containsNull: true }

const SCHEMA: StructType = struct(
  field('n', 'long'),
  field('l', longs),
  field('k', 'string', false),
  field('f', 'boolean', false),
)

/** The streams damaged, each by the column whose first data page starts with it. */
const STREAMS = [
  ['definition levels', 'n'],
  ['repetition levels', 'l.list.element'],
  ['dictionary indices', 'k'],
  ['RLE booleans', 'f'],
] as const

const COUNTS = [2 ** 28, 2 ** 30, 2 ** 31 - 1]

/** A varint of exactly five bytes (the longest a run header has). */
function varint5(value: number): number[] {
  return [0, 1, 2, 3, 4].map((i) => {
    const bits = Math.floor(value / 2 ** (7 * i)) & 0x7f
    return i < 4 ? bits | 0x80 : bits
  })
}

/** A copy of `file` whose first run of `stream` in the column's first page has `count` values. */
function damageFirstRun(
  file: Uint8Array,
  column: string,
  stream: PageStream,
  count: number,
): Uint8Array {
  return patchFirstStream(file, column, stream, 5, (bytes) => bytes.set(varint5(count * 2)))
}

async function expectParquetError(file: Uint8Array, schema: StructType): Promise<void> {
  const error = await readParquetRows(file, { schema, fileName: 'damaged.parquet' }).catch(
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeltaError)
  expect((error as DeltaError).code).toBe('PARQUET_ERROR')
}

const CASES = STREAMS.flatMap(([stream, column]) =>
  COUNTS.map((count) => [stream, column, count] as const),
)

function streamOf(name: string): PageStream {
  return name.endsWith('levels') ? 'levels' : 'values'
}

describe('damaged run headers in files of our writer (data page v1, SNAPPY)', () => {
  const random = (i: number): number => ((i * 2654435761) >>> 7) % 1000
  const rows = Array.from({ length: 300 }, (_, i) => ({
    n: random(i) < 300 ? null : BigInt(i),
    l: random(i + 1000) < 200 ? null : Array.from({ length: random(i) % 4 }, (_, j) => BigInt(j)),
    k: `key${random(i + 2000) % 10}`,
    f: random(i + 3000) < 500,
  }))
  const file = writeParquet(rows, SCHEMA)

  it('reads the undamaged file', async () => {
    expect(await readParquetRows(file, { schema: SCHEMA })).toHaveLength(rows.length)
  })

  // Our writer encodes booleans PLAIN.
  it.each(CASES.filter(([stream]) => stream !== 'RLE booleans'))(
    'rejects %s starting with a run of %s values (column %s)',
    async (stream, column, count) => {
      await expectParquetError(damageFirstRun(file, column, streamOf(stream), count), SCHEMA)
    },
  )
})

describeWithOracle('damaged run headers in files of pyarrow', async (oracle) => {
  const dir = await makeTempDir('run-checks-')
  const written = await oracle.runJson<Record<string, unknown>>(
    'tests/delta/parquet/py/write_run_files.py',
    [dir],
  )
  const names = Object.keys(written).sort()
  const files = new Map(
    await Promise.all(
      names.map(async (name) => [name, await fs.readFile(path.join(dir, name))] as const),
    ),
  )

  it.each(names)('reads the undamaged file %s', async (name) => {
    const file = files.get(name) as Uint8Array
    expect(await readParquetRows(file, { schema: SCHEMA })).toHaveLength(300)
  })

  it.each(names.flatMap((name) => CASES.map((c) => [name, ...c] as const)))(
    'rejects in %s %s starting with a run of %s values (column %s)',
    async (name, stream, column, count) => {
      const file = files.get(name) as Uint8Array
      await expectParquetError(damageFirstRun(file, column, streamOf(stream), count), SCHEMA)
    },
  )
})

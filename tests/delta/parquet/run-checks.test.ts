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
import { parquetMetadata } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { decompressPage } from 'hyparquet/src/datapage.js'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { chunkRange } from '../../../src/delta/parquet/check-pages.js'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { describeWithOracle } from '../../support/oracle.js'
import { makeTempDir } from '../../support/temp.js'
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

/**
 * Where `offset` of a stored section (a page, or the values of a v2 page) lies in the file:
 * the same place when uncompressed, inside the first literal of a SNAPPY stream otherwise.
 */
function storedAt(file: Uint8Array, section: number, codec: string, offset: number): number {
  if (codec === 'UNCOMPRESSED') return section + offset
  expect(codec).toBe('SNAPPY')
  let at = section
  while ((file[at++] as number) >= 0x80); // the uncompressed length
  const tag = file[at++] as number
  expect(tag & 3).toBe(0) // a literal
  let length = (tag >> 2) + 1
  if (length > 60) {
    const extra = length - 60
    length = 1
    for (let i = 0; i < extra; i++) length += (file[at++] as number) * 2 ** (8 * i)
  }
  expect(offset + 5).toBeLessThanOrEqual(length)
  return at + offset
}

/**
 * A copy of `file` whose first data page of `column` (in the first row group) starts `stream`
 * with an RLE run of `count` values: its first levels, or its values (of a column without
 * levels).
 */
function damageFirstRun(
  file: Uint8Array,
  column: string,
  stream: 'levels' | 'values',
  count: number,
): Uint8Array {
  const meta = parquetMetadata(file).row_groups[0]?.columns.find(
    (c) => c.meta_data?.path_in_schema.join('.') === column,
  )?.meta_data
  if (meta === undefined) throw new Error(`no column ${column}`)
  const reader = {
    view: new DataView(file.buffer, file.byteOffset, file.byteLength),
    offset: chunkRange(meta).start,
  }
  let header = parquetHeader(reader)
  while (header.type === 'DICTIONARY_PAGE') {
    reader.offset += header.compressed_page_size
    header = parquetHeader(reader)
  }
  const v1 = header.data_page_header
  const v2 = header.data_page_header_v2
  const encoding = v1?.encoding ?? v2?.encoding
  // The section holding the stream, how it is stored, and where the stream starts in it: v1
  // levels and RLE booleans after their byte length, dictionary indices after their bit width,
  // v2 levels at once (never compressed).
  const section = reader.offset
  let codec = meta.codec
  let size = header.uncompressed_page_size
  let offset = stream === 'levels' ? 4 : encoding === 'RLE' ? 4 : 1
  if (v2 !== undefined) {
    expect(v2.repetition_levels_byte_length + v2.definition_levels_byte_length > 0).toBe(
      stream === 'levels',
    )
    if (stream === 'levels') {
      codec = 'UNCOMPRESSED'
      offset = 0
    } else if (v2.is_compressed === false) {
      codec = 'UNCOMPRESSED'
    }
  }
  if (codec === 'UNCOMPRESSED') size = header.compressed_page_size
  const damaged = Uint8Array.from(file)
  damaged.set(varint5(count * 2), storedAt(file, section, codec, offset))
  // The section as hyparquet decompresses it now starts the stream with the damaged header.
  const stored = damaged.subarray(section, section + header.compressed_page_size)
  const page = decompressPage(stored, size, codec, undefined)
  expect([...page.subarray(offset, offset + 5)]).toEqual(varint5(count * 2))
  return damaged
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

function streamOf(name: string): 'levels' | 'values' {
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

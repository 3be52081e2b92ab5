/**
 * Damages the first stream of a column's first data page in place, for tests of damaged files:
 * the first levels of the page, or the values of a column without levels (dictionary indices
 * after their bit width, RLE booleans after their byte length). Stored uncompressed, the stream's
 * bytes are the file's; SNAPPY-compressed, only those inside the compressed page's first literal
 * are, so the damage must stay inside it (checked).
 * @module
 */
import { parquetMetadata } from 'hyparquet'
import type { CompressionCodec } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { decompressPage } from 'hyparquet/src/datapage.js'
import { expect } from 'vitest'
import { chunkRange } from '../../../src/delta/parquet/check-pages.js'

/** Which stream of the page: its first levels, or the values of a column without levels. */
export type PageStream = 'levels' | 'values'

/**
 * Where `offset` of a stored section (a page, or the values of a v2 page) lies in the file:
 * the same place when uncompressed, inside the first literal of a SNAPPY stream otherwise.
 */
function storedAt(
  file: Uint8Array,
  section: number,
  codec: CompressionCodec,
  offset: number,
  length: number,
): number {
  if (codec === 'UNCOMPRESSED') return section + offset
  expect(codec).toBe('SNAPPY')
  let at = section
  while ((file[at++] as number) >= 0x80); // the uncompressed length
  const tag = file[at++] as number
  expect(tag & 3).toBe(0) // a literal
  let literal = (tag >> 2) + 1
  if (literal > 60) {
    const extra = literal - 60
    literal = 1
    for (let i = 0; i < extra; i++) literal += (file[at++] as number) * 2 ** (8 * i)
  }
  expect(offset + length).toBeLessThanOrEqual(literal)
  return at + offset
}

/**
 * A copy of `file` whose first data page of `column` (in the first row group) has the first
 * `length` bytes of `stream` changed by `patch`.
 * @param file - a Parquet file (UNCOMPRESSED or SNAPPY chunks)
 * @param column - the leaf's path, dot-separated
 * @param stream - which stream
 * @param length - how many bytes `patch` receives
 * @param patch - changes the bytes it receives
 * @returns the damaged copy (the page decompresses to the patched bytes: checked)
 */
export function patchFirstStream(
  file: Uint8Array,
  column: string,
  stream: PageStream,
  length: number,
  patch: (bytes: Uint8Array) => void,
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
  const v2 = header.data_page_header_v2
  const encoding = header.data_page_header?.encoding ?? v2?.encoding
  // How the section holding the stream is stored, and where the stream starts in it: v1 levels
  // and RLE booleans after their byte length, dictionary indices after their bit width, v2
  // levels at once (never compressed).
  const section = reader.offset
  let codec = meta.codec
  let offset = stream === 'levels' || encoding === 'RLE' ? 4 : 1
  if (v2 !== undefined) {
    const levels = v2.repetition_levels_byte_length + v2.definition_levels_byte_length
    expect(levels > 0).toBe(stream === 'levels')
    if (stream === 'levels') offset = 0
    if (stream === 'levels' || v2.is_compressed === false) codec = 'UNCOMPRESSED'
  }
  const size =
    codec === 'UNCOMPRESSED' ? header.compressed_page_size : header.uncompressed_page_size
  const damaged = Uint8Array.from(file)
  const at = storedAt(file, section, codec, offset, length)
  patch(damaged.subarray(at, at + length))
  const stored = damaged.subarray(section, section + header.compressed_page_size)
  const page = decompressPage(stored, size, codec, undefined)
  expect(page.subarray(offset, offset + length)).toEqual(damaged.subarray(at, at + length))
  return damaged
}

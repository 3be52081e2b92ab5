/**
 * Checks of the RLE / bit-packed hybrid streams of data pages (the "Run Length Encoding /
 * Bit-Packing Hybrid" of the Parquet encodings spec) before hyparquet decodes them.
 *
 * hyparquet decodes a page's repetition and definition levels, its dictionary indices and its
 * RLE booleans into plain arrays sized by the page's value count, but writes an RLE run as often
 * as the run's header says: one damaged header (a count of 2^28 or more) grows such an array
 * until V8 aborts the process ("invalid size error"), which no `try` can catch. So each of these
 * streams is walked first, run header by run header, over the bytes hyparquet will read,
 * without producing values: an RLE run may hold no more values than its stream has left, a
 * bit-packed one only as many more as a writer pads, and each must lie inside its page. Values
 * are decoded only where they size the next stream: the definition levels of a v1 page whose
 * values are a hybrid stream too, which holds one value per present slot.
 *
 * Streams stored uncompressed (every level of a v2 page, any page of an UNCOMPRESSED chunk) are
 * walked before hyparquet runs. A compressed stream is walked when hyparquet has decompressed
 * it, by the decompressors {@link RunChecks} hands to hyparquet, before they return the page to
 * it: decompressing each page once. They recognise a page by its compressed bytes (a hash, then
 * a comparison), which is all a decompressor is given, and refuse any page not announced.
 * @module
 */
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { CompressionCodec, Compressors, PageHeader, ParquetType } from 'hyparquet'
import { decompressPage } from 'hyparquet/src/datapage.js'
import { DECOMPRESSORS, READABLE_CODECS } from './decompressors.js'
import { errorMessage, parquetError } from './parquet-error.js'
import { levelBitWidth } from './read-columns.js'

/** What the streams of a leaf column's pages depend on. @internal */
export interface LeafLayout {
  readonly maxDefinition: number
  readonly maxRepetition: number
  readonly type: ParquetType | undefined
}

/** How many values past its stream's end the last bit-packed run may pad. */
const MAX_PADDING = 1 << 16

/** Value encodings that hyparquet decodes as a hybrid stream. */
const HYBRID_VALUES: ReadonlySet<string> = new Set(['RLE', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY'])

/** A compressed page hyparquet will decompress, with the checks of its decompressed bytes. */
interface Announced {
  readonly bytes: Uint8Array
  /** Keyed by what they check: identical pages of identical layout are checked once. */
  readonly checks: Map<string, (page: Uint8Array) => void>
}

/** The check of a compressed stream, once decompressed. */
interface PendingCheck {
  readonly column: string
  /** What it depends on besides the page's bytes. */
  readonly key: string
  readonly check: (page: Uint8Array) => void
}

/**
 * The run checks of the pages of one file about to be decoded by hyparquet.
 * @internal
 */
export class RunChecks {
  readonly #fileName: string | undefined
  /** Announced pages by {@link fingerprint}. */
  readonly #pages = new Map<string, Announced[]>()

  /** @param fileName - for messages */
  constructor(fileName: string | undefined) {
    this.#fileName = fileName
  }

  /**
   * Announces a page hyparquet will read: walks the streams of a data page that are stored
   * uncompressed, and keeps the checks of those it will decompress.
   * @param raw - the page's bytes as stored, after its header
   * @param header - its header, already checked by `checkPageHeader`
   * @param leaf - the column's levels and physical type
   * @param codec - the column chunk's codec
   * @param column - the column's path, for messages
   * @throws Error naming the stream and the run
   */
  add(
    raw: Uint8Array,
    header: PageHeader,
    leaf: LeafLayout,
    codec: CompressionCodec,
    column: string,
  ): void {
    const compressed = codec !== 'UNCOMPRESSED'
    if (header.type === 'DATA_PAGE') {
      const h = header.data_page_header
      if (h === undefined) return
      // A page without values grows nothing, but hyparquet decompresses it too.
      const check =
        h.num_values === 0 ? undefined : (page: Uint8Array) => checkPageV1(page, h, leaf)
      if (!compressed) {
        check?.(raw)
      } else {
        const { maxDefinition, maxRepetition, type } = leaf
        const key = ['v1', h.num_values, h.encoding, maxDefinition, maxRepetition, type].join()
        this.#announce(raw, check && { column, key, check })
      }
    } else if (header.type === 'DATA_PAGE_V2') {
      const h = header.data_page_header_v2
      if (h === undefined) return
      checkLevelsV2(raw, h, leaf)
      const levels = h.repetition_levels_byte_length + h.definition_levels_byte_length
      const body = raw.subarray(levels)
      const check = (page: Uint8Array): void => checkValuesV2(page, h)
      // As hyparquet decides whether to decompress the values.
      if (!compressed || h.is_compressed === false || header.uncompressed_page_size === levels) {
        check(body)
      } else {
        const key = ['v2', h.num_values, h.num_nulls, h.encoding].join()
        this.#announce(body, { column, key, check })
      }
    } else if (header.type === 'DICTIONARY_PAGE' && compressed) {
      this.#announce(raw, undefined)
    }
  }

  /**
   * Decompressors for hyparquet that walk the announced streams of each page they decompress.
   * @returns one per readable codec (hyparquet does not call one for UNCOMPRESSED)
   */
  decompressors(): Compressors {
    const out: Compressors = {}
    for (const codec of READABLE_CODECS) {
      if (codec === 'UNCOMPRESSED') continue
      out[codec] = (input, outputLength) => {
        const checks = this.#find(fingerprint(input), input)?.checks
        if (checks === undefined) {
          throw parquetError('PARQUET_ERROR', 'a page to decode was not checked', {
            fileName: this.#fileName,
          })
        }
        const page = decompressPage(input, outputLength, codec, DECOMPRESSORS)
        for (const check of checks.values()) check(page)
        return page
      }
    }
    return out
  }

  #announce(bytes: Uint8Array, pending: PendingCheck | undefined): void {
    const key = fingerprint(bytes)
    let announced = this.#find(key, bytes)
    if (announced === undefined) {
      announced = { bytes, checks: new Map() }
      const same = this.#pages.get(key)
      if (same === undefined) this.#pages.set(key, [announced])
      else same.push(announced)
    }
    if (pending === undefined || announced.checks.has(pending.key)) return
    const { column, check } = pending
    announced.checks.set(pending.key, (page) => {
      try {
        check(page)
      } catch (cause) {
        throw parquetError('PARQUET_ERROR', `damaged column chunk: ${errorMessage(cause)}`, {
          fileName: this.#fileName,
          column,
          cause,
        })
      }
    })
  }

  #find(key: string, bytes: Uint8Array): Announced | undefined {
    const same = this.#pages.get(key)
    if (same === undefined) return undefined
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return same.find((a) => view.equals(a.bytes))
  }
}

/**
 * The SHA-1 of some bytes: native, so cheap next to decompressing them, and hard to collide, so
 * that a hostile file cannot fill one bucket of {@link RunChecks} with many pages.
 */
function fingerprint(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('base64')
}

type DataPageHeader = NonNullable<PageHeader['data_page_header']>
type DataPageHeaderV2 = NonNullable<PageHeader['data_page_header_v2']>

/** Walks the levels and hybrid values of a decompressed v1 page, as hyparquet reads them. */
function checkPageV1(page: Uint8Array, h: DataPageHeader, leaf: LeafLayout): void {
  const count = h.num_values
  const hybrid = HYBRID_VALUES.has(h.encoding)
  const { maxDefinition, maxRepetition } = leaf
  let offset = 0
  if (maxRepetition > 0) {
    offset = prefixedRuns(
      page,
      offset,
      levelBitWidth(maxRepetition),
      count,
      'repetition levels',
    ).next
  }
  let present = count
  if (maxDefinition > 0) {
    const target = hybrid ? maxDefinition : undefined
    const width = levelBitWidth(maxDefinition)
    const levels = prefixedRuns(page, offset, width, count, 'definition levels', target)
    offset = levels.next
    if (hybrid) present = levels.matches
  }
  if (!hybrid || present === 0) return
  if (leaf.type === 'BOOLEAN') {
    prefixedRuns(page, offset, 1, present, 'boolean values')
    return
  }
  // hyparquet skips the indices of a v1 page whose bit width is 0 (all zeros).
  const width = page[offset] ?? 0
  if (width > 0) walkRuns(page, offset + 1, width, present, 'dictionary indices')
}

/** Walks the levels of a v2 page, stored uncompressed before its values. */
function checkLevelsV2(raw: Uint8Array, h: DataPageHeaderV2, leaf: LeafLayout): void {
  const count = h.num_values
  if (leaf.maxRepetition > 0) {
    walkRuns(raw, 0, levelBitWidth(leaf.maxRepetition), count, 'repetition levels')
  }
  if (leaf.maxDefinition > 0) {
    const levels = raw.subarray(h.repetition_levels_byte_length)
    walkRuns(levels, 0, levelBitWidth(leaf.maxDefinition), count, 'definition levels')
  }
}

/** Walks the hybrid values of a v2 page (after its levels, decompressed). */
function checkValuesV2(values: Uint8Array, h: DataPageHeaderV2): void {
  const present = h.num_values - h.num_nulls
  if (!HYBRID_VALUES.has(h.encoding) || present === 0) return
  // hyparquet reads RLE values of v2 pages as booleans, whatever the column's type.
  if (h.encoding === 'RLE') prefixedRuns(values, 0, 1, present, 'boolean values')
  else walkRuns(values, 1, values[0] ?? 0, present, 'dictionary indices')
}

/** A stream after its 4-byte little-endian length (v1 levels, RLE booleans). */
function prefixedRuns(
  bytes: Uint8Array,
  offset: number,
  width: number,
  count: number,
  what: string,
  target?: number,
): { next: number; matches: number } {
  if (offset + 4 > bytes.byteLength) throw new Error(`${what}: length past the end of the page`)
  const length = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, true)
  const matches = walkRuns(bytes, offset + 4, width, count, what, target)
  return { next: offset + 4 + length, matches }
}

/**
 * Walks the runs of `count` values starting at `start`, reading nothing past the end of `bytes`
 * (hyparquet bounds its reads by the page, not by a stream's stated length).
 * @returns how many values equal `target` (0 without one)
 */
function walkRuns(
  bytes: Uint8Array,
  start: number,
  width: number,
  count: number,
  what: string,
  target?: number,
): number {
  if (width > 32) throw new Error(`${what}: bit width ${width} above 32`)
  const end = bytes.byteLength
  const valueBytes = (width + 7) >>> 3
  let at = start
  let seen = 0
  let matches = 0
  while (seen < count) {
    let header = 0
    for (let shift = 0; ; shift += 7) {
      if (at >= end) throw new Error(`${what} end after ${seen} of ${count} values`)
      if (shift > 28) throw new Error(`${what}: run header longer than 5 bytes`)
      const byte = bytes[at++] as number
      header += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) break
    }
    const left = count - seen
    if (header % 2 === 0) {
      const run = header / 2
      if (run > left) throw new Error(`${what}: RLE run of ${run} values where ${left} remain`)
      if (at + valueBytes > end) throw new Error(`${what}: run past the end of the page`)
      if (target !== undefined && littleEndian(bytes, at, valueBytes) === target) matches += run
      at += valueBytes
      seen += run
    } else {
      const values = (header - 1) * 4 // (header >> 1) groups of 8
      // hyparquet drops the values past the stream's end, but loops over them; writers pad the
      // last run (DuckDB to blocks of 256 values).
      if (values - left > MAX_PADDING) {
        throw new Error(`${what}: bit-packed run of ${values} values where ${left} remain`)
      }
      const size = (values / 8) * width
      if (at + size > end) throw new Error(`${what}: run past the end of the page`)
      const used = Math.min(values, left)
      if (target !== undefined) matches += countPacked(bytes, at, width, used, target)
      // hyparquet reads one byte of a run that occupies none (width 0, or no groups).
      at += size === 0 && at < end ? 1 : size
      seen += used
    }
  }
  return matches
}

function littleEndian(bytes: Uint8Array, at: number, length: number): number {
  let value = 0
  for (let i = 0; i < length; i++) value += (bytes[at + i] as number) * 2 ** (8 * i)
  return value
}

/** The number of set bits of every byte. */
const ONES = Uint8Array.from({ length: 256 }, (_, byte) => {
  let ones = 0
  for (let bits = byte; bits > 0; bits >>= 1) ones += bits & 1
  return ones
})

/** How many of the first `n` bit-packed values (least significant bits first) equal `target`. */
function countPacked(
  bytes: Uint8Array,
  at: number,
  width: number,
  n: number,
  target: number,
): number {
  if (width === 1) {
    // The common case (a nullable column outside lists): count the set bits bytewise.
    const whole = n >>> 3
    let ones = 0
    for (let i = 0; i < whole; i++) ones += ONES[bytes[at + i] as number] as number
    const rest = n & 7
    if (rest > 0) ones += ONES[(bytes[at + whole] as number) & ((1 << rest) - 1)] as number
    return target === 1 ? ones : n - ones
  }
  // Levels only: their width is that of the schema's nesting depth.
  if (width > 24) throw new Error(`level bit width ${width} above 24`)
  const mask = (1 << width) - 1
  let matches = 0
  let buffer = 0
  let bits = 0
  for (let i = 0; i < n; i++) {
    while (bits < width) {
      buffer |= (bytes[at++] as number) << bits
      bits += 8
    }
    if ((buffer & mask) === target) matches++
    buffer >>>= width
    bits -= width
  }
  return matches
}

/**
 * Column-wise reading of Parquet leaf columns as raw Dremel data: the definition and repetition
 * level of every slot plus the dense non-null values. Callers that know the shape of their data
 * (the checkpoint reader) build their records from the levels directly, skipping the generic
 * nested assembly of {@link readParquetRows}, which allocates several intermediate arrays and
 * objects per row and leaf.
 *
 * Only what checkpoints need is decoded: BOOLEAN, INT32, INT64 and BYTE_ARRAY (as UTF-8
 * strings) leaves in PLAIN, dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY) and RLE (booleans)
 * encodings, v1 and v2 data pages, every codec of the row reader. Anything else is a
 * `PARQUET_ERROR`, after which callers fall back to {@link readParquetRows}.
 * @module
 */
import { Buffer } from 'node:buffer'
import { parquetMetadata, parquetSchema } from 'hyparquet'
import type { ColumnMetaData, FileMetaData, PageHeader, ParquetType, SchemaTree } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { decompressPage } from 'hyparquet/src/datapage.js'
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js'
import { DeltaError } from '../errors.js'
import { checkPageHeader, isValueCount } from './check-pages.js'
import { DECOMPRESSORS, READABLE_CODECS } from './decompressors.js'
import { errorMessage, parquetError } from './parquet-error.js'

/** A node of a Parquet file's schema. @internal */
export interface ParquetSchemaNode {
  readonly name: string
  readonly repetition: 'REQUIRED' | 'OPTIONAL' | 'REPEATED'
  /** Physical type of a leaf; undefined for a group. */
  readonly physicalType: ParquetType | undefined
  /** The logical type name, else the converted type, else undefined (`STRING`, `MAP`, ...). */
  readonly annotation: string | undefined
  readonly children: readonly ParquetSchemaNode[]
}

/** A decoded value of a leaf column. @internal */
export type LeafValue = string | number | boolean

/** The Dremel data of one leaf column over every row group. @internal */
export interface LeafColumn {
  /** Number of slots (levels): one per row for a column outside any repeated field. */
  readonly numSlots: number
  /** Definition level of every slot (max level = value present). */
  readonly definitionLevels: Uint8Array
  /** Repetition level of every slot; empty when the column has no repeated ancestor. */
  readonly repetitionLevels: Uint8Array
  /** The non-null values in slot order. INT64 values are numbers (rounded like `Number(bigint)`). */
  readonly values: readonly LeafValue[]
}

/** A Parquet file opened for column-wise reads. @internal */
export interface ParquetColumns {
  readonly numRows: number
  /** The root of the file schema (its children are the top-level columns). */
  readonly schema: ParquetSchemaNode
  /**
   * Decodes one leaf column over all row groups.
   * @param path - names from the top-level column to the leaf, exactly as in the file
   * @throws DeltaError `PARQUET_ERROR` for a corrupt page, an unsupported encoding, type or codec
   */
  readLeaf(path: readonly string[]): LeafColumn
}

function toNode(tree: SchemaTree): ParquetSchemaNode {
  const e = tree.element
  return {
    name: e.name,
    repetition: e.repetition_type ?? 'REQUIRED',
    physicalType: tree.children.length > 0 ? undefined : (e.type ?? 'BYTE_ARRAY'),
    annotation: e.logical_type?.type ?? e.converted_type,
    children: tree.children.map(toNode),
  }
}

/**
 * Parses the footer of a Parquet file for column-wise reads.
 * @param data - the whole file
 * @param fileName - file name for error messages
 * @returns the opened file
 * @throws DeltaError `PARQUET_ERROR` when the footer or schema cannot be parsed
 * @internal
 */
export function openParquetColumns(data: Uint8Array, fileName?: string): ParquetColumns {
  let metadata: FileMetaData
  let tree: SchemaTree
  try {
    metadata = parquetMetadata(data, { geoparquet: false })
    tree = parquetSchema(metadata)
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `not a readable Parquet file: ${errorMessage(cause)}`, {
      fileName,
      cause,
    })
  }
  const schema = toNode(tree)
  return {
    numRows: Number(metadata.num_rows),
    schema,
    readLeaf: (path) => readLeaf(data, metadata, tree, path, fileName),
  }
}

interface LeafInfo {
  readonly type: ParquetType
  readonly maxDefinition: number
  readonly maxRepetition: number
}

function leafInfo(tree: SchemaTree, path: readonly string[]): LeafInfo | undefined {
  let node = tree
  let maxDefinition = 0
  let maxRepetition = 0
  for (const name of path) {
    const child = node.children.find((c) => c.element.name === name)
    if (child === undefined) return undefined
    const repetition = child.element.repetition_type ?? 'REQUIRED'
    if (repetition !== 'REQUIRED') maxDefinition++
    if (repetition === 'REPEATED') maxRepetition++
    node = child
  }
  if (node.children.length > 0) return undefined
  return { type: node.element.type ?? 'BYTE_ARRAY', maxDefinition, maxRepetition }
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Growable level buffer. */
class Levels {
  data: Uint8Array
  length = 0

  constructor(capacity: number) {
    this.data = new Uint8Array(Math.max(capacity, 16))
  }

  /** Room for `n` more levels, returned as a view to decode into. */
  reserve(n: number): Uint8Array {
    if (this.length + n > this.data.length) {
      const grown = new Uint8Array(Math.max(this.length + n, this.data.length * 2))
      grown.set(this.data.subarray(0, this.length))
      this.data = grown
    }
    const view = this.data.subarray(this.length, this.length + n)
    this.length += n
    return view
  }

  fill(n: number, level: number): void {
    this.reserve(n).fill(level)
  }

  result(): Uint8Array {
    return this.data.subarray(0, this.length)
  }
}

interface ChunkState {
  readonly info: LeafInfo
  readonly definitions: Levels
  readonly repetitions: Levels
  readonly values: LeafValue[]
  dictionary: readonly LeafValue[] | undefined
}

function readLeaf(
  data: Uint8Array,
  metadata: FileMetaData,
  tree: SchemaTree,
  path: readonly string[],
  fileName: string | undefined,
): LeafColumn {
  const column = path.join('.')
  const info = leafInfo(tree, path)
  if (info === undefined) {
    throw parquetError('PARQUET_ERROR', 'no such leaf column', { fileName, column })
  }
  if (info.maxDefinition > 255 || info.maxRepetition > 255) {
    throw parquetError('PARQUET_ERROR', 'nesting too deep for column-wise reading', {
      fileName,
      column,
    })
  }
  const numSlotsHint = metadata.row_groups.reduce((n, g) => n + Number(g.num_rows), 0)
  const state: ChunkState = {
    info,
    definitions: new Levels(numSlotsHint),
    repetitions: new Levels(info.maxRepetition > 0 ? numSlotsHint : 0),
    values: [],
    dictionary: undefined,
  }
  try {
    for (const group of metadata.row_groups) {
      const chunk = group.columns.find(
        (c) => c.meta_data !== undefined && samePath(c.meta_data.path_in_schema, path),
      )
      if (chunk?.meta_data === undefined) throw new Error('row group has no chunk for the column')
      readChunk(data, chunk.meta_data, state)
    }
  } catch (cause) {
    if (cause instanceof DeltaError) throw cause
    throw parquetError('PARQUET_ERROR', `cannot decode: ${errorMessage(cause)}`, {
      fileName,
      column,
      cause,
    })
  }
  return {
    numSlots: state.definitions.length,
    definitionLevels: state.definitions.result(),
    repetitionLevels: state.repetitions.result(),
    values: state.values,
  }
}

function readChunk(data: Uint8Array, meta: ColumnMetaData, state: ChunkState): void {
  if (!READABLE_CODECS.has(meta.codec)) throw new Error(`unsupported codec ${meta.codec}`)
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
  const end = start + Number(meta.total_compressed_size)
  if (!(start >= 0 && end <= data.byteLength && start <= end)) {
    throw new Error(`column chunk [${start}, ${end}) outside the file`)
  }
  const view = new DataView(data.buffer, data.byteOffset + start, end - start)
  const reader = { view, offset: 0 }
  const expected = Number(meta.num_values)
  if (!isValueCount(expected)) throw new Error(`invalid value count ${String(meta.num_values)}`)
  let slots = 0
  state.dictionary = undefined
  while (slots < expected) {
    if (reader.offset >= view.byteLength) {
      throw new Error(`column chunk ends after ${slots} of ${expected} values`)
    }
    const header = parquetHeader(reader)
    const pageStart = reader.offset
    if (pageStart > view.byteLength) throw new Error('page header extends past its column chunk')
    checkPageHeader(header, view.byteLength - pageStart)
    const pageEnd = pageStart + header.compressed_page_size
    const raw = new Uint8Array(
      view.buffer,
      view.byteOffset + pageStart,
      header.compressed_page_size,
    )
    reader.offset = pageEnd
    if (header.type === 'DICTIONARY_PAGE') {
      const count = header.dictionary_page_header?.num_values ?? 0
      const page = decompressPage(raw, header.uncompressed_page_size, meta.codec, DECOMPRESSORS)
      const dictionary: LeafValue[] = []
      decodePlain(page, 0, state.info.type, count, dictionary)
      state.dictionary = dictionary
    } else if (header.type === 'DATA_PAGE') {
      slots += readDataPageV1(raw, header, meta, state)
    } else if (header.type === 'DATA_PAGE_V2') {
      slots += readDataPageV2(raw, header, meta, state)
    }
    // INDEX_PAGE: nothing to decode.
  }
}

/**
 * The bit width of levels up to `maxLevel` in the RLE/bit-packed hybrid (0 for a level that is
 * always 0).
 * @param maxLevel - the greatest repetition or definition level
 * @returns bits per level
 * @internal
 */
export function levelBitWidth(maxLevel: number): number {
  return 32 - Math.clz32(maxLevel)
}

/** Decodes `count` levels (RLE/bit-packed hybrid) into the buffer. */
function decodeLevels(
  page: Uint8Array,
  offset: number,
  maxLevel: number,
  count: number,
  target: Levels,
  byteLength: number | undefined,
): number {
  const reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset }
  readRleBitPackedHybrid(reader, levelBitWidth(maxLevel), target.reserve(count), byteLength)
  return reader.offset
}

function countPresent(levels: Uint8Array, from: number, maxLevel: number): number {
  let n = 0
  for (let i = from; i < levels.length; i++) if (levels[i] === maxLevel) n++
  return n
}

function readDataPageV1(
  raw: Uint8Array,
  header: PageHeader,
  meta: ColumnMetaData,
  state: ChunkState,
): number {
  const daph = header.data_page_header
  if (daph === undefined) throw new Error('data page without header')
  const { maxDefinition, maxRepetition } = state.info
  const count = daph.num_values
  const page = decompressPage(raw, header.uncompressed_page_size, meta.codec, DECOMPRESSORS)
  let offset = 0
  if (maxRepetition > 0) {
    if (daph.repetition_level_encoding !== 'RLE') {
      throw new Error(`unsupported level encoding ${daph.repetition_level_encoding}`)
    }
    offset = decodeLevels(page, offset, maxRepetition, count, state.repetitions, undefined)
  }
  const defStart = state.definitions.length
  let present = count
  if (maxDefinition > 0) {
    if (daph.definition_level_encoding !== 'RLE') {
      throw new Error(`unsupported level encoding ${daph.definition_level_encoding}`)
    }
    offset = decodeLevels(page, offset, maxDefinition, count, state.definitions, undefined)
    present = countPresent(
      state.definitions.data.subarray(0, state.definitions.length),
      defStart,
      maxDefinition,
    )
  } else {
    state.definitions.fill(count, 0)
  }
  decodeValues(page, offset, daph.encoding, present, state)
  return count
}

function readDataPageV2(
  raw: Uint8Array,
  header: PageHeader,
  meta: ColumnMetaData,
  state: ChunkState,
): number {
  const daph = header.data_page_header_v2
  if (daph === undefined) throw new Error('data page v2 without header')
  const { maxDefinition, maxRepetition } = state.info
  const count = daph.num_values
  const repLength = daph.repetition_levels_byte_length
  const defLength = daph.definition_levels_byte_length
  if (repLength + defLength > raw.byteLength) throw new Error('levels extend past the page')
  if (maxRepetition > 0) decodeLevels(raw, 0, maxRepetition, count, state.repetitions, repLength)
  if (maxDefinition > 0) {
    decodeLevels(raw, repLength, maxDefinition, count, state.definitions, defLength)
  } else {
    state.definitions.fill(count, 0)
  }
  const present = count - daph.num_nulls
  const body = raw.subarray(repLength + defLength)
  const size = header.uncompressed_page_size - repLength - defLength
  const page =
    daph.is_compressed === false || size === 0
      ? body
      : decompressPage(body, size, meta.codec, DECOMPRESSORS)
  decodeValues(page, 0, daph.encoding, present, state)
  return count
}

function decodeValues(
  page: Uint8Array,
  offset: number,
  encoding: string,
  count: number,
  state: ChunkState,
): void {
  if (count === 0) return
  const { type } = state.info
  if (encoding === 'PLAIN') {
    decodePlain(page, offset, type, count, state.values)
    return
  }
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
  if (encoding === 'RLE' && type === 'BOOLEAN') {
    const bits = new Uint8Array(count)
    readRleBitPackedHybrid({ view, offset }, 1, bits, undefined)
    for (let i = 0; i < count; i++) state.values.push(bits[i] === 1)
    return
  }
  if (encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY') {
    const dictionary = state.dictionary
    if (dictionary === undefined) throw new Error('dictionary-encoded page without dictionary')
    const width = view.getUint8(offset)
    const indexes = new Uint32Array(count)
    if (width > 0) {
      readRleBitPackedHybrid(
        { view, offset: offset + 1 },
        width,
        indexes,
        page.byteLength - offset - 1,
      )
    }
    for (let i = 0; i < count; i++) {
      const value = dictionary[indexes[i] as number]
      if (value === undefined) throw new Error(`dictionary index ${indexes[i]} out of range`)
      state.values.push(value)
    }
    return
  }
  throw new Error(`unsupported encoding ${encoding} for ${type}`)
}

const TWO_POW_32 = 4294967296

function decodePlain(
  page: Uint8Array,
  offset: number,
  type: ParquetType,
  count: number,
  out: LeafValue[],
): void {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
  switch (type) {
    case 'BYTE_ARRAY': {
      const buffer = Buffer.from(page.buffer, page.byteOffset, page.byteLength)
      let at = offset
      for (let i = 0; i < count; i++) {
        const length = view.getUint32(at, true)
        at += 4
        if (at + length > page.byteLength) throw new Error('byte array extends past its page')
        out.push(buffer.toString('utf8', at, at + length))
        at += length
      }
      return
    }
    case 'INT64':
      if (offset + count * 8 > page.byteLength) throw new Error('values extend past their page')
      for (let i = 0; i < count; i++) {
        const at = offset + i * 8
        // Exact for |v| <= 2^53 and rounded once otherwise, like Number(bigint).
        out.push(view.getInt32(at + 4, true) * TWO_POW_32 + view.getUint32(at, true))
      }
      return
    case 'INT32':
      if (offset + count * 4 > page.byteLength) throw new Error('values extend past their page')
      for (let i = 0; i < count; i++) out.push(view.getInt32(offset + i * 4, true))
      return
    case 'BOOLEAN':
      if (offset + Math.ceil(count / 8) > page.byteLength) {
        throw new Error('values extend past their page')
      }
      for (let i = 0; i < count; i++) {
        out.push((view.getUint8(offset + (i >> 3)) & (1 << (i & 7))) !== 0)
      }
      return
    default:
      throw new Error(`unsupported physical type ${type}`)
  }
}

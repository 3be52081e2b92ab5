/**
 * Checks of a Parquet file's page headers before its pages are decoded.
 *
 * hyparquet trusts page headers: a data page v2 header without its level lengths makes it read
 * levels from an undefined offset forever (found by mutating files), and a count of billions
 * makes it allocate and fill arrays of that size. A damaged or hostile file must end in a
 * `PARQUET_ERROR`, never in a hung or exhausted process, so every page header of the column
 * chunks about to be read is parsed and checked first: known page type, the fields its type
 * requires, sizes inside the column chunk, level lengths inside the page, and counts within
 * {@link MAX_VALUES}. Parsing headers costs little next to decoding the pages they describe.
 * Before a read, the run headers inside the data pages are checked too (`run-checks.ts`), and
 * the values to decode must fit in the heap ({@link checkDecodedSize}).
 * @module
 */
import { getHeapStatistics } from 'node:v8'
import type { FileMetaData, PageHeader, SchemaTree } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { RunChecks } from './run-checks.js'
import type { LeafLayout } from './run-checks.js'
import { errorMessage, parquetError } from './parquet-error.js'

/**
 * The most values one column chunk (or row group) may hold: far beyond what a process can turn
 * into rows, small enough that a lying header cannot make the reader allocate without bound.
 */
const MAX_VALUES = 2 ** 28

/**
 * Heap bytes counted per decoded value (its slot in hyparquet's level and value arrays, a boxed
 * number or string) and per row (the row object built from them): generous averages, so that
 * the estimate errs towards refusing.
 */
const HEAP_BYTES_PER_VALUE = 32
const HEAP_BYTES_PER_ROW = 64

/** The share of the heap's limit that one file's decoded rows may take. */
const HEAP_SHARE = 0.5

/**
 * Refuses to decode a file whose values would not fit in the heap. V8 ends the process when the
 * heap is exhausted, which no `try` can catch, so a file whose counts are consistent but too
 * large for this process (a damaged or hostile one that claims hundreds of millions of values,
 * or a genuine one far larger than a row reader can hold) must be refused before its pages are
 * decoded.
 * @param values - the values of the column chunks to decode
 * @param rows - the file's rows
 * @param fileName - for messages
 * @param heapLimit - the heap's limit in bytes (V8's, by default)
 * @throws DeltaError `PARQUET_ERROR` when the estimate exceeds half the limit
 * @internal
 */
export function checkDecodedSize(
  values: number,
  rows: number,
  fileName: string | undefined,
  heapLimit = getHeapStatistics().heap_size_limit,
): void {
  const estimate = values * HEAP_BYTES_PER_VALUE + rows * HEAP_BYTES_PER_ROW
  const budget = heapLimit * HEAP_SHARE
  if (estimate <= budget) return
  const mib = (bytes: number): string => `${Math.ceil(bytes / 2 ** 20).toLocaleString('en')} MiB`
  throw parquetError(
    'PARQUET_ERROR',
    `too large to read into memory: ${values.toLocaleString('en')} values in ` +
      `${rows.toLocaleString('en')} rows need about ${mib(estimate)} of heap, more than half ` +
      `of this process's limit of ${mib(heapLimit)} (node --max-old-space-size raises it)`,
    { fileName },
  )
}

const PAGE_TYPES = new Set(['DATA_PAGE', 'DATA_PAGE_V2', 'DICTIONARY_PAGE', 'INDEX_PAGE'])

/**
 * Whether a value or row count is a whole number from 0 to {@link MAX_VALUES}.
 * @param value - the count
 * @returns whether it is one
 * @internal
 */
export function isValueCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_VALUES
}

function size(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/**
 * Checks one page header.
 * @param header - the parsed header
 * @param room - bytes left in the column chunk after the header
 * @returns the values of a data page (0 for other pages)
 * @throws Error describing the first problem
 * @internal
 */
export function checkPageHeader(header: PageHeader, room: number): number {
  if (!PAGE_TYPES.has(header.type)) throw new Error(`unknown page type ${String(header.type)}`)
  if (!size(header.compressed_page_size) || header.compressed_page_size > room) {
    throw new Error(`page size ${String(header.compressed_page_size)} outside its column chunk`)
  }
  if (!size(header.uncompressed_page_size)) {
    throw new Error(`invalid uncompressed page size ${String(header.uncompressed_page_size)}`)
  }
  switch (header.type) {
    case 'DATA_PAGE': {
      const h = header.data_page_header
      if (h === undefined || !isValueCount(h.num_values) || h.encoding === undefined) {
        throw new Error('data page header without a valid value count or encoding')
      }
      if (h.definition_level_encoding === undefined || h.repetition_level_encoding === undefined) {
        throw new Error('data page header without level encodings')
      }
      return h.num_values
    }
    case 'DATA_PAGE_V2': {
      const h = header.data_page_header_v2
      if (
        h === undefined ||
        !isValueCount(h.num_values) ||
        !isValueCount(h.num_nulls) ||
        !isValueCount(h.num_rows) ||
        h.num_nulls > h.num_values ||
        h.encoding === undefined
      ) {
        throw new Error('data page v2 header without valid counts or encoding')
      }
      const levels = h.definition_levels_byte_length + h.repetition_levels_byte_length
      if (
        !size(h.definition_levels_byte_length) ||
        !size(h.repetition_levels_byte_length) ||
        levels > header.compressed_page_size ||
        levels > header.uncompressed_page_size
      ) {
        throw new Error('data page v2 header with invalid level lengths')
      }
      return h.num_values
    }
    case 'DICTIONARY_PAGE': {
      const h = header.dictionary_page_header
      if (h === undefined || !isValueCount(h.num_values)) {
        throw new Error('dictionary page header without a valid value count')
      }
      return 0
    }
    default:
      return 0
  }
}

/** A leaf column as hyparquet decodes it. */
interface Leaf extends LeafLayout {
  /** A top-level primitive that is not repeated: hyparquet reads its pages up to the rows. */
  readonly flat: boolean
}

/** The leaves under the given top-level columns, keyed by their paths joined with NUL. */
function leavesOf(tree: SchemaTree, columns: ReadonlySet<string>): Map<string, Leaf> {
  const out = new Map<string, Leaf>()
  // Levels count as hyparquet counts them: every element below the root that is not REQUIRED
  // (an absent repetition too) adds a definition level, every REPEATED one a repetition level.
  const walk = (node: SchemaTree, path: string[], definition: number, repetition: number): void => {
    const kind = node.element.repetition_type
    const maxDefinition = definition + (kind === 'REQUIRED' ? 0 : 1)
    const maxRepetition = repetition + (kind === 'REPEATED' ? 1 : 0)
    if (node.children.length === 0) {
      out.set(path.join('\u0000'), {
        maxDefinition,
        maxRepetition,
        type: node.element.type,
        flat: path.length === 1 && kind !== 'REPEATED',
      })
    }
    for (const child of node.children) {
      walk(child, [...path, child.element.name], maxDefinition, maxRepetition)
    }
  }
  for (const child of tree.children) {
    if (columns.has(child.element.name)) walk(child, [child.element.name], 0, 0)
  }
  return out
}

/**
 * Checks the row counts, the column chunks and their page headers for the leaves of
 * `columns`: every row group must hold exactly one chunk per leaf of the schema (hyparquet
 * gives up on a chunk whose path it cannot place while it goes on reading the others, whose
 * later failures then surface as unhandled rejections that end the process).
 *
 * With `decoded`, the chunks are about to be decoded by hyparquet, and every page it will read
 * is checked as it will read it: the RLE / bit-packed runs of its data pages too
 * ({@link RunChecks}: those stored compressed by the decompressors it returns, to be passed to
 * hyparquet), a top-level primitive column must hold one value per row (hyparquet reads its
 * pages up to the row group's rows), and the pages of any other column must fill their chunk
 * (hyparquet reads them up to its end).
 * @param data - the whole file
 * @param metadata - its parsed footer
 * @param tree - its schema
 * @param columns - top-level columns about to be read
 * @param fileName - for messages
 * @param decoded - whether hyparquet is about to decode the chunks (else they are only copied)
 * @returns the run checks of the pages hyparquet will decompress (none without `decoded`)
 * @throws DeltaError `PARQUET_ERROR` naming the file and column, and with `decoded` when the
 *   values would not fit in the heap ({@link checkDecodedSize})
 * @internal
 */
export function checkColumnChunks(
  data: Uint8Array,
  metadata: FileMetaData,
  tree: SchemaTree,
  columns: ReadonlySet<string>,
  fileName: string | undefined,
  decoded = false,
): RunChecks {
  const leaves = leavesOf(tree, columns)
  const runs = new RunChecks(fileName)
  let rows = 0
  let values = 0
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows)
    if (!isValueCount(groupRows)) {
      throw parquetError(
        'PARQUET_ERROR',
        `invalid row count ${String(group.num_rows)} in a row group`,
        { fileName },
      )
    }
    rows += groupRows
    const found = new Set<string>()
    for (const chunk of group.columns) {
      const meta = chunk.meta_data
      const path = meta?.path_in_schema
      if (meta === undefined || path === undefined || !columns.has(path[0] ?? '')) continue
      const key = path.join('\u0000')
      const column = path.join('.')
      const leaf = leaves.get(key)
      if (leaf === undefined || found.has(key)) {
        throw parquetError('PARQUET_ERROR', 'a column chunk does not match the schema', {
          fileName,
          column,
        })
      }
      found.add(key)
      try {
        // hyparquet skips row groups without rows.
        const read = decoded && groupRows > 0 ? { leaf, rows: groupRows, runs, column } : undefined
        values += checkChunk(data, meta, read)
      } catch (cause) {
        throw parquetError('PARQUET_ERROR', `damaged column chunk: ${errorMessage(cause)}`, {
          fileName,
          column,
          cause,
        })
      }
    }
    if (found.size !== leaves.size) {
      throw parquetError('PARQUET_ERROR', 'a row group lacks column chunks of the schema', {
        fileName,
      })
    }
  }
  if (rows > MAX_VALUES || rows !== Number(metadata.num_rows)) {
    throw parquetError(
      'PARQUET_ERROR',
      `row count ${String(metadata.num_rows)} does not match the row groups (${rows})`,
      { fileName },
    )
  }
  if (decoded) checkDecodedSize(values, rows, fileName)
  return runs
}

/**
 * Where a column chunk lies in its file, as hyparquet locates it: from its dictionary page when
 * it has one (some writers set a dictionary offset of 0 without one), else from its first data
 * page, over its compressed size.
 * @param meta - the chunk's parsed metadata
 * @returns the byte range `[start, end)` (not checked against the file)
 * @internal
 */
export function chunkRange(meta: ChunkMeta): { start: number; end: number } {
  const dictionary = Number(meta.dictionary_page_offset ?? 0)
  const first = Number(meta.data_page_offset)
  const start = dictionary > 0 && dictionary < first ? dictionary : first
  return { start, end: start + Number(meta.total_compressed_size) }
}

type ChunkMeta = NonNullable<FileMetaData['row_groups'][number]['columns'][number]['meta_data']>

/** How hyparquet will decode a column chunk. */
interface ChunkRead {
  readonly leaf: Leaf
  /** The rows of its row group. */
  readonly rows: number
  readonly runs: RunChecks
  readonly column: string
}

/**
 * Checks the pages of one column chunk: their headers, and with `decoded` the pages hyparquet
 * will decode as it will read them.
 */
function checkChunk(data: Uint8Array, meta: ChunkMeta, decoded: ChunkRead | undefined): number {
  const expected = Number(meta.num_values)
  if (!isValueCount(expected)) throw new Error(`invalid value count ${String(meta.num_values)}`)
  if (decoded?.leaf.flat === true && expected !== decoded.rows) {
    throw new Error(`${expected} values in a row group of ${decoded.rows} rows`)
  }
  const toEnd = decoded?.leaf.flat === false
  const { start, end } = chunkRange(meta)
  if (!(Number.isSafeInteger(start) && start >= 0 && end <= data.byteLength && start <= end)) {
    throw new Error(`column chunk [${start}, ${end}) outside the file`)
  }
  const reader = {
    view: new DataView(data.buffer, data.byteOffset, data.byteLength),
    offset: start,
  }
  let values = 0
  // hyparquet stops reading a chunk when one byte is left.
  while (values < expected || (toEnd && reader.offset < end - 1)) {
    if (reader.offset >= end)
      throw new Error(`column chunk ends after ${values} of ${expected} values`)
    const header = parquetHeader(reader)
    if (reader.offset > end) throw new Error('page header extends past its column chunk')
    values += checkPageHeader(header, end - reader.offset)
    if (decoded !== undefined) {
      const page = data.subarray(reader.offset, reader.offset + header.compressed_page_size)
      decoded.runs.add(page, header, decoded.leaf, meta.codec, decoded.column)
    }
    reader.offset += header.compressed_page_size
  }
  if (values !== expected) throw new Error(`pages hold ${values} values, the chunk ${expected}`)
  return values
}

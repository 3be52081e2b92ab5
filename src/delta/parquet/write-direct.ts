/**
 * The engine's own Parquet writer, for every schema whose leaves are repeated at most once (no
 * list of lists, no list inside a map): each column chunk is written in one pass, the Thrift
 * compact protocol directly, without a general writer's generic column shredding and metadata
 * objects. Two layouts:
 * - **compact** (small appends: a group commit, a login's session row, an audit event; and
 *   checkpoints): one row group, one data page per column, PLAIN values;
 * - **paged** (larger files): row groups of a given number of rows, data pages of at most
 *   {@link PAGE_MAX_ROWS} rows (by default) and about {@link PAGE_TARGET_BYTES} bytes (cut at row
 *   boundaries), and string columns with repeated values dictionary-encoded (a PLAIN
 *   dictionary page, then RLE_DICTIONARY indices), as parquet-java and Arrow write them.
 *
 * Both (PARQUET-FORMAT "File format"): data pages v1, repetition and definition levels and
 * dictionary indices in the RLE/bit-packed hybrid, pages snappy-compressed, and footer
 * statistics with the type-defined column order: `null_count`, and `min_value`/`max_value` of
 * the non-null values (NaN left out, zeros as -0/+0, byte arrays compared unsigned and cut to
 * {@link STATISTICS_TRUNCATE_LENGTH} bytes with `is_*_value_exact` false, as the general writer
 * does).
 * @module
 */
import type { SchemaElement } from 'hyparquet-writer'
import { snappyCompress } from './snappy.js'

/**
 * Footer min/max of BYTE_ARRAY columns are cut to this many bytes, by both writers: the min
 * becomes a prefix on a code point boundary (still a lower bound), the max is rounded up (still
 * an upper bound), and both are marked `is_min_value_exact` / `is_max_value_exact` false, so
 * pruning readers (Spark, Arrow, DuckDB, delta-rs) stay correct while readers that would take
 * the bounds as exact values see that they are not. Long values (JSON `stats` strings in
 * checkpoints, free text) would otherwise put whole copies of themselves in every footer; 64
 * bytes is parquet-java's column-index truncation length.
 */
export const STATISTICS_TRUNCATE_LENGTH = 64

/**
 * One step from a value of a top-level field towards a leaf: into a struct's field, or over
 * the elements of a list, the keys or the values of a map.
 */
type Step =
  | { readonly kind: 'struct'; readonly optional: boolean; readonly child: string }
  | { readonly kind: 'list'; readonly optional: boolean }
  | { readonly kind: 'map'; readonly optional: boolean; readonly keys: boolean }

/** One leaf column of a top-level field. */
interface Leaf {
  readonly element: SchemaElement
  readonly path: readonly string[]
  readonly steps: readonly Step[]
  readonly optional: boolean
  readonly maxDefinition: number
  readonly maxRepetition: number
}

/** How {@link writeDirect} writes a schema: the leaves of each top-level field. */
export interface DirectPlan {
  /** Every schema element below the root, depth first. */
  readonly elements: readonly SchemaElement[]
  /** The leaves of each top-level field, in field order. */
  readonly fields: readonly (readonly Leaf[])[]
}

interface Node {
  readonly element: SchemaElement
  readonly children: Node[]
}

// Thrift compact protocol type ids.
const T_TRUE = 1
const T_FALSE = 2
const T_I32 = 5
const T_I64 = 6
const T_BINARY = 8
const T_LIST = 9
const T_STRUCT = 12

const PHYSICAL = {
  BOOLEAN: 0,
  INT32: 1,
  INT64: 2,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7,
} as const
type Physical = keyof typeof PHYSICAL

const CONVERTED: Readonly<Record<string, number>> = {
  UTF8: 0,
  MAP: 1,
  LIST: 3,
  DECIMAL: 5,
  DATE: 6,
  TIMESTAMP_MICROS: 10,
  INT_8: 15,
  INT_16: 16,
}

const ENCODING_PLAIN = 0
const ENCODING_RLE = 3
const CODEC_SNAPPY = 1
const PAGE_DATA = 0

/** A growable little-endian byte buffer. */
class Bytes {
  buf: Uint8Array
  view: DataView
  length = 0

  constructor(size: number) {
    this.buf = new Uint8Array(size)
    this.view = new DataView(this.buf.buffer)
  }

  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n))
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8(b: number): void {
    this.ensure(1)
    this.buf[this.length++] = b
  }

  u32(n: number): void {
    this.ensure(4)
    this.view.setUint32(this.length, n, true)
    this.length += 4
  }

  i32(n: number): void {
    this.ensure(4)
    this.view.setInt32(this.length, n, true)
    this.length += 4
  }

  i64(n: bigint): void {
    this.ensure(8)
    this.view.setBigInt64(this.length, n, true)
    this.length += 8
  }

  f32(n: number): void {
    this.ensure(4)
    this.view.setFloat32(this.length, n, true)
    this.length += 4
  }

  f64(n: number): void {
    this.ensure(8)
    this.view.setFloat64(this.length, n, true)
    this.length += 8
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
  }

  /** Unsigned LEB128 varint of a non-negative safe integer. */
  varint(n: number): void {
    this.ensure(8)
    while (n >= 0x80) {
      this.buf[this.length++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.length++] = n
  }

  /** Writes `s` as UTF-8 (lone surrogates as U+FFFD) and returns its byte length. */
  utf8(s: string): number {
    const n = s.length
    this.ensure(n * 3)
    const buf = this.buf
    const at = this.length
    if (n <= ASCII_LOOP_MAX) {
      // Short ASCII strings byte by byte: cheaper than a TextEncoder call and its subarray.
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[at + i] = c
      }
      if (i === n) {
        this.length = at + n
        return n
      }
    }
    const { written } = ENCODER.encodeInto(s, buf.subarray(at))
    this.length = at + written
    return written
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}

const ENCODER = new TextEncoder()
/** Strings up to this length are tried as ASCII first by {@link Bytes.utf8}. */
const ASCII_LOOP_MAX = 64

/** Zigzag of a safe integer, as a non-negative number. */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1
}

/** A Thrift compact-protocol struct writer over {@link Bytes}. */
class Thrift {
  readonly out: Bytes
  #last = 0
  readonly #outer: number[] = []

  constructor(out: Bytes) {
    this.out = out
  }

  #field(id: number, type: number): void {
    const delta = id - this.#last
    if (delta > 0 && delta <= 15) this.out.u8((delta << 4) | type)
    else {
      this.out.u8(type)
      this.out.varint(zigzag(id))
    }
    this.#last = id
  }

  i32(id: number, n: number): void {
    this.#field(id, T_I32)
    this.out.varint(zigzag(n))
  }

  i64(id: number, n: number): void {
    this.#field(id, T_I64)
    this.out.varint(zigzag(n))
  }

  bool(id: number, b: boolean): void {
    this.#field(id, b ? T_TRUE : T_FALSE)
  }

  binary(id: number, b: Uint8Array): void {
    this.#field(id, T_BINARY)
    this.out.varint(b.length)
    this.out.bytes(b)
  }

  string(id: number, s: string): void {
    this.binary(id, ENCODER.encode(s))
  }

  /** Starts a struct-valued field; its fields follow, then {@link Thrift.end}. */
  struct(id: number): void {
    this.#field(id, T_STRUCT)
    this.begin()
  }

  /** Starts a struct without a field header (a list element, or the top level). */
  begin(): void {
    this.#outer.push(this.#last)
    this.#last = 0
  }

  /** Ends the innermost struct. */
  end(): void {
    this.out.u8(0)
    this.#last = this.#outer.pop() ?? 0
  }

  /** Starts a list field of `size` elements of type `elementType`. */
  list(id: number, elementType: number, size: number): void {
    this.#field(id, T_LIST)
    if (size < 15) this.out.u8((size << 4) | elementType)
    else {
      this.out.u8(0xf0 | elementType)
      this.out.varint(size)
    }
  }

  /** An i32 list element. */
  elementI32(n: number): void {
    this.out.varint(zigzag(n))
  }

  /** A binary list element. */
  elementBinary(b: Uint8Array): void {
    this.out.varint(b.length)
    this.out.bytes(b)
  }

  /** A binary (string) list element. */
  elementString(s: string): void {
    const b = ENCODER.encode(s)
    this.out.varint(b.length)
    this.out.bytes(b)
  }
}

/** Min/max of one column chunk, already in the statistics' byte form. */
interface Bounds {
  readonly min: Uint8Array
  readonly max: Uint8Array
  readonly minExact: boolean
  readonly maxExact: boolean
}

/** What one column chunk contributed to the file, for the footer. */
interface ChunkInfo {
  readonly leaf: Leaf
  readonly physical: Physical
  /** Entries (levels) in the column chunk. */
  readonly count: number
  /** Where the chunk starts: its dictionary page, else its first data page. */
  readonly offset: number
  readonly dataOffset: number
  readonly dictionaryOffset: number | undefined
  readonly uncompressed: number
  readonly compressed: number
  readonly nulls: number
  readonly bounds: Bounds | undefined
}

/** A copied chunk, and where it landed. */
interface CopiedInfo {
  readonly copied: CopiedChunk
  readonly offset: number
}

type FooterChunk = ChunkInfo | CopiedInfo

/** The column chunks of one row group. */
interface GroupInfo {
  readonly rowCount: number
  readonly chunks: readonly FooterChunk[]
}

/**
 * Plans the writing of a schema, or says that this writer cannot write it (a leaf repeated
 * more than once).
 * @param elements - the schema elements below the root, depth first
 * @returns the plan, or undefined
 */
export function planDirect(elements: readonly SchemaElement[]): DirectPlan | undefined {
  const fields: Leaf[][] = []
  let next = 0
  const parse = (): Node => {
    const element = elements[next++] as SchemaElement
    const children: Node[] = []
    for (let i = 0; i < (element.num_children ?? 0); i++) children.push(parse())
    return { element, children }
  }
  while (next < elements.length) {
    const leaves: Leaf[] = []
    collectLeaves(parse(), [], [], 0, 0, leaves)
    if (leaves.some((l) => l.maxRepetition > 1)) return undefined
    fields.push(leaves)
  }
  return { elements, fields }
}

function collectLeaves(
  node: Node,
  path: readonly string[],
  steps: readonly Step[],
  definition: number,
  repetition: number,
  out: Leaf[],
): void {
  const { element, children } = node
  const optional = element.repetition_type === 'OPTIONAL'
  const here = [...path, element.name]
  const defined = definition + (optional ? 1 : 0)
  if (children.length === 0) {
    out.push({
      element,
      path: here,
      steps,
      optional,
      maxDefinition: defined,
      maxRepetition: repetition,
    })
    return
  }
  if (element.converted_type === 'LIST' || element.converted_type === 'MAP') {
    // <name> / repeated list|key_value / element | key, value
    const repeated = children[0] as Node
    const inner = [...here, repeated.element.name]
    const list = element.converted_type === 'LIST'
    repeated.children.forEach((child, i) => {
      const step: Step = list
        ? { kind: 'list', optional }
        : { kind: 'map', optional, keys: i === 0 }
      collectLeaves(child, inner, [...steps, step], defined + 1, repetition + 1, out)
    })
    return
  }
  for (const child of children) {
    const step: Step = { kind: 'struct', optional, child: child.element.name }
    collectLeaves(child, here, [...steps, step], defined, repetition, out)
  }
}

/** How {@link writeDirect} lays a file out. */
export interface DirectLayout {
  /** The footer's `created_by`. */
  readonly createdBy: string
  /**
   * `false`: one row group and one PLAIN data page per column (the caller keeps the file
   * within one row group); `true`: row groups of {@link DirectLayout.rowGroupSize} rows,
   * pages cut by size, dictionaries for string columns with repeated values.
   */
  readonly paged: boolean
  /** Rows per row group (paged layout). */
  readonly rowGroupSize: number
  /** Rows per data page (paged layout; pages of lists and maps hold whole rows, about as many). */
  readonly pageMaxRows: number
}

/** Default of {@link DirectLayout.pageMaxRows} (parquet-java's page row count limit). */
export const PAGE_MAX_ROWS = 20_000
/** A data page is cut once its PLAIN values reach about this many bytes (parquet-java's page size). */
export const PAGE_TARGET_BYTES = 1 << 20

/**
 * Writes rows as a Parquet file, one column chunk per step: the generator yields after each
 * column chunk, so that a caller may let other work run between them
 * (`writeParquetYielding`), and returns the file bytes.
 * @param plan - the schema's plan ({@link planDirect})
 * @param values - the values of each top-level field, converted (see `write-parquet.ts`):
 *   `null` for nulls; string, Uint8Array, bigint, number or boolean for primitives; objects,
 *   arrays and Maps of those for structs, lists and maps
 * @param rowCount - rows (at least 1)
 * @param layout - compact or paged, and the footer's `created_by`
 * @returns the steps, then the file bytes
 */
export function* writeDirect(
  plan: DirectPlan,
  values: readonly (readonly unknown[])[],
  rowCount: number,
  layout: DirectLayout,
): Generator<void, Uint8Array> {
  const groupSize = layout.paged ? layout.rowGroupSize : rowCount
  const groups: DirectGroup[] = []
  for (let start = 0; start < rowCount; start += groupSize) {
    const end = Math.min(rowCount, start + groupSize)
    groups.push({
      rowCount: end - start,
      fields: values.map((all) => ({
        values: start === 0 && end === all.length ? all : all.slice(start, end),
      })),
    })
  }
  return yield* writeDirectGroups(plan, groups, layout)
}

/**
 * A column chunk of another Parquet file, copied byte for byte: its bytes (dictionary page,
 * data pages) and its `ColumnMetaData` as parsed by hyparquet's Thrift reader (`field_<id>`).
 */
export interface CopiedChunk {
  readonly bytes: Uint8Array
  /** Where the chunk started in its file (its page offsets are relative to that file). */
  readonly start: number
  readonly meta: ThriftFields
  /** Keep its min/max statistics (only when its file declared their order). */
  readonly keepBounds: boolean
}

/** A Thrift struct as hyparquet's compact-protocol reader returns it. */
export type ThriftFields = Readonly<Record<string, unknown>>

/** One row group to write: per top-level field, its values, or its leaves' chunks to copy. */
export interface DirectGroup {
  readonly rowCount: number
  readonly fields: readonly (
    { readonly values: readonly unknown[] } | { readonly copies: readonly CopiedChunk[] }
  )[]
}

/**
 * Writes row groups as a Parquet file (see {@link writeDirect}); a field given as copies takes
 * its leaves' chunks byte for byte, with their page offsets moved to where they land.
 * @param plan - the schema's plan ({@link planDirect})
 * @param groups - the row groups, each with one entry per top-level field of the plan
 * @param layout - compact or paged, and the footer's `created_by`
 * @returns the steps, then the file bytes
 */
export function* writeDirectGroups(
  plan: DirectPlan,
  groups: readonly DirectGroup[],
  layout: DirectLayout,
): Generator<void, Uint8Array> {
  const rowCount = groups.reduce((n, g) => n + g.rowCount, 0)
  const out = new Bytes(Math.min(1024 + rowCount * 16 * plan.fields.length, OUT_INITIAL_MAX))
  out.u32(0x31524150) // "PAR1"
  // Each column chunk is written in one synchronous step: one page and one compression buffer
  // serve every call, also when steps of several files interleave.
  if (scratch.page.buf.length > SCRATCH_KEEP) scratch.page = new Bytes(SCRATCH_INITIAL)
  if (scratch.zip.buf.length > SCRATCH_KEEP) scratch.zip = new Bytes(SCRATCH_INITIAL)
  const infos: GroupInfo[] = []
  for (const group of groups) {
    const chunks: FooterChunk[] = []
    for (let i = 0; i < plan.fields.length; i++) {
      const source = group.fields[i]
      const leaves = plan.fields[i] as readonly Leaf[]
      if (source === undefined) throw new Error(`row group without field ${i}`)
      if ('copies' in source) {
        if (source.copies.length !== leaves.length) throw new Error(`field ${i}: chunk count`)
        for (const copy of source.copies) {
          chunks.push({ copied: copy, offset: out.length })
          out.bytes(copy.bytes)
        }
      } else {
        for (const leaf of leaves) {
          chunks.push(writeChunk(out, leaf, source.values, layout))
          yield
        }
      }
    }
    infos.push({ rowCount: group.rowCount, chunks })
  }
  const footerStart = out.length
  writeFooter(new Thrift(out), plan, infos, rowCount, layout.createdBy)
  out.u32(out.length - footerStart)
  out.u32(0x31524150)
  return out.result().slice()
}

/** The output buffer starts at most this large (it grows as needed). */
const OUT_INITIAL_MAX = 16 << 20
const SCRATCH_INITIAL = 4096
/** Scratch buffers grown beyond this are dropped before the next file. */
const SCRATCH_KEEP = 2 << 20
const scratch = { page: new Bytes(SCRATCH_INITIAL), zip: new Bytes(SCRATCH_INITIAL) }

/** The levels and non-null values of one leaf column (Dremel shredding). */
interface Shredded {
  readonly repetition: ArrayLike<number>
  readonly definition: ArrayLike<number>
  readonly values: readonly unknown[]
}

const NO_LEVELS = new Uint8Array(0)

function shred(leaf: Leaf, column: readonly unknown[]): Shredded {
  const { steps } = leaf
  if (steps.length === 0) {
    // A top-level primitive: one entry per row, and the column itself when it has no null.
    const n = column.length
    const definition = new Uint8Array(n)
    let nulls = 0
    for (let i = 0; i < n; i++) {
      if (column[i] === null) nulls++
      else definition[i] = leaf.maxDefinition
    }
    const values = nulls === 0 ? column : column.filter((v) => v !== null)
    return { repetition: NO_LEVELS, definition, values }
  }
  const out = { repetition: [] as number[], definition: [] as number[], values: [] as unknown[] }
  /** One entry of the column: its levels, and its value when it has one. */
  const entry = (repetition: number, definition: number, value?: unknown): void => {
    out.repetition.push(repetition)
    out.definition.push(definition)
    if (value !== undefined) out.values.push(value)
  }
  const visit = (value: unknown, s: number, definition: number, repetition: number): void => {
    if (value === null || value === undefined) {
      entry(repetition, definition)
      return
    }
    if (s === steps.length) {
      entry(repetition, definition + (leaf.optional ? 1 : 0), value)
      return
    }
    const step = steps[s] as Step
    const defined = definition + (step.optional ? 1 : 0)
    switch (step.kind) {
      case 'struct':
        visit((value as Record<string, unknown>)[step.child], s + 1, defined, repetition)
        return
      case 'list': {
        const items = value as readonly unknown[]
        if (items.length === 0) entry(repetition, defined)
        for (let i = 0; i < items.length; i++) {
          visit(items[i], s + 1, defined + 1, i === 0 ? repetition : 1)
        }
        return
      }
      case 'map': {
        const map = value as ReadonlyMap<unknown, unknown>
        if (map.size === 0) entry(repetition, defined)
        let first = true
        for (const [k, v] of map) {
          visit(step.keys ? k : v, s + 1, defined + 1, first ? repetition : 1)
          first = false
        }
        return
      }
    }
  }
  for (const row of column) visit(row, 0, 0, 0)
  return out
}

const ENCODING_RLE_DICTIONARY = 8
const PAGE_DICTIONARY = 2

/** Dictionary encoding is tried for string chunks with at least this many values. */
const DICTIONARY_MIN_VALUES = 64
/** A dictionary is given up when its entries' bytes exceed this (parquet-java's limit). */
const DICTIONARY_MAX_BYTES = 1 << 20
/** Values looked at before a dictionary is given up for having too few repeats. */
const DICTIONARY_PROBE = 1024

/** A string chunk's dictionary: its distinct values, and each value's index among them. */
interface Dictionary {
  readonly entries: readonly string[]
  readonly indices: Uint32Array
  /** Bits per index. */
  readonly width: number
}

/**
 * The dictionary of a string chunk, or `undefined` when PLAIN suits it better: fewer than
 * {@link DICTIONARY_MIN_VALUES} values, binary values, more distinct values than half of
 * them (judged early on the first {@link DICTIONARY_PROBE}), or entries beyond
 * {@link DICTIONARY_MAX_BYTES}.
 */
function buildDictionary(physical: Physical, values: readonly unknown[]): Dictionary | undefined {
  if (physical !== 'BYTE_ARRAY' || values.length < DICTIONARY_MIN_VALUES) return undefined
  const ids = new Map<string, number>()
  const indices = new Uint32Array(values.length)
  const maxEntries = values.length / 2
  let bytes = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (typeof v !== 'string') return undefined
    let id = ids.get(v)
    if (id === undefined) {
      id = ids.size
      ids.set(v, id)
      // UTF-16 length: an estimate of the UTF-8 length, enough for a size limit.
      bytes += v.length + 4
      if (id >= maxEntries || bytes > DICTIONARY_MAX_BYTES) return undefined
      if (i === DICTIONARY_PROBE - 1 && id >= (DICTIONARY_PROBE * 3) / 4) return undefined
    }
    indices[i] = id
  }
  return { entries: [...ids.keys()], indices, width: Math.max(1, 32 - Math.clz32(ids.size - 1)) }
}

function writeChunk(
  out: Bytes,
  leaf: Leaf,
  column: readonly unknown[],
  layout: DirectLayout,
): ChunkInfo {
  const { paged } = layout
  const { element } = leaf
  const physical = element.type as Physical
  const typeLength = element.type_length ?? 0
  const shredded = shred(leaf, column)
  const { repetition, definition, values } = shredded
  const count = definition.length
  const acc: Accumulator = { min: undefined, max: undefined, text: false }
  const dictionary = paged ? buildDictionary(physical, values) : undefined
  const offset = out.length
  let dictionaryOffset: number | undefined
  let uncompressed = 0
  let compressed = 0
  const page = scratch.page
  if (dictionary) {
    dictionaryOffset = out.length
    page.length = 0
    writeValues(page, physical, typeLength, dictionary.entries, 0, dictionary.entries.length, acc)
    const sizes = writePage(out, page.result(), (header) => {
      header.i32(1, PAGE_DICTIONARY)
      return () => {
        header.struct(7)
        header.i32(1, dictionary.entries.length)
        header.i32(2, ENCODING_PLAIN)
        header.end()
      }
    })
    uncompressed += sizes.uncompressed
    compressed += sizes.compressed
  }
  const dataOffset = out.length
  const ends = paged ? pageEnds(leaf, shredded, physical, dictionary, layout.pageMaxRows) : [count]
  let entry = 0
  let value = 0
  for (const end of ends) {
    page.length = 0
    if (leaf.maxRepetition > 0) writeLevels(page, repetition, entry, end, leaf.maxRepetition)
    let valueEnd = end - entry + value
    if (leaf.maxDefinition > 0) {
      writeLevels(page, definition, entry, end, leaf.maxDefinition)
      valueEnd = value
      for (let i = entry; i < end; i++) if (definition[i] === leaf.maxDefinition) valueEnd++
    }
    if (dictionary) {
      page.u8(dictionary.width)
      writeHybrid(page, dictionary.indices, value, valueEnd, dictionary.width)
    } else writeValues(page, physical, typeLength, values, value, valueEnd, acc)
    const entries = end - entry
    const sizes = writePage(out, page.result(), (header) => {
      header.i32(1, PAGE_DATA)
      return () => {
        header.struct(5)
        header.i32(1, entries)
        header.i32(2, dictionary ? ENCODING_RLE_DICTIONARY : ENCODING_PLAIN)
        header.i32(3, ENCODING_RLE)
        header.i32(4, ENCODING_RLE)
        header.end()
      }
    })
    uncompressed += sizes.uncompressed
    compressed += sizes.compressed
    entry = end
    value = valueEnd
  }
  return {
    leaf,
    physical,
    count,
    offset,
    dataOffset,
    dictionaryOffset,
    uncompressed,
    compressed,
    nulls: count - values.length,
    bounds: finishBounds(physical, typeLength, acc),
  }
}

/**
 * Compresses a page and appends it with its header: the page type (written by `start`, which
 * returns the writer of the type-specific header that follows the sizes).
 */
function writePage(
  out: Bytes,
  raw: Uint8Array,
  start: (header: Thrift) => () => void,
): { uncompressed: number; compressed: number } {
  const zip = scratch.zip
  zip.length = 0
  snappyCompress(raw, zip)
  const body = zip.result()
  const offset = out.length
  const header = new Thrift(out)
  header.begin()
  const typeHeader = start(header)
  header.i32(2, raw.length)
  header.i32(3, body.length)
  typeHeader()
  header.end()
  const headerSize = out.length - offset
  out.bytes(body)
  return { uncompressed: headerSize + raw.length, compressed: headerSize + body.length }
}

/**
 * Where the data pages of a paged chunk end (entry indices): at most `pageMaxRows` rows and
 * about {@link PAGE_TARGET_BYTES} of values each, at row boundaries (an entry with repetition
 * level 0).
 */
function pageEnds(
  leaf: Leaf,
  { repetition, definition, values }: Shredded,
  physical: Physical,
  dictionary: Dictionary | undefined,
  pageMaxRows: number,
): number[] {
  const count = definition.length
  const bytes = dictionary
    ? Math.ceil((values.length * dictionary.width) / 8)
    : plainBytes(physical, leaf.element.type_length ?? 0, values)
  let rows = count
  if (leaf.maxRepetition > 0) {
    rows = 0
    for (let i = 0; i < count; i++) if (repetition[i] === 0) rows++
  }
  const pages = Math.max(1, Math.ceil(bytes / PAGE_TARGET_BYTES), Math.ceil(rows / pageMaxRows))
  if (pages === 1) return [count]
  const ends: number[] = []
  const step = count / pages
  for (let p = 1; p < pages; p++) {
    let end = Math.max(Math.round(p * step), (ends[ends.length - 1] ?? 0) + 1)
    if (leaf.maxRepetition > 0) while (end < count && repetition[end] !== 0) end++
    if (end >= count) break
    if (end > (ends[ends.length - 1] ?? 0)) ends.push(end)
  }
  ends.push(count)
  return ends
}

/** The bytes of `values` in PLAIN encoding (UTF-16 length for strings: an estimate). */
function plainBytes(physical: Physical, typeLength: number, values: readonly unknown[]): number {
  switch (physical) {
    case 'BOOLEAN':
      return Math.ceil(values.length / 8)
    case 'INT32':
    case 'FLOAT':
      return values.length * 4
    case 'INT64':
    case 'DOUBLE':
      return values.length * 8
    case 'FIXED_LEN_BYTE_ARRAY':
      return values.length * typeLength
    case 'BYTE_ARRAY': {
      let total = 0
      for (const v of values)
        total += 4 + (typeof v === 'string' ? v.length : (v as Uint8Array).length)
      return total
    }
  }
}

/** Levels of entries `[from, to)` in the hybrid encoding with a 4-byte length prefix (data page v1). */
function writeLevels(
  page: Bytes,
  levels: ArrayLike<number>,
  from: number,
  to: number,
  max: number,
): void {
  const start = page.length
  page.u32(0) // the length, set below
  writeHybrid(page, levels, from, to, 32 - Math.clz32(max))
  page.view.setUint32(start, page.length - start - 4, true)
}

/**
 * `source[from, to)` in the RLE/bit-packed hybrid encoding at `width` bits (at most 24) per
 * value: runs of at least eight equal values as RLE runs, the rest bit-packed in groups of
 * eight (only the last group is padded, since a decoder takes every packed value as real).
 */
function writeHybrid(
  page: Bytes,
  source: ArrayLike<number>,
  from: number,
  to: number,
  width: number,
): void {
  let literalStart = from
  let i = from
  while (i < to) {
    const v = source[i] as number
    let runEnd = i + 1
    while (runEnd < to && source[runEnd] === v) runEnd++
    const pad = (8 - ((i - literalStart) % 8)) % 8
    if (runEnd - i >= pad + 8) {
      // Fill the pending literals to whole groups from the run, then RLE the rest of it.
      const runStart = i + pad
      if (runStart > literalStart) writePacked(page, source, literalStart, runStart, width)
      writeRun(page, v, runEnd - runStart, width)
      literalStart = runEnd
    }
    i = runEnd
  }
  if (to > literalStart) writePacked(page, source, literalStart, to, width)
}

/** An RLE run: `(count << 1)`, then the value in whole bytes. */
function writeRun(page: Bytes, value: number, count: number, width: number): void {
  page.varint(count * 2)
  page.ensure(4)
  for (let b = 0; b < width; b += 8) page.buf[page.length++] = (value >>> b) & 0xff
}

/** A bit-packed run of `source[from, to)`, padded with zeros to whole groups of eight. */
function writePacked(
  page: Bytes,
  source: ArrayLike<number>,
  from: number,
  to: number,
  width: number,
): void {
  const groups = Math.ceil((to - from) / 8)
  page.varint(groups * 2 + 1) // (groups << 1) | 1
  page.ensure(groups * width)
  const buf = page.buf
  let at = page.length
  let bits = 0
  let pending = 0
  const end = from + groups * 8
  for (let i = from; i < end; i++) {
    bits |= (i < to ? (source[i] as number) : 0) << pending
    pending += width
    while (pending >= 8) {
      buf[at++] = bits & 0xff
      bits >>>= 8
      pending -= 8
    }
  }
  page.length = at
}

/** The running min and max of a column chunk's values, in their native form. */
interface Accumulator {
  min: number | bigint | Uint8Array | undefined
  max: number | bigint | Uint8Array | undefined
  /** Byte arrays were strings (their bounds are cut on code point boundaries). */
  text: boolean
}

/** Writes the PLAIN values `values[from, to)` (non-null) and takes them into `acc`. */
function writeValues(
  page: Bytes,
  physical: Physical,
  typeLength: number,
  values: readonly unknown[],
  from: number,
  to: number,
  acc: Accumulator,
): void {
  switch (physical) {
    case 'BOOLEAN': {
      let bits = 0
      let count = 0
      let min = acc.min as number | undefined
      let max = acc.max as number | undefined
      for (let i = from; i < to; i++) {
        const b = values[i] === true ? 1 : 0
        bits |= b << (count % 8)
        if (min === undefined || b < min) min = b
        if (max === undefined || b > max) max = b
        if (++count % 8 === 0) {
          page.u8(bits)
          bits = 0
        }
      }
      if (count % 8 !== 0) page.u8(bits)
      acc.min = min
      acc.max = max
      return
    }
    case 'INT32': {
      let min = (acc.min as number | undefined) ?? Infinity
      let max = (acc.max as number | undefined) ?? -Infinity
      for (let i = from; i < to; i++) {
        const v = values[i]
        // DECIMAL(p ≤ 9) values arrive as unscaled bigints.
        const n = typeof v === 'bigint' ? Number(v) : (v as number)
        page.i32(n)
        if (n < min) min = n
        if (n > max) max = n
      }
      if (min !== Infinity) {
        acc.min = min
        acc.max = max
      }
      return
    }
    case 'INT64': {
      let min = acc.min as bigint | undefined
      let max = acc.max as bigint | undefined
      page.ensure((to - from) * 8)
      for (let i = from; i < to; i++) {
        const n = values[i] as bigint
        page.i64(n)
        if (min === undefined || n < min) min = n
        if (max === undefined || n > max) max = n
      }
      acc.min = min
      acc.max = max
      return
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const float = physical === 'FLOAT'
      let min = (acc.min as number | undefined) ?? Infinity
      let max = (acc.max as number | undefined) ?? -Infinity
      for (let i = from; i < to; i++) {
        const n = float ? Math.fround(values[i] as number) : (values[i] as number)
        if (float) page.f32(n)
        else page.f64(n)
        if (n < min) min = n // NaN compares false: left out
        if (n > max) max = n
      }
      if (min !== Infinity || max !== -Infinity) {
        acc.min = min
        acc.max = max
      }
      return
    }
    case 'BYTE_ARRAY': {
      let min = acc.min as Uint8Array | undefined
      let max = acc.max as Uint8Array | undefined
      for (let i = from; i < to; i++) {
        const v = values[i]
        const lengthAt = page.length
        page.u32(0)
        let n: number
        if (typeof v === 'string') {
          acc.text = true
          n = page.utf8(v)
        } else {
          n = (v as Uint8Array).length
          page.bytes(v as Uint8Array)
        }
        page.view.setUint32(lengthAt, n, true)
        const start = lengthAt + 4
        // The page buffer may move when it grows: keep copies of the bounds.
        if (min === undefined || compareRange(page.buf, start, n, min) < 0) {
          min = page.buf.slice(start, start + n)
        }
        if (max === undefined || compareRange(page.buf, start, n, max) > 0) {
          max = page.buf.slice(start, start + n)
        }
      }
      acc.min = min
      acc.max = max
      return
    }
    case 'FIXED_LEN_BYTE_ARRAY': {
      let min = acc.min as bigint | undefined
      let max = acc.max as bigint | undefined
      for (let i = from; i < to; i++) {
        const n = values[i] as bigint
        page.bytes(bigEndianTwosComplement(n, typeLength))
        if (min === undefined || n < min) min = n
        if (max === undefined || n > max) max = n
      }
      acc.min = min
      acc.max = max
      return
    }
  }
}

/** The footer bounds of what `acc` took in; `undefined` when it took no (non-NaN) value. */
function finishBounds(
  physical: Physical,
  typeLength: number,
  acc: Accumulator,
): Bounds | undefined {
  const { min, max } = acc
  if (min === undefined || max === undefined) return undefined
  switch (physical) {
    case 'BOOLEAN':
      return exact(Uint8Array.of(min as number), Uint8Array.of(max as number))
    case 'INT32':
      return exact(int32Bytes(min as number), int32Bytes(max as number))
    case 'INT64':
      return exact(int64Bytes(min as bigint), int64Bytes(max as bigint))
    case 'FLOAT':
    case 'DOUBLE': {
      const float = physical === 'FLOAT'
      // A zero bound is written as -0 (min) and +0 (max): either may stand for both.
      const low = min === 0 ? -0 : (min as number)
      const high = max === 0 ? 0 : (max as number)
      return exact(floatBytes(low, float), floatBytes(high, float))
    }
    case 'BYTE_ARRAY':
      return truncatedBounds(min as Uint8Array, max as Uint8Array, acc.text)
    case 'FIXED_LEN_BYTE_ARRAY':
      return exact(
        bigEndianTwosComplement(min as bigint, typeLength),
        bigEndianTwosComplement(max as bigint, typeLength),
      )
  }
}

/** Unsigned byte order of `buf[start, start + length)` against `other` (as `compareBytes`). */
function compareRange(buf: Uint8Array, start: number, length: number, other: Uint8Array): number {
  const n = Math.min(length, other.length)
  for (let i = 0; i < n; i++) {
    const d = (buf[start + i] as number) - (other[i] as number)
    if (d !== 0) return d
  }
  return length - other.length
}

function exact(min: Uint8Array, max: Uint8Array): Bounds {
  return { min, max, minExact: true, maxExact: true }
}

function int32Bytes(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, n, true)
  return b
}

function int64Bytes(n: bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigInt64(0, n, true)
  return b
}

function floatBytes(n: number, float: boolean): Uint8Array {
  const b = new Uint8Array(float ? 4 : 8)
  const view = new DataView(b.buffer)
  if (float) view.setFloat32(0, n, true)
  else view.setFloat64(0, n, true)
  return b
}

/** `n` in `length` bytes, big-endian two's complement (DECIMAL in FIXED_LEN_BYTE_ARRAY). */
function bigEndianTwosComplement(n: bigint, length: number): Uint8Array {
  const b = new Uint8Array(length)
  let v = BigInt.asUintN(length * 8, n)
  for (let i = length - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return b
}

/**
 * Byte-array bounds cut to {@link STATISTICS_TRUNCATE_LENGTH} bytes: the min becomes a prefix
 * (still a lower bound), the max a prefix whose last unit is incremented (still an upper
 * bound). Text is cut on code point boundaries and stays valid UTF-8.
 */
function truncatedBounds(min: Uint8Array, max: Uint8Array, text: boolean): Bounds {
  const limit = STATISTICS_TRUNCATE_LENGTH
  const minExact = min.length <= limit
  // A max that cannot be rounded up (all 0xFF bytes, or all U+10FFFF) stays whole and exact.
  const rounded =
    max.length <= limit ? undefined : text ? roundUpText(max, limit) : roundUpBytes(max, limit)
  return {
    min: minExact ? min : min.slice(0, text ? utf8Boundary(min, limit) : limit),
    max: rounded ?? max,
    minExact,
    maxExact: rounded === undefined,
  }
}

/** The largest length ≤ `limit` that ends on a UTF-8 code point boundary of `b`. */
function utf8Boundary(b: Uint8Array, limit: number): number {
  let end = limit
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--
  return end
}

function roundUpBytes(b: Uint8Array, limit: number): Uint8Array | undefined {
  for (let i = limit - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      const out = b.slice(0, i + 1)
      out[i] = (out[i] as number) + 1
      return out
    }
  }
  return undefined
}

function roundUpText(b: Uint8Array, limit: number): Uint8Array | undefined {
  const prefix = new TextDecoder().decode(b.subarray(0, utf8Boundary(b, limit)))
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number)
  for (let i = points.length - 1; i >= 0; i--) {
    let next = (points[i] as number) + 1
    if (next === 0xd800) next = 0xe000 // surrogates are not code points of UTF-8
    if (next > 0x10ffff) continue
    return ENCODER.encode(String.fromCodePoint(...points.slice(0, i), next))
  }
  return undefined
}

function writeFooter(
  t: Thrift,
  plan: DirectPlan,
  groups: readonly GroupInfo[],
  rowCount: number,
  createdBy: string,
): void {
  t.begin()
  t.i32(1, 2) // version
  t.list(2, T_STRUCT, plan.elements.length + 1)
  t.begin()
  t.string(4, 'schema')
  t.i32(5, plan.fields.length)
  t.end()
  for (const element of plan.elements) writeSchemaElement(t, element)
  t.i64(3, rowCount)
  t.list(4, T_STRUCT, groups.length)
  for (const group of groups) writeRowGroup(t, group)
  t.string(6, createdBy)
  // Column orders: the type-defined order for every column, so readers trust min/max.
  const columns = groups[0]?.chunks.length ?? 0
  t.list(7, T_STRUCT, columns)
  for (let i = 0; i < columns; i++) {
    t.begin()
    t.struct(1)
    t.end()
    t.end()
  }
  t.end()
}

function writeRowGroup(t: Thrift, group: GroupInfo): void {
  const { chunks } = group
  t.begin()
  t.list(1, T_STRUCT, chunks.length)
  let uncompressed = 0
  let compressed = 0
  for (const chunk of chunks) {
    t.begin()
    t.i64(2, chunk.offset)
    t.struct(3)
    const sizes = 'copied' in chunk ? writeCopiedMeta(t, chunk) : writeChunkMeta(t, chunk)
    uncompressed += sizes.uncompressed
    compressed += sizes.compressed
    t.end() // column metadata
    t.end() // column chunk
  }
  t.i64(2, uncompressed)
  t.i64(3, group.rowCount)
  t.i64(5, chunks[0]?.offset ?? 4)
  t.i64(6, compressed)
  t.end() // row group
}

interface ChunkSizes {
  readonly uncompressed: number
  readonly compressed: number
}

function writeChunkMeta(t: Thrift, chunk: ChunkInfo): ChunkSizes {
  t.i32(1, PHYSICAL[chunk.physical])
  const leveled = chunk.leaf.maxDefinition > 0 || chunk.leaf.maxRepetition > 0
  const dictionary = chunk.dictionaryOffset !== undefined
  t.list(2, T_I32, 1 + (leveled ? 1 : 0) + (dictionary ? 1 : 0))
  t.elementI32(ENCODING_PLAIN)
  if (leveled) t.elementI32(ENCODING_RLE)
  if (dictionary) t.elementI32(ENCODING_RLE_DICTIONARY)
  t.list(3, T_BINARY, chunk.leaf.path.length)
  for (const name of chunk.leaf.path) t.elementString(name)
  t.i32(4, CODEC_SNAPPY)
  t.i64(5, chunk.count)
  t.i64(6, chunk.uncompressed)
  t.i64(7, chunk.compressed)
  t.i64(9, chunk.dataOffset)
  if (chunk.dictionaryOffset !== undefined) t.i64(11, chunk.dictionaryOffset)
  t.struct(12)
  t.i64(3, chunk.nulls)
  const bounds = chunk.bounds
  if (bounds) t.binary(5, bounds.max)
  if (bounds) t.binary(6, bounds.min)
  if (bounds && !bounds.maxExact) t.bool(7, false)
  if (bounds && !bounds.minExact) t.bool(8, false)
  t.end() // statistics
  return { uncompressed: chunk.uncompressed, compressed: chunk.compressed }
}

/**
 * The metadata of a copied chunk: its own type, encodings, path, codec, counts and sizes, its
 * page offsets moved by where it landed, and its statistics (min/max only when kept). Optional
 * parts that point elsewhere in its file (page indexes, bloom filters) or that this writer does
 * not write (key-value metadata, encoding and size statistics) are left out.
 */
function writeCopiedMeta(t: Thrift, { copied, offset }: CopiedInfo): ChunkSizes {
  const m = copied.meta
  const shift = offset - copied.start
  t.i32(1, thriftNumber(m.field_1))
  const encodings = m.field_2 as readonly number[]
  t.list(2, T_I32, encodings.length)
  for (const e of encodings) t.elementI32(e)
  const path = m.field_3 as readonly Uint8Array[]
  t.list(3, T_BINARY, path.length)
  for (const name of path) t.elementBinary(name)
  t.i32(4, thriftNumber(m.field_4))
  t.i64(5, thriftNumber(m.field_5))
  const uncompressed = thriftNumber(m.field_6)
  const compressed = thriftNumber(m.field_7)
  t.i64(6, uncompressed)
  t.i64(7, compressed)
  const dataOffset = thriftNumber(m.field_9)
  t.i64(9, dataOffset + shift)
  // A dictionary page is where the chunk starts, before its data pages (some writers set a
  // dictionary offset of 0 for chunks without one: left out).
  if (copied.start < dataOffset) t.i64(11, copied.start + shift)
  const stats = m.field_12 as ThriftFields | undefined
  if (stats !== undefined) {
    t.struct(12)
    if (stats.field_3 !== undefined) t.i64(3, thriftNumber(stats.field_3))
    if (
      copied.keepBounds &&
      stats.field_5 instanceof Uint8Array &&
      stats.field_6 instanceof Uint8Array
    ) {
      t.binary(5, stats.field_5)
      t.binary(6, stats.field_6)
      if (stats.field_7 === false) t.bool(7, false)
      if (stats.field_8 === false) t.bool(8, false)
    }
    t.end()
  }
  return { uncompressed, compressed }
}

/** A Thrift integer (i32 as number, i64 as bigint) as a number. */
function thriftNumber(value: unknown): number {
  const n = typeof value === 'bigint' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new Error(`invalid integer ${String(value)} in copied column metadata`)
  }
  return n
}

const REPETITION = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const

/** Field ids, in the LogicalType union, of the logical types that carry no parameters. */
const EMPTY_LOGICAL_TYPES: Readonly<Record<string, number>> = {
  STRING: 1,
  MAP: 2,
  LIST: 3,
  DATE: 6,
}

function writeSchemaElement(t: Thrift, e: SchemaElement): void {
  t.begin()
  if (e.type !== undefined) t.i32(1, PHYSICAL[e.type as Physical])
  if (e.type_length !== undefined) t.i32(2, e.type_length)
  t.i32(3, REPETITION[e.repetition_type ?? 'REQUIRED'])
  t.string(4, e.name)
  if (e.num_children !== undefined) t.i32(5, e.num_children)
  const converted = e.converted_type === undefined ? undefined : CONVERTED[e.converted_type]
  if (converted !== undefined) t.i32(6, converted)
  if (e.scale !== undefined) t.i32(7, e.scale)
  if (e.precision !== undefined) t.i32(8, e.precision)
  const logical = e.logical_type
  if (logical) {
    t.struct(10)
    const empty = EMPTY_LOGICAL_TYPES[logical.type]
    if (empty !== undefined) {
      t.struct(empty)
      t.end()
    } else writeLogicalParameters(t, logical)
    t.end()
  }
  t.end()
}

function writeLogicalParameters(
  t: Thrift,
  logical: NonNullable<SchemaElement['logical_type']>,
): void {
  switch (logical.type) {
    case 'DECIMAL':
      t.struct(5)
      t.i32(1, logical.scale)
      t.i32(2, logical.precision)
      t.end()
      break
    case 'TIMESTAMP':
      t.struct(8)
      t.bool(1, logical.isAdjustedToUTC)
      t.struct(2)
      t.struct(logical.unit === 'MILLIS' ? 1 : logical.unit === 'MICROS' ? 2 : 3)
      t.end()
      t.end()
      t.end()
      break
    default:
      throw new Error(`Parquet writer: unsupported logical type ${logical.type}`)
  }
}

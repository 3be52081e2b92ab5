/**
 * The single-page Parquet writer: one row group, one data page per column, written in one
 * pass, for the files of small appends (a group commit, a login's session row, an audit event)
 * and for checkpoints, where a general writer's fixed and per-value costs dominate: generic
 * column shredding, dictionary and page planning, and metadata built as generic objects.
 * Schemas may nest structs, lists and maps as long as no leaf is repeated more than once
 * (maximum repetition level 1: no list of lists, no list inside a map).
 *
 * Layout (PARQUET-FORMAT "File format"): one data page (v1) per column, PLAIN values,
 * repetition and definition levels in the RLE/bit-packed hybrid (when the column has any), the page
 * snappy-compressed, and footer statistics with the type-defined column order: `null_count`,
 * and `min_value`/`max_value` of the non-null values (NaN left out, zeros as -0/+0, byte arrays
 * compared unsigned and cut to {@link STATISTICS_TRUNCATE_LENGTH} bytes with
 * `is_*_value_exact` false, as the general writer does). The Thrift compact protocol is written
 * directly.
 * @module
 */
import type { SchemaElement } from 'hyparquet-writer'
import { compareBytes } from '../schema/values.js'
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

/** How {@link writeSinglePage} writes a schema: the leaves of each top-level field. */
export interface SinglePagePlan {
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
    this.ensure(s.length * 3)
    const { written } = ENCODER.encodeInto(s, this.buf.subarray(this.length))
    this.length += written
    return written
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}

const ENCODER = new TextEncoder()

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
  readonly offset: number
  readonly uncompressed: number
  readonly compressed: number
  readonly nulls: number
  readonly bounds: Bounds | undefined
}

/**
 * Plans the writing of a schema, or says that this writer cannot write it (a leaf repeated
 * more than once).
 * @param elements - the schema elements below the root, depth first
 * @returns the plan, or undefined
 */
export function planSinglePage(elements: readonly SchemaElement[]): SinglePagePlan | undefined {
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

/**
 * Writes one row group as a Parquet file, one column chunk per step: the generator yields
 * after each column chunk, so that a caller may let other work run between them
 * (`writeParquetYielding`), and returns the file bytes.
 * @param plan - the schema's plan ({@link planSinglePage})
 * @param values - the values of each top-level field, converted (see `write-parquet.ts`):
 *   `null` for nulls; string, Uint8Array, bigint, number or boolean for primitives; objects,
 *   arrays and Maps of those for structs, lists and maps
 * @param rowCount - rows (at least 1)
 * @param createdBy - the footer's `created_by`
 * @returns the steps, then the file bytes
 */
export function* writeSinglePage(
  plan: SinglePagePlan,
  values: readonly (readonly unknown[])[],
  rowCount: number,
  createdBy: string,
): Generator<void, Uint8Array> {
  const out = new Bytes(1024 + rowCount * 16 * values.length)
  out.u32(0x31524150) // "PAR1"
  // Each column chunk is written in one synchronous step: one page and one compression buffer
  // serve every call, also when steps of several files interleave.
  if (scratch.page.buf.length > SCRATCH_KEEP) scratch.page = new Bytes(SCRATCH_INITIAL)
  if (scratch.zip.buf.length > SCRATCH_KEEP) scratch.zip = new Bytes(SCRATCH_INITIAL)
  const chunks: ChunkInfo[] = []
  for (let i = 0; i < plan.fields.length; i++) {
    const column = values[i] as readonly unknown[]
    for (const leaf of plan.fields[i] as readonly Leaf[]) {
      chunks.push(writeChunk(out, leaf, column))
      yield
    }
  }
  const footerStart = out.length
  writeFooter(new Thrift(out), plan, chunks, rowCount, createdBy)
  out.u32(out.length - footerStart)
  out.u32(0x31524150)
  return out.result().slice()
}

const SCRATCH_INITIAL = 4096
/** Scratch buffers grown beyond this are dropped before the next file. */
const SCRATCH_KEEP = 1 << 20
const scratch = { page: new Bytes(SCRATCH_INITIAL), zip: new Bytes(SCRATCH_INITIAL) }

/** The levels and non-null values of one leaf column (Dremel shredding). */
interface Shredded {
  readonly repetition: number[]
  readonly definition: number[]
  readonly values: unknown[]
}

function shred(leaf: Leaf, column: readonly unknown[]): Shredded {
  const out: Shredded = { repetition: [], definition: [], values: [] }
  const { steps } = leaf
  if (steps.length === 0) {
    // A top-level primitive: one entry per row.
    for (const v of column) {
      out.definition.push(v === null ? 0 : leaf.maxDefinition)
      if (v !== null) out.values.push(v)
    }
    return out
  }
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

function writeChunk(out: Bytes, leaf: Leaf, column: readonly unknown[]): ChunkInfo {
  const { element } = leaf
  const page = scratch.page
  const physical = element.type as Physical
  const shredded = shred(leaf, column)
  const { values } = shredded
  const count = shredded.definition.length
  page.length = 0
  if (leaf.maxRepetition > 0) writeLevels(page, shredded.repetition, leaf.maxRepetition)
  if (leaf.maxDefinition > 0) writeLevels(page, shredded.definition, leaf.maxDefinition)
  const nulls = count - values.length
  const bounds = writeValues(page, physical, element.type_length ?? 0, values)
  const raw = page.result()
  const zip = scratch.zip
  zip.length = 0
  snappyCompress(raw, zip)
  const compressed = zip.result()
  const offset = out.length
  const header = new Thrift(out)
  header.begin()
  header.i32(1, PAGE_DATA)
  header.i32(2, raw.length)
  header.i32(3, compressed.length)
  header.struct(5)
  header.i32(1, count)
  header.i32(2, ENCODING_PLAIN)
  header.i32(3, ENCODING_RLE)
  header.i32(4, ENCODING_RLE)
  header.end()
  header.end()
  const headerSize = out.length - offset
  out.bytes(compressed)
  return {
    leaf,
    physical,
    count,
    offset,
    uncompressed: headerSize + raw.length,
    compressed: headerSize + compressed.length,
    nulls,
    bounds,
  }
}

/**
 * Levels in the RLE/bit-packed hybrid with a 4-byte length prefix (data page v1): one RLE run
 * when they are all equal, bit-packed groups of eight otherwise.
 */
function writeLevels(page: Bytes, levels: readonly number[], max: number): void {
  const width = 32 - Math.clz32(max)
  const start = page.length
  page.u32(0) // the length, set below
  const first = levels[0] ?? 0
  if (levels.every((l) => l === first)) {
    page.varint(levels.length * 2) // RLE run header: count << 1
    page.u8(first) // levels fit in one byte (at most 255 nesting levels)
  } else {
    const groups = Math.ceil(levels.length / 8)
    page.varint(groups * 2 + 1) // bit-packed run header: (groups << 1) | 1
    page.ensure(groups * width)
    let bits = 0
    let pending = 0
    for (let i = 0; i < groups * 8; i++) {
      bits |= (levels[i] ?? 0) << pending
      pending += width
      while (pending >= 8) {
        page.buf[page.length++] = bits & 0xff
        bits >>>= 8
        pending -= 8
      }
    }
  }
  page.view.setUint32(start, page.length - start - 4, true)
}

/** Writes the PLAIN values of the non-null entries and returns their statistics bounds. */
function writeValues(
  page: Bytes,
  physical: Physical,
  typeLength: number,
  values: readonly unknown[],
): Bounds | undefined {
  switch (physical) {
    case 'BOOLEAN': {
      let bits = 0
      let count = 0
      let seenFalse = false
      let seenTrue = false
      for (const v of values) {
        if (v === null) continue
        if (v === true) {
          bits |= 1 << (count % 8)
          seenTrue = true
        } else seenFalse = true
        if (++count % 8 === 0) {
          page.u8(bits)
          bits = 0
        }
      }
      if (count % 8 !== 0) page.u8(bits)
      if (count === 0) return undefined
      const min = Uint8Array.of(seenFalse ? 0 : 1)
      const max = Uint8Array.of(seenTrue ? 1 : 0)
      return { min, max, minExact: true, maxExact: true }
    }
    case 'INT32': {
      let min = Infinity
      let max = -Infinity
      for (const v of values) {
        if (v === null) continue
        // DECIMAL(p ≤ 9) values arrive as unscaled bigints.
        const n = typeof v === 'bigint' ? Number(v) : (v as number)
        page.i32(n)
        if (n < min) min = n
        if (n > max) max = n
      }
      if (min === Infinity) return undefined
      return exact(int32Bytes(min), int32Bytes(max))
    }
    case 'INT64': {
      let min: bigint | undefined
      let max: bigint | undefined
      for (const v of values) {
        if (v === null) continue
        const n = v as bigint
        page.i64(n)
        if (min === undefined || n < min) min = n
        if (max === undefined || n > max) max = n
      }
      if (min === undefined || max === undefined) return undefined
      return exact(int64Bytes(min), int64Bytes(max))
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const float = physical === 'FLOAT'
      let min = Infinity
      let max = -Infinity
      let any = false
      for (const v of values) {
        if (v === null) continue
        const n = float ? Math.fround(v as number) : (v as number)
        if (float) page.f32(n)
        else page.f64(n)
        if (Number.isNaN(n)) continue
        any = true
        if (n < min) min = n
        if (n > max) max = n
      }
      if (!any) return undefined
      // A zero bound is written as -0 (min) and +0 (max): either may stand for both.
      if (min === 0) min = -0
      if (max === 0) max = 0
      return exact(floatBytes(min, float), floatBytes(max, float))
    }
    case 'BYTE_ARRAY': {
      let min: Uint8Array | undefined
      let max: Uint8Array | undefined
      let text = false
      for (const v of values) {
        if (v === null) continue
        let bytes: Uint8Array
        if (typeof v === 'string') {
          text = true
          const lengthAt = page.length
          page.u32(0)
          const n = page.utf8(v)
          page.view.setUint32(lengthAt, n, true)
          bytes = page.buf.subarray(lengthAt + 4, lengthAt + 4 + n)
        } else {
          bytes = v as Uint8Array
          page.u32(bytes.length)
          page.bytes(bytes)
        }
        // The page buffer may move when it grows: keep copies of the bounds.
        if (min === undefined || compareBytes(bytes, min) < 0) min = bytes.slice()
        if (max === undefined || compareBytes(bytes, max) > 0) max = bytes.slice()
      }
      if (min === undefined || max === undefined) return undefined
      return truncatedBounds(min, max, text)
    }
    case 'FIXED_LEN_BYTE_ARRAY': {
      let min: bigint | undefined
      let max: bigint | undefined
      for (const v of values) {
        if (v === null) continue
        const n = v as bigint
        page.bytes(bigEndianTwosComplement(n, typeLength))
        if (min === undefined || n < min) min = n
        if (max === undefined || n > max) max = n
      }
      if (min === undefined || max === undefined) return undefined
      return exact(
        bigEndianTwosComplement(min, typeLength),
        bigEndianTwosComplement(max, typeLength),
      )
    }
  }
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
  plan: SinglePagePlan,
  chunks: readonly ChunkInfo[],
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
  t.list(4, T_STRUCT, 1)
  t.begin()
  t.list(1, T_STRUCT, chunks.length)
  let uncompressed = 0
  let compressed = 0
  for (const chunk of chunks) {
    uncompressed += chunk.uncompressed
    compressed += chunk.compressed
    t.begin()
    t.i64(2, chunk.offset)
    t.struct(3)
    t.i32(1, PHYSICAL[chunk.physical])
    const leveled = chunk.leaf.maxDefinition > 0 || chunk.leaf.maxRepetition > 0
    t.list(2, T_I32, leveled ? 2 : 1)
    t.elementI32(ENCODING_PLAIN)
    if (leveled) t.elementI32(ENCODING_RLE)
    t.list(3, T_BINARY, chunk.leaf.path.length)
    for (const name of chunk.leaf.path) t.elementString(name)
    t.i32(4, CODEC_SNAPPY)
    t.i64(5, chunk.count)
    t.i64(6, chunk.uncompressed)
    t.i64(7, chunk.compressed)
    t.i64(9, chunk.offset)
    t.struct(12)
    t.i64(3, chunk.nulls)
    const bounds = chunk.bounds
    if (bounds) t.binary(5, bounds.max)
    if (bounds) t.binary(6, bounds.min)
    if (bounds && !bounds.maxExact) t.bool(7, false)
    if (bounds && !bounds.minExact) t.bool(8, false)
    t.end() // statistics
    t.end() // column metadata
    t.end() // column chunk
  }
  t.i64(2, uncompressed)
  t.i64(3, rowCount)
  t.i64(5, chunks[0]?.offset ?? 4)
  t.i64(6, compressed)
  t.end() // row group
  t.string(6, createdBy)
  // Column orders: the type-defined order for every column, so readers trust min/max.
  t.list(7, T_STRUCT, chunks.length)
  for (let i = 0; i < chunks.length; i++) {
    t.begin()
    t.struct(1)
    t.end()
    t.end()
  }
  t.end()
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
      throw new Error(`single-page Parquet writer: unsupported logical type ${logical.type}`)
  }
}

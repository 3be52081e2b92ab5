/**
 * A Snappy compressor (the raw block format of google/snappy's `format_description.txt`) that
 * writes into a caller's buffer, for the engine's Parquet writer: a preamble with the
 * uncompressed length, then literals and copies with 1- or 2-byte offsets, found through a hash
 * table of 4-byte sequences, looked up at growing steps while none matches (as the reference
 * implementation does). It compresses a little less than the reference (no 4-byte offsets,
 * no 64 KiB fragments with a fresh table each).
 * @module
 */

/** The hash table, reused across calls (positions + 1; 0 is empty). */
let table = new Int32Array(1 << 10)

/** Where {@link snappyCompress} writes: a buffer the caller grows on request. */
export interface SnappySink {
  /** Makes room for `n` more bytes at `length`. */
  ensure(n: number): void
  /** The buffer (it may be replaced by {@link SnappySink.ensure}). */
  readonly buf: Uint8Array
  /** Bytes written so far. */
  length: number
}

/**
 * Appends the Snappy compression of `input` to `out`.
 * @param input - the bytes to compress
 * @param out - the sink
 * @returns the compressed length
 */
export function snappyCompress(input: Uint8Array, out: SnappySink): number {
  const start = out.length
  const n = input.length
  // Worst case: the preamble, and one literal tag of up to 5 bytes per 2^32 bytes.
  out.ensure(n + 16)
  varint(out, n)
  if (n < 8) {
    literal(out, input, 0, n)
    return out.length - start
  }
  let bits = 8
  while (bits < 14 && 1 << bits < n) bits++
  const size = 1 << bits
  if (table.length < size) table = new Int32Array(size)
  table.fill(0, 0, size)
  const shift = 32 - bits
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength)
  let pending = 0
  let i = 0
  const last = n - 4
  while (i <= last) {
    const word = view.getUint32(i, true)
    const h = Math.imul(word, 0x1e35a7bd) >>> shift
    const candidate = (table[h] as number) - 1
    table[h] = i + 1
    if (candidate < 0 || i - candidate > 0xffff || view.getUint32(candidate, true) !== word) {
      // The longer no match is found, the larger the steps (the reference's heuristic):
      // incompressible input is passed over quickly.
      i += 1 + ((i - pending) >>> 5)
      continue
    }
    literal(out, input, pending, i)
    let length = 4
    while (i + length < n && input[candidate + length] === input[i + length]) length++
    const offset = i - candidate
    i += length
    pending = i
    while (length > 0) {
      const chunk = length > 64 ? (length - 64 < 4 ? 60 : 64) : length
      out.ensure(3)
      const buf = out.buf
      if (chunk < 12 && offset < 2048) {
        // A copy with a 1-byte offset: 4 to 11 bytes, offset below 2048 (two bytes in all).
        buf[out.length++] = 1 | ((chunk - 4) << 2) | ((offset >>> 8) << 5)
        buf[out.length++] = offset & 0xff
      } else {
        buf[out.length++] = ((chunk - 1) << 2) | 2
        buf[out.length++] = offset & 0xff
        buf[out.length++] = offset >>> 8
      }
      length -= chunk
    }
  }
  literal(out, input, pending, n)
  return out.length - start
}

function varint(out: SnappySink, n: number): void {
  out.ensure(5)
  const buf = out.buf
  while (n >= 0x80) {
    buf[out.length++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  buf[out.length++] = n
}

/** Literals up to this length are copied byte by byte. */
const SHORT_LITERAL = 16

/** A literal element for `input[from, to)`. */
function literal(out: SnappySink, input: Uint8Array, from: number, to: number): void {
  const length = to - from
  if (length === 0) return
  out.ensure(length + 5)
  const buf = out.buf
  const m = length - 1
  if (m < 60) buf[out.length++] = m << 2
  else if (m < 0x100) {
    buf[out.length++] = 60 << 2
    buf[out.length++] = m
  } else if (m < 0x10000) {
    buf[out.length++] = 61 << 2
    buf[out.length++] = m & 0xff
    buf[out.length++] = m >>> 8
  } else if (m < 0x1000000) {
    buf[out.length++] = 62 << 2
    buf[out.length++] = m & 0xff
    buf[out.length++] = (m >>> 8) & 0xff
    buf[out.length++] = m >>> 16
  } else {
    buf[out.length++] = 63 << 2
    buf[out.length++] = m & 0xff
    buf[out.length++] = (m >>> 8) & 0xff
    buf[out.length++] = (m >>> 16) & 0xff
    buf[out.length++] = m >>> 24
  }
  let at = out.length
  if (length <= SHORT_LITERAL) {
    // A loop beats a subarray and set() for the short literals between nearby matches.
    for (let i = from; i < to; i++) buf[at++] = input[i] as number
  } else {
    buf.set(input.subarray(from, to), at)
    at += length
  }
  out.length = at
}

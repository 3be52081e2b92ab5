/**
 * Page decompressors for Parquet codecs beyond hyparquet's built-in UNCOMPRESSED and SNAPPY,
 * built only on `node:zlib` and a small LZ4 block decoder.
 *
 * ZSTD (the default codec of delta-rs and Polars) uses `zlib.zstdDecompressSync` when the
 * Node.js runtime provides it (22.15+) and the pure-JS `fzstd` decoder otherwise. LZO and
 * the deprecated Hadoop-framed LZ4 are not supported.
 * @module
 */
import * as zlib from 'node:zlib'
import * as fzstd from 'fzstd'
import type { CompressionCodec, Compressors } from 'hyparquet'

type Decompressor = (input: Uint8Array, outputLength: number) => Uint8Array

/**
 * Decodes one LZ4 block (the LZ4_RAW codec).
 * @param input - compressed block
 * @param outputLength - exact decompressed length from the page header
 * @returns the decompressed bytes
 * @throws Error on corrupt input (the caller wraps it into a PARQUET_ERROR)
 * @internal
 */
export function lz4RawDecompress(input: Uint8Array, outputLength: number): Uint8Array {
  const out = new Uint8Array(outputLength)
  const corrupt = (): Error => new Error('corrupt LZ4_RAW block')
  let ip = 0
  let op = 0
  const readLength = (initial: number): number => {
    let length = initial
    if (initial === 15) {
      let byte: number
      do {
        if (ip >= input.length) throw corrupt()
        byte = input[ip++] ?? 0
        length += byte
      } while (byte === 255)
    }
    return length
  }
  while (ip < input.length) {
    const token = input[ip++] ?? 0
    const literals = readLength(token >>> 4)
    if (ip + literals > input.length || op + literals > outputLength) throw corrupt()
    out.set(input.subarray(ip, ip + literals), op)
    ip += literals
    op += literals
    if (ip >= input.length) break // the last sequence has literals only
    if (ip + 2 > input.length) throw corrupt()
    const offset = (input[ip] ?? 0) | ((input[ip + 1] ?? 0) << 8)
    ip += 2
    if (offset === 0 || offset > op) throw corrupt()
    const matchLength = readLength(token & 15) + 4
    if (op + matchLength > outputLength) throw corrupt()
    // Byte by byte: a match may overlap the bytes it is producing.
    for (let from = op - offset, end = op + matchLength; op < end;) out[op++] = out[from++] ?? 0
  }
  if (op !== outputLength) throw corrupt()
  return out
}

function fromZlib(decompress: (input: Uint8Array) => Buffer): Decompressor {
  return (input) => {
    const out = decompress(input)
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
}

function fzstdDecompress(input: Uint8Array, outputLength: number): Uint8Array {
  let out: Uint8Array
  try {
    out = fzstd.decompress(input, new Uint8Array(outputLength))
  } catch (error) {
    throw new Error(`corrupt ZSTD page: ${(error as Error).message}`, { cause: error })
  }
  if (out.byteLength !== outputLength) throw new Error('corrupt ZSTD page (unexpected length)')
  return out
}

function runtimeZstd(): Decompressor | undefined {
  const candidate = (zlib as unknown as Record<string, unknown>).zstdDecompressSync
  if (typeof candidate !== 'function') return undefined
  return fromZlib(candidate as (input: Uint8Array) => Buffer)
}

/**
 * Decompressors passed to hyparquet (SNAPPY and UNCOMPRESSED are hyparquet's own).
 * @internal
 */
export const DECOMPRESSORS: Compressors = {
  // unzip accepts both the gzip framing the spec requires and raw zlib streams.
  GZIP: fromZlib((input) => zlib.unzipSync(input)),
  BROTLI: fromZlib((input) => zlib.brotliDecompressSync(input)),
  LZ4_RAW: lz4RawDecompress,
  // delta-rs and Polars write ZSTD by default: the runtime's codec when it has one (Node
  // 22.15+), else a pure-JS decoder.
  ZSTD: runtimeZstd() ?? fzstdDecompress,
}

/**
 * The codecs this adapter can read on the current runtime.
 * @internal
 */
export const READABLE_CODECS: ReadonlySet<CompressionCodec> = new Set<CompressionCodec>([
  'UNCOMPRESSED',
  'SNAPPY',
  ...(Object.keys(DECOMPRESSORS) as CompressionCodec[]),
])

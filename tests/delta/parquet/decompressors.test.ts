import { describe, expect, it } from 'vitest'
import { lz4RawDecompress, READABLE_CODECS } from '../../../src/delta/parquet/decompressors.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0))

describe('lz4RawDecompress', () => {
  it('copies literals and overlapping matches', () => {
    const block = Uint8Array.from([0x35, ...ascii('abc'), 3, 0, 0x10, ...ascii('x')])
    expect(text(lz4RawDecompress(block, 13))).toBe('abcabcabcabcx')
  })

  it('reads literal and match lengths continued in extra bytes', () => {
    const literals = 'L'.repeat(15 + 255 + 3)
    const block = Uint8Array.from([0xff, 255, 3, ...ascii(literals), 1, 0, 255, 1])
    // match length 15 + 255 + 1 + 4 = 275 copies of the last literal
    expect(text(lz4RawDecompress(block, literals.length + 275))).toBe(
      'L'.repeat(literals.length + 275),
    )
  })

  it.each([
    ['a zero offset', [0x10, ...ascii('a'), 0, 0], 5],
    ['an offset before the output start', [0x10, ...ascii('a'), 2, 0], 5],
    ['literals past the input end', [0x50, ...ascii('ab')], 5],
    ['a shorter output than declared', [0x20, ...ascii('ab')], 3],
    ['a longer output than declared', [0x30, ...ascii('abc')], 2],
    ['a truncated offset', [0x10, ...ascii('a'), 1], 5],
  ])('rejects %s', (_, bytes, length) => {
    expect(() => lz4RawDecompress(Uint8Array.from(bytes), length)).toThrow(/LZ4_RAW/)
  })
})

describe('READABLE_CODECS', () => {
  it('covers the codecs of Spark, delta-rs, pyarrow and DuckDB defaults', () => {
    for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI', 'LZ4_RAW']) {
      expect(READABLE_CODECS.has(codec as never)).toBe(true)
    }
    expect(READABLE_CODECS.has('LZO')).toBe(false)
  })
})

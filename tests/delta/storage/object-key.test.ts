import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import {
  assertValidKey,
  compareKeys,
  resolveRange,
  splitListPrefix,
} from '../../../src/delta/storage/object-key.js'

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** Deterministic strings mixing ASCII, BMP (below and above the surrogate range) and astral. */
function sampleStrings(count: number): string[] {
  const alphabet = [
    'a',
    'z',
    '/',
    '-',
    '0',
    '\u00e9',
    '\u4e2d',
    '\uE000',
    '\uFFFD',
    '\u{1F600}',
    '\u{10FFFF}',
  ]
  let seed = 12345
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  return Array.from({ length: count }, () =>
    Array.from({ length: next() % 6 }, () => alphabet[next() % alphabet.length]).join(''),
  )
}

describe('compareKeys', () => {
  it('orders keys like their UTF-8 bytes', () => {
    const keys = sampleStrings(2_000)
    expect([...keys].sort(compareKeys)).toEqual([...keys].sort(byUtf8))
  })

  it('puts characters above U+FFFF after U+E000..U+FFFF, unlike the default sort', () => {
    expect(compareKeys('\u{1F600}', '\uFFFD')).toBeGreaterThan(0)
    expect('\u{1F600}' < '\uFFFD').toBe(true)
  })

  it('puts a prefix before its extensions and returns 0 for equal keys', () => {
    expect(compareKeys('a', 'ab')).toBeLessThan(0)
    expect(compareKeys('ab', 'ab')).toBe(0)
  })
})

describe('assertValidKey', () => {
  it.each([
    'a',
    'a/b',
    '.a',
    'a/..b',
    'p=a b/c%3A.parquet',
    '_delta_log/00000000000000000000.json',
  ])('accepts %j', (key) => {
    expect(() => assertValidKey(key, 'test store')).not.toThrow()
  })

  it.each(['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', 'a/./b', 'a\0', 'a\\b'])(
    'rejects %j with INVALID_ARGUMENT',
    (key) => {
      expect(() => assertValidKey(key, 'test store')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as DeltaError,
      )
    },
  )
})

describe('splitListPrefix', () => {
  it.each([
    ['', '', ''],
    ['_delta_log/', '_delta_log', ''],
    ['_delta_log/0000', '_delta_log', '0000'],
    ['a/b/c', 'a/b', 'c'],
    ['name', '', 'name'],
  ])('splits %j into directory %j and name prefix %j', (prefix, dir, namePrefix) => {
    expect(splitListPrefix(prefix, 'test store')).toEqual({ dir, namePrefix })
  })
})

describe('resolveRange', () => {
  it.each([
    [0, 10, 10, [0, 10]],
    [2, 5, 10, [2, 5]],
    [8, 20, 10, [8, 10]],
    [12, 20, 10, [10, 10]],
    [0, 0, 0, [0, 0]],
  ])('clamps [%i, %i) of a %i-byte object to %j', (start, end, size, expected) => {
    expect(resolveRange('k', start, end, size, 'test store')).toEqual(expected)
  })

  it.each([
    [-1, 1],
    [2, 1],
    [0.5, 1],
    [0, Number.NaN],
  ])('rejects [%s, %s) with INVALID_ARGUMENT', (start, end) => {
    expect(() => resolveRange('k', start, end, 10, 'test store')).toThrow(DeltaError)
  })
})

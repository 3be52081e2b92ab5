import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import {
  decodeAddPath,
  encodeAddPath,
  escapePartitionPathComponent,
  partitionDirectory,
  resolveDataFilePath,
} from '../../../src/delta/schema/paths.js'

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(DeltaError)
  expect((thrown as DeltaError).code).toBe(code)
}

const FILE = 'part-00000-1b2c3d4e-c000.snappy.parquet'

describe('partition paths (PROTOCOL-DIGEST 3.8 examples)', () => {
  it.each([
    ['region', 'US/East', 'region=US%2FEast', 'region=US%252FEast/'],
    ['p', 'hello world', 'p=hello world', 'p=hello%20world/'],
    [
      'as_timestamp',
      '2021-09-08 11:11:11',
      'as_timestamp=2021-09-08 11%3A11%3A11',
      'as_timestamp=2021-09-08%2011%253A11%253A11/',
    ],
    ['_2', 'bar+%21', '_2=bar+%2521', '_2=bar+%252521/'],
  ])('writes %s=%s to directory %s and add.path %s', (column, value, directory, prefix) => {
    const dir = partitionDirectory([column], { [column]: value })
    expect(dir).toBe(directory)
    const path = encodeAddPath(`${dir}/${FILE}`)
    expect(path).toBe(`${prefix}${FILE}`)
    expect(decodeAddPath(path)).toBe(`${directory}/${FILE}`)
  })
})

describe('escapePartitionPathComponent', () => {
  it.each([
    ['plain', 'plain'],
    ['a b}', 'a b}'],
    ['é😀', 'é😀'],
    ['"#%\'*/:=?\\{[]^', '%22%23%25%27%2A%2F%3A%3D%3F%5C%7B%5B%5D%5E'],
    ['\u0000\u001f\u007f', '%00%1F%7F'],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapePartitionPathComponent(input)).toBe(expected)
  })
})

describe('partitionDirectory', () => {
  it('joins columns in order and writes null and empty values as the Hive default', () => {
    expect(partitionDirectory(['a', 'b=c', 'd'], { a: null, 'b=c': '', d: '2026-01-01' })).toBe(
      'a=__HIVE_DEFAULT_PARTITION__/b%3Dc=__HIVE_DEFAULT_PARTITION__/d=2026-01-01',
    )
  })

  it('is empty for an unpartitioned table', () => {
    expect(partitionDirectory([], {})).toBe('')
  })

  it('throws INVALID_ARGUMENT when a partition value is missing', () => {
    expectCode(() => partitionDirectory(['a'], {}), 'INVALID_ARGUMENT')
  })
})

describe('encodeAddPath', () => {
  it.each([
    ['a/b c.parquet', 'a/b%20c.parquet'],
    ['x/"#%<>?[\\]^`{|}', 'x/%22%23%25%3C%3E%3F%5B%5C%5D%5E%60%7B%7C%7D'],
    ['d/é😀.parquet', 'd/%C3%A9%F0%9F%98%80.parquet'],
    ['d/\u0001\u007f', 'd/%01%7F'],
    ['a:b/c:d', 'a%3Ab/c:d'],
    ["x=+!$&'()*,;=@~/f", "x=+!$&'()*,;=@~/f"],
  ])('encodes %j as %j', (input, expected) => {
    expect(encodeAddPath(input)).toBe(expected)
  })

  it.each(['', '/abs/file.parquet', 'bad\uD800'])('rejects %j with INVALID_ARGUMENT', (input) => {
    expectCode(() => encodeAddPath(input), 'INVALID_ARGUMENT')
  })

  it('is undone by decodeAddPath for any relative path', () => {
    const segment = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 12 })
      .filter((s) => !s.includes('/'))
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const path = segments.join('/')
        const encoded = encodeAddPath(path)
        expect(encoded).toMatch(/^[\x21-\x7e]+$/)
        expect(resolveDataFilePath(encoded)).toEqual({ relative: path })
      }),
    )
  })
})

describe('decodeAddPath', () => {
  it.each([
    // delta-0.8.0-special-partition: directories x=A%2FA and x=B%20B on disk
    [
      'x=A%252FA/part-00007-b350e235-2832-45df-9918-6cab4f7578f7.c000.snappy.parquet',
      'x=A%2FA/part-00007-b350e235-2832-45df-9918-6cab4f7578f7.c000.snappy.parquet',
    ],
    [
      'x=B%2520B/part-00015-e9abbc6f-85e9-457b-be8e-e9f5b8a22890.c000.snappy.parquet',
      'x=B%20B/part-00015-e9abbc6f-85e9-457b-be8e-e9f5b8a22890.c000.snappy.parquet',
    ],
    ['plain/file.parquet', 'plain/file.parquet'],
    ['a+b/%c3%a9', 'a+b/é'],
    ['raw-é/%F0%9F%98%80', 'raw-é/😀'],
  ])('decodes %j once to %j', (input, expected) => {
    expect(decodeAddPath(input)).toBe(expected)
  })

  it.each(['a%2', 'a%zz/b', 'a%', '%C3', '%FF%FE'])('rejects %j with MALFORMED_ACTION', (input) => {
    expectCode(() => decodeAddPath(input), 'MALFORMED_ACTION')
  })
})

describe('resolveDataFilePath', () => {
  it.each([
    ['x=A%252FA/f.parquet', { relative: 'x=A%2FA/f.parquet' }],
    ['s3://bucket/t/x=A%252FA/f.parquet', { absolute: 's3://bucket/t/x=A%2FA/f.parquet' }],
    ['file:/tmp/t/f.parquet', { absolute: 'file:///tmp/t/f.parquet' }],
    ['file:///tmp/t/f%20g.parquet', { absolute: 'file:///tmp/t/f g.parquet' }],
    ['file://localhost/tmp/t/f.parquet', { absolute: 'file:///tmp/t/f.parquet' }],
    [
      'abfss://c@acct.dfs.core.windows.net/t/f.parquet',
      { absolute: 'abfss://c@acct.dfs.core.windows.net/t/f.parquet' },
    ],
  ])('resolves %j', (input, expected) => {
    expect(resolveDataFilePath(input)).toEqual(expected)
  })

  it('rejects an empty path with MALFORMED_ACTION', () => {
    expectCode(() => resolveDataFilePath(''), 'MALFORMED_ACTION')
  })
})

/**
 * The `ObjectStore` contract suite (src/delta/storage/object-store.ts), run against every
 * implementation. Each test gets a fresh, empty store from the factory and cleans it up after.
 *
 * Decisions the suite pins down beyond the interface text:
 * - listings include dot-files (`.00000000000000000000.json.crc`, temp files of other writers);
 *   the log reader and vacuum filter them, the store does not;
 * - "directories" (key prefixes ending at a `/`) are never listed, read or deleted as objects;
 * - `getRange` clamps like `Uint8Array.prototype.slice` for ranges past the end, and rejects
 *   negative, fractional or inverted ranges with `INVALID_ARGUMENT`;
 * - keys are relative, `/`-separated, with no empty, `.` or `..` segments, no NUL and no
 *   backslash; anything else is `INVALID_ARGUMENT` on every operation.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeltaError } from '../../src/delta/errors.js'
import type { DeltaErrorCode } from '../../src/delta/errors.js'
import type { ObjectStore } from '../../src/delta/storage/object-store.js'

/** What a store factory returns: the store and how to dispose of it. */
export interface ObjectStoreFixture {
  readonly store: ObjectStore
  cleanup(): Promise<void>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const bytes = (text: string): Uint8Array => encoder.encode(text)
const text = (data: Uint8Array): string => decoder.decode(data)

/** Sorts by UTF-8 bytes, independently of the implementation under test. */
const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the promise to reject')
    },
    (error: unknown) => error,
  )
}

async function expectDeltaError(promise: Promise<unknown>, code: DeltaErrorCode): Promise<void> {
  const error = await rejection(promise)
  expect(error).toBeInstanceOf(DeltaError)
  expect((error as DeltaError).code).toBe(code)
}

async function putAll(store: ObjectStore, keys: readonly string[]): Promise<void> {
  for (const key of keys) await store.put(key, bytes(`content of ${key}`))
}

const LOG_KEYS = [
  '_delta_log/00000000000000000000.json',
  '_delta_log/00000000000000000001.json',
  '_delta_log/00000000000000000002.json',
  '_delta_log/00000000000000000002.checkpoint.parquet',
  '_delta_log/00000000000000000003.json',
  '_delta_log/_last_checkpoint',
  '_delta_log/_sidecars/00000000000000000002.sidecar.parquet',
] as const

const TREE_KEYS = [
  'root.txt',
  'd/a',
  'd/b',
  'd/sub/c',
  'd/sub/deeper/e',
  'dx/f',
  'part=1/x.parquet',
] as const

const INVALID_KEYS: readonly [string, string][] = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent segment', '../outside'],
  ['nested parent segment', 'a/../../outside'],
  ['only parent', '..'],
  ['current segment', 'a/./b'],
  ['only current', '.'],
  ['empty segment', 'a//b'],
  ['trailing slash', 'a/'],
  ['NUL', 'a\0b'],
  ['backslash', 'a\\..\\b'],
]

/**
 * Defines the contract tests for one `ObjectStore` implementation.
 * @param name - implementation name used in test titles
 * @param makeStore - creates a fresh, empty store and its cleanup
 */
export function describeObjectStoreContract(
  name: string,
  makeStore: () => Promise<ObjectStoreFixture>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore
    let cleanup: (() => Promise<void>) | undefined

    beforeEach(async () => {
      const fixture = await makeStore()
      store = fixture.store
      cleanup = () => fixture.cleanup()
    })

    afterEach(async () => {
      await cleanup?.()
      cleanup = undefined
    })

    it('exposes a non-empty location', () => {
      expect(typeof store.location).toBe('string')
      expect(store.location.length).toBeGreaterThan(0)
    })

    describe('put and get', () => {
      it('round-trips every byte value', async () => {
        const data = Uint8Array.from({ length: 512 }, (_, i) => i % 256)
        await store.put('bin/all-bytes', data)
        expect(await store.get('bin/all-bytes')).toEqual(data)
      })

      it('stores an empty object', async () => {
        await store.put('empty', new Uint8Array(0))
        expect(await store.get('empty')).toEqual(new Uint8Array(0))
        expect((await store.head('empty'))?.size).toBe(0)
      })

      it('replaces the content when the key exists', async () => {
        await store.put('k', bytes('first, longer content'))
        await store.put('k', bytes('second'))
        expect(text(await store.get('k'))).toBe('second')
        expect((await store.head('k'))?.size).toBe(6)
      })

      it('creates the parents of nested keys', async () => {
        await store.put('a/b/c/d.json', bytes('deep'))
        expect(text(await store.get('a/b/c/d.json'))).toBe('deep')
      })

      it('accepts keys with spaces, escapes, unicode and dot-names', async () => {
        const keys = [
          'p=a b/c%3Ad/file.parquet',
          'é/\u{1F600}.bin',
          '.hidden',
          'x/..y',
          '_delta_log/.tmp/00000000000000000005.json',
        ]
        for (const key of keys) {
          await store.put(key, bytes(key))
          expect(text(await store.get(key))).toBe(key)
        }
      })

      it('copies buffers so that callers cannot change a stored object', async () => {
        const input = bytes('abc')
        await store.put('k', input)
        input[0] = 0x7a
        const output = await store.get('k')
        output[1] = 0x7a
        const range = await store.getRange('k', 0, 3)
        range[2] = 0x7a
        expect(text(await store.get('k'))).toBe('abc')
      })

      it('rejects get and getRange with OBJECT_NOT_FOUND when the key is missing', async () => {
        await expectDeltaError(store.get('missing'), 'OBJECT_NOT_FOUND')
        await expectDeltaError(store.getRange('missing', 0, 1), 'OBJECT_NOT_FOUND')
        await expectDeltaError(store.get('no/such/dir/file'), 'OBJECT_NOT_FOUND')
      })

      it('treats a key that is only a prefix of other keys as missing', async () => {
        await store.put('dir/file', bytes('x'))
        await expectDeltaError(store.get('dir'), 'OBJECT_NOT_FOUND')
        await expectDeltaError(store.getRange('dir', 0, 1), 'OBJECT_NOT_FOUND')
        expect(await store.head('dir')).toBeUndefined()
      })

      it('never lets a reader see a partially replaced object', async () => {
        const size = 256 * 1024
        const key = 'big/object'
        await store.put(key, new Uint8Array(size).fill(0))
        let writing = true
        const writer = (async () => {
          for (let round = 1; round <= 12; round++) {
            await store.put(key, new Uint8Array(size).fill(round))
          }
          writing = false
        })()
        const seen = new Set<number>()
        while (writing) {
          const data = await store.get(key)
          expect(data.length).toBe(size)
          const first = data[0]!
          expect(data.every((b) => b === first)).toBe(true)
          seen.add(first)
        }
        await writer
        expect((await store.get(key))[0]).toBe(12)
        expect(seen.size).toBeGreaterThan(0)
      })
    })

    describe('getRange', () => {
      it.each([
        [0, 10, '0123456789'],
        [2, 5, '234'],
        [0, 1, '0'],
        [9, 10, '9'],
        [0, 0, ''],
        [5, 5, ''],
        [10, 10, ''],
        [8, 100, '89'],
        [10, 12, ''],
        [50, 60, ''],
      ])('returns bytes [%i, %i) as "%s"', async (start, end, expected) => {
        await store.put('r', bytes('0123456789'))
        expect(text(await store.getRange('r', start, end))).toBe(expected)
      })

      it.each([
        [-1, 2],
        [3, 2],
        [0.5, 2],
        [0, Number.NaN],
        [0, Number.POSITIVE_INFINITY],
      ])('rejects the range [%s, %s) with INVALID_ARGUMENT', async (start, end) => {
        await store.put('r', bytes('0123456789'))
        await expectDeltaError(store.getRange('r', start, end), 'INVALID_ARGUMENT')
      })
    })

    describe('head', () => {
      it('returns key, size and an integer lastModified', async () => {
        await store.put('dir/h', bytes('12345'))
        const meta = await store.head('dir/h')
        expect(meta).toMatchObject({ key: 'dir/h', size: 5 })
        expect(Number.isInteger(meta?.lastModified)).toBe(true)
        expect(meta!.lastModified).toBeGreaterThan(0)
      })

      it('returns undefined when the key is missing', async () => {
        expect(await store.head('missing')).toBeUndefined()
        expect(await store.head('missing/deeper')).toBeUndefined()
      })
    })

    describe('list', () => {
      it('sorts keys lexicographically whatever the write order', async () => {
        await putAll(store, [...LOG_KEYS].reverse())
        const expected = LOG_KEYS.filter((k) => !k.includes('_sidecars')).sort(byUtf8)
        expect(await store.listKeys('_delta_log/')).toEqual(expected)
        expect((await store.list('_delta_log/')).map((m) => m.key)).toEqual(expected)
      })

      it('sorts by UTF-8 byte order, not by UTF-16 code units', async () => {
        const keys = ['u/z', 'u/\u{1F600}', 'u/a', 'u/\u{E000}', 'u/\u00e9']
        await putAll(store, keys)
        const expected = [...keys].sort(byUtf8)
        // The byte order and the default JavaScript order disagree on these keys.
        expect(expected).not.toEqual([...keys].sort())
        expect(await store.listKeys('u/')).toEqual(expected)
        expect((await store.list('u/')).map((m) => m.key)).toEqual(expected)
      })

      it('sorts recursive listings by the full key', async () => {
        const keys = ['r/a0', 'r/a/b', 'r/a-c', 'r/a/a/z']
        await putAll(store, keys)
        expect(await store.listKeys('r/', { recursive: true })).toEqual([...keys].sort(byUtf8))
      })

      it('lists only the objects directly below the prefix when not recursive', async () => {
        await putAll(store, TREE_KEYS)
        expect(await store.listKeys('d/')).toEqual(['d/a', 'd/b'])
        expect(await store.listKeys('')).toEqual(['root.txt'])
        expect(await store.listKeys('d')).toEqual([])
        expect(await store.listKeys('d/sub/')).toEqual(['d/sub/c'])
      })

      it('lists every object below the prefix when recursive', async () => {
        await putAll(store, TREE_KEYS)
        expect(await store.listKeys('d/', { recursive: true })).toEqual([
          'd/a',
          'd/b',
          'd/sub/c',
          'd/sub/deeper/e',
        ])
        expect(await store.listKeys('d', { recursive: true })).toEqual([
          'd/a',
          'd/b',
          'd/sub/c',
          'd/sub/deeper/e',
          'dx/f',
        ])
        expect(await store.listKeys('', { recursive: true })).toEqual([...TREE_KEYS].sort(byUtf8))
      })

      it('filters by a prefix that ends inside a name', async () => {
        await putAll(store, LOG_KEYS)
        expect(await store.listKeys('_delta_log/0000')).toEqual([
          '_delta_log/00000000000000000000.json',
          '_delta_log/00000000000000000001.json',
          '_delta_log/00000000000000000002.checkpoint.parquet',
          '_delta_log/00000000000000000002.json',
          '_delta_log/00000000000000000003.json',
        ])
        expect(await store.listKeys('_delta_log/00000000000000000002')).toEqual([
          '_delta_log/00000000000000000002.checkpoint.parquet',
          '_delta_log/00000000000000000002.json',
        ])
        expect(await store.listKeys('_delta_log/_')).toEqual(['_delta_log/_last_checkpoint'])
        expect(await store.listKeys('_delta_log/_', { recursive: true })).toEqual([
          '_delta_log/_last_checkpoint',
          '_delta_log/_sidecars/00000000000000000002.sidecar.parquet',
        ])
      })

      it.each([
        ['an existing key', '_delta_log/00000000000000000001.json', 2],
        ['a key between two keys', '_delta_log/00000000000000000001.jsoo', 2],
        ['a key just below an existing key', '_delta_log/00000000000000000001.jso', 1],
        ['a key before all keys', '_delta_log/', 0],
        ['the empty string', '', 0],
        ['the last key', '_delta_log/_last_checkpoint', 6],
        ['a key after all keys', '_delta_log/~', 6],
      ])('returns only keys strictly after startAfter = %s', async (_, startAfter, skipped) => {
        await putAll(store, LOG_KEYS)
        const all = LOG_KEYS.filter((k) => !k.includes('_sidecars')).sort(byUtf8)
        expect(await store.listKeys('_delta_log/', { startAfter })).toEqual(all.slice(skipped))
        expect((await store.list('_delta_log/', { startAfter })).map((m) => m.key)).toEqual(
          all.slice(skipped),
        )
      })

      it('applies startAfter to recursive listings by the full key', async () => {
        await putAll(store, TREE_KEYS)
        expect(await store.listKeys('d/', { recursive: true, startAfter: 'd/b' })).toEqual([
          'd/sub/c',
          'd/sub/deeper/e',
        ])
      })

      it('returns an empty list when the prefix directory does not exist', async () => {
        await putAll(store, TREE_KEYS)
        expect(await store.list('missing/')).toEqual([])
        expect(await store.listKeys('missing/', { recursive: true })).toEqual([])
        expect(await store.listKeys('root.txt/')).toEqual([])
      })

      it('returns an empty list for an empty store', async () => {
        expect(await store.list('')).toEqual([])
        expect(await store.listKeys('', { recursive: true })).toEqual([])
      })

      it('fills size and an integer lastModified for each object', async () => {
        await store.put('m/one', bytes('1'))
        await store.put('m/three', bytes('333'))
        const metas = await store.list('m/')
        expect(metas.map(({ key, size }) => ({ key, size }))).toEqual([
          { key: 'm/one', size: 1 },
          { key: 'm/three', size: 3 },
        ])
        for (const meta of metas) {
          expect(Number.isInteger(meta.lastModified)).toBe(true)
          expect(meta).toEqual(await store.head(meta.key))
        }
      })

      it('never lists directories', async () => {
        await store.put('a/b/c', bytes('x'))
        expect(await store.listKeys('a/')).toEqual([])
        expect(await store.listKeys('a/', { recursive: true })).toEqual(['a/b/c'])
      })

      it('includes dot-files (filtering them is the reader’s job)', async () => {
        await putAll(store, [
          '_delta_log/.00000000000000000000.json.crc',
          '_delta_log/00000000000000000000.json',
          '_delta_log/.tmp/00000000000000000001.json',
        ])
        expect(await store.listKeys('_delta_log/')).toEqual([
          '_delta_log/.00000000000000000000.json.crc',
          '_delta_log/00000000000000000000.json',
        ])
      })

      it.each([
        [{}],
        [{ recursive: true }],
        [{ startAfter: 'd/a' }],
        [{ startAfter: 'd/a', recursive: true }],
      ])('listKeys returns the same keys as list with options %j', async (options) => {
        await putAll(store, TREE_KEYS)
        for (const prefix of ['', 'd', 'd/', 'd/s', 'dx/']) {
          const keys = (await store.list(prefix, options)).map((m) => m.key)
          expect(await store.listKeys(prefix, options)).toEqual(keys)
        }
      })
    })

    describe('putIfAbsent', () => {
      it('creates the object and returns true when the key is absent', async () => {
        expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', bytes('v0'))).toBe(
          true,
        )
        expect(text(await store.get('_delta_log/00000000000000000000.json'))).toBe('v0')
      })

      it('returns false and keeps the existing content when the key exists', async () => {
        await store.put('c', bytes('original'))
        expect(await store.putIfAbsent('c', bytes('intruder, longer'))).toBe(false)
        expect(text(await store.get('c'))).toBe('original')
        expect((await store.head('c'))?.size).toBe(8)
      })

      it('returns false for the second of two sequential calls', async () => {
        expect(await store.putIfAbsent('x/y', bytes('1'))).toBe(true)
        expect(await store.putIfAbsent('x/y', bytes('2'))).toBe(false)
        expect(text(await store.get('x/y'))).toBe('1')
      })

      it('lets exactly one of 50 concurrent callers win, with the winner’s content', async () => {
        const key = '_delta_log/00000000000000000007.json'
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.putIfAbsent(key, bytes(`writer ${i} `.repeat(200))),
          ),
        )
        const winners = results.flatMap((won, i) => (won ? [i] : []))
        expect(winners).toHaveLength(1)
        expect(text(await store.get(key))).toBe(`writer ${winners[0]} `.repeat(200))
        expect(await store.listKeys('_delta_log/')).toEqual([key])
      })
    })

    describe('delete', () => {
      it('returns true and removes the object when it exists', async () => {
        await store.put('dir/gone', bytes('x'))
        expect(await store.delete('dir/gone')).toBe(true)
        await expectDeltaError(store.get('dir/gone'), 'OBJECT_NOT_FOUND')
        expect(await store.head('dir/gone')).toBeUndefined()
        expect(await store.listKeys('dir/')).toEqual([])
      })

      it('returns false when the key is missing', async () => {
        expect(await store.delete('never-there')).toBe(false)
        expect(await store.delete('no/such/dir/file')).toBe(false)
      })

      it('returns false the second time', async () => {
        await store.put('twice', bytes('x'))
        expect(await store.delete('twice')).toBe(true)
        expect(await store.delete('twice')).toBe(false)
      })

      it('does not delete objects below a key that is only a prefix', async () => {
        await store.put('dir/child', bytes('x'))
        expect(await store.delete('dir')).toBe(false)
        expect(text(await store.get('dir/child'))).toBe('x')
      })

      it('allows the key to be created again with putIfAbsent', async () => {
        await store.put('again', bytes('1'))
        await store.delete('again')
        expect(await store.putIfAbsent('again', bytes('2'))).toBe(true)
        expect(text(await store.get('again'))).toBe('2')
      })
    })

    describe('key validation', () => {
      it.each(INVALID_KEYS)('rejects a key (%s) on every operation', async (_, key) => {
        const data = bytes('x')
        await expectDeltaError(store.get(key), 'INVALID_ARGUMENT')
        await expectDeltaError(store.getRange(key, 0, 1), 'INVALID_ARGUMENT')
        await expectDeltaError(store.head(key), 'INVALID_ARGUMENT')
        await expectDeltaError(store.put(key, data), 'INVALID_ARGUMENT')
        await expectDeltaError(store.putIfAbsent(key, data), 'INVALID_ARGUMENT')
        await expectDeltaError(store.delete(key), 'INVALID_ARGUMENT')
        expect(await store.listKeys('', { recursive: true })).toEqual([])
      })

      it.each([['/'], ['/abs/'], ['../'], ['a/../'], ['a//'], ['./'], ['a\0'], ['a\\b/']])(
        'rejects the list prefix %j',
        async (prefix) => {
          await expectDeltaError(store.list(prefix), 'INVALID_ARGUMENT')
          await expectDeltaError(store.listKeys(prefix, { recursive: true }), 'INVALID_ARGUMENT')
        },
      )
    })
  })
}

/**
 * Rules shared by every `ObjectStore` implementation: which keys and list prefixes are
 * valid, the byte order listings are sorted in, and how a ranged read is clamped. Keeping them in
 * one place makes the stores agree exactly (the contract suite checks that they do).
 * @module
 */
import { DeltaError } from '../errors.js'

/**
 * Why a key is rejected, or `undefined` when it is valid. A valid key is a non-empty relative
 * path of `/`-separated segments; no segment is empty, `.` or `..`, and the key contains no NUL
 * and no backslash (a separator on Windows, and never produced by Delta's path escaping).
 */
function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'is empty'
  if (key.startsWith('/')) return 'is absolute'
  if (key.includes('\0')) return 'contains NUL'
  if (key.includes('\\')) return 'contains a backslash'
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment'
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`
  }
  return undefined
}

/**
 * Checks that `key` addresses an object inside the store root.
 * @internal
 * @param key - the key to check
 * @param subsystem - message prefix naming the store, e.g. `local store`
 * @throws DeltaError `INVALID_ARGUMENT` when the key is not valid (see the rules above)
 */
export function assertValidKey(key: string, subsystem: string): void {
  const problem = typeof key === 'string' ? keyProblem(key) : 'is not a string'
  if (problem !== undefined) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${subsystem}: invalid key ${JSON.stringify(key)}: it ${problem}`,
      { context: { key: String(key) } },
    )
  }
}

/**
 * A list prefix split into the "directory" it lies in and the start of the names inside it.
 * `''` → `{ dir: '', namePrefix: '' }`; `_delta_log/` → `{ dir: '_delta_log', namePrefix: '' }`;
 * `_delta_log/0000` → `{ dir: '_delta_log', namePrefix: '0000' }`.
 * @internal
 */
export interface SplitPrefix {
  /** Directory key without a trailing slash, `''` for the root. */
  readonly dir: string
  /** Start of the names inside `dir` (may be empty). */
  readonly namePrefix: string
}

/**
 * Validates a list prefix and splits it at its last `/`. The directory part follows the key rules;
 * the name part is only a filter and may be any text without NUL.
 * @internal
 * @param prefix - a list prefix
 * @param subsystem - message prefix naming the store
 * @returns the directory and the name prefix
 * @throws DeltaError `INVALID_ARGUMENT` when the directory part is not a valid key
 */
export function splitListPrefix(prefix: string, subsystem: string): SplitPrefix {
  const invalid = (why: string): DeltaError =>
    new DeltaError(
      'INVALID_ARGUMENT',
      `${subsystem}: invalid list prefix ${JSON.stringify(prefix)}: it ${why}`,
      { context: { prefix: String(prefix) } },
    )
  if (typeof prefix !== 'string') throw invalid('is not a string')
  const slash = prefix.lastIndexOf('/')
  const dir = slash < 0 ? '' : prefix.slice(0, slash)
  const namePrefix = prefix.slice(slash + 1)
  if (namePrefix.includes('\0')) throw invalid('contains NUL')
  if (namePrefix.includes('\\')) throw invalid('contains a backslash')
  if (slash >= 0) {
    const problem = keyProblem(dir)
    if (problem !== undefined) throw invalid(`has a directory part that ${problem}`)
  }
  return { dir, namePrefix }
}

/**
 * Maps a UTF-16 code unit so that comparing mapped units orders strings by code point, which is
 * also the byte order of their UTF-8 encodings. Surrogates (U+D800–U+DFFF, which encode code
 * points above U+FFFF) must sort after U+E000–U+FFFF, whereas raw UTF-16 comparison puts them
 * before.
 */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000
  if (unit >= 0xe000) return unit - 0x800
  return unit
}

/**
 * Compares two keys by the byte order of their UTF-8 encodings (the order of object-store
 * listings and of Delta's own file ordering). JavaScript's default string order compares UTF-16
 * code units, which differs for characters above U+FFFF; this comparison does not.
 * @internal
 * @param a - first key
 * @param b - second key
 * @returns negative, zero or positive like `Array.prototype.sort` expects
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/**
 * Resolves the byte range of `ObjectStore.getRange` against an object's size, with
 * `Uint8Array.prototype.slice` semantics for ranges past the end: `end` is clamped to the size,
 * and a range starting at or after the end is empty.
 * @internal
 * @param key - the object key (for messages)
 * @param start - first byte, a non-negative integer
 * @param end - end (exclusive), an integer not below `start`
 * @param size - the object's size
 * @param subsystem - message prefix naming the store
 * @returns the clamped `[start, end)`
 * @throws DeltaError `INVALID_ARGUMENT` when the range is malformed
 */
export function resolveRange(
  key: string,
  start: number,
  end: number,
  size: number,
  subsystem: string,
): [number, number] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `${subsystem}: invalid byte range [${start}, ${end}) for key "${key}"`,
      { context: { key, start, end } },
    )
  }
  const from = Math.min(start, size)
  return [from, Math.max(from, Math.min(end, size))]
}

/**
 * Checks the range arguments before the object's size is known (so that malformed ranges fail
 * the same way whether or not the object exists).
 * @internal
 * @param key - the object key (for messages)
 * @param start - first byte
 * @param end - end (exclusive)
 * @param subsystem - message prefix naming the store
 * @throws DeltaError `INVALID_ARGUMENT` when the range is malformed
 */
export function assertValidRange(key: string, start: number, end: number, subsystem: string): void {
  resolveRange(key, start, end, Number.MAX_SAFE_INTEGER, subsystem)
}

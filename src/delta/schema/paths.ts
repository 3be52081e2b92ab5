/**
 * Data file paths ("Add File and Remove File" and "Partition Value Serialization" in
 * PROTOCOL.md). Two independent encodings stack for partitioned files:
 *
 * 1. Hive directory escaping of `column=value` directory names (what is on disk);
 * 2. RFC 2396 URI encoding of the whole relative path for `add.path` (what is in the log).
 *
 * So a value `US/East` lives in directory `region=US%2FEast`, and `add.path` says
 * `region=US%252FEast/…`. Readers decode `add.path` exactly once and never derive the location
 * from partition values.
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#add-file-and-remove-file
 * @module
 */
import type { PartitionValues } from '../actions/actions.js'
import { DeltaError } from '../errors.js'

/** Directory value written for a null (or empty) partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__'

const HEX = '0123456789ABCDEF'

function percentByte(byte: number): string {
  return `%${HEX[byte >> 4]}${HEX[byte & 15]}`
}

/** ASCII characters Hive/Spark escape in directory names (besides controls). */
const HIVE_ESCAPED = new Set('"#%\'*/:=?\\{[]^')
/** ASCII characters RFC 2396 does not allow raw in a path (besides controls and non-ASCII). */
const URI_ESCAPED = new Set(' "#%<>?[\\]^`{|}')

function needsHiveEscape(code: number): boolean {
  return (
    code < 0x20 || code === 0x7f || (code < 0x80 && HIVE_ESCAPED.has(String.fromCharCode(code)))
  )
}

/**
 * Escapes a partition column name or value for a Hive-style directory name: ASCII controls
 * (0x00–0x1F, 0x7F) and `" # % ' * / : = ? \ { [ ] ^` become `%XX` (uppercase hex); space, `}`
 * and non-ASCII characters stay raw (Spark's behaviour on non-Windows systems).
 * @param s - the name or value
 * @returns the escaped component
 */
export function escapePartitionPathComponent(s: string): string {
  let out = ''
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (needsHiveEscape(code)) {
      out += s.slice(start, i) + percentByte(code)
      start = i + 1
    }
  }
  return start === 0 ? s : out + s.slice(start)
}

/**
 * The relative directory of a partition: `col=value` segments in partition column order, with
 * Hive escaping, and `__HIVE_DEFAULT_PARTITION__` for null or empty values.
 * @param partitionColumns - the table's partition columns, in order
 * @param values - serialized partition values of the file
 * @returns e.g. `region=US%2FEast/day=2026-01-01` (empty string when unpartitioned)
 * @throws DeltaError `INVALID_ARGUMENT` when a partition column has no entry in `values`
 */
export function partitionDirectory(
  partitionColumns: readonly string[],
  values: PartitionValues,
): string {
  return partitionColumns
    .map((column) => {
      if (!Object.hasOwn(values, column)) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          `delta paths: no partition value for partition column ${JSON.stringify(column)}`,
          { context: { column } },
        )
      }
      const value = values[column]
      const dir =
        value === null || value === undefined || value === ''
          ? HIVE_DEFAULT_PARTITION
          : escapePartitionPathComponent(value)
      return `${escapePartitionPathComponent(column)}=${dir}`
    })
    .join('/')
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * URI-encodes a relative file path for `add.path` (RFC 2396): space, `" # % < > ? [ \ ] ^ \` {
 * | }`, controls and non-ASCII characters (as UTF-8 bytes) become `%XX`; `/` separates segments.
 * A `:` in the first segment is encoded too, so the path can never be read as a URI scheme.
 * @param relativePath - path relative to the table root, `/`-separated, not starting with `/`
 * @returns the encoded path
 * @throws DeltaError `INVALID_ARGUMENT` for an empty or absolute path
 */
export function encodeAddPath(relativePath: string): string {
  if (relativePath.length === 0 || relativePath.startsWith('/')) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta paths: ${JSON.stringify(relativePath)} is not a relative file path`,
    )
  }
  const firstSlash = relativePath.indexOf('/')
  const firstSegmentEnd = firstSlash < 0 ? relativePath.length : firstSlash
  let out = ''
  for (let i = 0; i < relativePath.length; i++) {
    const code = relativePath.charCodeAt(i)
    if (code < 0x80) {
      const ch = relativePath[i] as string
      if (
        code < 0x20 ||
        code === 0x7f ||
        URI_ESCAPED.has(ch) ||
        (ch === ':' && i < firstSegmentEnd)
      ) {
        out += percentByte(code)
      } else {
        out += ch
      }
      continue
    }
    // Non-ASCII: encode the whole code point (surrogate pair included) as UTF-8.
    const cp = relativePath.codePointAt(i) as number
    const ch = String.fromCodePoint(cp)
    if (cp >= 0xd800 && cp <= 0xdfff) {
      throw new DeltaError('INVALID_ARGUMENT', 'delta paths: file path contains a lone surrogate')
    }
    for (const byte of utf8Encoder.encode(ch)) out += percentByte(byte)
    i += ch.length - 1
  }
  return out
}

function malformedPath(path: string, detail: string): never {
  throw new DeltaError(
    'MALFORMED_ACTION',
    `delta paths: add.path ${JSON.stringify(path)}: ${detail}`,
    {
      context: { path },
    },
  )
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/**
 * Percent-decodes an `add.path` exactly once (RFC 2396; `+` stays `+`). Raw non-ASCII characters
 * (as Spark writes them) pass through; escaped bytes must form valid UTF-8.
 * @param path - `add.path` as written in the log
 * @returns the decoded path
 * @throws DeltaError `MALFORMED_ACTION` for a `%` not followed by two hex digits, or escapes that
 *   are not valid UTF-8
 */
export function decodeAddPath(path: string): string {
  if (!path.includes('%')) return path
  let out = ''
  let i = 0
  while (i < path.length) {
    const pct = path.indexOf('%', i)
    if (pct < 0) {
      out += path.slice(i)
      break
    }
    out += path.slice(i, pct)
    // Collect a run of consecutive escapes: multi-byte UTF-8 characters span several.
    const bytes: number[] = []
    let j = pct
    while (j < path.length && path.charCodeAt(j) === 37) {
      const hi = hexValue(path.charCodeAt(j + 1))
      const lo = hexValue(path.charCodeAt(j + 2))
      if (hi < 0 || lo < 0) malformedPath(path, `malformed percent escape at offset ${j}`)
      bytes.push(hi * 16 + lo)
      j += 3
    }
    try {
      out += utf8Decoder.decode(new Uint8Array(bytes))
    } catch (cause) {
      throw new DeltaError(
        'MALFORMED_ACTION',
        `delta paths: add.path ${JSON.stringify(path)}: escapes at offset ${pct} are not valid UTF-8`,
        { cause, context: { path } },
      )
    }
    i = j
  }
  return out
}

/** Where a data file lives: relative to the table root, or at an absolute URI. */
export type DataFileLocation = { readonly relative: string } | { readonly absolute: string }

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/

/**
 * Decodes an `add.path` and tells relative paths from absolute URIs (`s3://…`, `file:/…`). Local
 * file URIs are canonicalized to `file:///abs/path` (Spark writes `file:/abs/path`; `file://localhost/`
 * is the same place).
 * @param path - `add.path` as written in the log
 * @returns `{ relative }` (decoded, relative to the table root) or `{ absolute }` (decoded URI)
 * @throws DeltaError `MALFORMED_ACTION` for malformed escapes or an empty path
 */
export function resolveDataFilePath(path: string): DataFileLocation {
  if (path.length === 0) malformedPath(path, 'empty path')
  if (!SCHEME_RE.test(path)) return { relative: decodeAddPath(path) }
  const decoded = decodeAddPath(path)
  const lower = decoded.slice(0, 5).toLowerCase()
  if (lower === 'file:') {
    let rest = decoded.slice(5)
    if (rest.startsWith('//localhost/')) rest = rest.slice('//localhost'.length)
    else if (rest.startsWith('///')) rest = rest.slice(2)
    else if (rest.startsWith('//')) return { absolute: decoded } // file://host/…: keep as is
    return { absolute: `file://${rest.startsWith('/') ? '' : '/'}${rest}` }
  }
  return { absolute: decoded }
}

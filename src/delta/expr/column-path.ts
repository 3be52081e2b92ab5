/**
 * Column paths: dotted names of (possibly nested) columns, with Spark's backtick quoting, as used
 * by `col('a.b')` and by the `delta.dataSkippingStatsColumns` table property ("Per-file
 * Statistics" in PROTOCOL.md).
 *
 * Syntax: segments separated by `.`; a segment is either unquoted (any characters except `.`,
 * `` ` `` and `,`) or quoted in backticks, where a doubled backtick stands for one
 * (`` `a.b`.c `` is field `c` of the column named `a.b`).
 * @see https://github.com/delta-io/delta/blob/master/PROTOCOL.md#per-file-statistics
 * @module
 */

/**
 * Parses a list of column paths separated by commas, trimming whitespace around each segment.
 * @param text - e.g. `` a, b.c, `d,e`.f ``
 * @returns the paths, or undefined when the text is not valid (empty segment, unbalanced
 *   backtick); a blank text is an empty list
 * @internal
 */
export function parseColumnPathList(text: string): string[][] | undefined {
  const paths: string[][] = []
  if (text.trim().length === 0) return paths
  let segments: string[] = []
  let i = 0
  const n = text.length
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++
    let segment: string
    if (text[i] === '`') {
      segment = ''
      i++
      for (;;) {
        if (i >= n) return undefined
        if (text[i] === '`') {
          if (text[i + 1] === '`') {
            segment += '`'
            i += 2
            continue
          }
          i++
          break
        }
        segment += text[i] as string
        i++
      }
      while (i < n && isSpace(text.charCodeAt(i))) i++
    } else {
      const start = i
      while (i < n && text[i] !== '.' && text[i] !== ',' && text[i] !== '`') i++
      segment = text.slice(start, i).trim()
      if (segment.length === 0) return undefined
    }
    segments.push(segment)
    if (i >= n) {
      paths.push(segments)
      return paths
    }
    const sep = text[i]
    i++
    if (sep === ',') {
      paths.push(segments)
      segments = []
    } else if (sep !== '.') {
      return undefined
    }
  }
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13
}

/**
 * Parses one column path (no surrounding whitespace is trimmed inside unquoted segments beyond
 * what {@link parseColumnPathList} does; commas must be quoted).
 * @param text - e.g. `s.x` or `` `a.b`.c ``
 * @returns the segments, or undefined when the text is not a single valid path
 * @internal
 */
export function parseColumnPath(text: string): string[] | undefined {
  const list = parseColumnPathList(text)
  return list?.length === 1 ? list[0] : undefined
}

const SIMPLE_SEGMENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Formats a path so that {@link parseColumnPath} reads it back: simple identifiers raw, anything
 * else in backticks.
 * @param path - the segments
 * @returns e.g. `` s.`a b` ``
 * @internal
 */
export function formatColumnPath(path: readonly string[]): string {
  return path
    .map((s) => (SIMPLE_SEGMENT_RE.test(s) ? s : `\`${s.replaceAll('`', '``')}\``))
    .join('.')
}

/**
 * Names of the files in `_delta_log/` ("Delta Log Entries", "Checkpoints" in PROTOCOL.md).
 * Versions are zero-padded to 20 digits so that lexicographic order is numeric order.
 * @module
 */

/** The log directory, relative to the table root (with trailing slash). */
export const LOG_DIR = '_delta_log/'

/** Key of the `_last_checkpoint` hint. */
export const LAST_CHECKPOINT_KEY = `${LOG_DIR}_last_checkpoint`

/** A file of the log, classified by its name. */
export type LogFile =
  | { readonly type: 'commit'; readonly version: number; readonly key: string }
  | {
      readonly type: 'checkpoint'
      readonly version: number
      readonly key: string
      /** `classic` single file, `multipart` part, or UUID-named `v2`. */
      readonly flavor: 'classic' | 'multipart' | 'v2'
      readonly part?: number
      readonly parts?: number
    }
  | {
      readonly type: 'compacted'
      readonly version: number
      readonly endVersion: number
      readonly key: string
    }
  | { readonly type: 'crc'; readonly version: number; readonly key: string }

const COMMIT_RE = /^(\d{20})\.json$/
const CLASSIC_RE = /^(\d{20})\.checkpoint\.parquet$/
const MULTIPART_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/
const V2_RE =
  /^(\d{20})\.checkpoint\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\.(json|parquet)$/
const COMPACTED_RE = /^(\d{20})\.(\d{20})\.compacted\.json$/
const CRC_RE = /^(\d{20})\.crc$/

/**
 * Zero-pads a version to the 20 digits used in log file names.
 * @param version - a non-negative integer version
 * @returns the padded version
 */
export function padVersion(version: number): string {
  return String(version).padStart(20, '0')
}

/**
 * Key of the commit file of a version.
 * @param version - the version
 * @returns `_delta_log/<padded>.json`
 */
export function commitKey(version: number): string {
  return `${LOG_DIR}${padVersion(version)}.json`
}

/**
 * Key of the classic single-file checkpoint of a version.
 * @param version - the version
 * @returns `_delta_log/<padded>.checkpoint.parquet`
 */
export function checkpointKey(version: number): string {
  return `${LOG_DIR}${padVersion(version)}.checkpoint.parquet`
}

/**
 * Classifies a key of the log directory. Hidden files (`.`-prefixed), `_last_checkpoint`,
 * files in subdirectories and anything not matching the protocol's names return `undefined`.
 * @param key - a store key under `_delta_log/`
 * @returns the classified file or undefined for files a reader must ignore
 */
export function parseLogKey(key: string): LogFile | undefined {
  if (!key.startsWith(LOG_DIR)) return undefined
  const name = key.slice(LOG_DIR.length)
  if (name.includes('/') || name.startsWith('.')) return undefined
  let m = COMMIT_RE.exec(name)
  if (m) return { type: 'commit', version: Number(m[1]), key }
  m = CLASSIC_RE.exec(name)
  if (m) return { type: 'checkpoint', version: Number(m[1]), key, flavor: 'classic' }
  m = MULTIPART_RE.exec(name)
  if (m) {
    const part = Number(m[2])
    const parts = Number(m[3])
    if (part < 1 || parts < 1 || part > parts) return undefined
    return { type: 'checkpoint', version: Number(m[1]), key, flavor: 'multipart', part, parts }
  }
  m = V2_RE.exec(name)
  if (m) return { type: 'checkpoint', version: Number(m[1]), key, flavor: 'v2' }
  m = COMPACTED_RE.exec(name)
  if (m) return { type: 'compacted', version: Number(m[1]), endVersion: Number(m[2]), key }
  m = CRC_RE.exec(name)
  if (m) return { type: 'crc', version: Number(m[1]), key }
  return undefined
}

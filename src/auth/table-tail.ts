/**
 * What the services that tail a table's new commits (the lockout, session activity) share.
 * @module
 */
import { isDeltaError } from '../delta/index.js'

/** Errors of reading commits or files the table no longer keeps. */
const GONE: ReadonlySet<string> = new Set([
  'VERSION_NOT_FOUND',
  'DATA_FILE_NOT_FOUND',
  'OBJECT_NOT_FOUND',
])

/**
 * Whether a tail failed because it is behind what the table keeps: the commits it has not read
 * were removed by log cleanup, or the files they added were compacted and then vacuumed. The
 * current version holds the same rows, so the tail reloads its window from it.
 * @param error - what reading the changes threw
 * @returns true for such a failure
 */
export function isBehindTable(error: unknown): boolean {
  return isDeltaError(error) && GONE.has(error.code)
}

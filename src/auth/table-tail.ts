/**
 * Following a table's new commits, as the lockout (failed logins in `audit_log`) and the session
 * activity (uses in `session_activity`) do: the rows each commit added, commit by commit, and a
 * reload when the tail is behind what the table keeps.
 * @module
 */
import { isDeltaError, type DeltaTable, type ScanOptions } from '../delta/index.js'

/** Errors of reading commits or files the table no longer keeps. */
const GONE: ReadonlySet<string> = new Set([
  'VERSION_NOT_FOUND',
  'DATA_FILE_NOT_FOUND',
  'OBJECT_NOT_FOUND',
])

/**
 * Whether an error says a commit or file was read that the table no longer keeps.
 * @param error - what a read threw
 * @returns true for the engine's not-found codes
 */
export function isGone(error: unknown): boolean {
  return isDeltaError(error) && GONE.has(error.code)
}

/** What a tail does with what it reads. */
export interface TableTail {
  /** Takes one added row. */
  row(row: Readonly<Record<string, unknown>>): void
  /** Called once the rows of `version` are taken: the tail goes on after it. */
  commit(version: number): void
  /**
   * Called instead when the tail is behind what the table keeps: the commits it has not read
   * were removed by log cleanup, or the files they added were compacted and then vacuumed. The
   * current version holds the same rows, so the tail reloads its window from it.
   */
  reload(): Promise<void>
}

/**
 * Reads the rows the commits after `after` added: the data-changing adds only (a compaction's
 * rewrite brings no new rows), projected and filtered by `read`.
 * @param table - the table followed
 * @param after - the last version already read
 * @param read - columns and filter of the rows wanted
 * @param tail - where the rows go
 * @returns when read (or reloaded)
 */
export async function followTable(
  table: DeltaTable,
  after: number,
  read: ScanOptions,
  tail: TableTail,
): Promise<void> {
  try {
    for (const c of await table.changes(after)) {
      for (const a of c.actions) {
        if (a.kind !== 'add' || !a.dataChange) continue
        for (const r of await table.fileRows(a, read)) tail.row(r)
      }
      tail.commit(c.version)
    }
  } catch (error) {
    if (!isGone(error)) throw error
    await tail.reload()
  }
}

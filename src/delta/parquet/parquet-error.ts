/**
 * Error construction for the Parquet adapter: every message starts with `parquet:` and names the
 * file (when known) and the column, so that a failing data file or checkpoint can be found.
 * @module
 */
import { DeltaError } from '../errors.js'
import type { DeltaErrorCode } from '../errors.js'

/** Where a Parquet failure happened. @internal */
export interface ParquetErrorLocation {
  /** File name or path, for messages only. */
  readonly fileName?: string | undefined
  /** Column path (`a.b.c`), when the failure concerns one column. */
  readonly column?: string | undefined
  /** The underlying error. */
  readonly cause?: unknown
}

/**
 * Builds a {@link DeltaError} whose message is `parquet: <file>: column "<col>": <detail>`.
 * @param code - `PARQUET_ERROR` (unreadable file, unsupported encoding), `SCHEMA_MISMATCH`
 *   (value or file type incompatible with the Delta type) or `COLUMN_NOT_FOUND`
 * @param detail - what went wrong, with the offending values
 * @param location - file, column and cause
 * @returns the error, to be thrown by the caller
 * @internal
 */
export function parquetError(
  code: Extract<DeltaErrorCode, 'PARQUET_ERROR' | 'SCHEMA_MISMATCH' | 'COLUMN_NOT_FOUND'>,
  detail: string,
  location: ParquetErrorLocation = {},
): DeltaError {
  const file = location.fileName ?? '<in-memory file>'
  const column = location.column === undefined ? '' : ` column "${location.column}":`
  return new DeltaError(code, `parquet: ${file}:${column} ${detail}`, {
    cause: location.cause,
    context: { file: location.fileName, column: location.column },
  })
}

/**
 * The message of an unknown thrown value, for wrapping library errors.
 * @param error - anything thrown
 * @returns its message
 * @internal
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

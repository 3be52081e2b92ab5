/**
 * Typed errors of the Delta engine.
 *
 * Every failure the engine reports is a {@link DeltaError} with a stable `code` that callers can
 * branch on; subclasses exist only where a caller needs extra structured context.
 * Messages start with the subsystem and name the offending table/value, never a secret.
 * @module
 */

/** Stable error codes of the engine. Codes never change meaning once released. */
export const DELTA_ERROR_CODES = [
  'TABLE_NOT_FOUND',
  'TABLE_ALREADY_EXISTS',
  'VERSION_NOT_FOUND',
  'INVALID_VERSION',
  'INVALID_TIMESTAMP',
  'TIMESTAMP_BEFORE_FIRST_COMMIT',
  'TIMESTAMP_IN_FUTURE',
  'UNSUPPORTED_FEATURE',
  'MALFORMED_ACTION',
  'MALFORMED_LOG',
  'VERSIONS_NOT_CONTIGUOUS',
  'MISSING_PROTOCOL',
  'MISSING_METADATA',
  'CORRUPT_CHECKPOINT',
  'INVALID_SCHEMA',
  'INVALID_ARGUMENT',
  'INVALID_EXPRESSION',
  'COLUMN_NOT_FOUND',
  'SCHEMA_MISMATCH',
  'OBJECT_NOT_FOUND',
  'DATA_FILE_NOT_FOUND',
  'STORAGE_ERROR',
  'PARQUET_ERROR',
  'COMMIT_CONFLICT',
  'MAX_COMMIT_ATTEMPTS',
  'APPEND_ONLY',
  'QUEUE_CLOSED',
  'MERGE_CARDINALITY',
  'RETENTION_TOO_SHORT',
  'INTERNAL',
] as const

/** One of {@link DELTA_ERROR_CODES}. */
export type DeltaErrorCode = (typeof DELTA_ERROR_CODES)[number]

/** Structured context attached to an error (table URI, version, file, ...). Never secrets. */
export type DeltaErrorContext = Readonly<Record<string, string | number | boolean | undefined>>

/** Options accepted by every {@link DeltaError} constructor. */
export interface DeltaErrorOptions {
  /** The underlying error, if any. */
  readonly cause?: unknown
  /** Extra structured context (table URI, version, path, ...). */
  readonly context?: DeltaErrorContext
}

/** Root of all engine errors. */
export class DeltaError extends Error {
  /** Stable machine-readable code. */
  readonly code: DeltaErrorCode
  /** Structured context of the failure. */
  readonly context: DeltaErrorContext

  /**
   * @param code - stable error code
   * @param message - human-readable message starting with the subsystem
   * @param options - cause and structured context
   */
  constructor(code: DeltaErrorCode, message: string, options: DeltaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DeltaError'
    this.code = code
    this.context = options.context ?? {}
  }
}

/** A requested version (or timestamp) does not exist or is no longer reconstructable. */
export class VersionNotFoundError extends DeltaError {
  /** Earliest version that can be reconstructed, when known. */
  readonly earliest: number | undefined
  /** Latest version of the table, when known. */
  readonly latest: number | undefined

  /**
   * @param message - description naming the table and the requested version
   * @param range - the available version range, when known
   * @param options - cause and context
   */
  constructor(
    message: string,
    range: { earliest?: number; latest?: number } = {},
    options: DeltaErrorOptions = {},
  ) {
    super('VERSION_NOT_FOUND', message, options)
    this.name = 'VersionNotFoundError'
    this.earliest = range.earliest
    this.latest = range.latest
  }
}

/** The table needs a protocol version or feature this engine does not implement. */
export class UnsupportedProtocolError extends DeltaError {
  /** The features (or `readerVersion=N` / `writerVersion=N`) that are not supported. */
  readonly features: readonly string[]

  /**
   * @param message - description naming the table and the features
   * @param features - unsupported feature names
   * @param options - cause and context
   */
  constructor(message: string, features: readonly string[], options: DeltaErrorOptions = {}) {
    super('UNSUPPORTED_FEATURE', message, options)
    this.name = 'UnsupportedProtocolError'
    this.features = features
  }
}

/** The kinds of commit conflict, as in the Delta conflict-checking rules. */
export type ConflictKind =
  | 'concurrent-append'
  | 'concurrent-delete-read'
  | 'concurrent-delete-delete'
  | 'metadata-changed'
  | 'protocol-changed'
  | 'concurrent-transaction'
  /** The commits after the read version were removed by log cleanup: too old to validate. */
  | 'log-cleaned-up'

/** A concurrent commit invalidated what this transaction read or wrote. */
export class CommitConflictError extends DeltaError {
  /** Which rule failed. */
  readonly conflict: ConflictKind
  /** The winning version that caused the conflict. */
  readonly winningVersion: number

  /**
   * @param conflict - the conflict kind
   * @param winningVersion - version of the concurrent commit
   * @param message - description of the conflict
   * @param options - cause and context
   */
  constructor(
    conflict: ConflictKind,
    winningVersion: number,
    message: string,
    options: DeltaErrorOptions = {},
  ) {
    super('COMMIT_CONFLICT', message, options)
    this.name = 'CommitConflictError'
    this.conflict = conflict
    this.winningVersion = winningVersion
  }
}

/** A bug in the engine ("please report"): an invariant that must never break did. */
export class InternalError extends DeltaError {
  /**
   * @param message - the broken invariant
   * @param options - cause and context
   */
  constructor(message: string, options: DeltaErrorOptions = {}) {
    super('INTERNAL', `delta: internal error (a bug, please report): ${message}`, options)
    this.name = 'InternalError'
  }
}

/**
 * True when `error` is a {@link DeltaError}, optionally with the given code.
 * @param error - any thrown value
 * @param code - optional code to match
 * @returns whether it matches
 */
export function isDeltaError(error: unknown, code?: DeltaErrorCode): error is DeltaError {
  return error instanceof DeltaError && (code === undefined || error.code === code)
}

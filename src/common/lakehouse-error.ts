/**
 * The root error of everything above the Delta engine. Every failure a user of the library,
 * the server or the CLI sees is a `LakehouseError` with a stable `code` from a module's
 * catalogue (see {@link defineErrorCodes}); messages never contain secrets, tokens or hashes.
 * @module
 */

/** Structured, non-secret context of an error. */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>

/** Options of a {@link LakehouseError}. */
export interface LakehouseErrorOptions {
  readonly cause?: unknown
  readonly context?: ErrorContext
  /** Seconds after which a retry may succeed (lockouts, rate limits). */
  readonly retryAfterSeconds?: number
}

/** Root error of the domain layers. */
export class LakehouseError<C extends string = string> extends Error {
  /** Stable machine-readable code. */
  readonly code: C
  /** Structured context (never secrets). */
  readonly context: ErrorContext
  /** Seconds after which a retry may succeed, when meaningful. */
  readonly retryAfterSeconds: number | undefined

  /**
   * @param code - stable code from a module catalogue
   * @param message - user-safe message, starting with the subsystem
   * @param options - cause, context, retry-after
   */
  constructor(code: C, message: string, options: LakehouseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'LakehouseError'
    this.code = code
    this.context = options.context ?? {}
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/**
 * Declares a frozen catalogue of error codes (UPPER_SNAKE) and their user-safe messages.
 * @param codes - code to message
 * @returns the frozen catalogue
 */
export function defineErrorCodes<const T extends Record<Uppercase<string>, string>>(
  codes: T,
): Readonly<T> {
  return Object.freeze(codes)
}

/**
 * True when `error` is a {@link LakehouseError}, optionally with the given code.
 * @param error - any thrown value
 * @param code - optional code to match
 * @returns whether it matches
 */
export function isLakehouseError(error: unknown, code?: string): error is LakehouseError {
  return error instanceof LakehouseError && (code === undefined || error.code === code)
}

/**
 * The minimal logging interface the domain uses to "say so" (generated secrets, weak
 * configuration). Callers inject their own; the default writes to the console.
 * @module
 */

/** A sink for operational messages. Messages never contain secrets. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
}

/** Logs to the console. */
export const consoleLogger: Logger = {
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
}

/** Discards everything (tests). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined }

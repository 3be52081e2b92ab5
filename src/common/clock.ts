/**
 * Time source of the domain layers (structurally the same as the engine's `Clock`, so one
 * object serves both). Injected so that tests control session expiry, lockouts and time travel.
 * @module
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

/**
 * The UTC calendar day of an instant, as day partitions hold it.
 * @param ms - milliseconds since the epoch
 * @returns `YYYY-MM-DD`
 */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

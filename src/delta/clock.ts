/**
 * Time source of the engine. Injected so that tests can control time (time travel, tombstone
 * expiry, vacuum retention) without sleeping.
 * @module
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() }

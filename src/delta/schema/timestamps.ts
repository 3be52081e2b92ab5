/**
 * Microsecond timestamps on JavaScript `Date`s.
 *
 * Delta timestamps have microsecond precision (Spark and delta-rs write them so); a `Date` holds
 * milliseconds. A timestamp read from a file keeps the microseconds past its millisecond on the
 * `Date` itself, under a private symbol, so that a copy-on-write rewrite (delete, update, merge,
 * compaction) writes back exactly what it read, filters and stats order such values exactly,
 * and a `Date` built by the application is simply a timestamp with zero microseconds past its
 * millisecond. `Date` methods (`getTime`, `toISOString`) still see whole milliseconds.
 * @module
 */

/** Microseconds past the millisecond (1–999) of a Date; absent means 0. */
const SUB_MILLIS: unique symbol = Symbol('delta.timestamp.subMillisecondMicros')

type Tagged = Date & { [SUB_MILLIS]?: number }

/**
 * The microseconds past the millisecond of a timestamp.
 * @param date - a timestamp value
 * @returns 0–999 (0 for any Date not read from a file with finer precision)
 */
export function subMillisecondMicros(date: Date): number {
  return (date as Tagged)[SUB_MILLIS] ?? 0
}

/**
 * A timestamp from epoch milliseconds and the microseconds past that millisecond.
 * @param millis - epoch milliseconds
 * @param micros - 0–999 microseconds past `millis` (other values are a programming error)
 * @returns a Date, carrying `micros` when it is not zero
 */
export function timestampOf(millis: number, micros: number): Date {
  const date = new Date(millis)
  if (micros !== 0) {
    Object.defineProperty(date, SUB_MILLIS, { value: micros, enumerable: false })
  }
  return date
}

/**
 * Epoch microseconds as epoch milliseconds, rounded toward negative infinity (so that
 * `1969-12-31T23:59:59.999500` is `.999`, not `1970-01-01T00:00:00.000`), and the microseconds
 * past that millisecond.
 * @param micros - epoch microseconds
 * @returns the millisecond and the rest (0–999)
 * @internal
 */
export function splitMicros(micros: bigint): { millis: number; micros: number } {
  const n = Number(micros)
  if (Number.isSafeInteger(n)) {
    // Exact in doubles: `%` of integers is exact, and n - r is a multiple of 1000.
    const r = ((n % 1000) + 1000) % 1000
    return { millis: (n - r) / 1000, micros: r }
  }
  const r = ((micros % 1000n) + 1000n) % 1000n
  return { millis: Number((micros - r) / 1000n), micros: Number(r) }
}

/**
 * A timestamp from epoch microseconds (rounded toward negative infinity to the millisecond for
 * `getTime`, with the rest kept on the Date).
 * @param micros - epoch microseconds
 * @returns the timestamp
 */
export function timestampFromMicros(micros: bigint): Date {
  const split = splitMicros(micros)
  return timestampOf(split.millis, split.micros)
}

/**
 * Epoch microseconds of a timestamp, exactly as read or written.
 * @param date - a timestamp value
 * @returns epoch microseconds
 */
export function timestampMicros(date: Date): bigint {
  const micros = BigInt(date.getTime()) * 1000n
  const sub = subMillisecondMicros(date)
  return sub === 0 ? micros : micros + BigInt(sub)
}

/**
 * A copy of a timestamp, microseconds included.
 * @param date - a timestamp value
 * @returns a new Date
 */
export function copyTimestamp(date: Date): Date {
  return timestampOf(date.getTime(), subMillisecondMicros(date))
}

/**
 * Orders two timestamps by instant, microseconds included.
 * @param a - a valid Date
 * @param b - a valid Date
 * @returns negative, zero or positive
 */
export function compareTimestamps(a: Date, b: Date): number {
  const x = a.getTime()
  const y = b.getTime()
  if (x !== y) return x < y ? -1 : 1
  return subMillisecondMicros(a) - subMillisecondMicros(b)
}

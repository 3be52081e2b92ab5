/**
 * A map whose copies share most of their entries: what makes a snapshot after one commit cost
 * O(actions of the commit) instead of O(live files of the table).
 *
 * A copy shares the frozen `base` of its source and copies only the source's small `overlay`
 * of changes; once the overlay outgrows about twice the square root of the base, a copy
 * flattens both into a new base (amortized O(√n) per copy). Iteration order is exactly that of
 * a `Map` given the same calls: an updated key keeps its place, a new or re-added key goes last.
 * @module
 */

/** Marks a base key deleted in the overlay. */
const GONE: unique symbol = Symbol('gone')

interface Change<V> {
  readonly value: V | typeof GONE
  /** True when the key sits after the base's keys (new, or deleted and added again). */
  readonly appended: boolean
}

/** Overlay entries allowed over a base of `n` entries before a copy flattens. */
function overlayLimit(n: number): number {
  return 32 + 2 * Math.ceil(Math.sqrt(n))
}

/** A map with cheap copies (see the module documentation). */
export class LayeredMap<K, V> {
  #base: Map<K, V>
  /** False while no copy shares `#base`: changes may then go into it directly. */
  #shared: boolean
  #overlay: Map<K, Change<V>>
  #size: number

  /**
   * @param from - a map to copy (it may be changed afterwards without affecting the copy)
   */
  constructor(from?: LayeredMap<K, V>) {
    if (from === undefined) {
      this.#base = new Map()
      this.#shared = false
      this.#overlay = new Map()
      this.#size = 0
      return
    }
    this.#size = from.#size
    if (from.#overlay.size > overlayLimit(from.#base.size)) {
      this.#base = new Map(from.entries())
      this.#shared = false
      this.#overlay = new Map()
    } else {
      from.#shared = true
      this.#base = from.#base
      this.#shared = true
      this.#overlay = new Map(from.#overlay)
    }
  }

  /** Number of entries. */
  get size(): number {
    return this.#size
  }

  /**
   * @param key - the key
   * @returns its value, or undefined
   */
  get(key: K): V | undefined {
    const change = this.#overlay.get(key)
    if (change !== undefined) return change.value === GONE ? undefined : change.value
    return this.#base.get(key)
  }

  /**
   * @param key - the key
   * @returns whether the key is present
   */
  has(key: K): boolean {
    const change = this.#overlay.get(key)
    if (change !== undefined) return change.value !== GONE
    return this.#base.has(key)
  }

  /**
   * Sets a value (an existing key keeps its place in the order).
   * @param key - the key
   * @param value - the value
   */
  set(key: K, value: V): void {
    if (!this.#shared && this.#overlay.size === 0) {
      this.#base.set(key, value)
      this.#size = this.#base.size
      return
    }
    const change = this.#overlay.get(key)
    if (change !== undefined) {
      if (change.value === GONE) {
        // A deleted base key added again goes last, as in a Map.
        this.#overlay.delete(key)
        this.#overlay.set(key, { value, appended: true })
        this.#size++
      } else {
        // Change entries are shared with copies: replace, never mutate.
        this.#overlay.set(key, { value, appended: change.appended })
      }
      return
    }
    const inBase = this.#base.has(key)
    this.#overlay.set(key, { value, appended: !inBase })
    if (!inBase) this.#size++
  }

  /**
   * Deletes a key.
   * @param key - the key
   * @returns whether it was present
   */
  delete(key: K): boolean {
    if (!this.#shared && this.#overlay.size === 0) {
      const deleted = this.#base.delete(key)
      this.#size = this.#base.size
      return deleted
    }
    const change = this.#overlay.get(key)
    if (change !== undefined && change.value === GONE) return false
    const inBase = this.#base.has(key)
    if (change === undefined && !inBase) return false
    if (inBase) this.#overlay.set(key, { value: GONE, appended: false })
    else this.#overlay.delete(key)
    this.#size--
    return true
  }

  /**
   * Entries in Map order.
   * @returns an iterator of `[key, value]`
   */
  *entries(): IterableIterator<[K, V]> {
    const overlay = this.#overlay
    if (overlay.size === 0) {
      yield* this.#base.entries()
      return
    }
    for (const [key, value] of this.#base) {
      const change = overlay.get(key)
      if (change === undefined) yield [key, value]
      else if (change.value !== GONE && !change.appended) yield [key, change.value]
    }
    for (const [key, change] of overlay) {
      if (change.appended && change.value !== GONE) yield [key, change.value]
    }
  }

  /**
   * Values in Map order.
   * @returns an iterator of values
   */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value
  }
}

/**
 * `ObjectStore` held in memory, for tests and ephemeral tables. It follows the same contract as
 * the local store (key rules, listing order, ranged reads); modification times come from an
 * injected `Clock` and can be set per object, so time travel and retention can be tested without
 * sleeping.
 *
 * The store has no directories: a key and keys below it (`a` and `a/b`) may coexist, which a file
 * system would refuse. Stored bytes are copied on the way in and out, so callers cannot change
 * stored objects by mutating buffers.
 * @module
 */
import { systemClock } from '../clock.js'
import type { Clock } from '../clock.js'
import { DeltaError } from '../errors.js'
import {
  assertValidKey,
  assertValidRange,
  compareKeys,
  resolveRange,
  splitListPrefix,
} from './object-key.js'
import type { ListOptions, ObjectMeta, ObjectStore } from './object-store.js'

const SUBSYSTEM = 'memory store'

/** Options of the {@link MemoryStore} constructor. */
export interface MemoryStoreOptions {
  /** Source of `lastModified` for writes; defaults to the system clock. */
  readonly clock?: Clock
  /** The store's `location`, used in messages; defaults to `memory://`. */
  readonly location?: string
}

interface StoredObject {
  readonly data: Uint8Array
  lastModified: number
}

/** An {@link ObjectStore} that keeps objects in a `Map`. */
export class MemoryStore implements ObjectStore {
  /** A label for the store used in messages (`memory://` unless configured). */
  readonly location: string
  readonly #clock: Clock
  readonly #objects = new Map<string, StoredObject>()

  /**
   * @param options - clock and location label
   */
  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock
    this.location = options.location ?? 'memory://'
  }

  /**
   * Lists objects whose key starts with `prefix`, sorted by the UTF-8 byte order of their keys.
   * Without `recursive`, only keys with no `/` after the prefix are listed (the objects directly
   * in the prefix "directory").
   * @param prefix - key prefix; `''` for the root
   * @param options - `startAfter` (exclusive) and `recursive`
   * @returns the objects' metadata
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid prefix
   */
  async list(prefix: string, options: ListOptions = {}): Promise<ObjectMeta[]> {
    return Promise.resolve(
      this.#matchingKeys(prefix, options).map((key) => this.#meta(key, this.#objects.get(key)!)),
    )
  }

  /**
   * Same keys as {@link MemoryStore.list}.
   * @param prefix - key prefix; `''` for the root
   * @param options - `startAfter` (exclusive) and `recursive`
   * @returns keys sorted by UTF-8 byte order
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid prefix
   */
  async listKeys(prefix: string, options: ListOptions = {}): Promise<string[]> {
    return Promise.resolve(this.#matchingKeys(prefix, options))
  }

  /**
   * Reads a whole object (a copy).
   * @param key - object key
   * @returns the bytes
   * @throws DeltaError `OBJECT_NOT_FOUND` when the key does not exist, `INVALID_ARGUMENT` for an
   *   invalid key
   */
  async get(key: string): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#require(key).data))
  }

  /**
   * Reads bytes `[start, end)` of an object (a copy). A range reaching past the end is cut at the
   * end (a range starting at or after the end is empty), like `Uint8Array.prototype.slice`.
   * @param key - object key
   * @param start - first byte, a non-negative integer
   * @param end - end (exclusive), an integer not below `start`
   * @returns the bytes
   * @throws DeltaError `OBJECT_NOT_FOUND` when the key does not exist, `INVALID_ARGUMENT` for an
   *   invalid key or range
   */
  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    assertValidKey(key, SUBSYSTEM)
    assertValidRange(key, start, end, SUBSYSTEM)
    const { data } = this.#require(key)
    const [from, to] = resolveRange(key, start, end, data.length, SUBSYSTEM)
    return Promise.resolve(data.slice(from, to))
  }

  /**
   * Metadata of one object.
   * @param key - object key
   * @returns the metadata, or `undefined` when the key does not exist
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key
   */
  async head(key: string): Promise<ObjectMeta | undefined> {
    assertValidKey(key, SUBSYSTEM)
    const stored = this.#objects.get(key)
    return Promise.resolve(stored === undefined ? undefined : this.#meta(key, stored))
  }

  /**
   * Writes or replaces an object (storing a copy), stamped with the clock's time.
   * @param key - object key
   * @param data - the bytes
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key
   */
  async put(key: string, data: Uint8Array): Promise<void> {
    assertValidKey(key, SUBSYSTEM)
    this.#objects.set(key, { data: new Uint8Array(data), lastModified: this.#now() })
    return Promise.resolve()
  }

  /**
   * Creates an object only if the key does not exist. The check and the insert happen in one
   * synchronous step, so concurrent callers cannot both succeed.
   * @param key - object key
   * @param data - the bytes
   * @returns `true` if this call created the object, `false` if the key already existed
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key
   */
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    assertValidKey(key, SUBSYSTEM)
    if (this.#objects.has(key)) return Promise.resolve(false)
    this.#objects.set(key, { data: new Uint8Array(data), lastModified: this.#now() })
    return Promise.resolve(true)
  }

  /**
   * Deletes an object.
   * @param key - object key
   * @returns `true` if it existed
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key
   */
  async delete(key: string): Promise<boolean> {
    assertValidKey(key, SUBSYSTEM)
    return Promise.resolve(this.#objects.delete(key))
  }

  /**
   * Sets an object's modification time (tests use this to age commits and data files).
   * @param key - object key
   * @param lastModified - milliseconds since the epoch; fractions are truncated toward -infinity
   * @throws DeltaError `OBJECT_NOT_FOUND` when the key does not exist, `INVALID_ARGUMENT` for an
   *   invalid key or a non-finite time
   */
  setLastModified(key: string, lastModified: number): void {
    const stored = this.#require(key)
    if (!Number.isFinite(lastModified)) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `memory store: invalid lastModified ${lastModified} for key "${key}"`,
        { context: { key } },
      )
    }
    stored.lastModified = Math.floor(lastModified)
  }

  #matchingKeys(prefix: string, options: ListOptions): string[] {
    splitListPrefix(prefix, SUBSYSTEM)
    const { startAfter, recursive = false } = options
    const keys: string[] = []
    for (const key of this.#objects.keys()) {
      if (!key.startsWith(prefix)) continue
      // Non-recursive: nothing below a deeper "directory" than the prefix's own.
      if (!recursive && key.includes('/', prefix.length)) continue
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue
      keys.push(key)
    }
    return keys.sort(compareKeys)
  }

  #require(key: string): StoredObject {
    assertValidKey(key, SUBSYSTEM)
    const stored = this.#objects.get(key)
    if (stored === undefined) {
      throw new DeltaError(
        'OBJECT_NOT_FOUND',
        `memory store: object "${key}" not found in ${this.location}`,
        { context: { key, location: this.location } },
      )
    }
    return stored
  }

  #meta(key: string, stored: StoredObject): ObjectMeta {
    return { key, size: stored.data.length, lastModified: stored.lastModified }
  }

  #now(): number {
    return Math.floor(this.#clock.now())
  }
}

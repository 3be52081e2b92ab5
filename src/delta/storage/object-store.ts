/**
 * The storage contract of the engine. A table is addressed through one `ObjectStore` rooted at
 * the table directory; keys are `/`-separated paths relative to that root, without a leading
 * slash (`_delta_log/00000000000000000000.json`, `date=2026-01-01/part-0.parquet`).
 *
 * Implementations must guarantee what the Delta protocol relies on:
 * - `list` returns keys in lexicographic (byte) order, honouring `startAfter` exactly;
 * - `putIfAbsent` is atomic: when several callers race for one key, exactly one returns `true`,
 *   and readers never observe a partially written object under that key;
 * - `put` replaces an object atomically (readers see the old or the new content, never a mix);
 * - a successful `put`/`putIfAbsent` is durable when it returns.
 * @module
 */

/** Metadata of one stored object. */
export interface ObjectMeta {
  /** Key relative to the store root. */
  readonly key: string
  /** Size in bytes. */
  readonly size: number
  /** Last modification time, milliseconds since the epoch. */
  readonly lastModified: number
}

/** Options of {@link ObjectStore.list}. */
export interface ListOptions {
  /** Only keys strictly greater than this key are returned. */
  readonly startAfter?: string
  /**
   * When false (the default) only objects directly under the prefix "directory" are listed;
   * when true, all objects below it at any depth.
   */
  readonly recursive?: boolean
}

/** The object-store contract (see the module documentation for guarantees). */
export interface ObjectStore {
  /** A human-readable location of the store root (a path or URL), used in messages. */
  readonly location: string
  /**
   * Lists objects whose key starts with `prefix` (use `''` for the root, `'dir/'` for a dir).
   * @returns objects sorted lexicographically by key
   */
  list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]>
  /**
   * Like {@link ObjectStore.list} but returns only keys; cheaper where metadata costs a call.
   * @returns keys sorted lexicographically
   */
  listKeys(prefix: string, options?: ListOptions): Promise<string[]>
  /**
   * Reads a whole object.
   * @throws DeltaError `OBJECT_NOT_FOUND` when the key does not exist
   */
  get(key: string): Promise<Uint8Array>
  /**
   * Reads bytes `[start, end)` of an object.
   * @throws DeltaError `OBJECT_NOT_FOUND` when the key does not exist
   */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>
  /** Metadata of one object, or `undefined` when it does not exist. */
  head(key: string): Promise<ObjectMeta | undefined>
  /** Writes (or atomically replaces) an object, durably. */
  put(key: string, data: Uint8Array): Promise<void>
  /**
   * Writes an object only if no object exists under the key, atomically and durably.
   * @returns `true` if this call created it, `false` if the key already existed
   */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean>
  /**
   * Deletes an object.
   * @returns `true` if it existed
   */
  delete(key: string): Promise<boolean>
}

/**
 * Durable writes of one operation that a later put-if-absent can be ordered after (its data
 * files, before the commit that references them), on stores that can order writes themselves
 * (`LocalFsStore.newWriteGroup`, `putIfAbsentAfter`). Opaque: only the store that made it reads
 * it.
 */
export interface WriteGroup {
  /** How many writes the group expects. */
  readonly expected: number
}

/**
 * `DeltaTable`: the public handle of one Delta table.
 *
 * A handle holds the snapshot it was opened at (latest, a version or a timestamp). Reads use
 * that snapshot; `refresh()` moves it to the latest version.
 *
 * @example
 * ```ts
 * import { DeltaTable, col } from 'polarway-lakehouse/delta'
 * const t = await DeltaTable.open('/data/lakehouse/users')
 * const admins = await t.toRows({ columns: ['username'], filter: col('role').eq('admin') })
 * const lastWeek = await DeltaTable.open('/data/lakehouse/users', { timestamp: '2026-11-18T00:00:00Z' })
 * ```
 * @module
 */
import type { AddAction, MetadataAction, ProtocolAction } from '../actions/actions.js'
import { systemClock, type Clock } from '../clock.js'
import { DeltaError } from '../errors.js'
import type { StructType } from '../schema/data-type.js'
import {
  readHistory,
  versionAtTimestamp,
  parseTimestampArg,
  type HistoryEntry,
} from '../snapshot/history.js'
import { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { openStore } from '../storage/open-store.js'
import { pruneFiles, scanRows, type FilesOptions, type ScanOptions } from './scan.js'

/** Options of {@link DeltaTable.open}. Give at most one of `version` and `timestamp`. */
export interface OpenOptions {
  /** Open this version instead of the latest. */
  readonly version?: number
  /**
   * Open the version that was current at this instant: a `Date`, epoch milliseconds, or an
   * ISO-8601 string with a zone. After the last commit this is the latest version.
   */
  readonly timestamp?: Date | string | number
  /** Time source (tests inject a fake clock). */
  readonly clock?: Clock
}

/** Options of {@link DeltaTable.history}. */
export interface HistoryOptions {
  /** At most this many entries, newest first. */
  readonly limit?: number
}

/** A handle on a Delta table at one snapshot. */
export class DeltaTable {
  /** The table's object store. */
  readonly store: ObjectStore
  /** The time source. */
  readonly clock: Clock
  #snapshot: Snapshot

  /** @internal */
  protected constructor(store: ObjectStore, snapshot: Snapshot, clock: Clock) {
    this.store = store
    this.#snapshot = snapshot
    this.clock = clock
  }

  /**
   * Opens a table at its latest version, at a version, or at a timestamp.
   * @param uri - a local path, a `file://` URL, or an {@link ObjectStore}
   * @param options - version / timestamp / clock
   * @returns the table handle
   * @throws DeltaError `TABLE_NOT_FOUND`, `INVALID_ARGUMENT`, `INVALID_VERSION`,
   *   `INVALID_TIMESTAMP`, `TIMESTAMP_BEFORE_FIRST_COMMIT`, `TIMESTAMP_IN_FUTURE`,
   *   `VERSIONS_NOT_CONTIGUOUS`, `MALFORMED_LOG`, `CORRUPT_CHECKPOINT`, ...;
   *   VersionNotFoundError; UnsupportedProtocolError (`UNSUPPORTED_FEATURE`)
   */
  static async open(uri: string | ObjectStore, options: OpenOptions = {}): Promise<DeltaTable> {
    const store = typeof uri === 'string' ? openStore(uri) : uri
    const clock = options.clock ?? systemClock
    const snapshot = await DeltaTable.loadSnapshot(store, options, clock)
    return new this(store, snapshot, clock)
  }

  /** @internal */
  protected static async loadSnapshot(
    store: ObjectStore,
    options: OpenOptions,
    clock: Clock,
  ): Promise<Snapshot> {
    if (options.version !== undefined && options.timestamp !== undefined) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta table: give either a version or a timestamp to open ${store.location}, not both`,
      )
    }
    if (options.timestamp === undefined) return Snapshot.load(store, { version: options.version })
    const ts = parseTimestampArg(options.timestamp, store.location)
    const latest = await Snapshot.load(store)
    const version = await versionAtTimestamp(store, latest, ts, clock.now())
    return version === latest.version ? latest : Snapshot.load(store, { version })
  }

  /** The snapshot this handle reads. */
  get snapshot(): Snapshot {
    return this.#snapshot
  }

  /** @internal */
  protected set snapshot(snapshot: Snapshot) {
    this.#snapshot = snapshot
  }

  /** Version of the snapshot. */
  get version(): number {
    return this.#snapshot.version
  }

  /** Table schema in the protocol's struct form. */
  get schema(): StructType {
    return this.#snapshot.schema
  }

  /** Partition columns. */
  get partitionColumns(): readonly string[] {
    return this.#snapshot.partitionColumns
  }

  /** The protocol action in effect. */
  get protocol(): ProtocolAction {
    return this.#snapshot.protocol
  }

  /** The metadata action in effect. */
  get metadata(): MetadataAction {
    return this.#snapshot.metadata
  }

  /**
   * Moves this handle to the latest version of the table.
   * @returns this handle
   * @throws like {@link DeltaTable.open}
   */
  async refresh(): Promise<this> {
    this.#snapshot = await this.#snapshot.update(this.store)
    return this
  }

  /**
   * The live data files after partition pruning and stats skipping.
   * @param options - optional filter
   * @returns add actions
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`
   */
  files(options: FilesOptions = {}): Promise<AddAction[]> {
    return Promise.resolve().then(() => pruneFiles(this.#snapshot, options.filter))
  }

  /**
   * Reads rows. Values: long → bigint; integer/short/byte/float/double → number;
   * decimal → string; date → 'YYYY-MM-DD'; timestamp → Date; binary → Uint8Array;
   * struct → object; array → array; map → Map.
   * @param options - `columns` projection and `filter` predicate
   * @returns the matching rows
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `DATA_FILE_NOT_FOUND`,
   *   `PARQUET_ERROR`
   */
  toRows(options: ScanOptions = {}): Promise<Record<string, unknown>[]> {
    return scanRows(this.store, this.#snapshot, options)
  }

  /**
   * Commit history up to this snapshot's version, newest first.
   * @param options - optional limit
   * @returns history entries
   * @throws DeltaError `INVALID_ARGUMENT` for a bad limit
   */
  history(options: HistoryOptions = {}): Promise<HistoryEntry[]> {
    return readHistory(this.store, this.#snapshot, options.limit)
  }
}

/**
 * Live views: in-memory indexes of a table's current rows, maintained file by file.
 *
 * A view is the union of the rows of the table's live data files. It is built from a snapshot
 * at open and advanced by diffing live file sets: rows of removed files leave, rows of added
 * files arrive (copy-on-write means an updated row always arrives in a new file). Advancing
 * is serialized; readers always see a consistent version. Hot paths (login lookup, token
 * verification) read views and never scan tables.
 * @module
 */
import { systemClock, type Clock } from '../common/clock.js'
import { forEachBounded } from '../delta/concurrency.js'
import type { AddAction, DeltaTable, Snapshot } from '../delta/index.js'

/** How a view turns table rows into entries. */
export interface ViewCodec<E> {
  /** Columns to read (projection keeps memory small). */
  readonly columns: readonly string[]
  /** Builds the entry of one row. */
  decode(row: Readonly<Record<string, unknown>>): E
  /** The primary key of an entry. */
  keyOf(entry: E): string
}

/** Called when entries change, to maintain secondary indexes. */
export interface ViewListener<E> {
  onUpsert?(entry: E, previous: E | undefined): void
  onDelete?(entry: E): void
}

/**
 * A commit this process made to the table, described by its writer so that the view takes the
 * rows instead of reading the file back.
 */
export interface OwnCommit {
  /** The version the commit created. */
  readonly version: number
  /** Paths of the files the commit removed (empty for an append). */
  readonly removed: readonly string[]
  /**
   * The new or changed rows of the one data file the commit added, in canonical form (the
   * values a read returns: `Date` for timestamps, `'YYYY-MM-DD'` for dates, ...), with at least
   * the codec's columns.
   */
  readonly rows: readonly Readonly<Record<string, unknown>>[]
  /**
   * Keys whose rows the commit copied unchanged from a removed file into the added one (a
   * copy-on-write rewrite): their entries stay as they are and only change file.
   */
  readonly moved?: readonly string[]
}

/** What a caller knows that saves {@link TableView.advance} work. */
export interface AdvanceHint {
  /**
   * A snapshot of the table this process already holds (a writer's, right after its commit,
   * or a transaction's): the view advances to it instead of probing the log, and does nothing
   * when it is at that version or newer. Ignored when its schema or partitioning differs from
   * the view's.
   */
  readonly snapshot?: Snapshot
  /**
   * The commit that produced `snapshot`, when this process made it. It is used only when the
   * step to `snapshot` turns out to be exactly that commit (the view at the version before it,
   * one added file holding `rows` and `moved`, and exactly `removed` gone); otherwise the view
   * reads the added files as usual.
   */
  readonly commit?: OwnCommit
}

/** How many files the first build of a view reads at once. */
const BUILD_CONCURRENCY = 8

/** A live view over one table. */
export class TableView<E> {
  readonly #table: DeltaTable
  readonly #codec: ViewCodec<E>
  readonly #listeners: ViewListener<E>[] = []
  // Entries and their files are two maps rather than one map of {entry, path} records: the
  // hot path (get) then follows one pointer less per lookup.
  readonly #byKey = new Map<string, E>()
  readonly #pathOfKey = new Map<string, string>()
  readonly #keysOfFile = new Map<string, string[]>()
  readonly #clock: Clock
  #version = -1
  #refreshedAt: number | undefined
  #chain: Promise<unknown> = Promise.resolve()

  /**
   * @param table - a handle used only by this view (it is refreshed by the view)
   * @param codec - projection and row decoding
   * @param clock - time source of {@link TableView.refreshedAt}
   */
  constructor(table: DeltaTable, codec: ViewCodec<E>, clock: Clock = systemClock) {
    this.#table = table
    this.#codec = codec
    this.#clock = clock
  }

  /** Version of the table the view reflects. */
  get version(): number {
    return this.#version
  }

  /**
   * When (clock milliseconds) the view was last known to reflect the table's latest version:
   * the start of the last advance that read the log and succeeded (the view then holds every
   * commit made before that moment). Advances to a snapshot given as a hint (this process's own
   * commits) do not count: other processes' commits may still be missing. Undefined until the
   * first such advance.
   */
  get refreshedAt(): number | undefined {
    return this.#refreshedAt
  }

  /** Number of entries. */
  get size(): number {
    return this.#byKey.size
  }

  /**
   * Registers a listener; it first receives every current entry as an upsert.
   * @param listener - change callbacks
   */
  listen(listener: ViewListener<E>): void {
    this.#listeners.push(listener)
    // Replay the current entries so a late listener starts consistent.
    for (const entry of this.#byKey.values()) listener.onUpsert?.(entry, undefined)
  }

  /**
   * The entry with a primary key.
   * @param key - primary key
   * @returns the entry or undefined
   */
  get(key: string): E | undefined {
    return this.#byKey.get(key)
  }

  /**
   * The data file currently holding an entry (for targeted rewrites).
   * @param key - primary key
   * @returns the file path as in the log, or undefined
   */
  fileOf(key: string): string | undefined {
    return this.#pathOfKey.get(key)
  }

  /**
   * The primary keys of the rows of a live data file.
   * @param path - the file path as in the log
   * @returns the keys (do not modify), or undefined for a file the view does not hold
   */
  keysOf(path: string): readonly string[] | undefined {
    return this.#keysOfFile.get(path)
  }

  /**
   * All entries.
   * @returns an iterator over the entries
   */
  values(): IterableIterator<E> {
    return this.#byKey.values()
  }

  /**
   * Brings the view to the table's latest version (serialized with other advances), or, with a
   * hint snapshot, to at least that snapshot's version without probing the log.
   * @param hint - a snapshot this process holds and the commit it made, if any
   * @returns the version reached
   * @throws the engine's read errors (the view stays at its previous version)
   */
  advance(hint?: AdvanceHint): Promise<number> {
    const run = this.#chain.then(() => this.#advance(hint))
    this.#chain = run.catch(() => undefined)
    return run
  }

  async #advance(hint: AdvanceHint | undefined): Promise<number> {
    const given = hint?.snapshot
    if (given !== undefined && this.#readsLike(given)) return this.#advanceTo(given, hint)
    const started = this.#clock.now()
    await this.#table.refresh()
    const version = await this.#advanceTo(this.#table.snapshot, hint)
    // Reached without an error: the view holds every commit made before `started`.
    this.#refreshedAt = Math.max(this.#refreshedAt ?? started, started)
    return version
  }

  async #advanceTo(snapshot: Snapshot, hint: AdvanceHint | undefined): Promise<number> {
    if (snapshot.version <= this.#version) return this.#version
    const own = hint?.commit
    const step = own && this.#ownStep(own, snapshot)
    let added: readonly AddAction[]
    let exact: boolean
    let removed: readonly string[]
    if (step) {
      // This process's own commit, one step ahead: no need to compare every live file.
      ;({ added, exact, removed } = step)
    } else {
      const live = new Map<string, AddAction>()
      for (const f of snapshot.files()) live.set(f.path, f)
      added = [...live.values()].filter((add) => !this.#keysOfFile.has(add.path))
      if (this.#byKey.size === 0 && this.#keysOfFile.size === 0 && this.#listeners.length === 0) {
        // The first build: nothing to keep consistent yet, so each file goes into the indexes
        // as soon as it is read, and its decoded rows die young instead of all being held at
        // once.
        await this.#build(added)
        this.#version = snapshot.version
        return this.#version
      }
      exact = own !== undefined && this.#isExactly(own, snapshot, live, added)
      removed = [...this.#keysOfFile.keys()].filter((path) => !live.has(path))
    }
    // Read every added file before touching the indexes, so a read failure leaves the view
    // consistent at its previous version.
    const rowsOf: (readonly Readonly<Record<string, unknown>>[])[] =
      exact && own
        ? [own.rows.map((row) => this.#project(row))]
        : await Promise.all(
            added.map((add) => this.#table.fileRows(add, { columns: this.#codec.columns })),
          )
    // Added files first: a row rewritten by copy-on-write then reaches listeners as one upsert
    // with its previous entry, and the removal below skips it (its entry is in the new file).
    added.forEach((add, i) => {
      const keys: string[] = []
      if (exact && own) {
        // Unchanged rows: same entry, new file, nothing for listeners.
        for (const key of own.moved ?? []) {
          this.#pathOfKey.set(key, add.path)
          keys.push(key)
        }
      }
      for (const row of rowsOf[i] ?? []) {
        const entry = this.#codec.decode(row)
        const key = this.#codec.keyOf(entry)
        const previous = this.#byKey.get(key)
        this.#byKey.set(key, entry)
        this.#pathOfKey.set(key, add.path)
        keys.push(key)
        for (const l of this.#listeners) l.onUpsert?.(entry, previous)
      }
      this.#keysOfFile.set(add.path, keys)
    })
    for (const path of removed) {
      for (const key of this.#keysOfFile.get(path) ?? []) {
        if (this.#pathOfKey.get(key) !== path) continue
        const entry = this.#byKey.get(key)
        this.#byKey.delete(key)
        this.#pathOfKey.delete(key)
        if (entry !== undefined) for (const l of this.#listeners) l.onDelete?.(entry)
      }
      this.#keysOfFile.delete(path)
    }
    this.#version = snapshot.version
    return this.#version
  }

  /**
   * Fills an empty view without listeners from files, a few read at a time. On a failure the
   * view is emptied again (it stays at its previous version).
   */
  async #build(files: readonly AddAction[]): Promise<void> {
    try {
      await forEachBounded(files, BUILD_CONCURRENCY, async (add) => {
        const rows = await this.#table.fileRows(add, { columns: this.#codec.columns })
        const keys: string[] = []
        for (const row of rows) {
          const entry = this.#codec.decode(row)
          const key = this.#codec.keyOf(entry)
          this.#byKey.set(key, entry)
          this.#pathOfKey.set(key, add.path)
          keys.push(key)
        }
        this.#keysOfFile.set(add.path, keys)
      })
    } catch (error) {
      // Every started read has settled: nothing adds to the indexes after this.
      this.#byKey.clear()
      this.#pathOfKey.clear()
      this.#keysOfFile.clear()
      throw error
    }
  }

  /** Whether the view can diff against `snapshot` and read its files through its own handle. */
  #readsLike(snapshot: Snapshot): boolean {
    const mine = this.#table.snapshot
    return (
      snapshot.metadata.schemaString === mine.metadata.schemaString &&
      snapshot.partitionColumns.join('\u0000') === mine.partitionColumns.join('\u0000')
    )
  }

  /**
   * The files of the step to `snapshot` when it is exactly the commit `own` describes and the
   * snapshot says which file that commit added (checked without listing every live file).
   */
  #ownStep(
    own: OwnCommit,
    snapshot: Snapshot,
  ): { added: readonly AddAction[]; exact: true; removed: readonly string[] } | undefined {
    const adds = snapshot.lastCommitAdds
    if (adds?.length !== 1 || this.#keysOfFile.has(adds[0]?.path ?? '')) return undefined
    const exact = this.#describes(own, snapshot, adds[0], snapshot.numFiles, (path) =>
      Boolean(snapshot.file(path)),
    )
    return exact ? { added: adds, exact, removed: own.removed } : undefined
  }

  /** Whether the step to `snapshot`, found by comparing the live files, is the commit `own`. */
  #isExactly(
    own: OwnCommit,
    snapshot: Snapshot,
    live: ReadonlyMap<string, AddAction>,
    added: readonly AddAction[],
  ): boolean {
    if (added.length !== 1) return false
    return this.#describes(own, snapshot, added[0], live.size, (path) => live.has(path))
  }

  /**
   * Whether `own` describes the one-version step to `snapshot` that added `file`: exactly its
   * removed files are gone (`liveCount` files remain live), its moved keys were in them, and
   * the file holds its rows and moved keys.
   */
  #describes(
    own: OwnCommit,
    snapshot: Snapshot,
    file: AddAction | undefined,
    liveCount: number,
    isLive: (path: string) => boolean,
  ): boolean {
    if (file === undefined) return false
    if (own.version !== snapshot.version || this.#version !== own.version - 1) return false
    if (this.#keysOfFile.size + 1 - own.removed.length !== liveCount) return false
    for (const path of own.removed) if (!this.#keysOfFile.has(path) || isLive(path)) return false
    const moved = own.moved ?? []
    for (const key of moved) {
      const path = this.#pathOfKey.get(key)
      if (path === undefined || !own.removed.includes(path)) return false
    }
    return numRecords(file) === own.rows.length + moved.length
  }

  /** A row reduced to the codec's columns, as a read returns it. */
  #project(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const c of this.#codec.columns) out[c] = row[c] ?? null
    return out
  }
}

/** `numRecords` of a file's stats, or undefined when the stats do not say. */
function numRecords(add: AddAction): number | undefined {
  if (typeof add.stats !== 'string') return undefined
  try {
    const n: unknown = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords
    return typeof n === 'number' ? n : undefined
  } catch {
    return undefined
  }
}

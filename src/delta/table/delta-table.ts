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
import { writeCheckpoint, type CheckpointResult } from '../checkpoint/write-checkpoint.js'
import { systemClock, type Clock } from '../clock.js'
import { CommitConflictError, DeltaError, isDeltaError, type ConflictKind } from '../errors.js'
import type { Expression } from '../expr/expression.js'
import { addColumns } from '../operations/add-columns.js'
import { createTable, type CreateTableOptions } from '../operations/create-table.js'
import { deleteRows } from '../operations/delete.js'
import type { DmlOptions, Finished, WriteResult } from '../operations/finish-commit.js'
import {
  cleanupExpiredLogs,
  type LogCleanupOptions,
  type LogCleanupResult,
} from '../operations/log-cleanup.js'
import { mergeRows, type MergeOptions } from '../operations/merge.js'
import {
  optimizeTable,
  type OptimizeOptions,
  type OptimizeResult,
} from '../operations/optimize/execute.js'
import { restoreTable, type RestoreTarget } from '../operations/restore.js'
import {
  purgeFiles,
  vacuumTable,
  type PurgeResult,
  type VacuumOptions,
  type VacuumResult,
} from '../operations/vacuum.js'
import { updateRows, type UpdateSet } from '../operations/update.js'
import {
  appendRows,
  overwriteRows,
  stageAppend,
  type AppendOptions,
  type OverwriteOptions,
} from '../operations/write.js'
import {
  runTransaction,
  type TransactionContext,
  type TransactOptions,
} from '../transaction/transact.js'
import {
  BackgroundCheckpointer,
  commitBatch,
  GroupCommitQueue,
  type GroupCommitOptions,
} from '../transaction/group-commit.js'
import type { StructField, StructType } from '../schema/data-type.js'
import {
  readHistory,
  versionAtTimestamp,
  parseTimestampArg,
  type HistoryEntry,
} from '../snapshot/history.js'
import { findNewCommits, readCommits, Snapshot } from '../snapshot/snapshot.js'
import { commitKey } from '../log/log-path.js'
import { listCommitFiles } from '../log/log-segment.js'
import type { Action } from '../actions/actions.js'
import type { ObjectStore } from '../storage/object-store.js'
import { openStore } from '../storage/open-store.js'
import { pruneFiles, scanFileRows, scanRows, type FilesOptions, type ScanOptions } from './scan.js'

/** Conflicts that change what a prepared append's rows must be encoded against. */
const TABLE_CHANGES: ReadonlySet<ConflictKind> = new Set(['metadata-changed', 'protocol-changed'])

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

/** Options of {@link DeltaTable.create}. */
export interface CreateOptions extends CreateTableOptions {
  /** Return the existing table instead of failing when one exists at the location. */
  readonly ifNotExists?: boolean
  /** Time source. */
  readonly clock?: Clock
}

/** The actions of one commit. */
export interface CommitChanges {
  readonly version: number
  readonly actions: readonly Action[]
}

/** Options of {@link DeltaTable.history}. */
export interface HistoryOptions {
  /** At most this many entries, newest first. */
  readonly limit?: number
}

/** Rows encoded and written ahead of their commit (see {@link DeltaTable.prepareAppend}). */
export interface PreparedAppend {
  /**
   * Publishes the rows as one blind append (re-encoded if the table's schema or settings
   * changed meanwhile); resolves when the commit is durable.
   * @throws DeltaError commit errors, `INVALID_ARGUMENT` when already committed or discarded
   */
  commit(): Promise<WriteResult>
  /** Deletes the written files; nothing was committed. */
  discard(): Promise<void>
}

/** A handle on a Delta table at one snapshot. */
export class DeltaTable {
  /** The table's object store. */
  readonly store: ObjectStore
  /** The time source. */
  readonly clock: Clock
  #snapshot: Snapshot
  #queue: GroupCommitQueue | undefined

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

  /**
   * Creates a new table (commit 0) and opens it.
   * @param uri - a local path, a `file://` URL, or an {@link ObjectStore}
   * @param options - schema (protocol struct form), partition columns, properties, description
   * @returns the new table at version 0 (or the existing one with `ifNotExists`)
   * @throws DeltaError `TABLE_ALREADY_EXISTS`, `INVALID_SCHEMA`, `INVALID_ARGUMENT`;
   *   UnsupportedProtocolError for properties needing unsupported features
   */
  static async create(uri: string | ObjectStore, options: CreateOptions): Promise<DeltaTable> {
    const store = typeof uri === 'string' ? openStore(uri) : uri
    const clock = options.clock ?? systemClock
    try {
      await createTable(store, options, clock.now())
    } catch (error) {
      if (!(options.ifNotExists && isDeltaError(error, 'TABLE_ALREADY_EXISTS'))) throw error
    }
    return new this(store, await Snapshot.load(store), clock)
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

  async #write<R>(op: (snapshot: Snapshot) => Promise<Finished<R>>): Promise<R> {
    await this.refresh()
    const finished = await op(this.#snapshot)
    if (finished.snapshot.version > this.#snapshot.version) this.#snapshot = finished.snapshot
    return finished.result
  }

  /**
   * Appends rows in one commit (a blind append: it never conflicts with other writers' data
   * changes). Rows are validated against the schema first.
   * @param rows - the rows
   * @param options - idempotent app transaction, user metadata
   * @returns the committed version and metrics
   * @throws DeltaError `SCHEMA_MISMATCH`, `COMMIT_CONFLICT`, `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`
   */
  append(
    rows: readonly Record<string, unknown>[],
    options: AppendOptions = {},
  ): Promise<WriteResult> {
    return this.#write((s) => appendRows(this.store, s, this.clock, rows, options))
  }

  /**
   * Encodes rows and writes their data files now; `commit()` later publishes them as one blind
   * append (only the commit file is left to write), `discard()` deletes them. For callers that
   * know their rows before they know whether to commit (a login writes its session while the
   * password is checked). A checkpoint the commit makes due is written in the background, as
   * for {@link DeltaTable.appendQueued}.
   * @param rows - the rows (validated against the schema now)
   * @returns the staged append
   * @throws DeltaError `SCHEMA_MISMATCH`
   */
  prepareAppend(rows: readonly Record<string, unknown>[]): PreparedAppend {
    const staged = stageAppend(this.store, this.#snapshot, this.clock, rows)
    let settled = false
    const once = (what: string): void => {
      if (settled) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          `delta table: a prepared append can be committed or discarded once (${what})`,
        )
      }
      settled = true
    }
    return {
      commit: async () => {
        once('commit')
        // No refresh first (it would only save a lost race): the staged commit file is linked
        // only if its version is still free, and a commit another writer made meanwhile sends
        // this one through the usual retry (conflict check, next version). The one conflict a
        // blind append can meet is a change of metadata or protocol: then the rows are
        // appended again against the new metadata.
        let result: WriteResult
        try {
          const finished = await staged.commit(this.#snapshot, { checkpoint: 'skip' })
          if (finished.snapshot.version > this.#snapshot.version) this.#snapshot = finished.snapshot
          result = finished.result
        } catch (error) {
          if (!(error instanceof CommitConflictError) || !TABLE_CHANGES.has(error.conflict)) {
            throw error
          }
          result = await this.#write((s) => appendRows(this.store, s, this.clock, rows))
        }
        this.#checkpointer.noteCommitted(result)
        return result
      },
      discard: async () => {
        once('discard')
        await staged.discard()
      },
    }
  }

  /**
   * Appends rows through this handle's group-commit queue: concurrent callers' rows ride one
   * commit. The promise resolves when the commit holding these rows is durable, and rejects
   * only if that commit failed.
   * @param rows - the rows
   * @returns the version that holds the rows
   * @throws DeltaError `SCHEMA_MISMATCH` (this caller's rows only), `QUEUE_CLOSED`, commit errors
   */
  appendQueued(rows: readonly Record<string, unknown>[]): Promise<WriteResult> {
    this.#queue ??= new GroupCommitQueue(this.#groupCommitOptions)
    return this.#queue.enqueue(rows)
  }

  /** Background checkpoints of this handle's group commits and staged appends. */
  readonly #checkpointer = new BackgroundCheckpointer({
    checkpoint: () => writeCheckpoint(this.store, this.#snapshot, this.clock.now()),
    checkpointInterval: () => this.#snapshot.config.checkpointInterval,
    location: () => this.store.location,
  })

  #groupCommitOptions: GroupCommitOptions = {
    schema: () => this.#snapshot.schema,
    partitionColumns: () => this.#snapshot.partitionColumns,
    location: () => this.store.location,
    commit: async (rows) => {
      const finished = await commitBatch(this.store, this.#snapshot, this.clock, rows, {
        checkpoint: 'skip',
      })
      if (finished.snapshot.version > this.#snapshot.version) this.#snapshot = finished.snapshot
      return finished.result
    },
    checkpointer: this.#checkpointer,
  }

  /**
   * Configures the group-commit queue (before first use).
   * @param options - queue limits
   * @throws DeltaError `INVALID_ARGUMENT` when the queue is already in use
   */
  configureGroupCommit(
    options: Partial<Pick<GroupCommitOptions, 'maxQueuedRows' | 'maxBatchRows'>>,
  ): void {
    if (this.#queue) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        'delta table: configure group commit before the first appendQueued',
      )
    }
    this.#groupCommitOptions = { ...this.#groupCommitOptions, ...options }
  }

  /**
   * Waits for queued appends and stops accepting new ones.
   * @returns when every queued row is committed (or failed)
   */
  async close(): Promise<void> {
    await this.#queue?.close()
    await this.#checkpointer.close()
  }

  /**
   * Replaces the table content: all rows, or with `replaceWhere` only the rows matching the
   * predicate (every new row must match it).
   * @param rows - the new rows
   * @param options - `replaceWhere` predicate, user metadata
   * @returns the committed version and metrics
   * @throws DeltaError `SCHEMA_MISMATCH`, `INVALID_ARGUMENT` (row outside replaceWhere),
   *   `APPEND_ONLY`, `COMMIT_CONFLICT`
   */
  overwrite(
    rows: readonly Record<string, unknown>[],
    options: OverwriteOptions = {},
  ): Promise<WriteResult> {
    return this.#write((s) => overwriteRows(this.store, s, this.clock, rows, options))
  }

  /**
   * Deletes the rows matching `filter` (all rows when omitted), copy-on-write: only files that
   * contain matching rows are rewritten; files matched entirely are removed without rewrite.
   * @param filter - rows to delete
   * @param options - user metadata, retries
   * @returns the committed version and metrics (`numDeletedRows`, ...)
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `APPEND_ONLY`, `COMMIT_CONFLICT`
   */
  delete(filter?: Expression, options: DmlOptions = {}): Promise<WriteResult> {
    return this.#write((s) => deleteRows(this.store, s, this.clock, filter, options))
  }

  /**
   * Updates the rows matching `filter`: each column in `set` gets a value, or the result of a
   * function of the current row.
   * @param filter - rows to update (all rows when undefined)
   * @param set - column to new value (or `(row) => value`)
   * @param options - user metadata, retries
   * @returns the committed version and metrics (`numUpdatedRows`, ...)
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `SCHEMA_MISMATCH`, `COMMIT_CONFLICT`
   */
  update(
    filter: Expression | undefined,
    set: UpdateSet,
    options: DmlOptions = {},
  ): Promise<WriteResult> {
    return this.#write((s) => updateRows(this.store, s, this.clock, filter, set, options))
  }

  /**
   * Upserts rows by key: target rows whose key matches a source row are updated (or deleted),
   * source rows without a match are inserted.
   * @param rows - source rows
   * @param options - key columns and the matched/not-matched actions
   * @returns the committed version and metrics
   * @throws DeltaError `MERGE_CARDINALITY` when a key matches several rows, `SCHEMA_MISMATCH`,
   *   `COLUMN_NOT_FOUND`, `COMMIT_CONFLICT`
   */
  merge(rows: readonly Record<string, unknown>[], options: MergeOptions): Promise<WriteResult> {
    return this.#write((s) => mergeRows(this.store, s, this.clock, rows, options))
  }

  /**
   * Runs a read-then-write transaction: `fn` reads through the context (each read is recorded
   * as a read predicate and read files) and stages rows to append. On commit, a concurrent
   * commit that added rows a read may match, or removed a file that was read, is a conflict:
   * `fn` then runs again on the new latest snapshot, up to `maxConflictRetries` times. When
   * `fn` stages nothing, nothing is committed (`result.skipped`).
   *
   * @example
   * ```ts
   * const { value } = await users.transact(async (tx) => {
   *   if ((await tx.read({ filter: col('username_key').eq(key) })).length > 0) return 'exists'
   *   tx.append([{ username_key: key, user_id: id }])
   *   return 'created'
   * })
   * ```
   * @param fn - the transaction body; it may run several times, so it must not have other
   *   side effects
   * @param options - `commitInfo.operation` (default `WRITE`), retries (default 10), user metadata
   * @returns what `fn` returned on its last run, and the write result
   * @throws CommitConflictError (`COMMIT_CONFLICT`) when every run conflicted; whatever `fn`
   *   throws (nothing is committed); DeltaError `SCHEMA_MISMATCH`, `APPEND_ONLY`,
   *   `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`
   */
  async transact<T>(
    fn: (tx: TransactionContext) => Promise<T>,
    options: TransactOptions = {},
  ): Promise<{ value: T; result: WriteResult }> {
    const latest = async (): Promise<Snapshot> => {
      const snapshot = await this.#snapshot.update(this.store)
      if (snapshot.version > this.#snapshot.version) this.#snapshot = snapshot
      return snapshot
    }
    const outcome = await runTransaction(this.store, this.clock, latest, fn, options)
    if (outcome.snapshot.version > this.#snapshot.version) this.#snapshot = outcome.snapshot
    return { value: outcome.value, result: outcome.result }
  }

  /**
   * OPTIMIZE: compacts small files of each partition into files near the target size
   * (`dataChange=false`, so readers and concurrent appends are unaffected); with `zOrder`, rows
   * are also clustered by a Z-order curve over the given columns so stats skipping works.
   * @param options - target size, partition filter, z-order columns, dry run
   * @returns the commit (if any) and the plan's metrics
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_ARGUMENT` (z-order on a partition column),
   *   `COMMIT_CONFLICT` (a compacted file was deleted concurrently); UnsupportedProtocolError
   */
  optimize(options: OptimizeOptions = {}): Promise<OptimizeResult> {
    return this.#write((s) => optimizeTable(this.store, s, this.clock, options))
  }

  /**
   * VACUUM: physically deletes data files no version inside the retention window references.
   * @param options - retention (default `delta.deletedFileRetentionDuration`), dry run,
   *   enforcement of the retention floor
   * @returns the files deleted (or that would be, in a dry run)
   * @throws DeltaError `RETENTION_TOO_SHORT`, `INVALID_ARGUMENT`; UnsupportedProtocolError
   */
  vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    return this.#write((s) => vacuumTable(this.store, s, this.clock, options))
  }

  /**
   * Physically deletes specific data files that the latest version no longer references
   * (e.g. after GDPR erasure rewrote them), recording the purge in the log.
   * @param paths - paths as written in the log's `remove` actions
   * @returns the deleted files
   * @throws DeltaError `INVALID_ARGUMENT` when a path is still referenced by the latest version
   */
  purgeFiles(paths: readonly string[]): Promise<PurgeResult> {
    return this.#write((s) => purgeFiles(this.store, s, this.clock, paths))
  }

  /**
   * RESTORE: a new commit that brings the table back to the state of a version or timestamp.
   * @param target - `{ version }` or `{ timestamp }`
   * @returns the committed version and metrics
   * @throws VersionNotFoundError; DeltaError `DATA_FILE_NOT_FOUND` when that version's files
   *   were vacuumed
   */
  restore(target: RestoreTarget): Promise<WriteResult> {
    return this.#write((s) => restoreTable(this.store, s, this.clock, target))
  }

  /**
   * ADD COLUMNS: appends nullable top-level columns to the schema in one commit (no data file
   * is rewritten: rows written before read null in them).
   * @param fields - the new columns, in order (protocol struct field form; `nullable: true`)
   * @returns the committed version (no metrics)
   * @throws DeltaError `INVALID_ARGUMENT` (no columns, a column that is not nullable, a name that
   *   exists or is listed twice, compared case-insensitively), `INVALID_SCHEMA` (a malformed
   *   type), `COMMIT_CONFLICT` (a concurrent metadata or protocol change);
   *   UnsupportedProtocolError for a table or column this engine cannot write
   */
  addColumns(fields: readonly StructField[]): Promise<WriteResult> {
    return this.#write((s) => addColumns(this.store, s, this.clock, fields))
  }

  /**
   * Log cleanup: removes commit and checkpoint files older than `delta.logRetentionDuration`
   * when a newer checkpoint keeps every retained version reconstructable.
   * @param options - dry run
   * @returns the deleted log files
   */
  async cleanupLog(options: LogCleanupOptions = {}): Promise<LogCleanupResult> {
    await this.refresh()
    return cleanupExpiredLogs(this.store, this.#snapshot, this.clock, options)
  }

  /**
   * Writes a checkpoint of the latest version now.
   * @returns what was written
   * @throws DeltaError `STORAGE_ERROR`
   */
  async checkpoint(): Promise<CheckpointResult> {
    await this.refresh()
    return writeCheckpoint(this.store, this.#snapshot, this.clock.now())
  }

  /**
   * The commits after `afterVersion` (up to the latest, or up to `throughVersion`), in order:
   * for tailing a table (e.g. picking up other processes' appended events). Does not move this
   * handle. With `throughVersion` (a version known to exist, such as a snapshot's), the commits
   * are read by name, without listing the log.
   * @param afterVersion - the last version already seen
   * @param throughVersion - the last version wanted
   * @returns each newer commit's actions
   * @throws DeltaError `VERSION_NOT_FOUND` when commits after `afterVersion` were cleaned up
   */
  async changes(afterVersion: number, throughVersion?: number): Promise<CommitChanges[]> {
    if (throughVersion !== undefined) {
      const commits: { version: number; key: string }[] = []
      for (let v = afterVersion + 1; v <= throughVersion; v++) {
        commits.push({ version: v, key: commitKey(v) })
      }
      return this.#readChanges(commits)
    }
    let commits = await findNewCommits(this.store, afterVersion)
    if (commits?.length === 0 && this.#snapshot.version > afterVersion) {
      // This handle has seen later commits: the next one is missing because log cleanup removed it.
      commits = await findNewCommits(this.store, afterVersion, undefined, { list: true })
    }
    if (!commits) {
      throw new DeltaError(
        'VERSION_NOT_FOUND',
        `delta table: commits after version ${afterVersion} of ${this.store.location} are no longer all available`,
        { context: { table: this.store.location, version: afterVersion } },
      )
    }
    return this.#readChanges(commits)
  }

  /**
   * The oldest version whose commit is still in the log. Log cleanup removes the commits
   * older than `delta.logRetentionDuration` (keeping those from a checkpoint on), so
   * {@link DeltaTable.changes} can start after this version minus one at the earliest.
   * @returns the version
   * @throws DeltaError `TABLE_NOT_FOUND` when the log holds no commit
   */
  async oldestCommitVersion(): Promise<number> {
    const first = (await listCommitFiles(this.store))[0]
    if (!first) {
      throw new DeltaError(
        'TABLE_NOT_FOUND',
        `delta table: no commit in the log of ${this.store.location}`,
        { context: { table: this.store.location } },
      )
    }
    return first.version
  }

  async #readChanges(
    commits: readonly { version: number; key: string }[],
  ): Promise<CommitChanges[]> {
    const actions = await readCommits(this.store, this.store.location, commits)
    return commits.map((c, i) => ({ version: c.version, actions: actions[i] ?? [] }))
  }

  /**
   * Reads the rows of one live data file of this snapshot.
   * @param add - a file from {@link DeltaTable.files}
   * @param options - projection and filter
   * @returns the file's rows
   * @throws like {@link DeltaTable.toRows}
   */
  fileRows(add: AddAction, options: ScanOptions = {}): Promise<Record<string, unknown>[]> {
    return scanFileRows(this.store, this.#snapshot, add, options)
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

/**
 * `DeltaStore`: the lakehouse facade over the lakehouse Delta tables.
 *
 * It creates missing tables at open, keeps live views of `users` and `sessions` (advanced by
 * this process's own commits immediately and by other processes' commits every
 * `refreshMs`), group-commits event rows (`audit_log`, `user_actions`), and exposes reads,
 * time travel, history and maintenance with errors translated to {@link LakehouseError}s.
 *
 * @example
 * ```ts
 * const store = await DeltaStore.open(LakehouseConfig.fromEnv())
 * await store.append('audit_log', [event])
 * const admins = await store.query('users', col('role').eq('admin'))
 * await store.close()
 * ```
 * @module
 */
import path from 'node:path'
import { systemClock, type Clock } from '../common/clock.js'
import { LakehouseError } from '../common/lakehouse-error.js'
import { consoleLogger, type Logger } from '../common/logger.js'
import {
  DeltaError,
  DeltaTable,
  type Expression,
  type HistoryEntry,
  type OptimizeResult,
  type PreparedAppend,
  type ScanOptions,
  type VacuumResult,
  type WriteResult,
} from '../delta/index.js'
import { previewValue } from '../delta/schema/values.js'
import type { LakehouseErrorCode } from './error-codes.js'
import { resolveJwtSecret } from './jwt-secret.js'
import { ensureBaseDirectory, type LakehouseConfig } from './lakehouse-config.js'
import { SESSION_CODEC, USER_CODEC, type SessionEntry, type StoredUser } from './rows.js'
import { TableView, type AdvanceHint } from './table-view.js'
import {
  isTableName,
  TABLE_NAMES,
  TABLES,
  Z_ORDER_TABLES,
  configuredZOrderColumns,
  type TableDefinition,
  type TableName,
} from './tables.js'

/** Options of {@link DeltaStore.open}. */
export interface DeltaStoreOptions {
  /** Time source (tests inject a fake clock). */
  readonly clock?: Clock
  /** Where warnings go (weak secret, generated secret, refresh failures). */
  readonly logger?: Logger
  /** Refresh the live views in the background every `refreshMs` (default true). */
  readonly autoRefresh?: boolean
}

const DELTA_TO_LAKEHOUSE: Readonly<Partial<Record<DeltaError['code'], LakehouseErrorCode>>> = {
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  INVALID_VERSION: 'VERSION_NOT_FOUND',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  TIMESTAMP_BEFORE_FIRST_COMMIT: 'INVALID_TIMESTAMP',
  TIMESTAMP_IN_FUTURE: 'INVALID_TIMESTAMP',
  COLUMN_NOT_FOUND: 'INVALID_QUERY',
  INVALID_EXPRESSION: 'INVALID_QUERY',
  INVALID_ARGUMENT: 'INVALID_QUERY',
  SCHEMA_MISMATCH: 'INVALID_QUERY',
  COMMIT_CONFLICT: 'WRITE_CONFLICT',
  MAX_COMMIT_ATTEMPTS: 'WRITE_CONFLICT',
  UNSUPPORTED_FEATURE: 'UNSUPPORTED_TABLE',
  // A retention below the table's minimum is a caller mistake, not a storage failure.
  RETENTION_TOO_SHORT: 'INVALID_QUERY',
}

/**
 * Translates an engine error into a lakehouse error (other errors pass through).
 * @param error - anything thrown by the engine
 * @param what - the operation, for the message
 * @returns the error to throw
 * @internal
 */
export function toLakehouseError(error: unknown, what: string): unknown {
  if (!(error instanceof DeltaError)) return error
  const code = DELTA_TO_LAKEHOUSE[error.code] ?? 'STORAGE_FAILURE'
  return new LakehouseError(code, `lakehouse: ${what}: ${error.message}`, { cause: error })
}

/**
 * Translates an error of vacuuming a table with the configured retention: one shorter than the
 * table's own `delta.deletedFileRetentionDuration` is a configuration mistake.
 * @param error - what the engine threw
 * @param config - the lakehouse configuration
 * @param table - the table vacuumed
 * @returns the error to throw
 * @internal
 */
export function vacuumFailure(error: unknown, config: LakehouseConfig, table: TableName): unknown {
  if (error instanceof DeltaError && error.code === 'RETENTION_TOO_SHORT') {
    return new LakehouseError(
      'CONFIG_INVALID',
      `lakehouse config: vacuumRetentionHours (${config.vacuumRetentionHours}) is shorter ` +
        `than the delta.deletedFileRetentionDuration of table ${table} ` +
        `(${previewValue(error.context.configuredRetentionHours)} hours); configure at least that to vacuum it`,
      { cause: error, context: { field: 'vacuumRetentionHours', table } },
    )
  }
  return toLakehouseError(error, `vacuuming ${table}`)
}

/**
 * Runs an engine call and translates what it throws into a lakehouse error.
 * @param what - the operation, for the message
 * @param fn - the call
 * @returns its result
 * @internal
 */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw toLakehouseError(error, what)
  }
}

/**
 * Like {@link guard} for reads of an older version: there, a missing data file means that the
 * version's files were vacuumed, i.e. the version is no longer available (not a storage failure).
 */
async function guardTimeTravel<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (error instanceof DeltaError && error.code === 'DATA_FILE_NOT_FOUND') {
      throw new LakehouseError('VERSION_NOT_FOUND', `lakehouse: ${what}: ${error.message}`, {
        cause: error,
      })
    }
    throw toLakehouseError(error, what)
  }
}

/** The earliest and latest times a `Date` can hold (±8.64e15 ms). */
const MAX_TIME_MS = 8.64e15

/**
 * Whether a time-travel timestamp is usable: a string (the engine parses it), or a `Date` or
 * epoch milliseconds within the range of `Date`.
 */
function isTimestampArg(value: unknown): value is Date | string | number {
  if (typeof value === 'string') return true
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Number.NaN
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS
}

/** Rows written ahead of their commit (see {@link DeltaStore.prepareAppend}). */
export interface PreparedRows {
  /** Commits them; resolves once durable and visible in the table's live view. */
  commit(): Promise<WriteResult>
  /** Deletes their files; nothing is committed. */
  discard(): Promise<void>
}

/** The lakehouse store: the Delta tables plus live views. */
export class DeltaStore {
  /** The configuration. */
  readonly config: LakehouseConfig
  /** Live view of `users`, keyed by `user_id`. */
  readonly users: TableView<StoredUser>
  /** Live view of `sessions`, keyed by `session_id`. */
  readonly sessions: TableView<SessionEntry>
  /** Time source. */
  readonly clock: Clock
  /** Where warnings go. */
  readonly logger: Logger
  readonly #tables: Readonly<Record<TableName, DeltaTable>>
  // Private, so that util.inspect and JSON.stringify of the store never show it.
  readonly #jwtSecret: Uint8Array
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #closing: Promise<void> | undefined

  private constructor(
    config: LakehouseConfig,
    secret: Uint8Array,
    tables: Record<TableName, DeltaTable>,
    users: TableView<StoredUser>,
    sessions: TableView<SessionEntry>,
    clock: Clock,
    logger: Logger,
  ) {
    this.config = config
    this.#jwtSecret = secret
    this.#tables = tables
    this.users = users
    this.sessions = sessions
    this.clock = clock
    this.logger = logger
  }

  /**
   * Opens the lakehouse at `config.basePath`, creating missing tables, and builds the views.
   * @param config - validated configuration
   * @param options - clock, logger, background refresh
   * @returns the open store
   * @throws LakehouseError `CONFIG_INVALID` (also when the base path, or one of its parents, is
   *   a file), `WEAK_SECRET`, `UNSUPPORTED_TABLE` (an existing table that does not match its
   *   definition), `STORAGE_FAILURE`
   */
  static async open(config: LakehouseConfig, options: DeltaStoreOptions = {}): Promise<DeltaStore> {
    const clock = options.clock ?? systemClock
    const logger = options.logger ?? consoleLogger
    for (const w of config.warnings) logger.warn(w)
    await ensureBaseDirectory(config.basePath)
    const secret = await resolveJwtSecret(config, logger)
    const tables = {} as Record<TableName, DeltaTable>
    await Promise.all(
      TABLE_NAMES.map(async (name) => {
        tables[name] = await guard(`opening table ${name}`, () =>
          openTable(config.basePath, TABLES[name], clock),
        )
      }),
    )
    const users = new TableView(
      await DeltaTable.open(tables.users.store, { clock }),
      USER_CODEC,
      clock,
    )
    const sessions = new TableView(
      await DeltaTable.open(tables.sessions.store, { clock }),
      SESSION_CODEC,
      clock,
    )
    const store = new DeltaStore(config, secret, tables, users, sessions, clock, logger)
    await guard('building live views', () => Promise.all([users.advance(), sessions.advance()]))
    if (options.autoRefresh ?? true) store.#startRefresh()
    return store
  }

  /** Whether the views are refreshed in the background every `refreshMs` (the default). */
  get autoRefreshing(): boolean {
    return this.#timer !== undefined
  }

  /**
   * The HS256 secret in use (configured, or the generated development secret): a fresh copy on
   * each read, so that a caller cannot change (or wipe) the store's.
   */
  get jwtSecret(): Uint8Array {
    return new Uint8Array(this.#jwtSecret)
  }

  #startRefresh(): void {
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) => {
        this.logger.warn(`lakehouse: refreshing live views failed: ${(error as Error).message}`)
      })
    }, this.config.refreshMs)
    this.#timer.unref()
  }

  /**
   * True once {@link DeltaStore.close} has been called (also while it still waits for queued
   * rows): from then on every method throws `STORE_CLOSED` and the live views are no longer
   * refreshed, so they must not be trusted for decisions such as token verification.
   */
  get closed(): boolean {
    return this.#closed
  }

  #check(): void {
    if (this.#closed) throw new LakehouseError('STORE_CLOSED', 'lakehouse: the store is closed')
  }

  /**
   * The writer handle of a table (engine API; its errors are DeltaErrors).
   * @param name - table name
   * @returns the handle
   * @throws LakehouseError `UNKNOWN_TABLE`, `STORE_CLOSED`
   */
  table(name: TableName): DeltaTable {
    this.#check()
    if (!isTableName(name)) {
      throw new LakehouseError('UNKNOWN_TABLE', `lakehouse: no table named ${previewValue(name)}`)
    }
    return this.#tables[name]
  }

  /**
   * Brings the live views up to date with every process's commits.
   * @returns when both views are current
   * @throws LakehouseError `STORE_CLOSED`; the engine's read errors (the views stay as they were)
   */
  async refresh(): Promise<void> {
    this.#check()
    await Promise.all([this.users.advance(), this.sessions.advance()])
  }

  /**
   * How stale a live view may be: the milliseconds since it was last known to reflect the
   * table's latest version, i.e. since the start of its last successful refresh (the background
   * refresh every `refreshMs`, {@link DeltaStore.refresh}, or any other advance of the view that
   * reads the log; see {@link TableView.refreshedAt}). Commits this process makes are in the view
   * at once but do not lower the age, since other processes' commits may still be missing.
   *
   * 0 right after a successful refresh (on the store's clock). With auto-refresh on and a
   * readable log it stays below about `refreshMs` plus the duration of a refresh; while
   * refreshes fail (unreadable or corrupt log, storage errors) it grows without bound, so a
   * caller can fail closed above a threshold of its choice. With auto-refresh off it is the time
   * since open or the last explicit refresh. `Infinity` if the view was never refreshed (not the
   * case after open). The store itself refuses nothing because of it.
   * @param name - `users` or `sessions`
   * @returns milliseconds, at least 0
   * @throws LakehouseError `STORE_CLOSED` (a closed store's views are no longer refreshed; see
   *   {@link DeltaStore.closed}), `UNKNOWN_TABLE` for any other name
   */
  viewAge(name: 'users' | 'sessions'): number {
    this.#check()
    const view = name === 'users' ? this.users : name === 'sessions' ? this.sessions : undefined
    if (view === undefined) {
      throw new LakehouseError(
        'UNKNOWN_TABLE',
        `lakehouse: no live view of ${previewValue(name)} (only users and sessions)`,
      )
    }
    const at = view.refreshedAt
    return at === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.clock.now() - at)
  }

  /**
   * Advances the view of a table after this process committed to it.
   * @param name - the table written
   * @param hint - the writer's snapshot after the commit, and the commit itself when known
   *   (see {@link TableView.advance}); without it the view probes the log
   * @internal
   */
  async afterWrite(name: TableName, hint?: AdvanceHint): Promise<void> {
    if (name === 'users') await this.users.advance(hint)
    else if (name === 'sessions') await this.sessions.advance(hint)
  }

  /**
   * Appends rows. Every table but `users` goes through group commit (concurrent callers' rows
   * ride one commit; checkpoints are written in the background); the promise resolves once the
   * rows are durable and visible in the table's live view.
   * @param name - table
   * @param rows - rows (validated against the schema)
   * @param options - `canonical`: the rows are in canonical form (the values a read returns:
   *   `Date` for timestamps, `'YYYY-MM-DD'` for dates), so the live view can take them without
   *   reading the new file back
   * @returns the commit result
   * @throws LakehouseError `INVALID_QUERY` (bad rows), `WRITE_CONFLICT`, `STORAGE_FAILURE`
   */
  async append(
    name: TableName,
    rows: readonly Record<string, unknown>[],
    options: { readonly canonical?: boolean } = {},
  ): Promise<WriteResult> {
    const table = this.table(name)
    return this.#appended(name, table, rows, options, () =>
      name === 'users' ? table.append(rows) : table.appendQueued(rows),
    )
  }

  /** Runs an append, then advances the table's view with the rows it committed. */
  async #appended(
    name: TableName,
    table: DeltaTable,
    rows: readonly Record<string, unknown>[],
    options: { readonly canonical?: boolean },
    write: () => Promise<WriteResult>,
  ): Promise<WriteResult> {
    const result = await guard(`appending to ${name}`, write)
    // The handle's snapshot already holds the commit: the view needs no log probe.
    const commit =
      options.canonical && !result.skipped
        ? { version: result.version, removed: [], rows }
        : undefined
    await guard(`refreshing the ${name} view`, () =>
      this.afterWrite(name, { snapshot: table.snapshot, commit }),
    )
    return result
  }

  /**
   * Encodes rows and writes their data files now; `commit()` publishes them later (then the
   * live view takes them, as after {@link DeltaStore.append}), `discard()` deletes them.
   * @param name - table
   * @param rows - rows (validated against the schema now)
   * @param options - `canonical`, as for {@link DeltaStore.append}
   * @returns the prepared rows
   * @throws LakehouseError `INVALID_QUERY` (bad rows)
   */
  prepareAppend(
    name: TableName,
    rows: readonly Record<string, unknown>[],
    options: { readonly canonical?: boolean } = {},
  ): PreparedRows {
    const table = this.table(name)
    let staged: PreparedAppend
    try {
      staged = table.prepareAppend(rows)
    } catch (error) {
      throw toLakehouseError(error, `appending to ${name}`)
    }
    return {
      commit: () => this.#appended(name, table, rows, options, () => staged.commit()),
      discard: () => guard(`discarding rows prepared for ${name}`, () => staged.discard()),
    }
  }

  /**
   * Reads the current rows of a table.
   * @param name - table
   * @param options - projection and filter
   * @returns rows
   * @throws LakehouseError `INVALID_QUERY`, `STORAGE_FAILURE`
   */
  async scan(name: TableName, options: ScanOptions = {}): Promise<Record<string, unknown>[]> {
    const table = this.table(name)
    return guard(`scanning ${name}`, async () => (await table.refresh()).toRows(options))
  }

  /**
   * Reads the current rows matching a typed predicate.
   * @param name - table
   * @param filter - predicate built with `col(...)` (required: `lit(true)` matches every row)
   * @param options - projection
   * @returns matching rows
   * @throws LakehouseError `INVALID_QUERY` (also for a missing filter), `STORAGE_FAILURE`
   */
  query(
    name: TableName,
    filter: Expression,
    options: Omit<ScanOptions, 'filter'> = {},
  ): Promise<Record<string, unknown>[]> {
    this.table(name)
    // A missing filter would read the whole table: refuse it (scan() reads everything).
    const given: unknown = filter
    if (typeof given !== 'object' || given === null) {
      throw new LakehouseError(
        'INVALID_QUERY',
        `lakehouse: querying ${name}: a filter expression is required (got ${given === null ? 'null' : typeof given}); use scan() to read every row`,
      )
    }
    return this.scan(name, { ...options, filter })
  }

  /**
   * Reads a table as of a version.
   * @param name - table
   * @param version - the version
   * @param options - projection and filter
   * @returns rows of that version
   * @throws LakehouseError `VERSION_NOT_FOUND` (also when its files were vacuumed),
   *   `STORAGE_FAILURE`
   */
  readVersion(
    name: TableName,
    version: number,
    options: ScanOptions = {},
  ): Promise<Record<string, unknown>[]> {
    const table = this.table(name)
    // Without a version the engine would open the latest one.
    if (!Number.isSafeInteger(version) || version < 0) {
      return Promise.reject(
        new LakehouseError(
          'VERSION_NOT_FOUND',
          `lakehouse: reading ${name} at version ${previewValue(version)}: not a non-negative integer`,
        ),
      )
    }
    return guardTimeTravel(`reading ${name} at version ${version}`, async () =>
      (await DeltaTable.open(table.store, { version, clock: this.clock })).toRows(options),
    )
  }

  /**
   * Reads a table as of a timestamp (the last commit at or before it; the latest version when
   * the timestamp is after the last commit).
   * @param name - table
   * @param timestamp - a Date, epoch ms, or ISO-8601 with zone
   * @param options - projection and filter
   * @returns rows as of that time
   * @throws LakehouseError `INVALID_TIMESTAMP`, `VERSION_NOT_FOUND`, `STORAGE_FAILURE`
   */
  readTimestamp(
    name: TableName,
    timestamp: Date | string | number,
    options: ScanOptions = {},
  ): Promise<Record<string, unknown>[]> {
    const table = this.table(name)
    if (!isTimestampArg(timestamp)) {
      return Promise.reject(
        new LakehouseError(
          'INVALID_TIMESTAMP',
          `lakehouse: reading ${name} as of ${previewValue(timestamp)}: not a valid time ` +
            '(use a Date, epoch milliseconds or ISO-8601 with a zone, within the range of Date)',
        ),
      )
    }
    return guardTimeTravel(`reading ${name} as of ${previewValue(timestamp)}`, async () =>
      (await DeltaTable.open(table.store, { timestamp, clock: this.clock })).toRows(options),
    )
  }

  /**
   * The latest version of a table.
   * @param name - table
   * @returns the version
   * @throws LakehouseError `STORAGE_FAILURE`
   */
  async version(name: TableName): Promise<number> {
    const table = this.table(name)
    return guard(`reading the version of ${name}`, async () => (await table.refresh()).version)
  }

  /**
   * Commit history of a table, newest first.
   * @param name - table
   * @param limit - maximum entries
   * @returns history entries
   * @throws LakehouseError `STORAGE_FAILURE`
   */
  async history(name: TableName, limit?: number): Promise<HistoryEntry[]> {
    const table = this.table(name)
    return guard(`reading the history of ${name}`, async () =>
      (await table.refresh()).history({ limit }),
    )
  }

  /**
   * Compacts small files (all tables when `name` is omitted).
   * @param name - table
   * @returns results per table
   * @throws LakehouseError `WRITE_CONFLICT`, `STORAGE_FAILURE`
   */
  async compact(name?: TableName): Promise<Partial<Record<TableName, OptimizeResult>>> {
    const out: Partial<Record<TableName, OptimizeResult>> = {}
    for (const n of name === undefined ? TABLE_NAMES : [name]) {
      const table = this.table(n)
      out[n] = await guard(`compacting ${n}`, () => table.optimize())
      await this.afterWrite(n)
    }
    return out
  }

  /**
   * Z-orders a table's rows (default: `audit_log` and `user_actions` on the configured columns).
   * @param name - table
   * @param columns - z-order columns (default from the configuration, filtered to the table)
   * @returns results per table
   * @throws LakehouseError `INVALID_QUERY` for unknown columns, `WRITE_CONFLICT`
   */
  async zOrder(
    name?: TableName,
    columns?: readonly string[],
  ): Promise<Partial<Record<TableName, OptimizeResult>>> {
    const out: Partial<Record<TableName, OptimizeResult>> = {}
    const targets: readonly TableName[] = name === undefined ? Z_ORDER_TABLES : [name]
    const given: unknown = columns
    if (
      given !== undefined &&
      (!Array.isArray(given) || given.some((c) => typeof c !== 'string'))
    ) {
      throw new LakehouseError(
        'INVALID_QUERY',
        'lakehouse: z-order columns must be an array of column names',
      )
    }
    for (const n of targets) {
      // The name is checked before its definition is read.
      const table = this.table(n)
      const def = TABLES[n]
      const cols = columns ?? configuredZOrderColumns(def, this.config.zOrderColumns)
      if (cols.length === 0) continue
      out[n] = await guard(`z-ordering ${n}`, () => table.optimize({ zOrder: cols }))
      await this.afterWrite(n)
    }
    return out
  }

  /**
   * Vacuums tables with the configured retention (or `retentionHours`).
   * @param name - table (all when omitted)
   * @param retentionHours - override of the configured retention
   * @returns results per table
   * @throws LakehouseError `INVALID_QUERY` (a `retentionHours` below the table's
   *   `delta.deletedFileRetentionDuration`), `CONFIG_INVALID` (the configured retention is below
   *   it: a table created elsewhere with a longer one), `STORAGE_FAILURE`
   */
  async vacuum(
    name?: TableName,
    retentionHours?: number,
  ): Promise<Partial<Record<TableName, VacuumResult>>> {
    const out: Partial<Record<TableName, VacuumResult>> = {}
    for (const n of name === undefined ? TABLE_NAMES : [name]) {
      const table = this.table(n)
      try {
        out[n] = await table.vacuum({
          retentionHours: retentionHours ?? this.config.vacuumRetentionHours,
        })
      } catch (error) {
        if (retentionHours === undefined) throw vacuumFailure(error, this.config, n)
        throw toLakehouseError(error, `vacuuming ${n}`)
      }
    }
    return out
  }

  /**
   * Stops the background refresh and waits for queued event rows to be committed. Every call
   * returns the same promise: a second close() resolves only when the first one's rows are
   * durable.
   * @returns when everything queued is durable
   * @throws LakehouseError `STORAGE_FAILURE` when queued rows could not be committed
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    await guard('closing the store', () =>
      Promise.all(TABLE_NAMES.map((n) => this.#tables[n].close())),
    )
  }
}

async function openTable(
  basePath: string,
  def: TableDefinition,
  clock: Clock,
): Promise<DeltaTable> {
  const table = await DeltaTable.create(path.join(basePath, def.name), {
    schema: def.schema,
    partitionColumns: def.partitionColumns,
    properties: def.properties,
    description: def.description,
    name: def.name,
    ifNotExists: true,
    clock,
  })
  // An existing table must have every column of the definition with the same type.
  for (const f of def.schema.fields) {
    const existing = table.schema.fields.find((x) => x.name === f.name)
    if (!existing || JSON.stringify(existing.type) !== JSON.stringify(f.type)) {
      throw new LakehouseError(
        'UNSUPPORTED_TABLE',
        `lakehouse: table ${def.name} at ${table.store.location} does not match this version's schema ` +
          `(column ${f.name})`,
        { context: { table: def.name, column: f.name } },
      )
    }
  }
  return table
}

/**
 * Read-then-write transactions ("Optimistic Concurrency Control" in PROTOCOL.md; digest sections
 * 6.2 to 6.4).
 *
 * A callback reads the table through a {@link TransactionContext} and stages changes: rows to
 * append and copy-on-write updates. Every read is declared to the transaction: its filter
 * becomes a read predicate (no filter means the whole table was read) and the files it scanned
 * become read files. When the commit loses the race for its version, the conflict checker
 * compares the winning commits with what was read: a winner that added rows a read predicate
 * may match, or removed a file that was read, makes the commit fail with a
 * {@link CommitConflictError}. The callback then runs again on the new latest snapshot, so its
 * decision is always based on data that was current when it committed. This is what makes
 * "insert if no row matches" safe across processes.
 *
 * Reads see the snapshot, not the changes staged by the same run. The callback may run several
 * times: it must not have side effects outside the context (or they must be idempotent).
 * @module
 */
import type { AddAction } from '../actions/actions.js'
import type { Clock } from '../clock.js'
import { CommitConflictError, DeltaError, isDeltaError } from '../errors.js'
import { bindExpression, type BoundExpression } from '../expr/bind-expression.js'
import { evaluateOnRow } from '../expr/evaluate.js'
import type { Expression } from '../expr/expression.js'
import { finishCommit, type FinishedWrite } from '../operations/finish-commit.js'
import { CopyOnWrite, type RowClassifier } from '../operations/rewrite.js'
import {
  applyAssignments,
  constantDataAssignments,
  resolveAssignments,
} from '../operations/update.js'
import { prepareDataFiles, validateRows } from '../operations/write-files.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { dataFileKey, pruneFiles, scanRows, type ScanOptions } from '../table/scan.js'
import { Transaction } from './transaction.js'

/** Default number of times the callback is re-run after a commit conflict. */
export const DEFAULT_MAX_CONFLICT_RETRIES = 10

/** Longest pause between two runs of the callback, in milliseconds. */
const MAX_RETRY_DELAY_MS = 50

/**
 * New values of an update in a transaction: column name to value, or to a function of the
 * current row (canonical values, before any assignment; it must not modify the row).
 */
export type TransactionUpdateSet = Readonly<Record<string, unknown>>

/** What a transaction callback can do: read its snapshot and stage changes. */
export interface TransactionContext {
  /** The snapshot every read of this run sees (the latest version when the run started). */
  readonly snapshot: Snapshot
  /**
   * Reads rows of {@link TransactionContext.snapshot} and records the read: the filter as a read
   * predicate (the whole table when there is none) and the files that were scanned.
   * @param options - projection and filter, as for `DeltaTable.toRows`
   * @returns the matching rows
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `DATA_FILE_NOT_FOUND`,
   *   `PARQUET_ERROR`; `INVALID_ARGUMENT` after the callback has returned
   */
  read(options?: ScanOptions): Promise<Record<string, unknown>[]>
  /**
   * Records a read made elsewhere (for example in a cached view of the snapshot's rows) without
   * scanning: rows matching `predicate` (the whole table when undefined) and the files that were
   * consulted. It has the same conflict semantics as {@link TransactionContext.read}.
   * @param predicate - what was read, or undefined for the whole table
   * @param files - the files the read depends on (live files of the snapshot)
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`; `INVALID_ARGUMENT` after the
   *   callback has returned
   */
  declareRead(predicate: Expression | undefined, files: Iterable<AddAction>): void
  /**
   * Stages rows to append when the transaction commits. They are validated now.
   * @param rows - the rows
   * @throws DeltaError `SCHEMA_MISMATCH` (nothing of this call is staged); `INVALID_ARGUMENT`
   *   after the callback has returned
   */
  append(rows: readonly Record<string, unknown>[]): void
  /**
   * Stages a copy-on-write update of the rows of the snapshot matching `filter` (all rows when
   * undefined) and records the read. The files holding matching rows are rewritten now and
   * replaced when the transaction commits. A file can be updated once per run.
   * @param filter - rows to update
   * @param set - column to new value, or to `(row) => value`
   * @returns the number of rows updated
   * @throws DeltaError `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`, `SCHEMA_MISMATCH`,
   *   `APPEND_ONLY`, `INVALID_ARGUMENT` (empty `set`, a file updated twice, or use after the
   *   callback returned); whatever a `set` function throws
   */
  update(filter: Expression | undefined, set: TransactionUpdateSet): Promise<number>
}

/** Options of `DeltaTable.transact`. */
export interface TransactOptions {
  /** `commitInfo.operation` (default `WRITE`). */
  readonly operation?: string
  /** How many times the callback is re-run after a commit conflict (default 10). */
  readonly maxConflictRetries?: number
  /** `commitInfo.userMetadata`. */
  readonly userMetadata?: string
  /**
   * Idempotent write: the commit records this application version (`txn`), and is skipped when
   * the application already committed it or a later one. Two concurrent transactions of one
   * application id conflict, so the later one's callback runs again on the newer snapshot. A
   * run that stages nothing still commits the `txn` (a watermark moved forward).
   */
  readonly appTransaction?: { readonly appId: string; readonly version: number }
}

/** Outcome of {@link runTransaction}: the callback's value and the commit (or the skip). */
export interface TransactionOutcome<T> extends FinishedWrite {
  /** What the callback returned on its last run. */
  readonly value: T
}

/**
 * Runs a read-then-write transaction, re-running the callback on conflicts.
 * @param store - the table's store
 * @param clock - time source
 * @param latest - returns the latest snapshot of the table (called before every run)
 * @param fn - the callback; may run several times
 * @param options - operation name, retry bound, user metadata
 * @returns the callback's value, the write result (`skipped` when nothing was staged) and the
 *   snapshot after the commit
 * @throws CommitConflictError after `maxConflictRetries` re-runs that all conflicted; whatever
 *   `fn` throws (nothing is committed then); DeltaError `SCHEMA_MISMATCH`, `APPEND_ONLY`,
 *   `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`, `INVALID_ARGUMENT` for a bad retry bound
 * @internal
 */
export async function runTransaction<T>(
  store: ObjectStore,
  clock: Clock,
  latest: () => Promise<Snapshot>,
  fn: (tx: TransactionContext) => Promise<T>,
  options: TransactOptions = {},
): Promise<TransactionOutcome<T>> {
  const maxRetries = options.maxConflictRetries ?? DEFAULT_MAX_CONFLICT_RETRIES
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta transaction: maxConflictRetries must be a non-negative integer, got ${String(maxRetries)}`,
    )
  }
  for (let retry = 0; ; retry++) {
    if (retry > 0) await sleep(Math.random() * Math.min(MAX_RETRY_DELAY_MS, 2 ** retry))
    try {
      return await new TransactionRun(store, clock, await latest(), options).run(fn)
    } catch (error) {
      if (!(error instanceof CommitConflictError) || retry >= maxRetries) throw error
    }
  }
}

/** One run of the callback on one snapshot. */
class TransactionRun {
  readonly #store: ObjectStore
  readonly #clock: Clock
  readonly #snapshot: Snapshot
  readonly #txn: Transaction
  readonly #operation: string
  readonly #staged: Record<string, unknown>[] = []
  readonly #updatedFiles = new Set<string>()
  #cow: CopyOnWrite | undefined
  #updatedRows = 0
  #open = true
  readonly #recordsApp: boolean

  constructor(store: ObjectStore, clock: Clock, snapshot: Snapshot, options: TransactOptions) {
    this.#store = store
    this.#clock = clock
    this.#snapshot = snapshot
    this.#operation = options.operation ?? 'WRITE'
    this.#txn = new Transaction(store, snapshot, clock, {
      operation: this.#operation,
      operationParameters: {
        mode: 'Append',
        partitionBy: JSON.stringify(snapshot.partitionColumns),
      },
      userMetadata: options.userMetadata,
      appTransaction: options.appTransaction,
    })
    this.#recordsApp = options.appTransaction !== undefined
  }

  async run<T>(fn: (tx: TransactionContext) => Promise<T>): Promise<TransactionOutcome<T>> {
    let value: T
    try {
      value = await fn(this.#context())
    } catch (error) {
      this.#open = false
      if (this.#cow) await this.#cow.discard()
      throw error
    }
    this.#open = false
    return { value, ...(await this.#commit()) }
  }

  #context(): TransactionContext {
    const snapshot = this.#snapshot
    return {
      snapshot,
      read: async (scan: ScanOptions = {}) => {
        this.#assertOpen('read')
        const bound = scan.filter ? bindExpression(scan.filter, snapshot.schema) : undefined
        // Recorded before scanning: a read that fails still counts (the callback may catch it).
        this.#txn.recordRead(bound, pruneFiles(snapshot, bound))
        return scanRows(this.#store, snapshot, scan)
      },
      declareRead: (predicate, files) => {
        this.#assertOpen('declareRead')
        this.#txn.recordRead(predicate, files)
      },
      append: (rows) => {
        this.#assertOpen('append')
        const valid = validateRows(
          snapshot.schema,
          rows,
          snapshot.location,
          snapshot.partitionColumns,
        )
        for (const row of valid) this.#staged.push(row)
      },
      update: (filter, set) => {
        this.#assertOpen('update')
        return this.#update(filter, set)
      },
    }
  }

  #assertOpen(what: string): void {
    if (!this.#open) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta transaction: ${what} called after the transaction callback on ` +
          `${this.#snapshot.location} returned`,
      )
    }
  }

  async #update(filter: Expression | undefined, set: TransactionUpdateSet): Promise<number> {
    const snapshot = this.#snapshot
    const assignments = resolveAssignments(snapshot, set, 'delta transaction')
    const bound: BoundExpression | undefined = filter
      ? bindExpression(filter, snapshot.schema)
      : undefined
    const candidates = pruneFiles(snapshot, bound)
    this.#txn.recordRead(bound, candidates)
    this.#cow ??= new CopyOnWrite(this.#store, snapshot, this.#clock.now(), this.#operation)
    const touched = new Set<string>()
    let updated = 0
    const touch = (file: AddAction, rows: number): void => {
      if (this.#updatedFiles.has(file.path)) {
        throw new DeltaError(
          'INVALID_ARGUMENT',
          `delta transaction: file ${file.path} of table ${snapshot.location} is updated twice ` +
            'in one transaction; combine the updates',
          { context: { table: snapshot.location, path: file.path } },
        )
      }
      touched.add(file.path)
      updated += rows
    }
    const classify: RowClassifier = (row, at) => {
      if (bound !== undefined && evaluateOnRow(bound, row) !== true) return undefined
      touch(at.file, 1)
      return applyAssignments(snapshot, row, assignments, at)
    }
    const constants = constantDataAssignments(snapshot, assignments)
    if (constants === undefined) {
      await this.#cow.rewriteFiles(candidates, classify, bound && { matches: bound })
    } else await this.#cow.updateFiles(candidates, bound, constants, classify, touch)
    for (const path of touched) this.#updatedFiles.add(path)
    this.#updatedRows += updated
    return updated
  }

  async #commit(): Promise<FinishedWrite> {
    const snapshot = this.#snapshot
    const cow = this.#cow
    if (this.#staged.length === 0 && !cow?.changed && !this.#recordsApp) {
      return { result: { version: snapshot.version, skipped: true, metrics: {} }, snapshot }
    }
    let appended: AddAction[] = []
    try {
      if (cow) this.#txn.addActions(await cow.finish())
      const prepared =
        this.#staged.length === 0
          ? undefined
          : prepareDataFiles(this.#store, snapshot, this.#staged, {
              now: this.#clock.now(),
              trusted: true,
            })
      appended = prepared?.adds ?? []
      this.#txn.addActions(appended)
      const counts = cow?.counts
      return await finishCommit(
        this.#store,
        this.#txn,
        this.#clock,
        {
          numOutputRows:
            this.#staged.length + (counts ? counts.replacedRows + counts.copiedRows : 0),
          numFiles: appended.length + (counts?.addedFiles ?? 0),
          numOutputBytes: appended.reduce((s, a) => s + a.size, 0) + (counts?.outputBytes ?? 0),
          ...(counts
            ? {
                numUpdatedRows: this.#updatedRows,
                numCopiedRows: counts.copiedRows,
                numRemovedFiles: counts.removedFiles,
              }
            : {}),
        },
        { dataWritten: prepared?.written, dataGroup: prepared?.group },
      )
    } catch (error) {
      if (commitCertainlyFailed(error)) {
        // No commit references these files: remove them now rather than leave them to VACUUM.
        // A failed removal is not reported (the orphan is invisible to readers); the caller
        // needs the commit's error.
        if (cow) await cow.discard()
        await Promise.allSettled(
          appended.map((a) => this.#store.delete(dataFileKey(snapshot, this.#store, a.path))),
        )
      }
      throw error
    }
  }
}

/** Errors after which no commit file of this run can exist. */
function commitCertainlyFailed(error: unknown): boolean {
  return (
    error instanceof CommitConflictError ||
    isDeltaError(error, 'MAX_COMMIT_ATTEMPTS') ||
    isDeltaError(error, 'APPEND_ONLY')
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Group commit: concurrent appenders' rows ride one commit (ARCHITECTURE.md "Writes at volume").
 *
 * Callers enqueue rows, which are validated on arrival (invalid rows reject only their caller,
 * and nothing of that call is queued). One commit runs at a time; the requests that arrive while
 * it runs all go into the next commit together, and a caller's rows are never split across
 * commits. Each caller's promise settles only when the commit holding its rows is durable (its
 * data files and its log file fsync-ed), or failed, and a failure reaches exactly the callers
 * of that commit.
 *
 * The queue is bounded: it holds at most `maxQueuedRows` rows, counting the commit in flight.
 * Callers that do not fit wait in arrival order for room (back-pressure). One request larger
 * than the bound is admitted alone, when nothing else is queued, so that it cannot wait forever.
 *
 * Checkpoints are not written on the acknowledgement path: when one is due a
 * {@link BackgroundCheckpointer} (shared with the handle's staged appends) writes it in the
 * background, one at a time, coalescing the due versions that pass meanwhile and pacing
 * them so that they take a bounded share of the time (a checkpoint costs time proportional to
 * the number of live files, a commit does not). Its outcome is reported in the result of the
 * first commit acknowledged after it finished.
 * @module
 */
import type { CheckpointResult } from '../checkpoint/write-checkpoint.js'
import type { Clock } from '../clock.js'
import { yieldToEventLoop } from '../concurrency.js'
import { DeltaError, isDeltaError } from '../errors.js'
import type { FinishedWrite, WriteResult } from '../operations/finish-commit.js'
import { commitAppendFiles, discardDataFiles } from '../operations/write.js'
import { prepareDataFiles, validateRows } from '../operations/write-files.js'
import type { StructType } from '../schema/data-type.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'

/** Default bound on rows held by the queue (queued plus in flight). */
export const DEFAULT_MAX_QUEUED_ROWS = 200_000

/** Default maximum rows per commit (a single larger request still commits alone). */
export const DEFAULT_MAX_BATCH_ROWS = 50_000

/**
 * A background checkpoint starts no sooner than this many times its predecessor's duration
 * after that one ended, which keeps checkpoints under about a tenth of the time.
 */
const CHECKPOINT_PACE = 9

/** Configuration of a {@link GroupCommitQueue}. */
export interface GroupCommitOptions {
  /** The current table schema (for validating each caller's rows on arrival). */
  readonly schema: () => StructType
  /** The current partition columns (for validating rows on arrival); none when absent. */
  readonly partitionColumns?: () => readonly string[]
  /** Table location, for messages. */
  readonly location: () => string
  /**
   * Commits one batch of (validated) rows as one append, durably. It must not write the
   * post-commit checkpoint itself when `checkpoint` is given.
   */
  readonly commit: (rows: Record<string, unknown>[]) => Promise<WriteResult>
  /** Writes a checkpoint of the latest committed version; enables background checkpoints. */
  readonly checkpoint?: () => Promise<CheckpointResult>
  /**
   * The background checkpoints to use, when they are shared with other writers of the same
   * handle (then `checkpoint` and `checkpointInterval` are ignored).
   */
  readonly checkpointer?: BackgroundCheckpointer
  /** Versions between checkpoints (`delta.checkpointInterval`); read after every commit. */
  readonly checkpointInterval?: () => number
  /** Bound on queued rows before callers wait. */
  readonly maxQueuedRows?: number
  /** Rows per commit. */
  readonly maxBatchRows?: number
}

interface Request {
  readonly rows: Record<string, unknown>[]
  readonly resolve: (result: WriteResult) => void
  readonly reject: (error: unknown) => void
}

interface Waiter {
  readonly rows: number
  readonly admit: () => void
  readonly reject: (error: unknown) => void
}

/** A per-table queue that group-commits appends. */
export class GroupCommitQueue {
  readonly #options: GroupCommitOptions
  readonly #maxQueued: number
  readonly #maxBatch: number
  readonly #pending: Request[] = []
  readonly #waiters: Waiter[] = []
  #queuedRows = 0
  #running: Promise<void> | undefined
  #closed = false
  readonly #checkpointer: BackgroundCheckpointer | undefined
  readonly #ownsCheckpointer: boolean

  /**
   * @param options - schema source, commit function and limits
   * @throws DeltaError `INVALID_ARGUMENT` for limits that are not positive integers
   */
  constructor(options: GroupCommitOptions) {
    this.#options = options
    this.#maxQueued = positive(options.maxQueuedRows, DEFAULT_MAX_QUEUED_ROWS, 'maxQueuedRows')
    this.#maxBatch = positive(options.maxBatchRows, DEFAULT_MAX_BATCH_ROWS, 'maxBatchRows')
    const { checkpoint, checkpointInterval, location } = options
    this.#ownsCheckpointer = options.checkpointer === undefined
    this.#checkpointer =
      options.checkpointer ??
      (checkpoint && new BackgroundCheckpointer({ checkpoint, checkpointInterval, location }))
  }

  /** Rows held by the queue now: waiting for a commit or in the commit that is running. */
  get queuedRows(): number {
    return this.#queuedRows
  }

  /**
   * Queues rows for the next commit.
   * @param rows - rows to append
   * @returns the result of the commit that holds them
   * @throws DeltaError `SCHEMA_MISMATCH` for invalid rows (nothing is queued), `INVALID_ARGUMENT`
   *   for no rows, `QUEUE_CLOSED`
   *   (also when the queue closes while the caller waits for room), or the error of the commit
   *   that held the rows
   */
  async enqueue(rows: readonly Record<string, unknown>[]): Promise<WriteResult> {
    if (this.#closed) throw closedError(this.#options.location())
    const canonical = validateRows(
      this.#options.schema(),
      rows,
      this.#options.location(),
      this.#options.partitionColumns?.() ?? [],
    )
    if (canonical.length === 0) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta group commit: no rows to append to ${this.#options.location()}`,
      )
    }
    if (this.#waiters.length > 0 || !this.#fits(canonical.length)) {
      // Back-pressure, first come first served: the room is reserved by #admitWaiters.
      await new Promise<void>((admit, reject) => {
        this.#waiters.push({ rows: canonical.length, admit, reject })
      })
    } else {
      this.#queuedRows += canonical.length
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.#pending.push({ rows: canonical, resolve, reject })
      this.#running ??= this.#drain()
    })
  }

  #fits(rows: number): boolean {
    return this.#queuedRows === 0 || this.#queuedRows + rows <= this.#maxQueued
  }

  #admitWaiters(): void {
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0] as Waiter
      if (!this.#fits(next.rows)) break
      this.#waiters.shift()
      this.#queuedRows += next.rows
      next.admit()
    }
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        // Let the callers woken by the previous acknowledgement enqueue first, so that they
        // share the next commit instead of the first of them committing alone.
        await yieldToEventLoop()
        if (this.#pending.length === 0) break
        await this.#commitBatch(this.#takeBatch())
      }
    } finally {
      this.#running = undefined
    }
  }

  async #commitBatch(batch: Request[]): Promise<void> {
    const rows = batch.length === 1 ? (batch[0] as Request).rows : batch.flatMap((r) => r.rows)
    let outcome: { ok: true; result: WriteResult } | { ok: false; error: unknown }
    try {
      outcome = { ok: true, result: await this.#options.commit(rows) }
    } catch (error) {
      outcome = { ok: false, error }
    }
    this.#queuedRows -= rows.length
    if (outcome.ok) {
      const checkpointed = this.#checkpointer?.takeOutcome()
      const result = checkpointed ? { ...outcome.result, ...checkpointed } : outcome.result
      for (const r of batch) r.resolve(result)
      this.#checkpointer?.noteCommitted(result)
    } else {
      for (const r of batch) r.reject(outcome.error)
    }
    this.#admitWaiters()
  }

  #takeBatch(): Request[] {
    let count = 0
    let n = 0
    for (const next of this.#pending) {
      if (count > 0 && n + next.rows.length > this.#maxBatch) break
      count++
      n += next.rows.length
    }
    // One splice, not a shift per request (quadratic with many small requests).
    return this.#pending.splice(0, count)
  }

  /**
   * Stops accepting rows and waits until everything queued has been committed (or failed) and,
   * when the queue owns its checkpointer, until the due background checkpoint is written.
   * Callers still waiting for room are rejected with `QUEUE_CLOSED`: their rows were never
   * queued.
   * @returns when the queue is empty
   */
  async close(): Promise<void> {
    this.#closed = true
    for (const w of this.#waiters.splice(0)) w.reject(closedError(this.#options.location()))
    while (this.#running) await this.#running
    // After the last commit, so that its due checkpoint is written too; a shared checkpointer
    // is closed by its owner.
    if (this.#ownsCheckpointer) await this.#checkpointer?.close()
  }
}

/** What a {@link BackgroundCheckpointer} needs. */
export interface BackgroundCheckpointerOptions {
  /** Writes a checkpoint of the latest committed version. */
  readonly checkpoint: () => Promise<CheckpointResult>
  /** Versions between checkpoints (`delta.checkpointInterval`); read after every commit. */
  readonly checkpointInterval?: () => number
  /** Table location, for messages. */
  readonly location: () => string
}

/**
 * Checkpoints written off the acknowledgement path, for the writers of one handle (the
 * group-commit queue, staged appends): one at a time, coalescing the due versions that pass
 * meanwhile, paced to a bounded share of the time. The outcome of each is handed to the next
 * writer that asks ({@link BackgroundCheckpointer.takeOutcome}).
 */
export class BackgroundCheckpointer {
  readonly #options: BackgroundCheckpointerOptions
  #closed = false
  #checkpointing: Promise<void> | undefined
  #wanted = false
  #lastEnd = 0
  #lastMs = 0
  #checkpointedThrough = -1
  #outcome: Pick<WriteResult, 'checkpoint' | 'checkpointError'> | undefined
  /** Ends the pacing wait early (set while waiting). */
  #wake: (() => void) | undefined

  /** @param options - the checkpoint writer, the interval and the location */
  constructor(options: BackgroundCheckpointerOptions) {
    this.#options = options
  }

  /**
   * Notes a commit of this handle; starts a background checkpoint when one is due.
   * @param result - the commit's result
   */
  noteCommitted(result: WriteResult): void {
    if (this.#closed || result.skipped) return
    const interval = Math.max(1, this.#options.checkpointInterval?.() ?? 10)
    // Versions before the first commit noted here were their writers' business.
    if (this.#checkpointedThrough < 0) {
      const before = Math.max(0, result.version - 1)
      this.#checkpointedThrough = before - (before % interval)
    }
    // Due when a multiple of the interval was committed since the last checkpoint (the rule
    // of Spark and finishCommit, tolerant of versions committed by other writers).
    const last = Math.max(this.#checkpointedThrough, result.version - (result.version % interval))
    if (last <= this.#checkpointedThrough) return
    this.#wanted = true
    this.#checkpointing ??= this.#run()
  }

  /**
   * The outcome of the last background checkpoint not yet reported, once.
   * @returns the checkpoint written or the error, or undefined
   */
  takeOutcome(): Pick<WriteResult, 'checkpoint' | 'checkpointError'> | undefined {
    const outcome = this.#outcome
    this.#outcome = undefined
    return outcome
  }

  /**
   * Starts no more checkpoints after the one in progress, or the one due and waiting for its
   * pace, which is written now (so that the handle's last due checkpoint is never dropped), and
   * waits for it.
   * @returns when none is running
   */
  async close(): Promise<void> {
    this.#closed = true
    this.#wake?.()
    while (this.#checkpointing) await this.#checkpointing
  }

  async #run(): Promise<void> {
    try {
      while (this.#wanted) {
        if (!this.#closed) {
          const wait = this.#lastEnd + CHECKPOINT_PACE * this.#lastMs - now()
          // Always yield once, so that the acknowledgements that made it due go out first;
          // close() ends the wait early.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, wait))
            this.#wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          this.#wake = undefined
        }
        this.#wanted = false
        const start = now()
        try {
          const written = await this.#options.checkpoint()
          this.#checkpointedThrough = Math.max(this.#checkpointedThrough, written.version)
          this.#outcome = { checkpoint: written }
        } catch (error) {
          this.#outcome = {
            checkpointError: isDeltaError(error)
              ? error
              : new DeltaError(
                  'STORAGE_ERROR',
                  `delta group commit: background checkpoint of ${this.#options.location()} failed`,
                  { cause: error },
                ),
          }
        }
        this.#lastEnd = now()
        this.#lastMs = this.#lastEnd - start
      }
    } finally {
      this.#checkpointing = undefined
    }
  }
}

/** Options of {@link commitBatch}. @internal */
export interface CommitBatchOptions {
  /** Write the due checkpoint before returning (default), or leave it to the caller. */
  readonly checkpoint?: 'inline' | 'skip'
}

/**
 * The append of one group-commit batch: encodes the rows into data files and starts writing
 * them, then catches the snapshot up with commits made by others ({@link Snapshot.update}: the
 * next commit name is probed, the log listed only when far behind) and commits them with the
 * commit file written while the data files are being made durable. On a local store the data
 * files, the commit file and the link that publishes it after them are handed to the I/O
 * threads at once (`LocalFsStore.putIfAbsentAfter`).
 * @param store - the table's store
 * @param snapshot - the latest snapshot this process knows
 * @param clock - time source
 * @param rows - validated rows (canonical form)
 * @param options - checkpoint policy
 * @returns the result and the snapshot after the commit
 * @throws DeltaError `SCHEMA_MISMATCH` (schema changed since validation), `COMMIT_CONFLICT`,
 *   `MAX_COMMIT_ATTEMPTS`, `STORAGE_ERROR`
 * @internal
 */
export async function commitBatch(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  rows: readonly Record<string, unknown>[],
  options: CommitBatchOptions = {},
): Promise<FinishedWrite> {
  // The data files go to the disk first: the probe rarely finds a newer commit.
  let prepared = prepareDataFiles(store, snapshot, rows, { now: clock.now(), trusted: true })
  // Its failure reaches the callers through the commit, which awaits the writes.
  prepared.written.catch(() => undefined)
  let latest: Snapshot
  try {
    latest = await snapshot.update(store)
  } catch (error) {
    await discardDataFiles(store, snapshot, prepared)
    throw error
  }
  if (latest.metadata !== snapshot.metadata) {
    // Another writer changed the schema or the settings: the rows are validated and encoded
    // again against the new metadata.
    await discardDataFiles(store, snapshot, prepared)
    prepared = prepareDataFiles(store, latest, rows, { now: clock.now() })
    prepared.written.catch(() => undefined)
  }
  let committed: Promise<FinishedWrite>
  try {
    committed = commitAppendFiles(store, latest, clock, rows.length, prepared, {
      checkpoint: options.checkpoint,
    })
  } catch (error) {
    // No transaction (the latest protocol needs writer features this engine does not
    // implement): no commit will reference the files.
    await discardDataFiles(store, latest, prepared)
    throw error
  }
  return committed
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta group commit: ${name} must be a positive integer, got ${String(value)}`,
    )
  }
  return value
}

function now(): number {
  return performance.now()
}

function closedError(location: string): DeltaError {
  return new DeltaError('QUEUE_CLOSED', `delta group commit: the queue of ${location} is closed`)
}

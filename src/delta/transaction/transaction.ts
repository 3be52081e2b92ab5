/**
 * Optimistic transactions ("Optimistic Concurrency Control" in PROTOCOL.md; digest 6.2).
 *
 * A transaction reads a snapshot, declares what it read (predicates, files), stages actions,
 * then tries to create `_delta_log/<v>.json` with put-if-absent. When another writer won that
 * version, the winning commits are read and checked against this transaction's footprint
 * (conflict-checker.ts); without conflict it retries at the next version, otherwise it fails
 * with a {@link CommitConflictError} carrying the conflict kind.
 *
 * A commit is visible if and only if its log file exists, and the store makes that file appear
 * atomically and complete; data files are written (durably) before it.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { Action, AddAction, CommitInfoAction, RemoveAction } from '../actions/actions.js'
import { serializeCommit } from '../actions/serialize-action.js'
import type { Clock } from '../clock.js'
import { CommitConflictError, DeltaError } from '../errors.js'
import { bindExpression, type BoundExpression } from '../expr/bind-expression.js'
import type { Expression } from '../expr/expression.js'
import { commitKey, LOG_DIR, padVersion, parseLogKey } from '../log/log-path.js'
import { findNewCommits, readCommit, type Snapshot } from '../snapshot/snapshot.js'
import { checkWriteSupported } from '../snapshot/table-features.js'
import type { ObjectStore, WriteGroup } from '../storage/object-store.js'
import { checkConflict, type TransactionFootprint } from './conflict-checker.js'

/** Engine identification written to `commitInfo.engineInfo`. */
export const ENGINE_INFO = 'polarway-lakehouse/0.1.0'

/** Default maximum number of commit attempts (first try included). */
export const DEFAULT_MAX_COMMIT_ATTEMPTS = 30

/** Options of a transaction. */
export interface TransactionOptions {
  /** `commitInfo.operation`, e.g. `WRITE`, `DELETE`, `MERGE`, `OPTIMIZE`. */
  readonly operation: string
  /** `commitInfo.operationParameters`; non-string values are JSON-encoded, as Spark does. */
  readonly operationParameters?: Readonly<Record<string, unknown>>
  /** Maximum attempts before failing with `MAX_COMMIT_ATTEMPTS`. */
  readonly maxAttempts?: number
  /** `commitInfo.userMetadata`. */
  readonly userMetadata?: string
  /** Idempotent write: skip the commit if this app already committed this version or later. */
  readonly appTransaction?: { readonly appId: string; readonly version: number }
}

/** Result of a successful (or skipped idempotent) commit. */
export interface CommitResult {
  /** The committed version (for a skipped idempotent write, the latest version seen). */
  readonly version: number
  /** The table snapshot right after the commit. */
  readonly snapshot: Snapshot
  /** True when the write was skipped because its app transaction was already committed. */
  readonly skipped: boolean
  /** Number of attempts used. */
  readonly attempts: number
}

/** Options of {@link Transaction.commit}. */
export interface CommitOptions {
  /**
   * Settles when the data files the staged actions reference are durable. The commit file is
   * published only after it resolves (and never when it rejects); meanwhile the commit file is
   * already staged when the store supports it, so both writes overlap.
   */
  readonly dataWritten?: Promise<unknown>
  /**
   * The writes of `dataWritten` as a group, on stores that can order the commit file's
   * publication after them themselves (`LocalFsStore`): then it is handed to the store as soon
   * as the commit file is staged.
   */
  readonly dataGroup?: WriteGroup
}

/** A put-if-absent split in two (see `LocalFsStore.stagePutIfAbsent`). */
interface StagedPut {
  publish(): Promise<boolean>
  discard(): Promise<void>
}

/** A store that can stage a put-if-absent before publishing it. */
interface StagingStore {
  stagePutIfAbsent(key: string, data: Uint8Array): Promise<StagedPut>
}

function canStage(store: ObjectStore): store is ObjectStore & StagingStore {
  return typeof (store as Partial<StagingStore>).stagePutIfAbsent === 'function'
}

/** A store that can order a put-if-absent after a group of its writes itself. */
interface OrderingStore {
  putIfAbsentAfter(
    key: string,
    data: Uint8Array,
    written: Promise<unknown>,
    group: WriteGroup,
  ): Promise<boolean> | undefined
}

function canOrder(store: ObjectStore): store is ObjectStore & OrderingStore {
  return typeof (store as Partial<OrderingStore>).putIfAbsentAfter === 'function'
}

/** The first attempt's commit file, written ahead (see {@link Transaction.stageCommitFile}). */
interface EarlyCommit {
  /** The actions of the file, commitInfo first. */
  readonly actions: Action[]
  /** The file being staged under a temp name. */
  readonly staging: Promise<StagedPut>
  /**
   * The snapshot after the file, computed while the caller waits for something else; it is
   * the commit's result when the file is published at its version.
   */
  readonly snapshot: Snapshot
}

/** Longest backoff between two commit attempts, in milliseconds. */
const MAX_BACKOFF_MS = 100

/** How many commits after a lost race are probed one by one before listing the log instead. */
const MAX_VERSION_PROBES = 8

/** One transaction over a snapshot. Use once. */
export class Transaction {
  readonly #store: ObjectStore
  readonly #clock: Clock
  readonly #options: TransactionOptions
  readonly #actions: Action[] = []
  readonly #readPredicates: BoundExpression[] = []
  readonly #readFiles = new Set<string>()
  #readWholeTable = false
  #committed = false
  #operationMetrics: Record<string, unknown> = {}
  #early: EarlyCommit | undefined
  /** The snapshot this transaction reads. */
  readonly snapshot: Snapshot

  /**
   * @param store - the table's store
   * @param snapshot - the snapshot read by the transaction
   * @param clock - time source
   * @param options - operation, retries, idempotence
   * @throws UnsupportedProtocolError when the table needs writer features we do not implement
   */
  constructor(store: ObjectStore, snapshot: Snapshot, clock: Clock, options: TransactionOptions) {
    checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
    this.#store = store
    this.snapshot = snapshot
    this.#clock = clock
    this.#options = options
  }

  /**
   * Declares a read: the rows matching `predicate` (all rows when omitted) and the files that
   * were read to find them. Concurrent commits that add matching data or remove those files
   * make the commit fail instead of silently overwriting what was read.
   * @param predicate - the predicate of the read, or undefined for the whole table
   * @param files - the files the read scanned
   * @throws DeltaError `COLUMN_NOT_FOUND` / `INVALID_EXPRESSION` for a bad predicate
   */
  recordRead(
    predicate: Expression | BoundExpression | undefined,
    files: Iterable<AddAction>,
  ): void {
    if (predicate === undefined) this.#readWholeTable = true
    else {
      this.#readPredicates.push(
        'bound' in predicate ? predicate : bindExpression(predicate, this.snapshot.schema),
      )
    }
    for (const f of files) this.#readFiles.add(f.path)
  }

  /**
   * Stages actions for the commit (adds, removes, metadata, txn, domain metadata).
   * @param actions - actions in the order they should appear after commitInfo
   */
  addActions(actions: Iterable<Action>): void {
    for (const a of actions) this.#actions.push(a)
  }

  /**
   * Sets `commitInfo.operationMetrics`.
   * @param metrics - metric name to value
   */
  setOperationMetrics(metrics: Record<string, unknown>): void {
    // A commit file staged with other metrics no longer matches the commit: write it anew.
    if (this.#early && JSON.stringify(metrics) !== JSON.stringify(this.#operationMetrics)) {
      void this.abandon()
    }
    this.#operationMetrics = metrics
  }

  /**
   * Writes the first attempt's commit file now, under a temp name next to its target, and
   * fsyncs it, so that {@link Transaction.commit} only has to link it into place when no other
   * writer took that version meanwhile (then it is removed and the usual retry runs). For a
   * blind append whose actions and metrics are final, staged while its caller waits for
   * something else (a password check). Its `commitInfo.timestamp` is the time of this call.
   *
   * Nothing is staged when the store cannot stage, the transaction is idempotent or not a
   * blind append, or the table records in-commit timestamps and the snapshot does not hold the
   * last one (it was loaded from a checkpoint). The in-commit timestamp staged follows the
   * snapshot's, as it must at the only version the file is used for.
   * @returns whether a commit file is being staged
   */
  stageCommitFile(): boolean {
    if (
      this.#committed ||
      this.#early ||
      !canStage(this.#store) ||
      this.#options.appTransaction ||
      !this.#isBlindAppend()
    ) {
      return false
    }
    const now = this.#clock.now()
    let ict: number | undefined
    if (this.snapshot.config.enableInCommitTimestamps) {
      // The staged file is used only at the version after the snapshot's: the commit before
      // it is the snapshot's own, whose in-commit timestamp is known when it was read.
      const previous = this.snapshot.commitInfo?.info.inCommitTimestamp
      if (typeof previous !== 'number') return false
      ict = Math.max(now, previous + 1)
    }
    const actions: Action[] = [this.#commitInfo(now, ict), ...this.#actions]
    const body = new TextEncoder().encode(serializeCommit(actions))
    const staging = this.#store.stagePutIfAbsent(commitKey(this.snapshot.version + 1), body)
    // A failure reaches the caller through commit, or is moot after abandon.
    staging.catch(() => undefined)
    // No later commit exists while this one's version is still free: now is a valid
    // "known to be the latest" time for the snapshot after it.
    const after = this.snapshot.applyCommits([actions], this.snapshot.version + 1, Date.now())
    this.#early = { actions, staging, snapshot: after }
    return true
  }

  /**
   * Removes the commit file staged by {@link Transaction.stageCommitFile}, for a transaction
   * that will not be committed (or whose actions changed).
   * @returns when the temp file is gone
   */
  async abandon(): Promise<void> {
    const early = this.#early
    this.#early = undefined
    if (!early) return
    const [staged] = await Promise.allSettled([early.staging])
    if (staged.status === 'fulfilled') await staged.value.discard()
  }

  /** The actions staged so far. */
  get actions(): readonly Action[] {
    return this.#actions
  }

  #footprint(): TransactionFootprint {
    const removedPaths = new Set<string>()
    const appIds = new Set<string>()
    const domains = new Set<string>()
    let changesMetadata = false
    let changesProtocol = false
    let fileActions = 0
    let dataChanging = 0
    for (const a of this.#actions) {
      if (a.kind === 'remove') removedPaths.add(a.path)
      else if (a.kind === 'txn') appIds.add(a.appId)
      else if (a.kind === 'domainMetadata') domains.add(a.domain)
      else if (a.kind === 'metaData') changesMetadata = true
      else if (a.kind === 'protocol') changesProtocol = true
      if (a.kind === 'add' || a.kind === 'remove') {
        fileActions++
        if (a.dataChange) dataChanging++
      }
    }
    const onlyFiles = this.#actions.every((a) => a.kind === 'add' || a.kind === 'remove')
    return {
      readPredicates: this.#readPredicates,
      readWholeTable: this.#readWholeTable,
      readFiles: this.#readFiles,
      removedPaths,
      appIds,
      domains,
      changesMetadata,
      changesProtocol,
      onlyRearrangesData: onlyFiles && fileActions > 0 && dataChanging === 0,
      partitionColumns: this.snapshot.partitionColumns,
      isolationLevel: this.snapshot.config.isolationLevel,
    }
  }

  #isBlindAppend(): boolean {
    return (
      !this.#readWholeTable &&
      this.#readPredicates.length === 0 &&
      this.#readFiles.size === 0 &&
      this.#actions.every((a) => a.kind === 'add' && a.dataChange)
    )
  }

  #checkAppendOnly(): void {
    if (!this.snapshot.config.appendOnly) return
    const bad = this.#actions.find((a): a is RemoveAction => a.kind === 'remove' && a.dataChange)
    if (bad) {
      throw new DeltaError(
        'APPEND_ONLY',
        `delta transaction: table ${this.snapshot.location} is append-only (delta.appendOnly=true); ` +
          `${this.#options.operation} would remove data (${bad.path})`,
        { context: { table: this.snapshot.location, operation: this.#options.operation } },
      )
    }
  }

  async #previousIct(version: number, known: Map<number, Action[]>): Promise<number | undefined> {
    const actions =
      known.get(version) ??
      (version === this.snapshot.version && this.snapshot.commitInfo
        ? [this.snapshot.commitInfo]
        : undefined) ??
      (await readCommit(this.#store, this.snapshot.location, { version, key: commitKey(version) }))
    const info = actions.find((a): a is CommitInfoAction => a.kind === 'commitInfo')
    const v = info?.info.inCommitTimestamp
    return typeof v === 'number' ? v : undefined
  }

  #commitInfo(now: number, ict: number | undefined): CommitInfoAction {
    const params: Record<string, string> = {}
    for (const [k, v] of Object.entries(this.#options.operationParameters ?? {})) {
      if (v === undefined) continue
      params[k] = typeof v === 'string' ? v : JSON.stringify(v)
    }
    const info: Record<string, unknown> = {
      ...(ict === undefined ? {} : { inCommitTimestamp: ict }),
      timestamp: now,
      operation: this.#options.operation,
      operationParameters: params,
      readVersion: this.snapshot.version,
      isolationLevel: this.snapshot.config.isolationLevel,
      isBlindAppend: this.#isBlindAppend(),
      operationMetrics: this.#operationMetrics,
      engineInfo: ENGINE_INFO,
      txnId: randomUUID(),
    }
    if (this.#options.userMetadata !== undefined) info.userMetadata = this.#options.userMetadata
    return { kind: 'commitInfo', info }
  }

  /**
   * Commits the staged actions, retrying on non-conflicting concurrent commits.
   * @param options - data files still being written (see {@link CommitOptions})
   * @returns the committed version and the snapshot after it
   * @throws CommitConflictError (`COMMIT_CONFLICT`) with the conflict kind; DeltaError
   *   `MAX_COMMIT_ATTEMPTS`, `APPEND_ONLY`, `STORAGE_ERROR`; the rejection of `dataWritten`
   */
  async commit(options: CommitOptions = {}): Promise<CommitResult> {
    const dataWritten = options.dataWritten
    try {
      return await this.#commit(dataWritten, options.dataGroup)
    } finally {
      // Every path waits for the data writes: nothing keeps running behind a returned or thrown
      // commit, and a rejected write is never left unobserved.
      if (dataWritten) await Promise.allSettled([dataWritten])
    }
  }

  async #commit(
    dataWritten: Promise<unknown> | undefined,
    dataGroup: WriteGroup | undefined,
  ): Promise<CommitResult> {
    if (this.#committed) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        'delta transaction: a transaction can be committed only once',
      )
    }
    this.#committed = true
    try {
      this.#checkAppendOnly()
      await this.#checkNotBehindLogCleanup()
    } catch (error) {
      // Leave no staged commit file behind.
      await this.abandon()
      throw error
    }
    // The idempotence check below cannot skip a staged transaction (it has no app id): from
    // here the staged file is either published or removed by the first attempt.
    const early = this.#early
    this.#early = undefined
    const location = this.snapshot.location
    const app = this.#options.appTransaction
    if (app) {
      const done = this.snapshot.txnVersion(app.appId, this.#clock.now())
      if (done !== undefined && done >= app.version) {
        return {
          version: this.snapshot.version,
          snapshot: this.snapshot,
          skipped: true,
          attempts: 0,
        }
      }
      this.#actions.push({
        kind: 'txn',
        appId: app.appId,
        version: app.version,
        lastUpdated: this.#clock.now(),
      })
    }
    const footprint = this.#footprint()
    const maxAttempts = this.#options.maxAttempts ?? DEFAULT_MAX_COMMIT_ATTEMPTS
    const ictEnabled = this.snapshot.config.enableInCommitTimestamps
    const winners = new Map<number, Action[]>()
    let version = this.snapshot.version + 1
    for (let attempt = 1; ; attempt++) {
      const now = this.#clock.now()
      // Wall-clock (not the injected clock): no commit after `version` exists before it is put.
      const attemptedAt = Date.now()
      let ict: number | undefined
      if (ictEnabled && !(attempt === 1 && early)) {
        const prev = await this.#previousIct(version - 1, winners)
        ict = Math.max(now, prev === undefined ? now : prev + 1)
      }
      let commitActions: Action[]
      let created: boolean
      if (attempt === 1 && early) {
        commitActions = early.actions
        created = await this.#putAfter(early.staging, dataWritten)
      } else {
        commitActions = [this.#commitInfo(now, ict), ...this.#actions]
        const body = new TextEncoder().encode(serializeCommit(commitActions))
        const store = this.#store
        if (attempt === 1 && dataWritten && canStage(store)) {
          // The commit file is written and fsync-ed while the data files are; a store that can
          // publish it after them by itself is given both at once.
          const ordered =
            dataGroup && canOrder(store)
              ? store.putIfAbsentAfter(commitKey(version), body, dataWritten, dataGroup)
              : undefined
          created = await (ordered ??
            this.#putAfter(store.stagePutIfAbsent(commitKey(version), body), dataWritten))
        } else {
          if (attempt === 1 && dataWritten) await dataWritten
          created = await store.putIfAbsent(commitKey(version), body)
        }
      }
      if (created) {
        if (attempt === 1 && early) {
          return { version, snapshot: early.snapshot, skipped: false, attempts: attempt }
        }
        const chain: Action[][] = []
        for (let v = this.snapshot.version + 1; v < version; v++) chain.push(winners.get(v) ?? [])
        chain.push(commitActions)
        return {
          version,
          snapshot: this.snapshot.applyCommits(chain, version, attemptedAt),
          skipped: false,
          attempts: attempt,
        }
      }
      // Lost the race for `version`. Back off first (jittered, growing with contention), then
      // catch up: the next attempt must target the version after the newest commit seen, and
      // sleeping between finding it and attempting it would lose the race again on a busy table.
      if (attempt > 2) await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt))
      // Check every commit that won since then.
      const latest = await this.#latestVersion(version)
      for (let w = version; w <= latest; w++) {
        const actions = await readCommit(this.#store, location, { version: w, key: commitKey(w) })
        winners.set(w, actions)
        if (app) {
          const dup = actions.find(
            (a) => a.kind === 'txn' && a.appId === app.appId && a.version >= app.version,
          )
          if (dup) {
            const snapshot = await this.snapshot.update(this.#store, { version: w })
            return { version: w, snapshot, skipped: true, attempts: attempt }
          }
        }
        const conflict = checkConflict(footprint, actions)
        if (conflict) {
          throw new CommitConflictError(
            conflict.kind,
            w,
            `delta transaction: ${this.#options.operation} on table ${location} (read version ` +
              `${this.snapshot.version}) conflicts with commit ${w}: ${conflict.kind} (${conflict.detail})`,
            { context: { table: location, readVersion: this.snapshot.version, winningVersion: w } },
          )
        }
      }
      version = latest + 1
      if (attempt >= maxAttempts) {
        throw new DeltaError(
          'MAX_COMMIT_ATTEMPTS',
          `delta transaction: ${this.#options.operation} on table ${location} gave up after ${attempt} attempts ` +
            'lost to concurrent writers',
          { context: { table: location, attempts: attempt } },
        )
      }
    }
  }

  /**
   * A read snapshot that may predate a log cleanup is checked against a listing of the log
   * first. Cleanup removes the commits a newer checkpoint covers, so the file of the version
   * after the snapshot's may be missing although that version exists: a put there would
   * succeed, and readers, who start from the checkpoint, would never see the commit. Such a
   * transaction read a version too old to validate against what came after it: it conflicts.
   * @throws CommitConflictError `log-cleaned-up`
   */
  async #checkNotBehindLogCleanup(): Promise<void> {
    const snapshot = this.snapshot
    if (!snapshot.mayBeBehindLogCleanup(Date.now())) return
    const after = await findNewCommits(this.#store, snapshot.version, undefined, { list: true })
    if (after !== undefined) return
    throw new CommitConflictError(
      'log-cleaned-up',
      snapshot.version + 1,
      `delta transaction: ${this.#options.operation} on table ${snapshot.location} read version ` +
        `${snapshot.version}, and log cleanup has removed the commits after it; read the table again`,
      { context: { table: snapshot.location, readVersion: snapshot.version } },
    )
  }

  /**
   * Publishes a staged commit file once the data files are durable: the commit file was written
   * and fsync-ed while they were, and is linked into place only after them, so the visible
   * order (data durable, then commit) is the same as writing in sequence. On failure of either
   * the staged file is removed.
   */
  async #putAfter(
    staging: Promise<StagedPut>,
    dataWritten: Promise<unknown> | undefined,
  ): Promise<boolean> {
    const [staged, data] = await Promise.allSettled([staging, dataWritten])
    if (data.status === 'rejected') {
      if (staged.status === 'fulfilled') await staged.value.discard()
      throw data.reason
    }
    if (staged.status === 'rejected') throw staged.reason
    return staged.value.publish()
  }

  /**
   * The latest version, knowing that `atLeast` exists. Commits are contiguous, so probing the
   * next names one by one finds it; after a few probes (many concurrent winners) one listing
   * of the log is cheaper.
   */
  async #latestVersion(atLeast: number): Promise<number> {
    let latest = atLeast
    for (let probe = 0; probe < MAX_VERSION_PROBES; probe++) {
      if (!(await this.#store.head(commitKey(latest + 1)))) return latest
      latest++
    }
    const keys = await this.#store.listKeys(LOG_DIR, {
      startAfter: `${LOG_DIR}${padVersion(latest)}.json`,
    })
    for (const k of keys) {
      const f = parseLogKey(k)
      if (f?.type === 'commit' && f.version === latest + 1) latest = f.version
    }
    return latest
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

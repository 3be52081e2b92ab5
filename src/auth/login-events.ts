/**
 * The `LOGIN` success events of the audit log, written from the sessions table (an outbox).
 *
 * A login durably commits only its session row; the session row holds everything its audit
 * event says (who, when, from where, which session). The events are then written to
 * `audit_log` in the background, for every session appended to `sessions` since a watermark:
 * the last `sessions` version whose logins have their events, kept in `audit_log` itself as
 * the Delta `txn` version of the application id {@link LOGIN_EVENTS_APP_ID}. Each write commits
 * the events of versions `(W, V]` and moves the watermark from `W` to `V` in one commit, so:
 * - no event is lost: a process that dies after the session commit leaves the watermark
 *   behind, and the next run (in any process: after each login, when a service starts, and
 *   every {@link LOGIN_EVENTS_CHECK_MS} in services that sync in the background) writes the
 *   missing events;
 * - no event is written twice: two processes writing the same range commit the same `txn`
 *   application id, which the commit protocol refuses for the second (a conflict); it then
 *   reads the new watermark and goes on from there;
 * - a watermark far behind is caught up in commits of at most {@link MAX_VERSIONS_PER_WRITE}
 *   sessions versions each;
 * - a gap is recorded, not hidden: when the watermark stayed behind for longer than the log's
 *   retention (30 days of failing runs), log cleanup has removed the commits of the logins
 *   after it and their rows cannot be found. Their versions are recorded as one
 *   {@link LOGIN_EVENTS_LOST} event (in the commit that moves the watermark past them), a
 *   warning names them, and the events of the commits still there are written as usual.
 *
 * Login commits are the blind appends to `sessions` (revocations and cleanups rewrite or
 * remove files: they are not appends). The events carry the session's creation time as their
 * time and partition. A service's own logins hand their rows over, so their files are not
 * read back.
 * @module
 */
import type { AuditLog } from '../audit/audit-log.js'
import type { Logger } from '../common/logger.js'
import { yieldToEventLoop } from '../delta/concurrency.js'
import type { AddAction, CommitChanges, CommitInfoAction, DeltaTable } from '../delta/index.js'
import { isDeltaError } from '../delta/index.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'
import { isGone } from './table-tail.js'

/** The `txn` application id of the watermark in `audit_log`. */
export const LOGIN_EVENTS_APP_ID = 'polarway-lakehouse/login-events'

/** How often a service checks for events other processes left behind. */
export const LOGIN_EVENTS_CHECK_MS = 30_000

/** How many times one run recomputes its events after losing the watermark to another process. */
const MAX_CONFLICT_RETRIES = 10

/**
 * How many sessions versions one commit of events covers at most, so that a watermark left far
 * behind is caught up in commits of bounded size.
 */
export const MAX_VERSIONS_PER_WRITE = 1000

/** The audit action that records logins whose events could not be written. */
export const LOGIN_EVENTS_LOST = 'LOGIN_EVENTS_LOST'

/** Sessions versions whose commits log cleanup removed before their events were written. */
interface LostRange {
  readonly from: number
  readonly through: number
}

/** What one run learned of the sessions log: its first commit, once older ones were missing. */
interface SessionsLog {
  oldest: number | undefined
}

/** Aborts a commit of events whose range log cleanup removed entirely and beyond. */
class RemovedBeyondRange extends Error {}

/** Writes the `LOGIN` events of new sessions (see the module documentation). */
export class LoginEvents {
  readonly #store: DeltaStore
  readonly #audit: AuditLog
  readonly #logger: Logger
  /** Session rows this process committed, by sessions version (not read back). */
  readonly #own = new Map<number, Record<string, unknown>[]>()
  #running: Promise<void> | undefined
  #again = false
  #closed = false
  #timer: NodeJS.Timeout | undefined
  readonly #maxVersionsPerWrite: number

  /**
   * @param store - the lakehouse store
   * @param audit - builds the audit rows
   * @param logger - where failures are reported (the next run retries them)
   * @param maxVersionsPerWrite - sessions versions per commit of events at most
   */
  constructor(
    store: DeltaStore,
    audit: AuditLog,
    logger: Logger,
    maxVersionsPerWrite = MAX_VERSIONS_PER_WRITE,
  ) {
    this.#store = store
    this.#audit = audit
    this.#logger = logger
    this.#maxVersionsPerWrite = maxVersionsPerWrite
  }

  /**
   * Writes the events still missing (after a crash, or logins of other processes), and sets
   * the watermark of a lakehouse that has none yet. A failure is reported, not thrown: the
   * events stay due and the next run writes them.
   * @param intervalMs - when positive, checks again every so often in the background
   * @returns when done
   */
  async start(intervalMs = 0): Promise<void> {
    try {
      await this.#runOnce()
    } catch (error) {
      this.#logger.warn(
        `auth: writing missing login events failed (the next run retries): ${(error as Error).message}`,
      )
    }
    if (intervalMs > 0) {
      // Also without logins here: events another process left behind when it died.
      this.#timer = setInterval(() => this.#schedule(), intervalMs)
      this.#timer.unref()
    }
  }

  /**
   * Notes a login this process committed and schedules the write of its event.
   * @param version - the sessions version of the login's commit
   * @param sessionRow - the session row it committed
   */
  noteLogin(version: number, sessionRow: Record<string, unknown>): void {
    if (this.#closed) return
    const rows = this.#own.get(version)
    if (rows) rows.push(sessionRow)
    else this.#own.set(version, [sessionRow])
    this.#schedule()
  }

  /**
   * Waits until the events of every login noted so far are written (or their write failed and
   * was reported; the next run retries it).
   * @returns when no write is running
   */
  async flush(): Promise<void> {
    while (this.#running) await this.#running
  }

  /**
   * Stops scheduling writes and waits for the one running. Events still missing are written
   * by the next run, in this or another process.
   * @returns when no write is running
   */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    await this.flush()
  }

  #schedule(): void {
    if (this.#closed) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false
          // Let the logins completing in this turn join the same write.
          await yieldToEventLoop()
          try {
            await this.#runOnce()
          } catch (error) {
            this.#logger.warn(
              `auth: writing login events failed (they are written by the next run): ${(error as Error).message}`,
            )
            break
          }
          // Logins noted during this write are written too, also when closing meanwhile:
          // close() waits for them (no login is noted after it).
        } while (this.#again)
      } finally {
        this.#running = undefined
      }
    })()
  }

  /**
   * Writes the missing events, at most {@link MAX_VERSIONS_PER_WRITE} sessions versions per
   * commit (by default). Each commit is a transaction on `audit_log` that reads the watermark from its
   * snapshot and records the new one (`txn`): when another process moves the watermark first,
   * the commit conflicts and the events are computed again from the new one.
   */
  async #runOnce(): Promise<void> {
    const sessions = this.#store.table('sessions')
    const audit = this.#store.table('audit_log')
    await sessions.refresh()
    await audit.refresh()
    const latest = sessions.version
    const log: SessionsLog = { oldest: undefined }
    for (;;) {
      const before = audit.snapshot.txnVersion(LOGIN_EVENTS_APP_ID)
      if (before !== undefined && before >= latest) break
      // Without a watermark, the lakehouse's logins so far were audited as they happened: the
      // commit only records one, at `latest`. Versions log cleanup removed are not read, so
      // they do not count against the bound.
      const start = Math.max(before ?? latest, (log.oldest ?? 0) - 1)
      const through = Math.min(latest, start + this.#maxVersionsPerWrite)
      let outcome
      try {
        outcome = await audit.transact(
          async (tx) => {
            const watermark = tx.snapshot.txnVersion(LOGIN_EVENTS_APP_ID)
            // At or past `through` the commit is skipped.
            if (watermark === undefined || watermark >= through) return undefined
            const { rows, lost } = await this.#loginRows(sessions, watermark, through, log)
            const events = rows.map((row) => this.#eventOf(row))
            if (lost) events.push(this.#lostEvent(lost))
            if (events.length > 0) tx.append(events)
            return lost
          },
          {
            appTransaction: { appId: LOGIN_EVENTS_APP_ID, version: through },
            maxConflictRetries: MAX_CONFLICT_RETRIES,
          },
        )
      } catch (error) {
        // The removed versions go past this commit's range: redone over all of them at once.
        if (error instanceof RemovedBeyondRange) continue
        throw error
      }
      const lost = outcome.result.skipped ? undefined : outcome.value
      if (lost) {
        this.#logger.warn(
          `auth: the login events of sessions versions ${lost.from} to ${lost.through} cannot ` +
            'be written: log cleanup removed their commits (a LOGIN_EVENTS_LOST event records them)',
        )
      }
      this.#forget(through)
      const after = audit.snapshot.txnVersion(LOGIN_EVENTS_APP_ID)
      if (after === undefined || after < through) {
        throw new Error(`the login events' watermark did not reach sessions version ${through}`)
      }
    }
  }

  /**
   * The session rows the logins of sessions versions `(after, through]` committed. When they
   * are all this process's own logins (the usual case), nothing is read. Commits that log
   * cleanup removed (a watermark left behind for longer than the log's retention) cannot be
   * read: their range is returned as lost, with the rows of the commits still there.
   * @throws RemovedBeyondRange when the removed commits go past `through`
   */
  async #loginRows(
    sessions: DeltaTable,
    after: number,
    through: number,
    log: SessionsLog,
  ): Promise<{ rows: Record<string, unknown>[]; lost?: LostRange }> {
    const rows: Record<string, unknown>[] = []
    let allOwn = true
    for (let v = after + 1; v <= through && allOwn; v++) allOwn = this.#own.has(v)
    let changes: CommitChanges[] = []
    let lost: LostRange | undefined
    if (!allOwn) {
      if (log.oldest === undefined || log.oldest <= after + 1) {
        try {
          changes = await sessions.changes(after, through)
        } catch (error) {
          if (!isGone(error)) throw error
          log.oldest = await sessions.oldestCommitVersion()
          // Nothing was cleaned up after `after`: a commit is missing for another reason.
          if (log.oldest <= after + 1) throw error
        }
      }
      if (log.oldest !== undefined && log.oldest > after + 1) {
        if (log.oldest - 1 > through) throw new RemovedBeyondRange()
        lost = { from: after + 1, through: log.oldest - 1 }
        changes = await sessions.changes(lost.through, through)
      }
    }
    const first = lost ? lost.through : after
    for (let v = after + 1; v <= through; v++) {
      const own = this.#own.get(v)
      if (own) {
        rows.push(...own)
        continue
      }
      if (v <= first) continue
      const change = changes[v - first - 1]
      const info = change?.actions.find((a): a is CommitInfoAction => a.kind === 'commitInfo')
      if (info?.info.operation !== 'WRITE' || info.info.isBlindAppend !== true) continue
      for (const add of change?.actions ?? []) {
        if (add.kind !== 'add' || !add.dataChange) continue
        rows.push(...(await this.#sessionRows(sessions, add)))
      }
    }
    return lost ? { rows, lost } : { rows }
  }

  /** The audit event that records a range of logins whose events could not be written. */
  #lostEvent(lost: LostRange): Record<string, unknown> {
    return this.#audit.rowOf({
      action: LOGIN_EVENTS_LOST,
      outcome: 'failure',
      resource: 'table:sessions',
      details: {
        fromVersion: lost.from,
        throughVersion: lost.through,
        reason: 'log cleanup removed the commits of these sessions versions',
      },
    })
  }

  /** The session rows of a login's data file; none when vacuum already removed it. */
  async #sessionRows(sessions: DeltaTable, add: AddAction): Promise<Record<string, unknown>[]> {
    try {
      return await sessions.fileRows(add)
    } catch (error) {
      if (!isDeltaError(error) || error.code !== 'DATA_FILE_NOT_FOUND') throw error
      this.#logger.warn(
        `auth: the login events of ${add.path} cannot be written: its file was vacuumed`,
      )
      return []
    }
  }

  #eventOf(session: Record<string, unknown>): Record<string, unknown> {
    return this.#audit.rowOf(
      {
        action: 'LOGIN',
        outcome: 'success',
        userId: session.user_id as string,
        username: session.username as string,
        resource: `session:${String(session.session_id)}`,
        context: {
          ipAddress: (session.ip_address as string | null) ?? undefined,
          userAgent: (session.user_agent as string | null) ?? undefined,
        },
      },
      (session.created_at as Date).getTime(),
    )
  }

  /** Drops the rows of this process's logins up to a version whose events are written. */
  #forget(through: number): void {
    for (const version of this.#own.keys()) if (version <= through) this.#own.delete(version)
  }
}

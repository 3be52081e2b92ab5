/**
 * The idle timeout of sessions: when each session was last used, shared across processes.
 *
 * A session counts as used when one of its tokens is verified. Recording every verification
 * would cost a commit each; instead the `session_activity` table (append-only) holds each
 * session's use to within {@link SessionActivity.resolutionMs} (a twentieth of the idle
 * timeout, at most a minute): a verification notes the time in memory only when the last
 * recorded use is older than that, and the noted times are appended in the background, one row
 * per session and one small commit for all of them, every resolution interval. Each process
 * loads the uses of the last idle period at start and tails the table's new commits, as the
 * lockout tails failed logins. A session's last use is the latest of its login, the recorded
 * uses and this process's noted one; the session is refused once the idle timeout has passed
 * since it.
 *
 * So a session in use on one instance stays valid on the others. They learn of a use up to
 * about three resolution intervals late (the use waits to be noted, then for the next write,
 * then for their next tail). That matters for a session that was nearly idle and is then used
 * on another instance, so a use that revives a session idle for half the timeout is written at
 * once (in background mode), and `LakehouseClient.verifyToken` reads the other instances' uses
 * once before refusing a session as idle (the synchronous `AuthService.verifyToken` decides
 * from what this instance has read). What they count from is at most one resolution interval
 * before the true last use,
 * so they may refuse a session that much early (with the defaults: after 29 of 30 idle
 * minutes). A process that dies loses its uses not yet written: the others may then refuse up
 * to two intervals early.
 * A write costs one small file whatever the size of `sessions` (an `UPDATE` of a
 * `last_seen_at` column would rewrite every file holding a session in use). Rows older than the
 * idle timeout are dropped with the expired sessions, whole day partitions at a time.
 * @module
 */
import { utcDay, type Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { and, col } from '../delta/index.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'
import type { SessionEntry } from '../lakehouse/rows.js'
import { followTable } from './table-tail.js'

/** The most the recorded use of a session in use lags behind. */
export const MAX_ACTIVITY_RESOLUTION_MS = 60_000

/** Rows appended by one write at most (more wait for the next). */
const BATCH = 50_000

/** The columns the tail reads. */
const COLUMNS = ['session_id', 'seen_at']

/** What this process knows of one session's uses (updated in place). */
interface Activity {
  /** The latest recorded use (this process's writes and the tailed ones), or -Infinity. */
  recorded: number
  /** The latest use noted here and not written yet, or -Infinity. */
  noted: number
  /** The session's user (written with its uses). */
  userId: string
}

/** Tracks session activity for the idle timeout (see the module documentation). */
export class SessionActivity {
  readonly #store: DeltaStore
  readonly #clock: Clock
  readonly #logger: Logger
  /** The idle timeout in ms (0: off). */
  readonly idleMs: number
  /** How stale the recorded use of a session in use may get before it is written again. */
  readonly resolutionMs: number
  /** The sessions used within the idle timeout, by id: one lookup per verification. */
  readonly #sessions = new Map<string, Activity>()
  /** The sessions with a use noted and not written yet (the same objects). */
  readonly #noted = new Map<string, Activity>()
  /** The `session_activity` version tailed up to. */
  #version = -1
  #syncing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  /** A sync is scheduled by {@link SessionActivity.#writeSoon}. */
  #soon = false

  /**
   * @param store - the lakehouse store
   * @param clock - the service's clock
   * @param idleMs - the idle timeout (0 turns tracking off)
   * @param logger - where failed writes are reported (they are retried)
   */
  constructor(store: DeltaStore, clock: Clock, idleMs: number, logger: Logger) {
    this.#store = store
    this.#clock = clock
    this.#logger = logger
    this.idleMs = idleMs
    this.resolutionMs = Math.max(
      1000,
      Math.min(MAX_ACTIVITY_RESOLUTION_MS, Math.floor(idleMs / 20)),
    )
  }

  /**
   * Loads the uses of the last idle period; then, when `background`, writes the noted uses and
   * tails other processes' every resolution interval.
   * @param background - run the writes and the tail on a timer
   * @returns when loaded
   */
  async start(background: boolean): Promise<void> {
    if (this.idleMs <= 0) return
    await this.#load()
    if (background) {
      this.#timer = setInterval(() => void this.sync(), this.resolutionMs)
      this.#timer.unref()
    }
  }

  /** Reads the uses of the last idle period from the current version, and tails from there. */
  async #load(): Promise<void> {
    const table = this.#store.table('session_activity')
    await table.refresh()
    const version = table.version
    const since = this.#clock.now() - this.idleMs - this.resolutionMs
    const rows = await table.toRows({
      columns: COLUMNS,
      filter: and(col('seen_date').ge(utcDay(since)), col('seen_at').ge(new Date(since))),
    })
    for (const r of rows) this.#recordRow(r)
    this.#version = version
  }

  #recordRow(row: Readonly<Record<string, unknown>>): void {
    this.#record(row.session_id as string, (row.seen_at as Date).getTime())
  }

  #record(sessionId: string, at: number): void {
    const a = this.#sessions.get(sessionId)
    if (a === undefined)
      this.#sessions.set(sessionId, { recorded: at, noted: -Infinity, userId: '' })
    else if (at > a.recorded) a.recorded = at
  }

  /**
   * Checks the session's idle timeout at `now` and, when it has not passed, counts the call as
   * a use of the session: noted for the next write when the session's last recorded use (or
   * its login) is older than the resolution. The session's last use is the latest of its
   * login, its recorded uses and the one noted here. One call per verification: one map
   * lookup, and no allocation once the session is known.
   * @param session - the view's entry
   * @param now - epoch milliseconds
   * @returns true when the session has been idle for the timeout (never when it is off)
   */
  use(session: SessionEntry, now: number): boolean {
    if (this.idleMs <= 0) return false
    const a = this.#sessions.get(session.sessionId)
    const created = session.createdAt
    const since = a !== undefined && a.recorded > created ? a.recorded : created
    const last = a !== undefined && a.noted > since ? a.noted : since
    if (now - last >= this.idleMs) return true
    if (now - since >= this.resolutionMs) {
      // A use that revives a session idle for half the timeout or more is written at once:
      // another instance, which knows only the older use, may otherwise refuse it as idle.
      if (now - last >= this.idleMs / 2) this.#writeSoon()
      if (a === undefined) {
        const added = { recorded: -Infinity, noted: now, userId: session.userId }
        this.#sessions.set(session.sessionId, added)
        this.#noted.set(session.sessionId, added)
      } else if (now > a.noted) {
        if (a.noted === -Infinity) {
          // Known until now from the tail, which reads no user.
          a.userId = session.userId
          this.#noted.set(session.sessionId, a)
        }
        a.noted = now
      }
    }
    return false
  }

  /** Schedules a sync now rather than at the next interval (background mode only). */
  #writeSoon(): void {
    if (this.#timer === undefined || this.#soon) return
    this.#soon = true
    setImmediate(() => {
      this.#soon = false
      void this.sync()
    }).unref()
  }

  /**
   * Writes the uses noted here, then reads those other processes wrote since the last sync. A
   * failure is reported, not thrown: the uses stay noted and the next sync retries them.
   * @returns when done
   */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined
    })
    return this.#syncing
  }

  async #sync(): Promise<void> {
    if (this.idleMs <= 0 || this.#store.closed) return
    try {
      await this.#write()
      await this.#tail()
      this.#prune()
    } catch (error) {
      this.#logger.warn(
        `auth: recording session activity failed (the next sync retries): ${(error as Error).message}`,
      )
    }
  }

  /**
   * Stops the background work after writing the uses still noted.
   * @returns when done
   */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#syncing
    if (this.#noted.size > 0 && !this.#store.closed) await this.sync()
  }

  async #write(): Promise<void> {
    // Copies: a use noted while the write runs updates the entries in place.
    const batch = [...this.#noted]
      .slice(0, BATCH)
      .map(([id, a]) => [id, { at: a.noted, userId: a.userId }] as const)
    if (batch.length === 0) return
    const rows = batch.map(([sessionId, { at, userId }]) => ({
      session_id: sessionId,
      user_id: userId,
      seen_at: new Date(at),
      seen_date: utcDay(at),
    }))
    await this.#store.append('session_activity', rows)
    for (const [sessionId, written] of batch) {
      this.#record(sessionId, written.at)
      const a = this.#noted.get(sessionId)
      // A later use noted while this ran stays for the next write.
      if (a !== undefined && a.noted === written.at) {
        a.noted = -Infinity
        this.#noted.delete(sessionId)
      }
    }
  }

  async #tail(): Promise<void> {
    const table = this.#store.table('session_activity')
    if (this.#version < 0) this.#version = table.version
    await followTable(
      table,
      this.#version,
      { columns: COLUMNS },
      {
        row: (r) => this.#recordRow(r),
        commit: (version) => {
          this.#version = version
        },
        reload: () => this.#load(),
      },
    )
  }

  /** Forgets uses older than the idle timeout: they no longer keep any session alive. */
  #prune(): void {
    const cutoff = this.#clock.now() - this.idleMs
    for (const [id, a] of this.#sessions) {
      if (a.recorded < cutoff && a.noted === -Infinity) this.#sessions.delete(id)
    }
  }

  /**
   * The first day whose rows some session may still need: every row of an earlier day
   * partition is older than the idle timeout (the expired-session cleanup drops them).
   * @param now - epoch milliseconds
   * @returns `YYYY-MM-DD`
   */
  oldestNeededDay(now: number): string {
    return utcDay(now - this.idleMs)
  }
}

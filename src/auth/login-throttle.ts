/**
 * Per-account lockout after repeated failed logins, counted across instances.
 *
 * Each failed login is an `audit_log` event (`LOGIN_FAILED`, resource `login:<key>`), where
 * the key is `user:<id>` for a known account and `id:<sha256 of the identifier>` for an
 * unknown one — unknown identifiers lock too, so lockout does not reveal which accounts exist.
 * This process counts its own failures immediately and picks up other instances' failures by
 * tailing the audit log's new commits every refresh interval. A successful login (a new
 * session) resets the count, and so does a password reset (a `PASSWORD_RESET` success event,
 * resource `user:<id>`, tailed like the failures): the owner who reset a locked account can log
 * in with the new password on every instance at once.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Clock } from '../common/clock.js'
import { and, col, type AddAction } from '../delta/index.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'

/** The audit action of a failed login. */
export const LOGIN_FAILED = 'LOGIN_FAILED'

/** The audit action of a password reset (its success ends a lockout of the account). */
export const PASSWORD_RESET = 'PASSWORD_RESET'

/** The audit columns the throttle reads, and its filter. */
const COLUMNS = ['event_id', 'timestamp', 'resource', 'action', 'outcome']
const ACTIONS = col('action').in([LOGIN_FAILED, PASSWORD_RESET])

/**
 * The throttle key of a login attempt.
 * @param userId - the account, when the identifier matched one
 * @param identifierKey - the normalized identifier otherwise
 * @returns the key
 */
export function throttleKey(userId: string | undefined, identifierKey: string): string {
  return userId
    ? `user:${userId}`
    : `id:${createHash('sha256').update(identifierKey).digest('hex')}`
}

/** Counts failed logins per key within a sliding window. */
export class LoginThrottle {
  readonly #store: DeltaStore
  readonly #clock: Clock
  readonly #maxFailures: number
  readonly #windowMs: number
  /** key -> event id -> failure time */
  readonly #failures = new Map<string, Map<string, number>>()
  /** key -> time of the last success (failures before it do not count) */
  readonly #resets = new Map<string, number>()
  /** key -> attempts of this instance whose password check is still running */
  readonly #inFlight = new Map<string, number>()
  #version = -1
  #timer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined

  /**
   * @param store - the lakehouse store
   * @param clock - time source
   * @param maxFailures - failures that lock an account
   * @param windowMs - the counting window
   */
  constructor(store: DeltaStore, clock: Clock, maxFailures: number, windowMs: number) {
    this.#store = store
    this.#clock = clock
    this.#maxFailures = maxFailures
    this.#windowMs = windowMs
  }

  /**
   * Loads the failures of the current window and starts tailing the audit log.
   * @param refreshMs - tail interval (0 = no background tailing)
   * @returns when loaded
   */
  async start(refreshMs: number): Promise<void> {
    const table = this.#store.table('audit_log')
    await table.refresh()
    const version = table.version
    const since = this.#clock.now() - this.#windowMs
    const rows = await table.toRows({
      columns: COLUMNS,
      filter: and(
        col('date_partition').ge(new Date(since).toISOString().slice(0, 10)),
        ACTIONS,
        col('timestamp').ge(new Date(since)),
      ),
    })
    for (const r of rows) this.#add(r)
    this.#version = version
    if (refreshMs > 0) {
      this.#timer = setInterval(() => void this.sync().catch(() => undefined), refreshMs)
      this.#timer.unref()
    }
  }

  /** Stops tailing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
  }

  #add(row: Readonly<Record<string, unknown>>): void {
    const resource = row.resource
    if (typeof resource !== 'string') return
    if (row.action === PASSWORD_RESET) {
      if (row.outcome === 'success' && resource.startsWith('user:')) {
        this.noteReset(resource, (row.timestamp as Date).getTime())
      }
      return
    }
    if (row.action !== LOGIN_FAILED || !resource.startsWith('login:')) return
    const key = resource.slice('login:'.length)
    let m = this.#failures.get(key)
    if (!m) {
      m = new Map()
      this.#failures.set(key, m)
    }
    m.set(row.event_id as string, (row.timestamp as Date).getTime())
  }

  /**
   * Picks up failures other instances committed since the last sync.
   * @returns when done
   */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined
    })
    return this.#syncing
  }

  async #sync(): Promise<void> {
    const table = this.#store.table('audit_log')
    const changes = await table.changes(this.#version)
    for (const c of changes) {
      const adds = c.actions.filter(
        (a): a is AddAction & { kind: 'add' } => a.kind === 'add' && a.dataChange,
      )
      for (const add of adds) {
        const rows = await table.fileRows(add, { columns: COLUMNS, filter: ACTIONS })
        for (const r of rows) this.#add(r)
      }
      this.#version = c.version
    }
    this.#prune()
  }

  #prune(): void {
    const cutoff = this.#clock.now() - this.#windowMs
    for (const [key, m] of this.#failures) {
      for (const [id, t] of m) if (t < cutoff) m.delete(id)
      if (m.size === 0) this.#failures.delete(key)
    }
  }

  /**
   * Notes a failure this instance just recorded (counted before the audit commit is tailed).
   * @param key - throttle key
   * @param eventId - the audit event id
   * @param at - failure time
   */
  noteFailure(key: string, eventId: string, at: number): void {
    this.#add({
      resource: `login:${key}`,
      event_id: eventId,
      timestamp: new Date(at),
      action: LOGIN_FAILED,
    })
  }

  /**
   * Notes a password reset of an account: failures before it stop counting (unlike
   * {@link LoginThrottle.noteSuccess}, failures recorded after it still count, whatever the
   * order in which instances learn of them).
   * @param key - throttle key of the account (`user:<id>`)
   * @param at - reset time
   */
  noteReset(key: string, at: number): void {
    this.#resets.set(key, Math.max(at, this.#resets.get(key) ?? -Infinity))
  }

  /**
   * Notes an attempt whose password check starts now. Until {@link LoginThrottle.endAttempt},
   * it counts as a failure: otherwise a burst of concurrent guesses would all pass the lock
   * check before the first failure is noted, and the limit would not hold.
   * @param key - throttle key
   */
  beginAttempt(key: string): void {
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1)
  }

  /**
   * Notes that an attempt begun with {@link LoginThrottle.beginAttempt} is over (call it after
   * {@link LoginThrottle.noteFailure} or {@link LoginThrottle.noteSuccess}).
   * @param key - throttle key
   */
  endAttempt(key: string): void {
    const n = (this.#inFlight.get(key) ?? 0) - 1
    if (n > 0) this.#inFlight.set(key, n)
    else this.#inFlight.delete(key)
  }

  /**
   * Notes a successful login: earlier failures stop counting.
   * @param key - throttle key
   * @param at - success time
   */
  noteSuccess(key: string, at: number): void {
    this.noteReset(key, at)
    this.#failures.delete(key)
  }

  /**
   * Whether the key is locked now, and for how long.
   * @param key - throttle key
   * @param lastSuccess - time of the account's last successful login (from sessions), if any
   * @returns seconds until the lock ends, or 0 when not locked
   */
  lockedFor(key: string, lastSuccess?: number): number {
    const m = this.#failures.get(key)
    const inFlight = this.#inFlight.get(key) ?? 0
    if (!m && inFlight === 0) return 0
    const now = this.#clock.now()
    const from = Math.max(
      now - this.#windowMs,
      this.#resets.get(key) ?? -Infinity,
      lastSuccess ?? -Infinity,
    )
    const times = [...(m?.values() ?? [])].filter((t) => t > from).sort((a, b) => a - b)
    if (times.length < this.#maxFailures) {
      // Attempts still being checked count as failures: the burst waits for their outcome.
      return times.length + inFlight >= this.#maxFailures ? 1 : 0
    }
    // Locked until the oldest of the last `maxFailures` failures leaves the window.
    const oldest = times[times.length - this.#maxFailures] as number
    return Math.max(1, Math.ceil((oldest + this.#windowMs - now) / 1000))
  }
}

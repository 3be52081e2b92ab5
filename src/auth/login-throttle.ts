/**
 * Per-account lockout after repeated failed logins, counted across instances.
 *
 * Each failed login is an `audit_log` event (`LOGIN_FAILED`, resource `login:<key>`), where
 * the key is `user:<id>` for a known account and `id:<HMAC-SHA256 of the identifier under a
 * key derived from the server secret>` for an unknown one — unknown identifiers lock too, so lockout does not reveal which accounts exist.
 * This process counts its own failures immediately and picks up other instances' failures by
 * tailing the audit log's new commits every refresh interval. A successful login (a new
 * session) resets the count, and so does a password reset (a `PASSWORD_RESET` success event,
 * resource `user:<id>`, tailed like the failures): the owner who reset a locked account can log
 * in with the new password on every instance at once.
 *
 * The same tail counts the password resets each account was granted in the last hour
 * (`PASSWORD_RESET_REQUEST` success events), which limits them per account across instances.
 * @module
 */
import { createHmac, hkdfSync } from 'node:crypto'
import { utcDay, type Clock } from '../common/clock.js'
import { and, col } from '../delta/index.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'
import { followTable } from './table-tail.js'

/** The audit action of a failed login. */
export const LOGIN_FAILED = 'LOGIN_FAILED'

/** The audit action of a password reset (its success ends a lockout of the account). */
export const PASSWORD_RESET = 'PASSWORD_RESET'

/** The audit action of a password-reset request (its grants count against an hourly limit). */
export const PASSWORD_RESET_REQUEST = 'PASSWORD_RESET_REQUEST'

/** Attempts that may wait for a key's running checks; more are refused like a lockout. */
const MAX_WAITING = 256

/** HKDF label of the key identifiers are hashed with in throttle keys. */
const IDENTIFIER_KEY_LABEL = 'polarway-lakehouse login-throttle identifier v1'

/** The window of the limit on password-reset grants per account. */
export const RESET_REQUEST_WINDOW_MS = 3_600_000

/** The audit columns the throttle reads, and its filter. */
const COLUMNS = ['event_id', 'timestamp', 'resource', 'action', 'outcome']
const ACTIONS = col('action').in([LOGIN_FAILED, PASSWORD_RESET, PASSWORD_RESET_REQUEST])

/** key -> event id -> time, for the events of a sliding window. */
type WindowedEvents = Map<string, Map<string, number>>

function addEvent(events: WindowedEvents, key: string, eventId: string, at: number): void {
  let m = events.get(key)
  if (!m) {
    m = new Map()
    events.set(key, m)
  }
  m.set(eventId, at)
}

/** Adds `delta` to a key's count, dropping the key at zero. */
function adjustCount(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta
  if (n > 0) counts.set(key, n)
  else counts.delete(key)
}

function pruneEvents(events: WindowedEvents, cutoff: number): void {
  for (const [key, m] of events) {
    for (const [id, t] of m) if (t < cutoff) m.delete(id)
    if (m.size === 0) events.delete(key)
  }
}

/**
 * The key that identifier hashes in throttle keys are made with: derived from the server secret
 * (HKDF-SHA256, its own label), so that an identifier stored in the audit log cannot be found
 * by hashing guesses (a password typed into the username field) without the secret.
 * @param secret - the lakehouse's HS256 secret
 * @returns the key
 */
export function throttleKeySecret(secret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), IDENTIFIER_KEY_LABEL, 32))
}

/**
 * The throttle key of a login attempt.
 * @param userId - the account, when the identifier matched one
 * @param identifierKey - the normalized identifier otherwise
 * @param secret - from {@link throttleKeySecret}
 * @returns the key: `user:<id>`, or `id:` and the identifier's HMAC-SHA256 in hex
 */
export function throttleKey(
  userId: string | undefined,
  identifierKey: string,
  secret: Uint8Array,
): string {
  return userId
    ? `user:${userId}`
    : `id:${createHmac('sha256', secret).update(identifierKey).digest('hex')}`
}

/** Counts failed logins per key within a sliding window. */
export class LoginThrottle {
  readonly #store: DeltaStore
  readonly #clock: Clock
  readonly #maxFailures: number
  readonly #windowMs: number
  readonly #maxResetRequests: number
  /** key -> event id -> failure time */
  readonly #failures: WindowedEvents = new Map()
  /** `user:<id>` -> event id -> time of a granted password reset */
  readonly #resetGrants: WindowedEvents = new Map()
  /** `user:<id>` -> reset requests of this instance being granted */
  readonly #resetsInFlight = new Map<string, number>()
  /** key -> time of the last success (failures before it do not count) */
  readonly #resets = new Map<string, number>()
  /** key -> attempts of this instance whose password check is still running */
  readonly #inFlight = new Map<string, number>()
  /** key -> attempts waiting for a running check to end (see {@link LoginThrottle.busy}) */
  readonly #waiting = new Map<string, (() => void)[]>()
  #version = -1
  #timer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined

  /**
   * @param store - the lakehouse store
   * @param clock - time source
   * @param maxFailures - failures that lock an account
   * @param windowMs - the counting window
   * @param maxResetRequests - password resets granted per account per hour
   */
  constructor(
    store: DeltaStore,
    clock: Clock,
    maxFailures: number,
    windowMs: number,
    maxResetRequests: number,
  ) {
    this.#store = store
    this.#clock = clock
    this.#maxFailures = maxFailures
    this.#windowMs = windowMs
    this.#maxResetRequests = maxResetRequests
  }

  /**
   * Loads the failures of the current window and starts tailing the audit log.
   * @param refreshMs - tail interval (0 = no background tailing)
   * @returns when loaded
   */
  async start(refreshMs: number): Promise<void> {
    await this.#load()
    if (refreshMs > 0) {
      this.#timer = setInterval(() => void this.sync().catch(() => undefined), refreshMs)
      this.#timer.unref()
    }
  }

  /** Reads the events of the current windows from the current version, and tails from there. */
  async #load(): Promise<void> {
    const table = this.#store.table('audit_log')
    await table.refresh()
    const version = table.version
    const since = this.#clock.now() - Math.max(this.#windowMs, RESET_REQUEST_WINDOW_MS)
    const rows = await table.toRows({
      columns: COLUMNS,
      filter: and(
        col('date_partition').ge(utcDay(since)),
        ACTIONS,
        col('timestamp').ge(new Date(since)),
      ),
    })
    for (const r of rows) this.#add(r)
    this.#version = version
  }

  /** Stops tailing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
  }

  #add(row: Readonly<Record<string, unknown>>): void {
    const resource = row.resource
    if (typeof resource !== 'string') return
    const at = (row.timestamp as Date).getTime()
    if (row.action === PASSWORD_RESET || row.action === PASSWORD_RESET_REQUEST) {
      if (row.outcome !== 'success' || !resource.startsWith('user:')) return
      if (row.action === PASSWORD_RESET) this.noteReset(resource, at)
      else addEvent(this.#resetGrants, resource, row.event_id as string, at)
      return
    }
    if (row.action !== LOGIN_FAILED || !resource.startsWith('login:')) return
    addEvent(this.#failures, resource.slice('login:'.length), row.event_id as string, at)
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
    await followTable(
      this.#store.table('audit_log'),
      this.#version,
      { columns: COLUMNS, filter: ACTIONS },
      {
        row: (r) => this.#add(r),
        commit: (version) => {
          this.#version = version
        },
        // Events are keyed by id: reloading the windows counts nothing twice.
        reload: () => this.#load(),
      },
    )
    this.#prune()
  }

  #prune(): void {
    const now = this.#clock.now()
    pruneEvents(this.#failures, now - this.#windowMs)
    pruneEvents(this.#resetGrants, now - RESET_REQUEST_WINDOW_MS)
  }

  /**
   * Notes a failure this instance just recorded (counted before the audit commit is tailed).
   * @param key - throttle key
   * @param eventId - the audit event id
   * @param at - failure time
   */
  noteFailure(key: string, eventId: string, at: number): void {
    addEvent(this.#failures, key, eventId, at)
  }

  /**
   * Takes one of the password resets an account may be granted per hour, when one is left.
   * Grants being made by this instance count until they end, so concurrent requests cannot all
   * pass the check.
   * @param key - throttle key of the account (`user:<id>`)
   * @returns a function ending the grant, to be called with its audit event id and time once it
   *   is recorded (with nothing when it failed); undefined when the limit is reached
   */
  takeResetGrant(key: string): ((eventId?: string, at?: number) => void) | undefined {
    const cutoff = this.#clock.now() - RESET_REQUEST_WINDOW_MS
    let granted = this.#resetsInFlight.get(key) ?? 0
    for (const t of this.#resetGrants.get(key)?.values() ?? []) if (t > cutoff) granted++
    if (granted >= this.#maxResetRequests) return undefined
    adjustCount(this.#resetsInFlight, key, 1)
    return (eventId, at) => {
      adjustCount(this.#resetsInFlight, key, -1)
      if (eventId !== undefined && at !== undefined) addEvent(this.#resetGrants, key, eventId, at)
    }
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
   * check before the first failure is noted, and the limit would not hold. Call it only when
   * {@link LoginThrottle.lockedFor} and {@link LoginThrottle.busy} allow the attempt.
   * @param key - throttle key
   */
  beginAttempt(key: string): void {
    adjustCount(this.#inFlight, key, 1)
  }

  /**
   * Notes that an attempt begun with {@link LoginThrottle.beginAttempt} is over (call it after
   * {@link LoginThrottle.noteFailure} or {@link LoginThrottle.noteSuccess}), and lets the
   * attempts waiting for it check again.
   * @param key - throttle key
   */
  endAttempt(key: string): void {
    adjustCount(this.#inFlight, key, -1)
    const waiting = this.#waiting.get(key)
    this.#waiting.delete(key)
    for (const wake of waiting ?? []) wake()
  }

  /**
   * Whether the checks still running for the key could use up what is left of the limit: a new
   * attempt must then wait for one of them to end ({@link LoginThrottle.settled}) instead of
   * starting, so that concurrent logins with the right password all get in, one wave after
   * another, while concurrent guesses never exceed the limit.
   * @param key - throttle key
   * @param lastSuccess - time of the account's last successful login (from sessions), if any
   * @returns whether the attempt must wait
   */
  busy(key: string, lastSuccess?: number): boolean {
    const inFlight = this.#inFlight.get(key) ?? 0
    return inFlight > 0 && this.#counted(key, lastSuccess).length + inFlight >= this.#maxFailures
  }

  /**
   * Waits until a check running for the key ends.
   * @param key - throttle key
   * @returns when one has ended; undefined (at once) when too many attempts already wait, which
   *   the caller refuses like a lockout
   */
  settled(key: string): Promise<void> | undefined {
    const waiting = this.#waiting.get(key) ?? []
    if (waiting.length >= MAX_WAITING) return undefined
    this.#waiting.set(key, waiting)
    return new Promise((resolve) => waiting.push(resolve))
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
   * Whether the key is locked now by recorded failures, and for how long (checks still running
   * are the business of {@link LoginThrottle.busy}).
   * @param key - throttle key
   * @param lastSuccess - time of the account's last successful login (from sessions), if any
   * @returns seconds until the lock ends, or 0 when not locked
   */
  lockedFor(key: string, lastSuccess?: number): number {
    const times = this.#counted(key, lastSuccess)
    if (times.length < this.#maxFailures) return 0
    // Locked until the oldest of the last `maxFailures` failures leaves the window.
    const oldest = times[times.length - this.#maxFailures] as number
    return Math.max(1, Math.ceil((oldest + this.#windowMs - this.#clock.now()) / 1000))
  }

  /** The failures that count for the key now, oldest first. */
  #counted(key: string, lastSuccess: number | undefined): number[] {
    const m = this.#failures.get(key)
    if (!m) return []
    const from = Math.max(
      this.#clock.now() - this.#windowMs,
      this.#resets.get(key) ?? -Infinity,
      lastSuccess ?? -Infinity,
    )
    return [...m.values()].filter((t) => t > from).sort((a, b) => a - b)
  }
}

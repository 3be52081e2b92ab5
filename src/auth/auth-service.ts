/**
 * `AuthService`: registration, login, tokens, sessions, roles and approval over the lakehouse.
 *
 * - Hot paths read the live views: login finds the user by normalized username or email in
 *   memory, token verification checks signature and claims, then the session (exists, not
 *   revoked, not expired) and the user (active; the role that counts is the current one).
 * - Uniqueness of usernames and emails holds across processes: registration commits in a
 *   transaction that declares it read `username_key = k OR email_key = e`; a concurrent commit
 *   that may add such a row makes it conflict, re-run, see the row and fail with USER_EXISTS.
 * - Password hashing (argon2id) happens before any transaction, never inside a retry loop.
 * - Unknown users and wrong passwords give the same error after the same work: a dummy hash is
 *   verified, and a decoy session's files are written and deleted while it runs, as a known
 *   user's are; repeated failures lock the account (and unknown identifiers) across instances.
 * - Every operation writes one audit event; admin operations check the acting user's current
 *   role themselves.
 * @module
 */
import { createHash } from 'node:crypto'
import {
  AuditLog,
  objectJson,
  storableText,
  type AuditOutcome,
  type RequestContext,
} from '../audit/audit-log.js'
import { utcDay, type Clock } from '../common/clock.js'
import { randomIds, type IdGenerator } from '../common/ids.js'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { LakehouseErrorCode } from '../lakehouse/error-codes.js'
import { and, col, isDeltaError, or, type AddAction } from '../delta/index.js'
import { commitKey } from '../delta/log/log-path.js'
import { toLakehouseError, type DeltaStore, type PreparedRows } from '../lakehouse/delta-store.js'
import type { StoredUser, UserRecord } from '../lakehouse/rows.js'
import type { OwnCommit } from '../lakehouse/table-view.js'
import type { AuthErrorCode } from './error-codes.js'
import { normalizeEmail, normalizeUsername } from './identity.js'
import { SessionIndex, UserIndex } from './indexes.js'
import {
  LOGIN_FAILED,
  LoginThrottle,
  PASSWORD_RESET,
  PASSWORD_RESET_REQUEST,
  throttleKey,
  throttleKeySecret,
} from './login-throttle.js'
import { LOGIN_EVENTS_CHECK_MS, LoginEvents } from './login-events.js'
import { ResetTokens, type IssuedResetToken } from './password-reset.js'
import { Argon2Hasher, type PasswordHasher } from './password-hasher.js'
import { checkPassword, PASSWORD_MAX_BYTES } from './password-policy.js'
import { hasPermission, parseRole, parseTier, roleForTier, type Role } from './roles.js'
import { SessionActivity } from './session-activity.js'
import { MAX_LEEWAY_SECONDS, TokenService, type AccessClaims } from './tokens.js'

/** The acting user of an operation: a user id, a verified identity, or the trusted system. */
export type Actor = string | { readonly userId: string } | typeof SYSTEM_ACTOR

/** The trusted system actor (bootstrap, maintenance jobs, the embedding application itself). */
export const SYSTEM_ACTOR: { readonly system: true } = Object.freeze({ system: true })

/** Input of {@link AuthService.register}. */
export interface RegisterInput {
  readonly username: unknown
  readonly email: unknown
  readonly password: unknown
  /** Requested subscription tier (default `free`). */
  readonly tier?: unknown
  readonly firstName?: unknown
  readonly lastName?: unknown
  readonly preferences?: unknown
}

/** Result of a successful login. */
export interface LoginResult {
  /** The access token (HS256 JWT). Only its SHA-256 is stored. */
  readonly token: string
  readonly user: UserRecord
  readonly sessionId: string
  readonly expiresAt: Date
}

/** Result of a successful token verification. */
export interface VerifiedToken {
  readonly user: UserRecord
  /** The user's current role (not the role claimed in the token). */
  readonly role: Role
  readonly sessionId: string
  readonly expiresAt: Date
  readonly claims: AccessClaims
}

/** A copy-on-write update of users this process made (see `OwnCommit`). */
type OwnUpdate = Omit<OwnCommit, 'version'>

/** Options of {@link AuthService.create}. */
export interface AuthServiceOptions {
  /** Password hasher (default argon2id with the configured parameters). */
  readonly hasher?: PasswordHasher
  readonly clock?: Clock
  readonly ids?: IdGenerator
  /** Tail other instances' failed logins in the background (default true). */
  readonly backgroundSync?: boolean
  /** Verified tokens remembered by signature (0 turns it off; default 16,384). */
  readonly verifiedTokenCacheSize?: number
  /** Lifetime of password-reset tokens in seconds (60 to 86,400; default 3,600). */
  readonly passwordResetTtlSeconds?: number
  /**
   * Password resets granted per account per hour, counted across instances (1 to 100; default
   * {@link DEFAULT_RESET_REQUESTS_PER_HOUR}).
   */
  readonly maxResetRequestsPerHour?: number
  /**
   * How often to check for login events other processes left behind, with background sync
   * (default 30 s).
   */
  readonly loginEventsCheckMs?: number
  /**
   * With the store's background refresh on: how old (ms since their last successful refresh)
   * the live views may be before verifyToken refuses with `VIEWS_STALE` (default five refresh
   * intervals, at least 5 s).
   */
  readonly maxViewAgeMs?: number
}

/** A password reset granted by {@link AuthService.requestPasswordReset}. */
export interface PasswordResetGrant extends IssuedResetToken {
  /** The account, whose email address the token is to be sent to. */
  readonly user: UserRecord
}

/** What a successful login writes: its token and session row (its event follows from it). */
interface LoginRows {
  readonly token: string
  readonly sessionId: string
  readonly expiresAt: Date
  readonly sessionRow: Record<string, unknown>
}

/** An admin operation's actor, checked again inside its transaction. */
interface AdminAct {
  /** The acting user's id, or `system`. */
  readonly id: string
  readonly action: string
  readonly ctx: RequestContext | undefined
}

/** Thrown inside a users transaction when the acting admin no longer qualifies. */
class ActorRefused extends Error {
  readonly user: StoredUser | undefined
  constructor(user: StoredUser | undefined) {
    super('the acting user no longer has the required role')
    this.user = user
  }
}

/** Whether a user may act with `required`: active, not rejected, role high enough. */
function permits(u: StoredUser, required: Role): boolean {
  const role = u.record.role
  return (
    u.record.isActive && !u.record.rejectedAt && !!role && hasPermission(role as Role, required)
  )
}

/** The user id an actor names (undefined for anything that is not an actor). */
function actorId(actor: unknown): string | undefined {
  if (typeof actor === 'string') return actor
  if (typeof actor !== 'object' || actor === null || !('userId' in actor)) return undefined
  const id = actor.userId
  return typeof id === 'string' ? id : undefined
}

/** A login's rows with their files already written, waiting for the password check. */
interface StagedLogin extends LoginRows {
  readonly session: PreparedRows
}

/** An audit event whose files may be written ahead of its commit. */
interface StagedEvent {
  readonly row: Record<string, unknown>
  readonly prepared: PreparedRows | undefined
}

/** A login in progress: its staged rows, and whether their commits have started. */
interface LoginState {
  staged: StagedLogin | undefined
  committing: boolean
  /** Whether the stored hash needs a rehash, decided while argon2 runs (known users). */
  rehash?: boolean
}

/** Code and message of a login refused after its password check, by reason. */
const LOGIN_REFUSALS = {
  rejected: ['ACCOUNT_REJECTED', 'this account was not approved'],
  disabled: ['ACCOUNT_DISABLED', 'this account is disabled'],
  'credentials-changed': ['INVALID_CREDENTIALS', 'invalid username or password'],
} as const satisfies Record<string, readonly [AuthErrorCode, string]>

const MAX_IDENTIFIER = 320

/**
 * The refusal of a write made over a password hash that is no longer the current one (a reset
 * or another change committed meanwhile); a fresh error each time, so callers can tell theirs.
 */
function credentialsChanged(): LakehouseError<AuthErrorCode> {
  const [code, message] = LOGIN_REFUSALS['credentials-changed']
  return authError(code, message, { context: { reason: 'credentials-changed' } })
}

/**
 * Whether a password given to be checked could be one registration accepted: a string of at
 * most {@link PASSWORD_MAX_BYTES} UTF-16 code units, the bound registration applies before it
 * normalizes (its limit in bytes holds for the NFKC form, which is what gets verified: a
 * password of 400 fullwidth letters is 1,200 bytes as typed and 400 after NFKC).
 */
function passwordShaped(password: unknown): password is string {
  return typeof password === 'string' && password.length <= PASSWORD_MAX_BYTES
}

/** Commits a revocation of sessions is tried in, when concurrent commits conflict with it. */
const MAX_REVOKE_ATTEMPTS = 10

/** Password resets granted per account per hour, by default. */
export const DEFAULT_RESET_REQUESTS_PER_HOUR = 5
const MAX_NAME = 100
const MAX_PREFERENCES_BYTES = 16 * 1024
const FORMAT_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u

function authError(
  code: AuthErrorCode,
  message: string,
  options: ConstructorParameters<typeof LakehouseError>[2] = {},
): LakehouseError<AuthErrorCode> {
  return new LakehouseError(code, `auth: ${message}`, options)
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * A first or last name: at most {@link MAX_NAME} code points after NFKC (which can expand a
 * character many times), no control, format, private-use, unassigned or lone surrogate code
 * points, no surrounding spaces.
 */
function optionalName(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null
  const refuse = (): LakehouseError =>
    authError(
      'INVALID_INPUT',
      `${field} must be a string of at most ${MAX_NAME} characters without control characters`,
      { context: { field } },
    )
  // The raw length is bounded first, so NFKC never runs on a huge input.
  if (typeof value !== 'string' || value.length > 4 * MAX_NAME || FORMAT_OR_CONTROL.test(value)) {
    throw refuse()
  }
  const name = value.normalize('NFKC')
  if ([...name].length > MAX_NAME || FORMAT_OR_CONTROL.test(name) || name.trim() !== name) {
    throw refuse()
  }
  return name
}

/** Preferences: a plain JSON object of at most {@link MAX_PREFERENCES_BYTES} UTF-8 bytes. */
function preferencesJson(value: unknown): string | null {
  if (value === undefined || value === null) return null
  const refuse = (why: string): LakehouseError =>
    authError('INVALID_INPUT', `preferences ${why}`, { context: { field: 'preferences' } })
  if (typeof value !== 'object' || Array.isArray(value)) throw refuse('must be an object')
  const json = objectJson(value, (problem) =>
    problem === 'not-json'
      ? refuse('must be JSON: plain objects, arrays, strings, numbers, booleans and null')
      : refuse('must be an object'),
  )
  if (Buffer.byteLength(json, 'utf8') > MAX_PREFERENCES_BYTES) {
    throw refuse(`must serialize to at most ${MAX_PREFERENCES_BYTES} bytes`)
  }
  return json
}

/** Oldest first; the user id breaks ties, so current and time-travel lists order alike. */
function byCreation(a: UserRecord, b: UserRecord): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.userId < b.userId ? -1 : 1)
}

/**
 * The hourly limit of password resets per account.
 * @throws LakehouseError `CONFIG_INVALID` out of range
 */
function resetRequestsPerHour(value: number | undefined): number {
  const n = value ?? DEFAULT_RESET_REQUESTS_PER_HOUR
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new LakehouseError<LakehouseErrorCode>(
      'CONFIG_INVALID',
      `auth: maxResetRequestsPerHour must be an integer from 1 to 100, got ${String(value)}`,
    )
  }
  return n
}

/** Authentication and user management over a {@link DeltaStore}. */
export class AuthService {
  readonly #store: DeltaStore
  readonly #hasher: PasswordHasher
  readonly #tokens: TokenService
  readonly #clock: Clock
  readonly #ids: IdGenerator
  readonly #audit: AuditLog
  readonly #throttle: LoginThrottle
  readonly #loginEvents: LoginEvents
  readonly #resets: ResetTokens
  readonly #userIndex = new UserIndex()
  readonly #sessionIndex = new SessionIndex()
  #dummyHash: Promise<string> | undefined
  #decoy: UserRecord | undefined
  readonly #identifierSecret: Uint8Array
  readonly #maxViewAgeMs: number
  readonly #activity: SessionActivity
  #usersWriter: Promise<unknown> = Promise.resolve()

  private constructor(store: DeltaStore, options: AuthServiceOptions) {
    this.#store = store
    this.#clock = options.clock ?? store.clock
    this.#ids = options.ids ?? randomIds
    this.#hasher = options.hasher ?? new Argon2Hasher(store.config.argon2)
    this.#tokens = new TokenService({
      secret: store.jwtSecret,
      issuer: store.config.jwtIssuer,
      audience: store.config.jwtAudience,
      clock: this.#clock,
      // The largest leeway the standards allow (RFC 7519 "a few minutes", capped at 60 s): it
      // absorbs clock skew between instances for iat/nbf/exp. Session expiry stays exact.
      leewaySeconds: MAX_LEEWAY_SECONDS,
      verifiedCacheSize: options.verifiedTokenCacheSize,
    })
    this.#audit = new AuditLog(store, this.#clock, this.#ids)
    this.#loginEvents = new LoginEvents(store, this.#audit, store.logger)
    this.#identifierSecret = throttleKeySecret(store.jwtSecret)
    this.#maxViewAgeMs = options.maxViewAgeMs ?? Math.max(5 * store.config.refreshMs, 5000)
    this.#activity = new SessionActivity(
      store,
      this.#clock,
      Math.round(store.config.sessionIdleMinutes * 60_000),
      store.logger,
    )
    this.#resets = new ResetTokens({
      secret: store.jwtSecret,
      clock: this.#clock,
      ids: this.#ids,
      ttlSeconds: options.passwordResetTtlSeconds,
    })
    this.#throttle = new LoginThrottle(
      store,
      this.#clock,
      store.config.maxFailedLogins,
      store.config.lockoutWindowMinutes * 60_000,
      resetRequestsPerHour(options.maxResetRequestsPerHour),
    )
    store.users.listen(this.#userIndex)
    store.sessions.listen(this.#sessionIndex)
  }

  /**
   * Creates the service over an open store (loads the failed-login window).
   * @param store - the lakehouse store
   * @param options - hasher, clock, ids
   * @returns the service
   * @throws LakehouseError `STORAGE_FAILURE`
   */
  static async create(store: DeltaStore, options: AuthServiceOptions = {}): Promise<AuthService> {
    const service = new AuthService(store, options)
    try {
      await service.#throttle.start(options.backgroundSync === false ? 0 : store.config.refreshMs)
    } catch (error) {
      throw toLakehouseError(error, 'loading failed logins')
    }
    // Events of logins committed but not yet audited (a process died in between). A failure
    // does not stop the service: the events stay due and the next run writes them.
    await service.#loginEvents.start(
      options.backgroundSync === false ? 0 : (options.loginEventsCheckMs ?? LOGIN_EVENTS_CHECK_MS),
    )
    try {
      await service.#activity.start(options.backgroundSync !== false)
    } catch (error) {
      // No service: nothing of it may keep running.
      service.#throttle.stop()
      await service.#loginEvents.close().catch(() => undefined)
      throw toLakehouseError(error, 'loading session activity')
    }
    // Compute the dummy hash now: computed lazily, the first login of an unknown user would
    // take a hash longer than a wrong password (a timing signal).
    await service.#dummy()
    return service
  }

  /** The audit writer (shared with the client's `logAction`). */
  get audit(): AuditLog {
    return this.#audit
  }

  /**
   * Stops background work, after writing the audit events of this instance's logins.
   * @returns when stopped
   */
  async close(): Promise<void> {
    this.#throttle.stop()
    await this.#activity.close()
    await this.#loginEvents.close()
  }

  /**
   * Writes the session uses noted by token verifications and not written yet, and reads those
   * other instances wrote (done in the background every minute or so with background sync;
   * see `session-activity.ts`).
   * @returns when done (a failed write is reported and retried by the next sync)
   */
  syncSessionActivity(): Promise<void> {
    return this.#activity.sync()
  }

  /**
   * Waits until the `LOGIN` events of the logins made so far are in `audit_log` (they are
   * written in the background, a few milliseconds after each login).
   * @returns when written (a failed write is reported and retried by the next run)
   */
  flushLoginEvents(): Promise<void> {
    return this.#loginEvents.flush()
  }

  /**
   * Runs this instance's `users` transactions one at a time. Each of them declares a read that
   * any concurrent add to `users` may match (the uniqueness keys carry no stats, and updates
   * are copy-on-write adds), so run concurrently they would only conflict with each other and a
   * burst of sign-ups would exhaust the retries with WRITE_CONFLICT. Queued, they conflict only
   * with other processes' commits. Hashing happens before, outside the queue.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#usersWriter.then(fn, fn)
    this.#usersWriter = run.catch(() => undefined)
    return run
  }

  #dummy(): Promise<string> {
    const pending = this.#dummyHash ?? this.#hasher.hash(this.#ids.token(24))
    this.#dummyHash = pending
    return pending
  }

  async #record(
    action: string,
    outcome: AuditOutcome,
    user: { userId?: string | null; username?: string | null },
    resource: string | null,
    ctx: RequestContext | undefined,
    details?: Record<string, unknown>,
  ): Promise<string> {
    const row = this.#audit.rowOf({
      action,
      outcome,
      userId: user.userId ?? null,
      username: user.username ?? null,
      resource,
      context: ctx,
      details,
    })
    await this.#store.append('audit_log', [row])
    return row.event_id as string
  }

  /**
   * Writes a success event's files ahead of its commit ({@link AuthService.#commitEvent});
   * `undefined` when staging failed (the commit then appends the event the usual way).
   */
  #stageEvent(
    action: string,
    user: { userId: string; username: string },
    resource: string,
    ctx: RequestContext | undefined,
    details: Record<string, unknown>,
  ): StagedEvent {
    const row = this.#audit.rowOf({
      action,
      outcome: 'success',
      userId: user.userId,
      username: user.username,
      resource,
      context: ctx,
      details,
    })
    try {
      return { row, prepared: this.#store.prepareAppend('audit_log', [row]) }
    } catch (error) {
      // Staging is an optimization: the event is appended at commit time instead.
      this.#store.logger.warn(`auth: staging an audit event failed: ${(error as Error).message}`)
      return { row, prepared: undefined }
    }
  }

  /** Commits a staged event durably. */
  async #commitEvent(event: StagedEvent): Promise<void> {
    if (event.prepared) await event.prepared.commit()
    else await this.#store.append('audit_log', [event.row])
  }

  /**
   * Deletes the files of rows written ahead that will not be committed (in the background;
   * logged on failure: the files are unreferenced, VACUUM removes them too).
   */
  #discard(prepared: PreparedRows | undefined, what: string): void {
    prepared?.discard().catch((error: unknown) => {
      this.#store.logger.warn(
        `auth: deleting the files of ${what} failed: ${(error as Error).message}`,
      )
    })
  }

  #stored(userId: string): StoredUser | undefined {
    this.#assertOpen()
    return this.#store.users.get(userId)
  }

  /**
   * Fails closed when the background refresh of the live views has not succeeded for a while
   * (an unreadable log, a storage outage): a revocation, disable or role change made by another
   * instance would otherwise go unseen for as long as it lasts. The limit is five refresh
   * intervals, at least 5 s; only with the background refresh on (without it the application
   * refreshes, and the age is its business).
   * @throws LakehouseError `VIEWS_STALE`
   */
  #assertFresh(): void {
    if (!this.#store.autoRefreshing) return
    const age = Math.max(this.#store.viewAge('sessions'), this.#store.viewAge('users'))
    if (age > this.#maxViewAgeMs) {
      throw new LakehouseError<LakehouseErrorCode>(
        'VIEWS_STALE',
        `auth: the live views were last refreshed ${Math.round(age)} ms ago (limit ${this.#maxViewAgeMs} ms); ` +
          'tokens are refused until a refresh succeeds',
        { context: { ageMs: Math.round(age), limitMs: this.#maxViewAgeMs } },
      )
    }
  }

  /**
   * Refuses to answer from the live views of a closed store: they no longer follow the tables,
   * so a revocation or a disable elsewhere would go unseen.
   * @throws LakehouseError `STORE_CLOSED`
   */
  #assertOpen(): void {
    if (this.#store.closed) {
      throw new LakehouseError<LakehouseErrorCode>(
        'STORE_CLOSED',
        'auth: the lakehouse store is closed; its views no longer follow the tables',
      )
    }
  }

  /**
   * Checks that the actor exists, is active and has at least `required`.
   * @returns the acting user's id (or `system`)
   */
  async #authorize(
    actor: Actor,
    required: Role,
    action: string,
    ctx: RequestContext | undefined,
    target?: string,
  ): Promise<string> {
    if (actor === SYSTEM_ACTOR) return 'system'
    const id = actorId(actor)
    const u = typeof id === 'string' ? this.#stored(id) : undefined
    if (!u || !permits(u, required)) throw await this.#denied(u, required, action, ctx, target)
    return u.record.userId
  }

  /**
   * Records a refused operation and returns the error to throw.
   * @param target - the user the operation was about, when there is one (recorded as the
   *   event's resource `user:<id>`)
   */
  async #denied(
    u: StoredUser | undefined,
    required: Role,
    action: string,
    ctx: RequestContext | undefined,
    target?: string,
  ): Promise<LakehouseError> {
    await this.#record(
      action,
      'denied',
      { userId: u?.record.userId ?? null, username: u?.record.username ?? null },
      typeof target === 'string' ? `user:${target}` : null,
      ctx,
      { required },
    )
    return authError('FORBIDDEN', `${action} requires the ${required} role`, {
      context: { action, required },
    })
  }

  // ---------------------------------------------------------------- registration

  /**
   * Registers a user as `pending` with the requested tier.
   * @param input - username, email, password, tier, names, preferences
   * @param ctx - request context for the audit trail
   * @returns the new user
   * @throws LakehouseError `INVALID_USERNAME`, `INVALID_EMAIL`, `INVALID_PASSWORD`,
   *   `WEAK_PASSWORD`, `INVALID_TIER`, `INVALID_INPUT`, `USER_EXISTS`, `WRITE_CONFLICT`
   */
  register(input: RegisterInput, ctx?: RequestContext): Promise<UserRecord> {
    return this.#register(input, ctx, false)
  }

  /**
   * Registers a user; with `admin`, the first admin (only while no active admin exists, checked
   * inside the transaction so that concurrent bootstraps cannot both succeed).
   */
  async #register(
    input: RegisterInput,
    ctx: RequestContext | undefined,
    admin: boolean,
  ): Promise<UserRecord> {
    if (typeof input !== 'object' || input === null)
      throw authError('INVALID_INPUT', 'registration input must be an object')
    const { username, key: usernameKey, skeletonKey } = normalizeUsername(input.username)
    const { email, key: emailKey } = normalizeEmail(input.email)
    const password = checkPassword(input.password, { username, email })
    const tier = parseTier(input.tier ?? 'free')
    const firstName = optionalName(input.firstName, 'firstName')
    const lastName = optionalName(input.lastName, 'lastName')
    const preferences = preferencesJson(input.preferences)
    // Hash before the transaction: the retry loop below must stay cheap.
    const passwordHash = await this.#hasher.hash(password)
    const userId = this.#ids.uuid()
    const now = new Date(this.#clock.now())
    const row = {
      user_id: userId,
      username,
      username_key: usernameKey,
      email,
      email_key: emailKey,
      password_hash: passwordHash,
      role: admin ? 'admin' : 'pending',
      subscription_tier: tier,
      first_name: firstName,
      last_name: lastName,
      is_active: true,
      created_at: now,
      updated_at: now,
      last_login: null,
      preferences_json: preferences,
      approved_at: admin ? now : null,
      approved_by: admin ? 'system' : null,
      rejected_at: null,
    }
    const table = this.#store.table('users')
    // The success event's files are written while the user's commit runs; once the user is
    // committed only the event's commit file is left to link (removed if registration fails).
    const audit = this.#stageEvent(
      admin ? 'BOOTSTRAP_ADMIN' : 'REGISTER',
      { userId, username },
      `user:${userId}`,
      ctx,
      { tier, role: row.role },
    )
    let version: number
    try {
      ;({
        result: { version },
      } = await this.#exclusive(() =>
        table.transact(
          async (tx) => {
            // The view is at least as new as this run's snapshot once advanced.
            await this.#store.users.advance({ snapshot: tx.snapshot })
            // A name that only looks like another user's ("adrnin", "paypa1") counts as taken,
            // with the same answer, so the check does not tell which rule matched.
            if (
              this.#userIndex.byUsernameKey.has(usernameKey) ||
              this.#userIndex.hasSkeleton(skeletonKey, () => this.#store.users.values()) ||
              this.#userIndex.byEmailKey.has(emailKey)
            ) {
              throw authError('USER_EXISTS', 'a user with this username or email already exists')
            }
            // Declare the uniqueness read without scanning: the keys carry no stats (personal
            // data), so every file may match and any concurrent add to users conflicts.
            tx.declareRead(
              or(col('username_key').eq(usernameKey), col('email_key').eq(emailKey)),
              tx.snapshot.files(),
            )
            if (admin) {
              if (this.#userIndex.activeAdmins.size > 0) {
                throw authError('INVALID_STATE', 'an admin already exists')
              }
              // A concurrent bootstrap adds a row with role = admin (role has stats): it
              // conflicts with this read, and the re-run sees the other admin.
              tx.declareRead(col('role').eq('admin'), tx.snapshot.files())
            }
            tx.append([row])
          },
          { operation: 'WRITE', userMetadata: admin ? 'bootstrap-admin' : 'register' },
        ),
      ))
    } catch (error) {
      this.#discard(audit.prepared, 'an unrecorded audit event')
      if (error instanceof LakehouseError && error.code === 'USER_EXISTS') {
        await this.#record('REGISTER', 'failure', { username }, null, ctx, { reason: 'exists' })
      }
      throw toLakehouseError(error, 'registering a user')
    }
    // The commit added exactly this row: the view takes it without reading the file back.
    // The event is committed whatever happens to the view: the user exists.
    const [viewed, recorded] = await Promise.allSettled([
      this.#store.afterWrite('users', {
        snapshot: table.snapshot,
        commit: { version, removed: [], rows: [row] },
      }),
      this.#commitEvent(audit),
    ])
    if (viewed.status === 'rejected') throw viewed.reason
    if (recorded.status === 'rejected') throw recorded.reason
    const stored = this.#stored(userId)
    if (!stored) throw authError('USER_NOT_FOUND', 'the new user is missing from the users view')
    return stored.record
  }

  /**
   * The throttled password check shared by login and password change: refuses a locked key,
   * verifies (against a dummy hash for unknown users, so both cost the same), and records a
   * failure as a `LOGIN_FAILED` audit event that every instance counts.
   * @throws LakehouseError `ACCOUNT_LOCKED`, `INVALID_CREDENTIALS`
   */
  async #checkPassword(
    user: StoredUser | undefined,
    tkey: string,
    password: string,
    ctx: RequestContext | undefined,
    action: string,
    whileVerifying?: () => void,
  ): Promise<void> {
    const who = { userId: user?.record.userId ?? null, username: user?.record.username ?? null }
    // Checks still running count as failures. While they could use up the rest of the limit,
    // this attempt waits for one of them to end: concurrent logins with the right password get
    // in wave after wave, and concurrent guesses never exceed the limit.
    let locked: number
    for (;;) {
      const lastSuccess = user ? this.#sessionIndex.lastLogin.get(user.record.userId) : undefined
      locked = this.#throttle.lockedFor(tkey, lastSuccess)
      if (locked > 0 || !this.#throttle.busy(tkey, lastSuccess)) break
      const settled = this.#throttle.settled(tkey)
      if (!settled) {
        locked = 1
        break
      }
      await settled
    }
    if (locked > 0) {
      await this.#record(action, 'denied', who, `login:${tkey}`, ctx, { reason: 'locked' })
      throw authError('ACCOUNT_LOCKED', 'too many failed logins; try again later', {
        retryAfterSeconds: locked,
        context: { reason: 'locked' },
      })
    }
    // Counted as a failure until decided (see above).
    this.#throttle.beginAttempt(tkey)
    try {
      const verifying = this.#hasher.verify(
        user ? user.passwordHash : await this.#dummy(),
        password.normalize('NFKC'),
      )
      whileVerifying?.()
      const ok = await verifying
      if (!user || !ok) {
        const at = this.#clock.now()
        let eventId: string
        try {
          eventId = await this.#record(LOGIN_FAILED, 'failure', who, `login:${tkey}`, ctx, {
            via: action,
          })
        } catch (error) {
          // Fail closed: a failure this instance could not record still counts here.
          this.#throttle.noteFailure(tkey, `unrecorded:${this.#ids.token(16)}`, at)
          throw error
        }
        this.#throttle.noteFailure(tkey, eventId, at)
        throw authError('INVALID_CREDENTIALS', 'invalid username or password', {
          context: { reason: 'credentials' },
        })
      }
    } finally {
      this.#throttle.endAttempt(tkey)
    }
  }

  // ---------------------------------------------------------------- login and tokens

  #findByIdentifier(identifier: string): { user: StoredUser | undefined; key: string } {
    this.#assertOpen()
    try {
      if (identifier.includes('@')) {
        const { key } = normalizeEmail(identifier)
        const id = this.#userIndex.byEmailKey.get(key)
        return { user: id === undefined ? undefined : this.#stored(id), key: `e:${key}` }
      }
      const { key } = normalizeUsername(identifier)
      const id = this.#userIndex.byUsernameKey.get(key)
      return { user: id === undefined ? undefined : this.#stored(id), key: `u:${key}` }
    } catch {
      // Not a valid identifier: treated exactly like an unknown user.
      return { user: undefined, key: `x:${identifier.normalize('NFKC').toLowerCase()}` }
    }
  }

  /**
   * Logs in by username or email; writes a session row and returns a token.
   * @param identifier - username or email
   * @param password - the password
   * @param ctx - request context (IP, user agent) stored with the session and audit event
   * @returns token, user, session id and expiry
   * @throws LakehouseError `INVALID_CREDENTIALS` (unknown user or wrong password, alike),
   *   `ACCOUNT_LOCKED` (with retryAfterSeconds), `ACCOUNT_DISABLED`, `ACCOUNT_REJECTED`
   */
  async login(identifier: unknown, password: unknown, ctx?: RequestContext): Promise<LoginResult> {
    if (
      typeof identifier !== 'string' ||
      identifier.length === 0 ||
      identifier.length > MAX_IDENTIFIER
    ) {
      throw authError('INVALID_CREDENTIALS', 'invalid username or password', {
        context: { reason: 'identifier' },
      })
    }
    if (!passwordShaped(password)) {
      throw authError('INVALID_CREDENTIALS', 'invalid username or password', {
        context: { reason: 'password-shape' },
      })
    }
    const { user, key } = this.#findByIdentifier(identifier)
    const tkey = throttleKey(user?.record.userId, key, this.#identifierSecret)
    // The session row of a successful login is encoded and its files (data and commit) written
    // while argon2 runs (on another thread), and whether the hash needs a rehash is decided;
    // only linking the commit is left for after the check. Every attempt that reaches the check
    // stages the same files, a decoy session for an unknown user: the writes slow argon2id on a
    // small machine, so staging for known users alone would tell them apart by time. Files of an
    // attempt that does not log in (wrong password, unknown, disabled or rejected user) are
    // deleted, never committed.
    const state: LoginState = { staged: undefined, committing: false }
    const stage = (): void => {
      if (user) state.rehash = this.#hasher.needsRehash(user.passwordHash)
      try {
        state.staged = this.#stageLogin(user ? user.record : this.#decoyUser(), ctx)
      } catch (error) {
        // Staging is an optimization: the login goes on without it.
        this.#store.logger.warn(`auth: staging a login failed: ${(error as Error).message}`)
      }
    }
    try {
      await this.#checkPassword(user, tkey, password, ctx, 'LOGIN', stage)
      if (!user) throw new Error('unreachable: checkPassword accepts only known users')
      return await this.#completeLogin(user, tkey, password, ctx, state)
    } finally {
      // Files of a login refused after staging are deleted; once its commit started they are
      // the commit's business (a failed commit leaves files that vacuum removes).
      if (!state.committing) this.#discard(state.staged?.session, 'an unfinished login')
    }
  }

  /** The session and token of a login, the session's files written ahead of its commit. */
  #stageLogin(record: UserRecord, ctx: RequestContext | undefined): StagedLogin {
    const rows = this.#loginRows(record, ctx)
    const session = this.#store.prepareAppend('sessions', [rows.sessionRow], { canonical: true })
    return { ...rows, session }
  }

  /**
   * The user a login of an unknown identifier stages its decoy session for: shaped like a real
   * user (random id, a username of typical length), never stored anywhere but in files that
   * are deleted uncommitted.
   */
  #decoyUser(): UserRecord {
    this.#decoy ??= {
      userId: this.#ids.uuid(),
      username: `u${this.#ids.token(6)}`,
      email: '',
      role: 'registered',
      subscriptionTier: 'free',
      firstName: null,
      lastName: null,
      isActive: true,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      lastLogin: null,
      preferences: {},
      approvedAt: null,
      approvedBy: null,
      rejectedAt: null,
    }
    return this.#decoy
  }

  /** Token and session row of a login by `record`. */
  #loginRows(record: UserRecord, ctx: RequestContext | undefined): LoginRows {
    const now = this.#clock.now()
    // 128 random bits (a UUID has only 122), as ASVS 7.2.3 asks of session identifiers.
    const sessionId = this.#ids.token(16)
    const ttl = Math.round(this.#store.config.sessionDurationHours * 3600)
    const signed = this.#tokens.sign(
      { sub: record.userId, sid: sessionId, role: record.role, username: record.username },
      ttl,
    )
    const expiresAt = new Date(signed.expiresAt)
    const sessionRow = {
      session_id: sessionId,
      token_hash: sha256(signed.token),
      user_id: record.userId,
      username: record.username,
      role: record.role,
      created_at: new Date(now),
      expires_at: expiresAt,
      is_revoked: false,
      revoked_at: null,
      // Well-formed and bounded, as in the audit log (a lone surrogate would fail the write).
      ip_address: storableText(ctx?.ipAddress),
      user_agent: storableText(ctx?.userAgent),
      expires_date: utcDay(expiresAt.getTime()),
    }
    return { token: signed.token, sessionId, expiresAt, sessionRow }
  }

  /** The part of a login after the password check. */
  async #completeLogin(
    user: StoredUser,
    tkey: string,
    password: string,
    ctx: RequestContext | undefined,
    state: LoginState,
  ): Promise<LoginResult> {
    const record = user.record
    if (record.rejectedAt) throw await this.#refuseLogin('rejected', record, ctx)
    if (!record.isActive) throw await this.#refuseLogin('disabled', record, ctx)
    let verifiedHash = user.passwordHash
    if (state.rehash ?? this.#hasher.needsRehash(user.passwordHash)) {
      const rehashed = await this.#hasher.hash(password.normalize('NFKC'))
      // Only over the hash that was verified: a password changed meanwhile stays changed.
      const superseded = credentialsChanged()
      // The login itself succeeds even if storing the stronger hash fails; the next login
      // retries. The failure is reported, never swallowed.
      await this.#updateUser(
        record.userId,
        (cur) => {
          if (cur.passwordHash !== verifiedHash) throw superseded
          return { password_hash: rehashed }
        },
        {},
      ).then(
        () => {
          verifiedHash = rehashed
        },
        (error: unknown) => {
          if (error === superseded) throw error
          this.#store.logger.warn(
            `auth: rehashing the password of user ${record.userId} failed: ${(error as Error).message}`,
          )
        },
      )
    }
    // Only the session row is committed here: its LOGIN audit event is written from it in the
    // background by the login-events outbox (LoginEvents), which never loses or doubles one.
    const staged = state.staged
    const rows = staged ?? this.#loginRows(record, ctx)
    const { sessionId, expiresAt } = rows
    state.committing = true
    const committed = await (staged
      ? staged.session.commit()
      : this.#store.append('sessions', [rows.sessionRow], { canonical: true }))
    this.#loginEvents.noteLogin(committed.version, rows.sessionRow)
    await this.#confirmLogin(record.userId, verifiedHash, sessionId, ctx)
    this.#throttle.noteSuccess(tkey, this.#clock.now())
    return {
      token: rows.token,
      user: this.#stored(record.userId)?.record ?? record,
      sessionId,
      expiresAt,
    }
  }

  /**
   * After a login's session is committed: the password it verified must still be the user's,
   * and the account still active. A password change, reset, disable or rejection that
   * committed while the login ran revokes the sessions it finds after its own commit; this
   * check catches the session committed after that. Either the other change committed before
   * this check's probe of the users log (then the check sees it, reading the log when another
   * process wrote it), or after this session's commit (then its revocation sees the session).
   * The probe is one `head` of the next users commit.
   * @throws LakehouseError `INVALID_CREDENTIALS`, `ACCOUNT_DISABLED`, `ACCOUNT_REJECTED`, after
   *   revoking the new session
   */
  async #confirmLogin(
    userId: string,
    verifiedHash: string,
    sessionId: string,
    ctx: RequestContext | undefined,
  ): Promise<void> {
    const users = this.#store.users
    const next = commitKey(users.version + 1)
    if (await this.#store.table('users').store.head(next)) await users.advance()
    const stored = this.#stored(userId)
    const current = stored?.record
    const changed = stored?.passwordHash !== verifiedHash
    if (current && !changed && current.isActive && !current.rejectedAt) return
    await this.#revokeSessions(userId, () => [sessionId])
    const reason = changed ? 'credentials-changed' : current?.rejectedAt ? 'rejected' : 'disabled'
    throw await this.#refuseLogin(reason, current ?? { userId, username: null }, ctx, {
      revokedSession: sessionId,
    })
  }

  /**
   * Records a login refused after its password check (a `LOGIN` event, outcome `denied`) and
   * returns the error to throw.
   */
  async #refuseLogin(
    reason: keyof typeof LOGIN_REFUSALS,
    user: { readonly userId: string; readonly username: string | null },
    ctx: RequestContext | undefined,
    details: Record<string, unknown> = {},
  ): Promise<LakehouseError> {
    await this.#record('LOGIN', 'denied', user, `user:${user.userId}`, ctx, {
      reason,
      ...details,
    })
    const [code, message] = LOGIN_REFUSALS[reason]
    return authError(code, message, { context: { reason } })
  }

  /**
   * Verifies a token: signature and claims, then the session and the user in the live views,
   * then the session's idle timeout (`sessionIdleMinutes`; a success counts as the session's
   * use, see `session-activity.ts`).
   * @param token - the access token
   * @returns the user (current role) and session
   * @throws LakehouseError `INVALID_TOKEN` (generic; reason in context), `TOKEN_EXPIRED` (the
   *   token's `exp`, or the idle timeout: reason `idle`), `STORE_CLOSED`, `VIEWS_STALE` (the
   *   background refresh has failed for a while)
   */
  verifyToken(token: unknown): VerifiedToken {
    this.#assertOpen()
    this.#assertFresh()
    const claims = this.#tokens.verify(token)
    const session = this.#store.sessions.get(claims.sid)
    const now = this.#clock.now()
    if (!session) {
      // Signed by us, but this process has not seen the session: another instance may have
      // created it since the last refresh (see LakehouseClient.verifyToken).
      throw authError('INVALID_TOKEN', 'the token is invalid', {
        context: { reason: 'unknown-session' },
      })
    }
    if (session.userId !== claims.sub || session.revoked || session.expiresAt <= now) {
      throw authError('INVALID_TOKEN', 'the token is invalid', { context: { reason: 'session' } })
    }
    const user = this.#stored(claims.sub)
    if (!user || !user.record.isActive || user.record.rejectedAt) {
      throw authError('INVALID_TOKEN', 'the token is invalid', { context: { reason: 'user' } })
    }
    if (this.#activity.use(session, now)) {
      throw authError('TOKEN_EXPIRED', 'the session has been idle for too long', {
        context: { reason: 'idle' },
      })
    }
    return {
      user: user.record,
      role: user.record.role as Role,
      sessionId: session.sessionId,
      expiresAt: new Date(session.expiresAt),
      claims,
    }
  }

  /**
   * Revokes every live session of a user but `keepSessionId`, as of the latest sessions commits.
   * @returns how many were revoked
   */
  async #revokeUserSessions(userId: string, keepSessionId?: string): Promise<number> {
    await this.#store.sessions.advance()
    return this.#revokeSessions(userId, () =>
      this.#sessionIndex.sessionsOf(userId).filter((s) => s !== keepSessionId),
    )
  }

  /**
   * Revokes the live sessions among those `pick` names, in one copy-on-write commit. A commit
   * that conflicts with a concurrent one (a login or another revocation of this user's rows in
   * the same files) is redone on the new version, with the sessions `pick` names then: the
   * revocation comes after a change that has already committed (a disable, a new password), so
   * it must not be left undone by a race.
   * @returns how many were revoked
   */
  async #revokeSessions(userId: string, pick: () => readonly string[]): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const live = pick().filter((id) => {
        const s = this.#store.sessions.get(id)
        return s && !s.revoked
      })
      if (live.length === 0) return 0
      const now = new Date(this.#clock.now())
      const filter = and(
        col('user_id').eq(userId),
        col('session_id').in(live),
        col('is_revoked').eq(false),
      )
      try {
        const result = await this.#store
          .table('sessions')
          .update(filter, { is_revoked: true, revoked_at: now })
        await this.#store.afterWrite('sessions')
        return result.metrics.numUpdatedRows ?? live.length
      } catch (error) {
        if (attempt >= MAX_REVOKE_ATTEMPTS || !isDeltaError(error, 'COMMIT_CONFLICT')) {
          throw toLakehouseError(error, 'revoking sessions')
        }
        await this.#store.sessions.advance()
      }
    }
  }

  /**
   * Revokes the session of a token (logout). The token's signature and claims must be valid;
   * the session is then revoked whatever this instance's idle timeout says of it (an instance
   * with a longer one, or none, would otherwise go on accepting the token). An already revoked
   * or expired session is a no-op. A session created by another instance since this one's last
   * refresh is looked up after catching up with the sessions table.
   * @param token - the access token
   * @param ctx - request context
   * @throws LakehouseError `INVALID_TOKEN` for tokens that are not ours or name no session,
   *   `STORE_CLOSED`
   */
  async logout(token: unknown, ctx?: RequestContext): Promise<void> {
    this.#assertOpen()
    let claims: AccessClaims
    try {
      claims = this.#tokens.verify(token)
    } catch (error) {
      // Expired: its session has expired too, everywhere.
      if (error instanceof LakehouseError && error.code === 'TOKEN_EXPIRED') return
      throw error
    }
    let session = this.#store.sessions.get(claims.sid)
    if (!session) {
      await this.#store.sessions.advance()
      session = this.#store.sessions.get(claims.sid)
    }
    if (!session) {
      throw authError('INVALID_TOKEN', 'the token is invalid', {
        context: { reason: 'unknown-session' },
      })
    }
    if (session.userId !== claims.sub || session.revoked) return
    if (session.expiresAt <= this.#clock.now()) return
    await this.#revokeSessions(claims.sub, () => [claims.sid])
    await this.#record(
      'LOGOUT',
      'success',
      { userId: claims.sub, username: claims.username },
      `session:${claims.sid}`,
      ctx,
    )
  }

  /**
   * Revokes every session of a user (the user themself or an admin).
   * @param actor - the acting user
   * @param userId - whose sessions
   * @param ctx - request context
   * @returns the number of sessions revoked
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`
   */
  async revokeAllSessions(actor: Actor, userId: string, ctx?: RequestContext): Promise<number> {
    const self = actor !== SYSTEM_ACTOR && actorId(actor) === userId
    // Who revoked is recorded, as for the other admin operations.
    const by = self
      ? userId
      : await this.#authorize(actor, 'admin', 'REVOKE_ALL_SESSIONS', ctx, userId)
    const user = this.#stored(userId)
    if (!user) throw authError('USER_NOT_FOUND', 'no such user', { context: { userId } })
    const n = await this.#revokeUserSessions(userId)
    await this.#record('REVOKE_ALL_SESSIONS', 'success', user.record, `user:${userId}`, ctx, {
      revoked: n,
      actor: by,
    })
    return n
  }

  /**
   * Changes a password after verifying the old one; revokes the user's other sessions.
   * @param userId - the user
   * @param oldPassword - current password
   * @param newPassword - new password (same policy as registration)
   * @param ctx - request context; `keepSessionId` keeps that session alive
   * @throws LakehouseError `INVALID_CREDENTIALS`, `INVALID_PASSWORD`, `WEAK_PASSWORD`, `USER_NOT_FOUND`
   */
  async changePassword(
    userId: string,
    oldPassword: unknown,
    newPassword: unknown,
    ctx?: RequestContext & { readonly keepSessionId?: string },
  ): Promise<void> {
    if (typeof userId !== 'string') {
      throw authError('INVALID_INPUT', 'the user id must be a string', {
        context: { field: 'userId' },
      })
    }
    const user = this.#stored(userId)
    if (!passwordShaped(oldPassword)) {
      throw authError('INVALID_CREDENTIALS', 'invalid username or password', {
        context: { reason: 'password-shape' },
      })
    }
    // Same throttle as login: a stolen session must not allow unlimited password guessing.
    await this.#checkPassword(
      user,
      throttleKey(userId, `id:${userId}`, this.#identifierSecret),
      oldPassword,
      ctx,
      'PASSWORD_CHANGE',
    )
    if (!user) throw new Error('unreachable: checkPassword accepts only known users')
    if (user.record.rejectedAt || !user.record.isActive) {
      await this.#record('PASSWORD_CHANGE', 'denied', user.record, `user:${userId}`, ctx, {
        reason: user.record.rejectedAt ? 'rejected' : 'disabled',
      })
      throw authError(
        user.record.rejectedAt ? 'ACCOUNT_REJECTED' : 'ACCOUNT_DISABLED',
        'this account cannot change its password',
      )
    }
    let password: string
    try {
      password = checkPassword(newPassword, {
        username: user.record.username,
        email: user.record.email,
      })
    } catch (error) {
      // A refused new password is an attempt too: audited, with the policy's reason.
      const reason = error instanceof LakehouseError ? error.context.reason : undefined
      await this.#record('PASSWORD_CHANGE', 'failure', user.record, `user:${userId}`, ctx, {
        reason: typeof reason === 'string' ? `new-password-${reason}` : 'new-password',
      })
      throw error
    }
    const hash = await this.#hasher.hash(password)
    // Only over the hash the old password was verified against: a reset or another change
    // committed meanwhile (here or on another instance) stays in force.
    const superseded = credentialsChanged()
    try {
      await this.#updateUser(
        userId,
        (current) => {
          if (current.passwordHash !== user.passwordHash) throw superseded
          return { password_hash: hash }
        },
        {},
      )
    } catch (error) {
      if (error === superseded) {
        await this.#record('PASSWORD_CHANGE', 'failure', user.record, `user:${userId}`, ctx, {
          reason: 'credentials-changed',
        })
      }
      throw error
    }
    const revoked = await this.#revokeUserSessions(userId, ctx?.keepSessionId)
    await this.#record('PASSWORD_CHANGE', 'success', user.record, `user:${userId}`, ctx, {
      revokedSessions: revoked,
    })
  }

  /**
   * Starts a password reset for the account of a username or email: issues a short-lived,
   * single-use reset token for the caller to deliver to the account's email address (this
   * library sends no mail). A lockout does not prevent it (the owner must be able to get back
   * in). An account is granted at most `maxResetRequestsPerHour` resets per hour (default 5),
   * counted across instances through the audit log, so that nobody can flood its owner's
   * mailbox. The answer for an unknown, disabled or rejected account, and past that limit, is
   * `undefined` after the same work (one audit event, `denied` with the reason), so an
   * application that answers every request alike reveals nothing.
   * @param identifier - username or email
   * @param ctx - request context for the audit trail
   * @returns the token, its expiry and the user; `undefined` when no reset is possible
   */
  async requestPasswordReset(
    identifier: unknown,
    ctx?: RequestContext,
  ): Promise<PasswordResetGrant | undefined> {
    const valid =
      typeof identifier === 'string' && identifier.length > 0 && identifier.length <= MAX_IDENTIFIER
    const { user, key } = valid ? this.#findByIdentifier(identifier) : { user: undefined, key: '' }
    const record = user?.record
    if (!user || !record || !record.isActive || record.rejectedAt) {
      const reason = !record ? 'unknown' : record.rejectedAt ? 'rejected' : 'disabled'
      await this.#record(
        PASSWORD_RESET_REQUEST,
        'denied',
        record ?? {},
        record
          ? `user:${record.userId}`
          : `login:${throttleKey(undefined, key, this.#identifierSecret)}`,
        ctx,
        { reason },
      )
      return undefined
    }
    const resource = `user:${record.userId}`
    const endGrant = this.#throttle.takeResetGrant(resource)
    if (!endGrant) {
      await this.#record(PASSWORD_RESET_REQUEST, 'denied', record, resource, ctx, {
        reason: 'rate_limited',
      })
      return undefined
    }
    let eventId: string | undefined
    const at = this.#clock.now()
    try {
      const issued = this.#resets.issue(record.userId, user.passwordHash)
      eventId = await this.#record(PASSWORD_RESET_REQUEST, 'success', record, resource, ctx, {
        expiresAt: new Date(issued.expiresAt).toISOString(),
      })
      return { ...issued, user: record }
    } finally {
      endGrant(eventId, at)
    }
  }

  /**
   * Completes a password reset: checks the token, sets the new password, revokes every session
   * of the user and ends a lockout of the account (on every instance, through the audit log).
   * A token works once: the first reset (or any password change) invalidates it, also when two
   * uses race on different instances.
   * @param token - the reset token
   * @param newPassword - the new password (same policy as registration)
   * @param ctx - request context
   * @returns the user
   * @throws LakehouseError `INVALID_TOKEN` (forged, used or superseded; reason in context),
   *   `TOKEN_EXPIRED`, `ACCOUNT_DISABLED`, `ACCOUNT_REJECTED`, `INVALID_PASSWORD`,
   *   `WEAK_PASSWORD`
   */
  async resetPassword(
    token: unknown,
    newPassword: unknown,
    ctx?: RequestContext,
  ): Promise<UserRecord> {
    let claims: ReturnType<ResetTokens['verify']>
    try {
      claims = this.#resets.verify(token)
    } catch (error) {
      const reason = error instanceof LakehouseError ? error.context.reason : undefined
      await this.#record(PASSWORD_RESET, 'failure', {}, null, ctx, { reason })
      throw error
    }
    const user = this.#stored(claims.sub)
    const refuse = async (code: AuthErrorCode, reason: string): Promise<never> => {
      await this.#record(
        PASSWORD_RESET,
        code === 'INVALID_TOKEN' ? 'failure' : 'denied',
        user?.record ?? { userId: claims.sub },
        `user:${claims.sub}`,
        ctx,
        { reason },
      )
      throw authError(
        code,
        code === 'INVALID_TOKEN'
          ? 'the reset token is invalid'
          : 'this account cannot reset its password',
        { context: { reason } },
      )
    }
    if (!user) return refuse('INVALID_TOKEN', 'user')
    if (!this.#resets.binds(claims, user.passwordHash)) return refuse('INVALID_TOKEN', 'used')
    if (user.record.rejectedAt) return refuse('ACCOUNT_REJECTED', 'rejected')
    if (!user.record.isActive) return refuse('ACCOUNT_DISABLED', 'disabled')
    const password = checkPassword(newPassword, {
      username: user.record.username,
      email: user.record.email,
    })
    // Hash before the transaction; the binding is checked again inside it, against the row
    // the commit replaces, so of two concurrent uses exactly one changes the password.
    const hash = await this.#hasher.hash(password)
    let updated: UserRecord
    try {
      updated = await this.#updateUser(
        user.record.userId,
        (current) => {
          if (!this.#resets.binds(claims, current.passwordHash)) {
            throw authError('INVALID_TOKEN', 'the reset token is invalid', {
              context: { reason: 'used' },
            })
          }
          if (current.record.rejectedAt || !current.record.isActive) {
            throw authError('INVALID_STATE', 'this account cannot reset its password', {
              context: { reason: 'state' },
            })
          }
          return { password_hash: hash }
        },
        {},
      )
    } catch (error) {
      if (error instanceof LakehouseError && error.code === 'INVALID_TOKEN') {
        return refuse('INVALID_TOKEN', 'used')
      }
      throw error
    }
    const at = this.#clock.now()
    this.#throttle.noteReset(`user:${updated.userId}`, at)
    const revoked = await this.#revokeUserSessions(updated.userId)
    // Other instances end the lockout when they tail this event (see LoginThrottle).
    await this.#record(PASSWORD_RESET, 'success', updated, `user:${updated.userId}`, ctx, {
      revokedSessions: revoked,
    })
    return updated
  }

  // ---------------------------------------------------------------- administration

  /**
   * Copy-on-write update of one user row in a transaction that also declares the reads its
   * checks depend on (the user's row, the admins when `guardAdmins`, and the acting admin's).
   * The acting admin is checked again inside the transaction, at the version it commits on:
   * an admin demoted or disabled after {@link AuthService.#authorize} (by this instance or
   * another) cannot commit, since the change to their row makes the commit conflict and re-run.
   */
  async #updateUser(
    userId: string,
    change: (current: StoredUser) => Record<string, unknown>,
    options: { guardAdmins?: boolean; actor?: AdminAct },
  ): Promise<UserRecord> {
    const table = this.#store.table('users')
    let version: number
    let skipped: boolean
    let own: OwnUpdate | undefined
    try {
      ;({
        result: { version, skipped },
      } = await this.#exclusive(() =>
        table.transact(
          async (tx) => {
            own = undefined
            await this.#store.users.advance({ snapshot: tx.snapshot })
            const acting = options.actor
            if (acting && acting.id !== 'system') {
              const u = this.#stored(acting.id)
              if (!u || !permits(u, 'admin')) throw new ActorRefused(u)
              const actorFile = this.#store.users.fileOf(acting.id)
              tx.declareRead(
                col('user_id').eq(acting.id),
                tx.snapshot.files().filter((f: AddAction) => f.path === actorFile),
              )
            }
            const current = this.#stored(userId)
            if (!current) throw authError('USER_NOT_FOUND', 'no such user', { context: { userId } })
            const set = { ...change(current), updated_at: new Date(this.#clock.now()) }
            if (options.guardAdmins) {
              const after: Record<string, unknown> = { ...current.row, ...set }
              const staysAdmin =
                after.role === 'admin' && after.is_active === true && !after.rejected_at
              const admins = this.#userIndex.activeAdmins
              if (admins.has(userId) && !staysAdmin && admins.size <= 1) {
                throw authError(
                  'LAST_ADMIN',
                  'the last active admin cannot be demoted or disabled',
                  {
                    context: { userId },
                  },
                )
              }
              // Another admin's concurrent demotion must make this commit conflict and re-check.
              const adminPaths = new Set([...admins].map((id) => this.#store.users.fileOf(id)))
              const adminFiles = tx.snapshot
                .files()
                .filter((f: AddAction) => adminPaths.has(f.path))
              tx.declareRead(col('role').eq('admin'), adminFiles)
            }
            const path = this.#store.users.fileOf(userId)
            const n = await tx.update(col('user_id').eq(userId), set)
            own =
              n === 1 && path !== undefined
                ? this.#rewritten(path, userId, { ...current.row, ...set })
                : undefined
          },
          { operation: 'UPDATE' },
        ),
      ))
    } catch (error) {
      if (error instanceof ActorRefused && options.actor) {
        const { action, ctx } = options.actor
        throw await this.#denied(error.user, 'admin', action, ctx, userId)
      }
      throw toLakehouseError(error, 'updating a user')
    }
    // Copy-on-write replaced the user's file by one holding the same rows but this one updated:
    // the view takes them without reading the new file back.
    await this.#store.afterWrite('users', {
      snapshot: table.snapshot,
      commit: own && !skipped ? { version, ...own } : undefined,
    })
    const updated = this.#stored(userId)
    if (!updated) throw authError('USER_NOT_FOUND', 'no such user', { context: { userId } })
    return updated.record
  }

  /**
   * What a copy-on-write update of one user did to the users table, from the view: the user's
   * file was replaced by one holding its other rows unchanged and this row updated.
   */
  #rewritten(path: string, userId: string, row: Readonly<Record<string, unknown>>): OwnUpdate {
    const keys = this.#store.users.keysOf(path) ?? []
    return { removed: [path], rows: [row], moved: keys.filter((key) => key !== userId) }
  }

  /**
   * Approves a pending user: sets the tier and the tier's role (free → registered, paid → trader).
   * @param actor - an admin
   * @param userId - the pending user
   * @param tier - the tier (default: the one requested at registration)
   * @param ctx - request context
   * @returns the updated user
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`, `INVALID_STATE`, `INVALID_TIER`
   */
  async approveUser(
    actor: Actor,
    userId: string,
    tier?: unknown,
    ctx?: RequestContext,
  ): Promise<UserRecord> {
    const actorId = await this.#authorize(actor, 'admin', 'APPROVE_USER', ctx, userId)
    const updated = await this.#updateUser(
      userId,
      (cur) => {
        if (cur.record.role !== 'pending' || cur.record.rejectedAt) {
          throw authError('INVALID_STATE', 'only pending users can be approved', {
            context: { userId },
          })
        }
        const t = parseTier(tier ?? cur.record.subscriptionTier)
        return {
          subscription_tier: t,
          role: roleForTier(t),
          approved_at: new Date(this.#clock.now()),
          approved_by: actorId,
        }
      },
      { actor: { id: actorId, action: 'APPROVE_USER', ctx } },
    )
    await this.#record(
      'APPROVE_USER',
      'success',
      { userId: updated.userId, username: updated.username },
      `user:${userId}`,
      ctx,
      {
        actor: actorId,
        tier: updated.subscriptionTier,
        role: updated.role,
      },
    )
    return updated
  }

  /**
   * Rejects a pending user: the account can no longer log in.
   * @param actor - an admin
   * @param userId - the pending user
   * @param ctx - request context
   * @returns the updated user
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`, `INVALID_STATE`
   */
  async rejectUser(actor: Actor, userId: string, ctx?: RequestContext): Promise<UserRecord> {
    const actorId = await this.#authorize(actor, 'admin', 'REJECT_USER', ctx, userId)
    const updated = await this.#updateUser(
      userId,
      (cur) => {
        if (cur.record.role !== 'pending' || cur.record.rejectedAt) {
          throw authError('INVALID_STATE', 'only pending users can be rejected', {
            context: { userId },
          })
        }
        return { rejected_at: new Date(this.#clock.now()), is_active: false, approved_by: actorId }
      },
      { actor: { id: actorId, action: 'REJECT_USER', ctx } },
    )
    await this.#revokeUserSessions(userId)
    await this.#record('REJECT_USER', 'success', updated, `user:${userId}`, ctx, { actor: actorId })
    return updated
  }

  /**
   * Sets a user's role. The last active admin cannot be demoted.
   * @param actor - an admin
   * @param userId - the user
   * @param role - the new role
   * @param ctx - request context
   * @returns the updated user
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`, `INVALID_ROLE`, `LAST_ADMIN`
   */
  async setRole(
    actor: Actor,
    userId: string,
    role: unknown,
    ctx?: RequestContext,
  ): Promise<UserRecord> {
    const actorId = await this.#authorize(actor, 'admin', 'SET_ROLE', ctx, userId)
    const newRole = parseRole(role)
    const before = this.#stored(userId)?.record.role
    const updated = await this.#updateUser(userId, () => ({ role: newRole }), {
      guardAdmins: true,
      actor: { id: actorId, action: 'SET_ROLE', ctx },
    })
    await this.#record('SET_ROLE', 'success', updated, `user:${userId}`, ctx, {
      actor: actorId,
      from: before,
      to: newRole,
    })
    return updated
  }

  /**
   * Disables an account and revokes its sessions. The last active admin cannot be disabled.
   * @param actor - an admin
   * @param userId - the user
   * @param ctx - request context
   * @returns the updated user
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`, `LAST_ADMIN`
   */
  async disableUser(actor: Actor, userId: string, ctx?: RequestContext): Promise<UserRecord> {
    const actorId = await this.#authorize(actor, 'admin', 'DISABLE_USER', ctx, userId)
    const updated = await this.#updateUser(userId, () => ({ is_active: false }), {
      guardAdmins: true,
      actor: { id: actorId, action: 'DISABLE_USER', ctx },
    })
    await this.#revokeUserSessions(userId)
    await this.#record('DISABLE_USER', 'success', updated, `user:${userId}`, ctx, {
      actor: actorId,
    })
    return updated
  }

  /**
   * Re-enables a disabled account.
   * @param actor - an admin
   * @param userId - the user
   * @param ctx - request context
   * @returns the updated user
   * @throws LakehouseError `FORBIDDEN`, `USER_NOT_FOUND`, `INVALID_STATE` (rejected users)
   */
  async enableUser(actor: Actor, userId: string, ctx?: RequestContext): Promise<UserRecord> {
    const actorId = await this.#authorize(actor, 'admin', 'ENABLE_USER', ctx, userId)
    const updated = await this.#updateUser(
      userId,
      (cur) => {
        if (cur.record.rejectedAt)
          throw authError('INVALID_STATE', 'a rejected user cannot be enabled', {
            context: { userId },
          })
        return { is_active: true }
      },
      { actor: { id: actorId, action: 'ENABLE_USER', ctx } },
    )
    await this.#record('ENABLE_USER', 'success', updated, `user:${userId}`, ctx, { actor: actorId })
    return updated
  }

  /**
   * Creates the first admin (only while no active admin exists).
   * @param input - registration input
   * @param ctx - request context
   * @returns the admin
   * @throws LakehouseError `INVALID_STATE` when an admin exists, plus registration errors
   */
  async bootstrapAdmin(input: RegisterInput, ctx?: RequestContext): Promise<UserRecord> {
    await this.#store.users.advance()
    if (this.#userIndex.activeAdmins.size > 0) {
      throw authError('INVALID_STATE', 'an admin already exists')
    }
    return this.#register({ ...input, tier: input.tier ?? 'professional' }, ctx, true)
  }

  // ---------------------------------------------------------------- reads

  /**
   * A user by id (current state, from the live view).
   * @param userId - the user id
   * @returns the user or undefined
   */
  getUser(userId: string): UserRecord | undefined {
    const u = this.#stored(userId)
    if (!u) return undefined
    const last = this.#sessionIndex.lastLogin.get(userId)
    if (last === undefined || (u.record.lastLogin && u.record.lastLogin.getTime() >= last))
      return u.record
    return Object.freeze({ ...u.record, lastLogin: new Date(last) })
  }

  /**
   * A user by id, read on behalf of an acting user: like every admin operation, it checks the
   * actor's current role itself.
   * @param actor - an admin or the system
   * @param userId - the user id
   * @returns the user or undefined
   * @throws LakehouseError `FORBIDDEN`
   */
  async getUserAs(actor: Actor, userId: string): Promise<UserRecord | undefined> {
    await this.#authorize(actor, 'admin', 'GET_USER', undefined, userId)
    return this.getUser(userId)
  }

  /**
   * A user by username or email.
   * @param identifier - username or email
   * @returns the user or undefined
   */
  findUser(identifier: string): UserRecord | undefined {
    const { user } = this.#findByIdentifier(identifier)
    return user ? this.getUser(user.record.userId) : undefined
  }

  /**
   * Users waiting for approval, oldest first.
   * @param actor - an admin
   * @returns pending users
   * @throws LakehouseError `FORBIDDEN`
   */
  async getPendingUsers(actor: Actor): Promise<UserRecord[]> {
    await this.#authorize(actor, 'admin', 'LIST_PENDING_USERS', undefined)
    return this.#allUsers().filter((u) => u.role === 'pending' && !u.rejectedAt)
  }

  /**
   * All users, oldest first.
   * @param actor - an admin
   * @returns users
   * @throws LakehouseError `FORBIDDEN`
   */
  async getAllUsers(actor: Actor): Promise<UserRecord[]> {
    await this.#authorize(actor, 'admin', 'LIST_USERS', undefined)
    return this.#allUsers()
  }

  #allUsers(): UserRecord[] {
    const out: UserRecord[] = []
    for (const u of this.#store.users.values()) out.push(this.getUser(u.record.userId) ?? u.record)
    return out.sort(byCreation)
  }

  /**
   * The users exactly as they were at a version of the `users` table.
   * @param actor - an admin
   * @param version - table version
   * @returns users at that version
   * @throws LakehouseError `FORBIDDEN`, `VERSION_NOT_FOUND`
   */
  async readUsersAtVersion(actor: Actor, version: number): Promise<UserRecord[]> {
    await this.#authorize(actor, 'admin', 'TIME_TRAVEL_USERS', undefined)
    const { userRecordOf } = await import('../lakehouse/rows.js')
    const rows = await this.#store.readVersion('users', version)
    return rows.map(userRecordOf).sort(byCreation)
  }

  /**
   * The users as they were at a point in time.
   * @param actor - an admin
   * @param timestamp - a Date, epoch ms, or ISO-8601 with zone
   * @returns users as of then
   * @throws LakehouseError `FORBIDDEN`, `INVALID_TIMESTAMP`
   */
  async readUsersAtTimestamp(
    actor: Actor,
    timestamp: Date | string | number,
  ): Promise<UserRecord[]> {
    await this.#authorize(actor, 'admin', 'TIME_TRAVEL_USERS', undefined)
    const { userRecordOf } = await import('../lakehouse/rows.js')
    const rows = await this.#store.readTimestamp('users', timestamp)
    return rows.map(userRecordOf).sort(byCreation)
  }

  /**
   * Deletes sessions that expired before now (whole expired day partitions are dropped without
   * rewriting), and the `session_activity` days older than the idle timeout. Registered as a
   * maintenance job by the server.
   * @param actor - an admin or the system
   * @returns the number of sessions removed
   * @throws LakehouseError `FORBIDDEN`, `WRITE_CONFLICT`
   */
  async cleanupExpiredSessions(actor: Actor = SYSTEM_ACTOR): Promise<number> {
    await this.#authorize(actor, 'admin', 'CLEANUP_SESSIONS', undefined)
    const now = new Date(this.#clock.now())
    try {
      const result = await this.#store
        .table('sessions')
        .delete(or(col('expires_date').lt(utcDay(now.getTime())), col('expires_at').le(now)))
      await this.#store.afterWrite('sessions')
      // Whole day partitions, never rewritten; not counted (they are not sessions).
      await this.#store
        .table('session_activity')
        .delete(col('seen_date').lt(this.#activity.oldestNeededDay(now.getTime())))
      const n = result.metrics.numDeletedRows ?? 0
      if (n > 0)
        await this.#record('CLEANUP_SESSIONS', 'success', {}, 'table:sessions', undefined, {
          deleted: n,
        })
      return n
    } catch (error) {
      throw toLakehouseError(error, 'cleaning up expired sessions')
    }
  }
}

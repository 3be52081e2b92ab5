/**
 * `LakehouseClient`: the embedded API (the seed's Python client, in TypeScript).
 *
 * The client is trusted application code. Admin operations run as the system by default;
 * pass `{ actor }` (the verified user on whose behalf the application acts) to have the
 * library enforce that user's role — the HTTP server always does. Only an absent `actor` key
 * (or `SYSTEM_ACTOR`) means the system: `{ actor: undefined }` or `{ actor: null }`, as
 * `{ actor: req.user?.id }` gives when nobody is signed in, is refused with `FORBIDDEN`.
 *
 * @example
 * ```ts
 * import { LakehouseClient, SubscriptionTier, ActionType } from 'polarway-lakehouse'
 * const client = await LakehouseClient.open('/data/lakehouse', { jwtSecret })
 * const user = await client.register('alice', 'alice@example.com', pw, { tier: SubscriptionTier.PIONEER })
 * const { token, user: u } = await client.login('alice', pw)
 * await client.verifyToken(token)
 * await client.logAction(u.userId, u.username, ActionType.LOGIN)
 * const v5 = await client.readUsersAtVersion(5)
 * await client.logout(token)
 * await client.close()
 * ```
 * @module
 */
import type { ActionTypeName, RequestContext } from './audit/audit-log.js'
import {
  AuthService,
  SYSTEM_ACTOR,
  type Actor,
  type LoginResult,
  type PasswordResetGrant,
  type RegisterInput,
  type VerifiedToken,
} from './auth/auth-service.js'
import type { PasswordHasher } from './auth/password-hasher.js'
import type { Clock } from './common/clock.js'
import type { IdGenerator } from './common/ids.js'
import type { AuthErrorCode } from './auth/error-codes.js'
import { isLakehouseError, LakehouseError } from './common/lakehouse-error.js'
import type { Logger } from './common/logger.js'
import type { HistoryEntry, OptimizeResult, VacuumResult } from './delta/index.js'
import { DeltaStore } from './lakehouse/delta-store.js'
import { envJwtSecret, LakehouseConfig } from './lakehouse/lakehouse-config.js'
import {
  lakehouseMaintenance,
  type LakehouseMaintenanceOptions,
} from './auth/lakehouse-maintenance.js'
import type { MaintenanceScheduler } from './maintenance/maintenance-scheduler.js'
import type { UserRecord } from './lakehouse/rows.js'
import type { TableName } from './lakehouse/tables.js'

/** Options of {@link LakehouseClient.open}. */
export interface LakehouseClientOptions {
  /**
   * HS256 secret (≥ 32 bytes) when opening a path; without it a development secret is
   * generated under the path. A built configuration carries its own (giving both is refused).
   */
  readonly jwtSecret?: string | Uint8Array
  /** Password hasher (tests inject a fast one). */
  readonly hasher?: PasswordHasher
  readonly clock?: Clock
  readonly ids?: IdGenerator
  readonly logger?: Logger
  /** Background refresh of views and failed-login tails (default true). */
  readonly autoRefresh?: boolean
  /**
   * Run table maintenance (compaction, z-order, checkpoints, vacuum, log cleanup, expired
   * sessions) in the background: `true` for the defaults, or intervals and thresholds. Off by
   * default; a server turns it on. Runs are coordinated across processes by a lease per table.
   */
  readonly maintenance?: boolean | LakehouseMaintenanceOptions
  /** Lifetime of password-reset tokens in seconds (60 to 86,400; default 3,600). */
  readonly passwordResetTtlSeconds?: number
  /** Password resets granted per account per hour, across instances (1 to 100; default 5). */
  readonly maxResetRequestsPerHour?: number
}

/** Options of admin operations on the client. */
export interface ActorOptions {
  /**
   * Enforce this user's role. Without the key the operation runs as the trusted system (as
   * with `SYSTEM_ACTOR`); with the key but no value (`undefined` or `null`, as
   * `{ actor: req.user?.id }` gives when nobody is signed in) it is refused with `FORBIDDEN`.
   */
  readonly actor?: Actor
  readonly context?: RequestContext
}

/** Optional fields of {@link LakehouseClient.register}. */
export interface RegisterOptions {
  readonly tier?: string
  readonly firstName?: string
  readonly lastName?: string
  readonly preferences?: Readonly<Record<string, unknown>>
  readonly context?: RequestContext
}

/** Extra fields of {@link LakehouseClient.logAction}. */
export interface LogActionDetails {
  readonly sessionId?: string
  readonly resource?: string
  readonly rowCount?: number | bigint
  readonly bytesScanned?: number | bigint
  readonly computeTimeMs?: number
  readonly cost?: string | number
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** The service's registration input from the client's positional form. */
function registration(
  username: string,
  email: string,
  password: string,
  options: RegisterOptions,
): RegisterInput {
  const { tier, firstName, lastName, preferences } = options
  return { username, email, password, tier, firstName, lastName, preferences }
}

/**
 * The options of a call: absent or `null` mean none (untyped callers pass `null`); anything
 * else must be an object.
 * @throws LakehouseError `INVALID_INPUT` for other values
 */
function optionsOf<T extends object>(options: T | null | undefined, method: string): Partial<T> {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object') {
    throw new LakehouseError<AuthErrorCode>(
      'INVALID_INPUT',
      `client.${method}: the options must be an object`,
    )
  }
  return options
}

/**
 * The actor of an admin operation: the system when there are no options or they have no
 * `actor` key, else the given actor (whose role the service then checks).
 * @throws LakehouseError `FORBIDDEN` (context: `action`, `required`, reason `no-actor`) when
 *   the `actor` key is present but `undefined` or `null`, or the options are not an object
 *   (untyped callers): a missing user is never taken for the system
 */
function actorOf(options: unknown, action: string): Actor {
  if (options === undefined) return SYSTEM_ACTOR
  if (typeof options === 'object' && options !== null) {
    if (!('actor' in options)) return SYSTEM_ACTOR
    const { actor } = options as { readonly actor: unknown }
    if (actor !== undefined && actor !== null) return actor as Actor
  }
  throw new LakehouseError<AuthErrorCode>(
    'FORBIDDEN',
    `auth: ${action} requires an actor and none was given (leave the actor out, or pass SYSTEM_ACTOR, to act as the system)`,
    { context: { action, required: 'admin', reason: 'no-actor' } },
  )
}

/** Runs `op` as {@link actorOf} `options`; a refusal is a rejected promise, not a throw. */
async function runAs<T>(
  options: ActorOptions,
  action: string,
  op: (actor: Actor) => Promise<T>,
): Promise<T> {
  return await op(actorOf(options, action))
}

/** The embedded lakehouse client. */
export class LakehouseClient {
  /** The underlying store (tables, views, time travel, maintenance). */
  readonly store: DeltaStore
  /** The auth service. */
  readonly auth: AuthService

  /** The background maintenance, when it was asked for at open. */
  readonly maintenance: MaintenanceScheduler | undefined

  private constructor(
    store: DeltaStore,
    auth: AuthService,
    maintenance: MaintenanceScheduler | undefined,
  ) {
    this.maintenance = maintenance
    this.store = store
    this.auth = auth
  }

  /**
   * Opens (creating if needed) the lakehouse at a path or from a configuration. With a path,
   * the secret is `options.jwtSecret`, else `POLARWAY_JWT_SECRET` from the environment, else (in
   * development) the generated one; `NODE_ENV` sets the environment. A configuration's secret
   * is the one its builder was given.
   * @param pathOrConfig - base path, or a built {@link LakehouseConfig}
   * @param options - secret (with a path only), hasher, clock, logger
   * @returns the client
   * @throws LakehouseError `CONFIG_INVALID` (also for a `jwtSecret` option beside a
   *   configuration), `WEAK_SECRET`, `STORAGE_FAILURE`
   */
  static async open(
    pathOrConfig: string | LakehouseConfig,
    options: LakehouseClientOptions = {},
  ): Promise<LakehouseClient> {
    let config: LakehouseConfig
    if (typeof pathOrConfig === 'string') {
      const b = LakehouseConfig.builder().basePath(pathOrConfig).environment(process.env.NODE_ENV)
      // The secret given, else the one in the environment (as LakehouseConfig.fromEnv reads it).
      const secret = options.jwtSecret ?? envJwtSecret()
      if (secret !== undefined) b.jwtSecret(secret)
      config = b.build()
    } else {
      // A built configuration carries its own secret: one given beside it would be ignored.
      if (options.jwtSecret !== undefined) {
        throw new LakehouseError(
          'CONFIG_INVALID',
          'client: jwtSecret is an option of LakehouseClient.open(path); with a built ' +
            'configuration, give the secret to its builder (jwtSecret)',
          { context: { field: 'jwtSecret' } },
        )
      }
      config = pathOrConfig
    }
    const store = await DeltaStore.open(config, {
      clock: options.clock,
      logger: options.logger,
      autoRefresh: options.autoRefresh,
    })
    try {
      const auth = await AuthService.create(store, {
        hasher: options.hasher,
        clock: options.clock,
        ids: options.ids,
        backgroundSync: options.autoRefresh,
        passwordResetTtlSeconds: options.passwordResetTtlSeconds,
        maxResetRequestsPerHour: options.maxResetRequestsPerHour,
      })
      let maintenance: MaintenanceScheduler | undefined
      if (options.maintenance) {
        try {
          maintenance = lakehouseMaintenance(
            store,
            auth,
            options.maintenance === true
              ? { clock: options.clock, logger: options.logger }
              : { clock: options.clock, logger: options.logger, ...options.maintenance },
          )
        } catch (error) {
          await auth.close()
          throw error
        }
        maintenance.start()
      }
      return new LakehouseClient(store, auth, maintenance)
    } catch (error) {
      await store.close()
      throw error
    }
  }

  /**
   * Registers a user (pending until an admin approves).
   * @returns the new user
   * @throws LakehouseError `INVALID_USERNAME`, `INVALID_EMAIL`, `INVALID_PASSWORD`,
   *   `WEAK_PASSWORD`, `INVALID_TIER`, `USER_EXISTS`
   */
  async register(
    username: string,
    email: string,
    password: string,
    options: RegisterOptions = {},
  ): Promise<UserRecord> {
    const o = optionsOf(options, 'register')
    return this.auth.register(registration(username, email, password, o), o.context)
  }

  /**
   * Logs in by username or email.
   * @returns `{ token, user, sessionId, expiresAt }`
   * @throws LakehouseError `INVALID_CREDENTIALS`, `ACCOUNT_LOCKED`, `ACCOUNT_DISABLED`, `ACCOUNT_REJECTED`
   */
  async login(
    usernameOrEmail: string,
    password: string,
    options: { context?: RequestContext } = {},
  ): Promise<LoginResult> {
    return this.auth.login(usernameOrEmail, password, optionsOf(options, 'login').context)
  }

  /**
   * Verifies a token against the live session and user views.
   * @returns the user (current role) and session
   * @throws LakehouseError `INVALID_TOKEN`, `TOKEN_EXPIRED`
   */
  async verifyToken(token: string): Promise<VerifiedToken> {
    try {
      return this.auth.verifyToken(token)
    } catch (error) {
      if (!isLakehouseError(error)) throw error
      // A validly signed token whose session this process has not seen yet was most likely
      // issued by another instance since the last refresh: catch up once before refusing.
      if (error.code === 'INVALID_TOKEN' && error.context.reason === 'unknown-session') {
        this.#catchingUp ??= this.store.refresh().finally(() => {
          this.#catchingUp = undefined
        })
        await this.#catchingUp
        return this.auth.verifyToken(token)
      }
      // A session idle as far as this process knows may have been used on another instance
      // since the last sync: read their uses once before refusing.
      if (error.code === 'TOKEN_EXPIRED' && error.context.reason === 'idle') {
        await this.auth.syncSessionActivity()
        return this.auth.verifyToken(token)
      }
      throw error
    }
  }

  /** The view refresh in progress for {@link LakehouseClient.verifyToken}, shared by callers. */
  #catchingUp: Promise<void> | undefined

  /**
   * Revokes the token's session.
   * @throws LakehouseError `INVALID_TOKEN`
   */
  async logout(token: string, options: { context?: RequestContext } = {}): Promise<void> {
    return this.auth.logout(token, optionsOf(options, 'logout').context)
  }

  /**
   * Revokes every session of a user.
   * @returns the number revoked
   */
  revokeAllSessions(userId: string, options: ActorOptions = {}): Promise<number> {
    return runAs(options, 'REVOKE_ALL_SESSIONS', (actor) =>
      this.auth.revokeAllSessions(actor, userId, options.context),
    )
  }

  /**
   * Changes a password (verifying the old one) and revokes the user's other sessions.
   * @throws LakehouseError `INVALID_CREDENTIALS`, `INVALID_PASSWORD`, `WEAK_PASSWORD`
   */
  async changePassword(
    userId: string,
    oldPassword: string,
    newPassword: string,
    options: { context?: RequestContext; keepSessionId?: string } = {},
  ): Promise<void> {
    const o = optionsOf(options, 'changePassword')
    return this.auth.changePassword(userId, oldPassword, newPassword, {
      ...o.context,
      keepSessionId: o.keepSessionId,
    })
  }

  /**
   * Starts a password reset: a single-use token valid for an hour, to be sent to the user's
   * email address by the application. Works while the account is locked out.
   * @returns the token, its expiry and the user; `undefined` for an unknown, disabled or
   *   rejected account (answer the request the same way in both cases)
   */
  async requestPasswordReset(
    usernameOrEmail: string,
    options: { context?: RequestContext } = {},
  ): Promise<PasswordResetGrant | undefined> {
    return this.auth.requestPasswordReset(
      usernameOrEmail,
      optionsOf(options, 'requestPasswordReset').context,
    )
  }

  /**
   * Completes a password reset with its token: sets the new password, revokes every session of
   * the user and ends a lockout.
   * @returns the user
   * @throws LakehouseError `INVALID_TOKEN` (forged, used or superseded), `TOKEN_EXPIRED`,
   *   `ACCOUNT_DISABLED`, `ACCOUNT_REJECTED`, `INVALID_PASSWORD`, `WEAK_PASSWORD`
   */
  async resetPassword(
    token: string,
    newPassword: string,
    options: { context?: RequestContext } = {},
  ): Promise<UserRecord> {
    return this.auth.resetPassword(token, newPassword, optionsOf(options, 'resetPassword').context)
  }

  /** Approves a pending user with a tier (default: the requested one). */
  approveUser(userId: string, tier?: string, options: ActorOptions = {}): Promise<UserRecord> {
    return runAs(options, 'APPROVE_USER', (actor) =>
      this.auth.approveUser(actor, userId, tier, options.context),
    )
  }

  /** Rejects a pending user. */
  rejectUser(userId: string, options: ActorOptions = {}): Promise<UserRecord> {
    return runAs(options, 'REJECT_USER', (actor) =>
      this.auth.rejectUser(actor, userId, options.context),
    )
  }

  /** Sets a user's role (the last admin cannot be demoted). */
  setRole(userId: string, role: string, options: ActorOptions = {}): Promise<UserRecord> {
    return runAs(options, 'SET_ROLE', (actor) =>
      this.auth.setRole(actor, userId, role, options.context),
    )
  }

  /** Disables an account and revokes its sessions. */
  disableUser(userId: string, options: ActorOptions = {}): Promise<UserRecord> {
    return runAs(options, 'DISABLE_USER', (actor) =>
      this.auth.disableUser(actor, userId, options.context),
    )
  }

  /** Re-enables an account. */
  enableUser(userId: string, options: ActorOptions = {}): Promise<UserRecord> {
    return runAs(options, 'ENABLE_USER', (actor) =>
      this.auth.enableUser(actor, userId, options.context),
    )
  }

  /** Creates the first admin (only while none exists). */
  bootstrapAdmin(
    username: string,
    email: string,
    password: string,
    options: RegisterOptions = {},
  ): Promise<UserRecord> {
    return this.auth.bootstrapAdmin(
      registration(username, email, password, options),
      options.context,
    )
  }

  /** A user by id (current state); with an `actor`, only an admin may read it. */
  getUser(userId: string, options: ActorOptions = {}): Promise<UserRecord | undefined> {
    return runAs(options, 'GET_USER', (actor) =>
      actor === SYSTEM_ACTOR
        ? Promise.resolve(this.auth.getUser(userId))
        : this.auth.getUserAs(actor, userId),
    )
  }

  /** Users waiting for approval. */
  getPendingUsers(options: ActorOptions = {}): Promise<UserRecord[]> {
    return runAs(options, 'LIST_PENDING_USERS', (actor) => this.auth.getPendingUsers(actor))
  }

  /** All users. */
  getAllUsers(options: ActorOptions = {}): Promise<UserRecord[]> {
    return runAs(options, 'LIST_USERS', (actor) => this.auth.getAllUsers(actor))
  }

  /** The users exactly as they were at a version of the users table. */
  readUsersAtVersion(version: number, options: ActorOptions = {}): Promise<UserRecord[]> {
    return runAs(options, 'TIME_TRAVEL_USERS', (actor) =>
      this.auth.readUsersAtVersion(actor, version),
    )
  }

  /** The users as they were at a time (ISO-8601 with zone, Date or epoch ms). */
  readUsersAtTimestamp(
    timestamp: string | Date | number,
    options: ActorOptions = {},
  ): Promise<UserRecord[]> {
    return runAs(options, 'TIME_TRAVEL_USERS', (actor) =>
      this.auth.readUsersAtTimestamp(actor, timestamp),
    )
  }

  /**
   * Records a user action in `user_actions` (durable when the promise resolves).
   * @returns the action id
   */
  async logAction(
    userId: string,
    username: string,
    actionType: ActionTypeName,
    details: LogActionDetails = {},
  ): Promise<string> {
    const d = optionsOf(details, 'logAction')
    return this.auth.audit.logAction({
      userId,
      actionType,
      ...d,
      // The username given is the one recorded, whatever the metadata holds.
      metadata: { ...d.metadata, username },
    })
  }

  /** Deletes expired sessions. */
  cleanupExpiredSessions(): Promise<number> {
    return this.auth.cleanupExpiredSessions()
  }

  /** Commit history of a table (default `users`), newest first. */
  async history(table: TableName = 'users', limit?: number): Promise<HistoryEntry[]> {
    return this.store.history(table, limit)
  }

  /** Compacts small files. */
  compact(table?: TableName): Promise<Partial<Record<TableName, OptimizeResult>>> {
    return this.store.compact(table)
  }

  /** Z-orders the event tables (or one table on given columns). */
  zOrder(
    table?: TableName,
    columns?: readonly string[],
  ): Promise<Partial<Record<TableName, OptimizeResult>>> {
    return this.store.zOrder(table, columns)
  }

  /** Vacuums with the configured retention. */
  vacuum(
    table?: TableName,
    retentionHours?: number,
  ): Promise<Partial<Record<TableName, VacuumResult>>> {
    return this.store.vacuum(table, retentionHours)
  }

  /** Stops background work and waits for queued events to be durable. */
  async close(): Promise<void> {
    await this.maintenance?.stop()
    await this.auth.close()
    await this.store.close()
  }
}

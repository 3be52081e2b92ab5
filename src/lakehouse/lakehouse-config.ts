/**
 * `LakehouseConfig`: validated configuration of an embedded lakehouse.
 *
 * @example
 * ```ts
 * const config = LakehouseConfig.builder()
 *   .basePath('/data/lakehouse').jwtSecret(secret)
 *   .sessionDurationHours(24).vacuumRetentionHours(168).zOrderColumns(['user_id', 'action'])
 *   .build()
 * const fromEnv = LakehouseConfig.fromEnv() // LAKEHOUSE_PATH, POLARWAY_JWT_SECRET, ...
 * ```
 * @module
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { inspect, type InspectOptions } from 'node:util'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { LakehouseErrorCode } from './error-codes.js'
import {
  DELETED_FILE_RETENTION_HOURS,
  TABLES,
  Z_ORDER_TABLES,
  zOrderableColumns,
} from './tables.js'

/** Secrets shorter than this many bytes are weak (HS256 wants at least 256 bits). */
export const MIN_SECRET_BYTES = 32

/** argon2id parameters (OWASP minimum by default: m=19456 KiB, t=2, p=1). */
export interface Argon2Params {
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

/** The OWASP-recommended argon2id parameters. */
export const OWASP_ARGON2: Argon2Params = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
})

/** Deployment environment, from `NODE_ENV`. */
export type Environment = 'production' | 'development' | 'test'

/** All configuration values, validated. */
export interface LakehouseSettings {
  readonly basePath: string
  /** The HS256 secret; undefined = generate/load a development secret at open. */
  readonly jwtSecret: Uint8Array | undefined
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly sessionDurationHours: number
  /**
   * A session unused for this long is refused (idle timeout; 0 turns it off). See
   * {@link LakehouseConfigBuilder.sessionIdleMinutes}.
   */
  readonly sessionIdleMinutes: number
  readonly vacuumRetentionHours: number
  readonly zOrderColumns: readonly string[]
  readonly refreshMs: number
  readonly maxFailedLogins: number
  readonly lockoutWindowMinutes: number
  readonly argon2: Argon2Params
  readonly environment: Environment
}

function fail(field: string, message: string, code: LakehouseErrorCode = 'CONFIG_INVALID'): never {
  throw new LakehouseError(code, `lakehouse config: ${field} ${message}`, { context: { field } })
}

/**
 * The environment a `NODE_ENV` value means (see {@link LakehouseConfigBuilder.environment}).
 * @param value - the value
 * @returns the environment
 */
export function parseEnvironment(value: string | undefined): Environment {
  const v = value?.trim().toLowerCase()
  return v === 'production' || v === 'prod' ? 'production' : v === 'test' ? 'test' : 'development'
}

/** The kind of a value, for messages (never the value: it may be a secret). */
function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}

/** Refuses a builder input that is not a string (callers without types pass anything). */
function requireString(field: string, v: unknown): string {
  if (typeof v !== 'string') fail(field, `must be a string (got ${kindOf(v)})`)
  return v
}

/** Refuses a builder input that is not a number (ranges are checked when built). */
function requireNumber(field: string, v: unknown): number {
  if (typeof v !== 'number') fail(field, `must be a number (got ${kindOf(v)})`)
  return v
}

/**
 * Refuses z-order columns that no table they apply to has (z-ordering would silently skip
 * them), partition columns, and repeated columns.
 */
function checkZOrderColumns(columns: readonly string[]): void {
  const usable = new Set(Z_ORDER_TABLES.flatMap((n) => zOrderableColumns(TABLES[n])))
  const unknown = columns.filter((c) => !usable.has(c))
  if (unknown.length > 0) {
    fail(
      'zOrderColumns',
      `names no usable column of ${Z_ORDER_TABLES.join(' or ')}: ${unknown.join(', ')} ` +
        `(partition columns cannot be used; the columns are ${[...usable].join(', ')})`,
    )
  }
  if (new Set(columns).size !== columns.length) fail('zOrderColumns', 'must not repeat a column')
}

/** A decimal number as written in an environment variable: `8`, `-1`, `0.5` (no hex, no exponent). */
const DECIMAL_RE = /^[+-]?\d+(?:\.\d+)?$/

function checkNumber(field: string, v: number, min: number, max: number, integer = false): void {
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    fail(
      field,
      `must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got ${String(v)})`,
    )
  }
}

/**
 * The JWT secret of an environment: `POLARWAY_JWT_SECRET`, an empty value counting as none.
 * @param env - the environment (default `process.env`)
 * @returns the secret, or undefined
 */
export function envJwtSecret(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const secret = env.POLARWAY_JWT_SECRET
  return secret === '' ? undefined : secret
}

/**
 * Creates the base directory (with its parents) unless it exists; used when a lakehouse opens.
 * @param basePath - the configured base path
 * @returns when it is a directory
 * @throws LakehouseError `CONFIG_INVALID` when the path, or one of its parents, exists and is not
 *   a directory (a regular file, a dangling link); `STORAGE_FAILURE` when it cannot be created
 *   (permissions, a read-only or full file system)
 */
export async function ensureBaseDirectory(basePath: string): Promise<void> {
  try {
    await fs.mkdir(basePath, { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new LakehouseError(
        'CONFIG_INVALID',
        `lakehouse config: basePath ${basePath} is not a directory (it or one of its parents is a file)`,
        { cause: error, context: { field: 'basePath' } },
      )
    }
    throw new LakehouseError(
      'STORAGE_FAILURE',
      `lakehouse: cannot create the base directory ${basePath}`,
      { cause: error },
    )
  }
}

/** The validated configuration of a lakehouse. Create with {@link LakehouseConfig.builder}. */
export class LakehouseConfig implements LakehouseSettings {
  readonly basePath: string
  // Private, so that JSON.stringify, util.inspect and spreading never see it.
  readonly #jwtSecret: Uint8Array | undefined
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly sessionDurationHours: number
  readonly sessionIdleMinutes: number
  readonly vacuumRetentionHours: number
  readonly zOrderColumns: readonly string[]
  readonly refreshMs: number
  readonly maxFailedLogins: number
  readonly lockoutWindowMinutes: number
  readonly argon2: Argon2Params
  readonly environment: Environment
  /** Non-fatal problems found while validating (e.g. a short secret outside production). */
  readonly warnings: readonly string[]

  private constructor(s: LakehouseSettings, warnings: string[]) {
    this.basePath = s.basePath
    this.#jwtSecret = s.jwtSecret === undefined ? undefined : new Uint8Array(s.jwtSecret)
    this.jwtIssuer = s.jwtIssuer
    this.jwtAudience = s.jwtAudience
    this.sessionDurationHours = s.sessionDurationHours
    this.sessionIdleMinutes = s.sessionIdleMinutes
    this.vacuumRetentionHours = s.vacuumRetentionHours
    this.zOrderColumns = Object.freeze([...s.zOrderColumns])
    this.refreshMs = s.refreshMs
    this.maxFailedLogins = s.maxFailedLogins
    this.lockoutWindowMinutes = s.lockoutWindowMinutes
    this.argon2 = Object.freeze({ ...s.argon2 })
    this.environment = s.environment
    this.warnings = Object.freeze([...warnings])
    // Deeply frozen: the arrays and argon2 too; the secret is private and handed out as copies.
    Object.freeze(this)
  }

  /**
   * The HS256 secret (undefined: a development secret is generated or loaded at open). Each
   * read returns a fresh copy, so that a caller cannot change (or wipe) the configuration's.
   */
  get jwtSecret(): Uint8Array | undefined {
    return this.#jwtSecret === undefined ? undefined : new Uint8Array(this.#jwtSecret)
  }

  /**
   * The configuration as plain data for `JSON.stringify`, with the secret redacted.
   * @returns every setting, `jwtSecret` as `'[redacted]'` when set
   */
  toJSON(): Omit<LakehouseSettings, 'jwtSecret'> & {
    jwtSecret: '[redacted]' | undefined
    warnings: readonly string[]
  } {
    return {
      basePath: this.basePath,
      jwtSecret: this.#jwtSecret === undefined ? undefined : '[redacted]',
      jwtIssuer: this.jwtIssuer,
      jwtAudience: this.jwtAudience,
      sessionDurationHours: this.sessionDurationHours,
      sessionIdleMinutes: this.sessionIdleMinutes,
      vacuumRetentionHours: this.vacuumRetentionHours,
      zOrderColumns: this.zOrderColumns,
      refreshMs: this.refreshMs,
      maxFailedLogins: this.maxFailedLogins,
      lockoutWindowMinutes: this.lockoutWindowMinutes,
      argon2: this.argon2,
      environment: this.environment,
      warnings: this.warnings,
    }
  }

  /** `util.inspect` (and `console.log`) shows {@link LakehouseConfig.toJSON}: no secret. */
  [inspect.custom](depth: number | null, options: InspectOptions): string {
    // `depth` is what is left of the caller's depth (null: unlimited).
    if (depth !== null && depth < 0) return '[LakehouseConfig]'
    return `LakehouseConfig ${inspect(this.toJSON(), { ...options, depth })}`
  }

  /**
   * A builder with defaults (sessions 24 h, vacuum retention 168 h, refresh 1000 ms, lockout
   * after 10 failures in 15 minutes, OWASP argon2id, environment from NODE_ENV).
   * @returns a new builder
   */
  static builder(): LakehouseConfigBuilder {
    return new LakehouseConfigBuilder()
  }

  /**
   * Configuration from environment variables: `LAKEHOUSE_PATH` (required), `POLARWAY_JWT_SECRET`,
   * `LAKEHOUSE_REFRESH_MS`, `POLARWAY_SESSION_HOURS`, `POLARWAY_SESSION_IDLE_MINUTES`,
   * `LAKEHOUSE_VACUUM_RETENTION_HOURS`,
   * `POLARWAY_JWT_ISSUER`, `POLARWAY_JWT_AUDIENCE`, `POLARWAY_MAX_FAILED_LOGINS`,
   * `POLARWAY_LOCKOUT_MINUTES`, `NODE_ENV`. Numbers are decimal (`250`, `0.5`; no hex, binary or
   * exponent; blanks around them are ignored, a blank value means the default). A relative
   * `LAKEHOUSE_PATH` is resolved against the current working directory; one that starts or ends
   * with whitespace is refused. `NODE_ENV` is read as {@link LakehouseConfigBuilder.environment}
   * reads it (`production`, `Production`, ` prod` all mean production).
   * @param env - the environment (default `process.env`)
   * @returns the validated configuration
   * @throws LakehouseError `CONFIG_INVALID`, `WEAK_SECRET`
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LakehouseConfig {
    const b = LakehouseConfig.builder().environment(env.NODE_ENV)
    const num = (name: string): number | undefined => {
      const v = env[name]
      if (v === undefined || v.trim() === '') return undefined
      if (!DECIMAL_RE.test(v.trim()))
        fail(name, `must be a decimal number (got ${JSON.stringify(v)})`)
      return Number(v.trim())
    }
    const basePath = env.LAKEHOUSE_PATH
    if (basePath === undefined || basePath.trim() === '') fail('LAKEHOUSE_PATH', 'is required')
    if (basePath.trim() !== basePath)
      fail('LAKEHOUSE_PATH', 'must not start or end with whitespace')
    b.basePath(basePath)
    const secret = envJwtSecret(env)
    if (secret !== undefined) b.jwtSecret(secret)
    const refresh = num('LAKEHOUSE_REFRESH_MS')
    if (refresh !== undefined) b.refreshMs(refresh)
    const hours = num('POLARWAY_SESSION_HOURS')
    if (hours !== undefined) b.sessionDurationHours(hours)
    const idle = num('POLARWAY_SESSION_IDLE_MINUTES')
    if (idle !== undefined) b.sessionIdleMinutes(idle)
    const vac = num('LAKEHOUSE_VACUUM_RETENTION_HOURS')
    if (vac !== undefined) b.vacuumRetentionHours(vac)
    const maxFailed = num('POLARWAY_MAX_FAILED_LOGINS')
    const window = num('POLARWAY_LOCKOUT_MINUTES')
    if (maxFailed !== undefined || window !== undefined) b.lockout(maxFailed ?? 10, window ?? 15)
    if (env.POLARWAY_JWT_ISSUER) b.jwtIssuer(env.POLARWAY_JWT_ISSUER)
    if (env.POLARWAY_JWT_AUDIENCE) b.jwtAudience(env.POLARWAY_JWT_AUDIENCE)
    return b.build()
  }

  /** @internal */
  static create(s: LakehouseSettings): LakehouseConfig {
    const warnings: string[] = []
    if (
      typeof s.basePath !== 'string' ||
      s.basePath.trim() === '' ||
      s.basePath.includes('\u0000')
    ) {
      fail('basePath', 'must be a non-empty path')
    }
    if (s.basePath.trim() !== s.basePath) fail('basePath', 'must not start or end with whitespace')
    checkNumber('sessionDurationHours', s.sessionDurationHours, 1 / 60, 24 * 366)
    checkNumber('sessionIdleMinutes', s.sessionIdleMinutes, 0, 24 * 366 * 60)
    if (s.sessionIdleMinutes > 0 && s.sessionIdleMinutes < 1) {
      fail('sessionIdleMinutes', `must be 0 (off) or at least 1 (got ${s.sessionIdleMinutes})`)
    }
    checkNumber('vacuumRetentionHours', s.vacuumRetentionHours, 0, 24 * 3660)
    if (s.vacuumRetentionHours < DELETED_FILE_RETENTION_HOURS) {
      fail(
        'vacuumRetentionHours',
        `must be at least ${DELETED_FILE_RETENTION_HOURS} (got ${s.vacuumRetentionHours}): the tables keep ` +
          `removed files for ${DELETED_FILE_RETENTION_HOURS} hours (delta.deletedFileRetentionDuration), ` +
          'and a vacuum with a shorter retention is refused',
      )
    }
    checkNumber('refreshMs', s.refreshMs, 10, 3_600_000, true)
    checkNumber('maxFailedLogins', s.maxFailedLogins, 1, 100, true)
    checkNumber('lockoutWindowMinutes', s.lockoutWindowMinutes, 1, 24 * 60)
    checkNumber(
      'argon2.memoryCost',
      s.argon2.memoryCost,
      8 * s.argon2.parallelism,
      4 * 1024 * 1024,
      true,
    )
    checkNumber('argon2.timeCost', s.argon2.timeCost, 1, 100, true)
    checkNumber('argon2.parallelism', s.argon2.parallelism, 1, 64, true)
    if (requireString('jwtIssuer', s.jwtIssuer).trim() === '')
      fail('jwtIssuer', 'must not be empty')
    if (requireString('jwtAudience', s.jwtAudience).trim() === '')
      fail('jwtAudience', 'must not be empty')
    if (
      !Array.isArray(s.zOrderColumns) ||
      s.zOrderColumns.some((c) => typeof c !== 'string' || c === '')
    ) {
      fail('zOrderColumns', 'must be a list of column names')
    }
    checkZOrderColumns(s.zOrderColumns)
    const secret = s.jwtSecret
    if (secret === undefined) {
      if (s.environment === 'production') {
        fail(
          'jwtSecret',
          'is required in production (set POLARWAY_JWT_SECRET to at least 32 random bytes)',
          'WEAK_SECRET',
        )
      }
    } else if (secret.byteLength === 0) {
      // HMAC takes no empty key: refused here rather than when the first token is signed.
      fail('jwtSecret', 'is empty (omit it to use a generated development secret)', 'WEAK_SECRET')
    } else if (secret.byteLength < MIN_SECRET_BYTES) {
      const risk =
        `the JWT secret is ${secret.byteLength} bytes; HS256 secrets shorter than ${MIN_SECRET_BYTES} bytes ` +
        '(256 bits) can be brute-forced offline from any issued token, letting an attacker forge tokens for any user'
      if (s.environment === 'production') fail('jwtSecret', `is too short: ${risk}`, 'WEAK_SECRET')
      warnings.push(
        `lakehouse config: warning: ${risk}. Use at least ${MIN_SECRET_BYTES} random bytes.`,
      )
    }
    if (
      s.argon2.memoryCost < OWASP_ARGON2.memoryCost ||
      s.argon2.timeCost < OWASP_ARGON2.timeCost
    ) {
      warnings.push(
        'lakehouse config: warning: argon2 parameters are below the OWASP minimum (m=19456, t=2, p=1)',
      )
    }
    return new LakehouseConfig(
      { ...s, basePath: path.resolve(s.basePath), zOrderColumns: s.zOrderColumns.slice() },
      warnings,
    )
  }
}

/** Chainable builder of a {@link LakehouseConfig}. */
export class LakehouseConfigBuilder {
  #s: {
    -readonly [K in keyof LakehouseSettings]: LakehouseSettings[K]
  } = {
    basePath: '',
    jwtSecret: undefined,
    jwtIssuer: 'polarway-lakehouse',
    jwtAudience: 'polarway-lakehouse',
    sessionDurationHours: 24,
    sessionIdleMinutes: 30,
    vacuumRetentionHours: 168,
    zOrderColumns: ['user_id', 'action'],
    refreshMs: 1000,
    maxFailedLogins: 10,
    lockoutWindowMinutes: 15,
    argon2: OWASP_ARGON2,
    environment: 'development',
  }

  /**
   * Directory holding the tables. A relative path is resolved against the current
   * working directory when the configuration is built; leading or trailing whitespace is refused
   * rather than trimmed (it is almost always a quoting mistake).
   */
  basePath(value: string): this {
    this.#s.basePath = requireString('basePath', value)
    return this
  }

  /** HS256 secret (string as UTF-8, or raw bytes); at least 32 bytes. */
  jwtSecret(value: string | Uint8Array): this {
    if (typeof value !== 'string' && !(value instanceof Uint8Array))
      fail('jwtSecret', 'must be a string or bytes')
    this.#s.jwtSecret =
      typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value)
    return this
  }

  /** `iss` claim of issued tokens. */
  jwtIssuer(value: string): this {
    this.#s.jwtIssuer = requireString('jwtIssuer', value)
    return this
  }

  /** `aud` claim of issued tokens. */
  jwtAudience(value: string): this {
    this.#s.jwtAudience = requireString('jwtAudience', value)
    return this
  }

  /** Lifetime of a login session (and of its token). */
  sessionDurationHours(value: number): this {
    this.#s.sessionDurationHours = requireNumber('sessionDurationHours', value)
    return this
  }

  /**
   * Idle timeout (default 30, ASVS level 2): a session whose token has not been verified for
   * this many minutes is refused, whatever its remaining lifetime. 0 turns it off; otherwise at
   * least 1. Uses are shared across processes through the `session_activity` table (at most
   * about one row a minute per session in use), so a session in use on one instance stays
   * valid on the others (`src/auth/session-activity.ts`).
   */
  sessionIdleMinutes(value: number): this {
    this.#s.sessionIdleMinutes = requireNumber('sessionIdleMinutes', value)
    return this
  }

  /**
   * Retention used when vacuuming the tables (default 168): data files removed from a table
   * more than this many hours ago are deleted. At least 168, the tables'
   * `delta.deletedFileRetentionDuration` (a shorter retention is refused when built, since every
   * vacuum with it would fail); a longer one keeps older versions readable for longer.
   */
  vacuumRetentionHours(value: number): this {
    this.#s.vacuumRetentionHours = requireNumber('vacuumRetentionHours', value)
    return this
  }

  /**
   * Z-order columns of the event tables (`audit_log`, `user_actions`; default `user_id`,
   * `action`). Each must be a non-partition column of at least one of them (names are
   * case-sensitive); each table is z-ordered on the ones it has. An empty list turns the
   * default z-ordering off.
   */
  zOrderColumns(value: readonly string[]): this {
    // A string would be spread into its characters.
    const given: unknown = value
    if (!Array.isArray(given))
      fail('zOrderColumns', `must be an array of column names (got ${kindOf(given)})`)
    this.#s.zOrderColumns = given.map((c: unknown) => requireString('zOrderColumns', c))
    return this
  }

  /** How often other processes' commits are picked up by the live views. */
  refreshMs(value: number): this {
    this.#s.refreshMs = requireNumber('refreshMs', value)
    return this
  }

  /** Lock an account after `maxFailures` failed logins within `windowMinutes`. */
  lockout(maxFailures: number, windowMinutes: number): this {
    this.#s.maxFailedLogins = requireNumber('maxFailedLogins', maxFailures)
    this.#s.lockoutWindowMinutes = requireNumber('lockoutWindowMinutes', windowMinutes)
    return this
  }

  /** argon2id parameters (defaults to the OWASP minimum). */
  argon2(value: Argon2Params): this {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail('argon2', `must be an object (got ${kindOf(value)})`)
    this.#s.argon2 = {
      memoryCost: requireNumber('argon2.memoryCost', value.memoryCost),
      timeCost: requireNumber('argon2.timeCost', value.timeCost),
      parallelism: requireNumber('argon2.parallelism', value.parallelism),
    }
    return this
  }

  /**
   * Deployment environment from a `NODE_ENV` value, trimmed and case-insensitive: `production`
   * or `prod` mean production, `test` means test, anything else (or undefined) development.
   */
  environment(value: string | undefined): this {
    if (value !== undefined) requireString('environment', value)
    this.#s.environment = parseEnvironment(value)
    return this
  }

  /**
   * Validates and freezes the configuration.
   * @returns the configuration
   * @throws LakehouseError `CONFIG_INVALID` naming the field, `WEAK_SECRET` in production
   */
  build(): LakehouseConfig {
    return LakehouseConfig.create({ ...this.#s })
  }
}

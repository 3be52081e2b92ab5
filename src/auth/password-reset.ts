/**
 * Password-reset tokens (OWASP Forgot Password Cheat Sheet; `auth-standards.md`: "CSPRNG,
 * single use, short-lived, uniform response and timing").
 *
 * A reset token is `<payload>.<mac>`: a base64url JSON payload and its HMAC-SHA256. Nothing is
 * stored: the payload binds the token to the user and to the password hash the user had when
 * it was issued (128 bits of an HMAC of the hash under the reset key, so the token reveals
 * nothing derived from the hash alone), so the first reset, or any other password
 * change, makes every earlier token of that user useless (single use, across instances and
 * restarts). Two concurrent uses of one token race in one users transaction that re-checks the
 * binding, so exactly one of them changes the password.
 *
 * - The MAC key is derived from the lakehouse's JWT secret with HKDF under a label of its own,
 *   so a reset token can never be an access token or the reverse: the two have different
 *   shapes (two segments, not three), different keys and a `typ` inside the MAC.
 * - Each token carries 128 random bits (`jti`), so two tokens issued in the same second differ.
 * - Lifetime: {@link DEFAULT_RESET_TTL_SECONDS} by default; expiry is exact (no leeway), and an
 *   `iat` more than {@link MAX_RESET_FUTURE_SECONDS} ahead of the clock is refused.
 * - Verification checks the shape and the MAC (in constant time) before parsing anything, and
 *   every failure is one generic `INVALID_TOKEN`; which check failed is only in
 *   `context.reason`. Messages never contain the token.
 * @module
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../common/clock.js'
import { randomIds, type IdGenerator } from '../common/ids.js'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { LakehouseErrorCode } from '../lakehouse/error-codes.js'
import type { AuthErrorCode } from './error-codes.js'

/** Default lifetime of a reset token: one hour. */
export const DEFAULT_RESET_TTL_SECONDS = 3600
/** Longest lifetime accepted: one day. */
export const MAX_RESET_TTL_SECONDS = 24 * 3600
/** Clock skew tolerated for `iat` (tokens issued by another instance). */
export const MAX_RESET_FUTURE_SECONDS = 60
/** Longest string accepted as a reset token (ours are about 250 characters). */
const MAX_RESET_TOKEN_LENGTH = 1024
/** `typ` of the payload. */
const RESET_TYP = 'pwreset'
/** HKDF label of the MAC key (changing it invalidates every outstanding token). */
const KEY_LABEL = 'polarway-lakehouse password reset v1'
/** Characters of a base64url HMAC-SHA256 (32 bytes, unpadded). */
const MAC_CHARS = 43
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** The verified content of a reset token. */
export interface ResetClaims {
  /** The user id. */
  readonly sub: string
  /** The binding to the password hash at issue time (see {@link ResetTokens.binding}). */
  readonly pwb: string
  /** Issued at, seconds since the epoch. */
  readonly iat: number
  /** Expires at, seconds since the epoch. */
  readonly exp: number
  /** Unique token id (128 random bits). */
  readonly jti: string
}

/** A newly issued reset token. */
export interface IssuedResetToken {
  readonly token: string
  /** Expiry in milliseconds since the epoch. */
  readonly expiresAt: number
}

/** Options of {@link ResetTokens}. */
export interface ResetTokensOptions {
  /** The lakehouse's JWT secret (the MAC key is derived from it). */
  readonly secret: Uint8Array
  readonly clock: Clock
  /** Lifetime in seconds, 60 to {@link MAX_RESET_TTL_SECONDS}; default one hour. */
  readonly ttlSeconds?: number
  readonly ids?: IdGenerator
}

/** Issues and verifies password-reset tokens (see the module documentation). */
export class ResetTokens {
  readonly #key: Buffer
  readonly #clock: Clock
  readonly #ids: IdGenerator
  /** Lifetime of issued tokens, in seconds. */
  readonly ttlSeconds: number

  /**
   * @param options - secret, clock, lifetime
   * @throws LakehouseError `CONFIG_INVALID` for a lifetime out of range
   */
  constructor(options: ResetTokensOptions) {
    const ttl = options.ttlSeconds ?? DEFAULT_RESET_TTL_SECONDS
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_RESET_TTL_SECONDS) {
      throw new LakehouseError<LakehouseErrorCode>(
        'CONFIG_INVALID',
        `auth: the password-reset token lifetime must be an integer from 60 to ${MAX_RESET_TTL_SECONDS} seconds, got ${String(ttl)}`,
      )
    }
    this.ttlSeconds = ttl
    this.#key = Buffer.from(hkdfSync('sha256', options.secret, Buffer.alloc(0), KEY_LABEL, 32))
    this.#clock = options.clock
    this.#ids = options.ids ?? randomIds
  }

  /**
   * Issues a token for a user and the password hash stored for them now.
   * @param userId - the user
   * @param passwordHash - the user's current stored hash
   * @returns the token and its expiry
   */
  issue(userId: string, passwordHash: string): IssuedResetToken {
    const iat = Math.floor(this.#clock.now() / 1000)
    const claims: ResetClaims & { typ: string } = {
      typ: RESET_TYP,
      sub: userId,
      pwb: this.binding(passwordHash),
      iat,
      exp: iat + this.ttlSeconds,
      jti: this.#ids.token(16),
    }
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
    return { token: `${payload}.${this.#mac(payload)}`, expiresAt: claims.exp * 1000 }
  }

  /**
   * Verifies a token's shape, MAC and time claims (not yet its binding: see
   * {@link ResetTokens.binds}).
   * @param token - the presented token
   * @returns its claims
   * @throws LakehouseError `INVALID_TOKEN` (reason in context), `TOKEN_EXPIRED`
   */
  verify(token: unknown): ResetClaims {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_RESET_TOKEN_LENGTH)
      throw invalid('malformed')
    const dot = token.indexOf('.')
    const payload = token.slice(0, dot)
    const mac = token.slice(dot + 1)
    if (dot <= 0 || mac.length !== MAC_CHARS || !BASE64URL.test(payload) || !BASE64URL.test(mac))
      throw invalid('malformed')
    // Compares the canonical spelling of the MAC, so each token has exactly one spelling.
    if (!timingSafeEqual(Buffer.from(this.#mac(payload)), Buffer.from(mac)))
      throw invalid('signature')
    let claims: unknown
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      throw invalid('claims')
    }
    if (!isResetClaims(claims)) throw invalid('claims')
    const now = this.#clock.now() / 1000
    if (claims.iat > now + MAX_RESET_FUTURE_SECONDS) throw invalid('not-yet-valid')
    if (claims.exp <= now) {
      throw new LakehouseError<AuthErrorCode>(
        'TOKEN_EXPIRED',
        'auth: the reset token has expired',
        {
          context: { reason: 'expired' },
        },
      )
    }
    return { sub: claims.sub, pwb: claims.pwb, iat: claims.iat, exp: claims.exp, jti: claims.jti }
  }

  /**
   * Whether verified claims still match the user's stored password hash (false once the
   * password changed: the token was used, or superseded).
   * @param claims - verified claims
   * @param passwordHash - the user's current stored hash
   * @returns whether the token may still be used
   */
  binds(claims: ResetClaims, passwordHash: string): boolean {
    const expected = Buffer.from(this.binding(passwordHash))
    const given = Buffer.from(claims.pwb)
    return expected.length === given.length && timingSafeEqual(expected, given)
  }

  /**
   * The binding of a token to a stored password hash: 128 bits of its HMAC-SHA256 under the
   * reset key, base64url.
   * @param passwordHash - the PHC string stored for the user
   * @returns the binding
   */
  binding(passwordHash: string): string {
    return createHmac('sha256', this.#key)
      .update(`password-hash:${passwordHash}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url')
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url')
  }
}

function isResetClaims(value: unknown): value is ResetClaims & { typ: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const v = value as Record<string, unknown>
  return (
    v.typ === RESET_TYP &&
    typeof v.sub === 'string' &&
    v.sub.length > 0 &&
    typeof v.pwb === 'string' &&
    typeof v.jti === 'string' &&
    Number.isSafeInteger(v.iat) &&
    Number.isSafeInteger(v.exp)
  )
}

function invalid(reason: string): LakehouseError<AuthErrorCode> {
  return new LakehouseError('INVALID_TOKEN', 'auth: the reset token is invalid', {
    context: { reason },
  })
}

/**
 * Access tokens: HS256 JWTs signed and verified with `fast-jwt` (RFC 7519, RFC 8725 best
 * practices, OWASP ASVS V9).
 *
 * Verification accepts only what this service issues:
 * - cheap structural checks first (a string of at most 8 KiB with three non-empty base64url
 *   segments), so garbage never reaches the JSON parser or HMAC; a valid MAC must also be
 *   spelled canonically, so each token has exactly one spelling;
 * - the algorithm allowlist is exactly `HS256` (no `none`, no other HMAC, no asymmetric
 *   algorithm, so no RS256/HS256 key confusion), and the signature is checked before any claim
 *   is read;
 * - header `typ`, when present, must be `JWT` (case-insensitive, optionally `application/JWT`,
 *   as RFC 7515 §4.1.9 allows); headers that point at keys (`jku`, `jwk`, `x5u`,
 *   `x5c`) are refused, since we never issue them; `kid` is ignored (one key);
 * - `iss` and `aud` must match, `exp` and `iat` are required numbers, `nbf` is honoured when
 *   present, all against the injected clock with a leeway of at most 60 s;
 * - every claim we return is type-checked, and the role must be a known role.
 *
 * Failures throw `INVALID_TOKEN` (or `TOKEN_EXPIRED`) with one generic message; which check
 * failed is only in `context.reason`, for logs. Messages never contain the token.
 *
 * Verified tokens are remembered (a bounded map from the exact token string to its claims,
 * default {@link DEFAULT_VERIFIED_CACHE_SIZE} entries, oldest dropped first): the same token is
 * presented on every request of a session, and its signature, header and static claims cannot
 * change. Only tokens that passed every check enter it; the time checks (`exp`, `nbf`, `iat`)
 * run on every call, cached or not. The map belongs to one service and one key, so a new key
 * (a new service) starts empty. fast-jwt's own cache is left off.
 *
 * Tokens whose header segment is exactly the one `sign` writes (every token we issue) take a
 * direct path: the same checks as fast-jwt in the same order (base64url alphabet, payload JSON
 * object, HMAC compared in constant time), without decoding a header whose content is known.
 * Every other token goes through fast-jwt. Both paths give the same verdict and reason for every
 * input; the direct one only allocates less (verification is the hot path of every request).
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createSigner, createVerifier, TOKEN_ERROR_CODES } from 'fast-jwt'
import type { Clock } from '../common/clock.js'
import { randomIds, type IdGenerator } from '../common/ids.js'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { LakehouseErrorCode } from '../lakehouse/error-codes.js'
import type { AuthErrorCode } from './error-codes.js'
import { isRole, type Role } from './roles.js'

/** Largest token accepted, in UTF-16 code units (our tokens are well under 1 KiB). */
export const MAX_TOKEN_LENGTH = 8 * 1024
/** Default clock-skew leeway in seconds. */
export const DEFAULT_LEEWAY_SECONDS = 30
/** Largest leeway allowed (RFC 7519 asks for "no more than a few minutes"; we cap at 60 s). */
export const MAX_LEEWAY_SECONDS = 60
/** Default number of verified tokens remembered by a {@link TokenService}. */
export const DEFAULT_VERIFIED_CACHE_SIZE = 16_384
/** Longest token lifetime `sign` accepts: 366 days. */
export const MAX_TTL_SECONDS = 366 * 24 * 3600

/** Options of a {@link TokenService}. */
export interface TokenServiceOptions {
  /** The HS256 key (at least 32 random bytes in production; the configuration enforces it). */
  readonly secret: Uint8Array
  /** `iss` of issued tokens, required on verification. */
  readonly issuer: string
  /** `aud` of issued tokens, required on verification. */
  readonly audience: string
  /** Time source for `iat`/`exp` and for verification. */
  readonly clock: Clock
  /** Accepted clock skew in seconds, 0 to {@link MAX_LEEWAY_SECONDS}; default 30. */
  readonly leewaySeconds?: number
  /** Source of `jti` values (128 random bits each by default). */
  readonly ids?: IdGenerator
  /**
   * How many verified tokens to remember (0 turns the memory off); default
   * {@link DEFAULT_VERIFIED_CACHE_SIZE}.
   */
  readonly verifiedCacheSize?: number
}

/** What a caller puts into an access token. */
export interface AccessTokenInput {
  /** The user id. */
  readonly sub: string
  /** The session id (lets the session be revoked server-side). */
  readonly sid: string
  /** A role name; checked against the known roles when signing. */
  readonly role: string
  readonly username: string
}

/** The verified claims of an access token. */
export interface AccessClaims {
  /** The user id. */
  readonly sub: string
  /** The session id. */
  readonly sid: string
  readonly role: Role
  readonly username: string
  /** Issued at, seconds since the epoch. */
  readonly iat: number
  /** Expires at, seconds since the epoch. */
  readonly exp: number
  /** Unique token id. */
  readonly jti: string
}

/** Claims that passed every check but the time-based ones (what the verified-token map holds). */
interface VerifiedClaims extends AccessClaims {
  readonly nbf: number | undefined
}

/** Result of {@link TokenService.sign}. */
export interface SignResult {
  readonly token: string
  readonly jti: string
  /** Expiry in milliseconds since the epoch (`exp` × 1000). */
  readonly expiresAt: number
}

/** Why a token was refused (`context.reason` of the error; for logs, never for clients). */
export type TokenFailureReason =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'header'
  | 'type'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'not-yet-valid'
  | 'expired'

const KEY_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const
const JWT_TYP = /^(?:application\/)?jwt$/i
const JTI_BYTES = 16
/** Characters of a base64url HMAC-SHA256 (32 bytes, unpadded). */
const MAC_CHARS = 43
/** base64url digits whose two low bits are zero: the canonical last character of a MAC. */
const CANONICAL_MAC_END: ReadonlySet<string> = new Set('AEIMQUYcgkosw048')
/** A segment in the base64url alphabet (fast-jwt's check, for the direct path). */
const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/

type Verifier = (token: string) => { header: Record<string, unknown>; payload: unknown }
type Signer = (payload: Record<string, unknown>) => string

function configFail(message: string): never {
  const code: LakehouseErrorCode = 'CONFIG_INVALID'
  throw new LakehouseError(code, message)
}

function reject(reason: TokenFailureReason): never {
  const code: AuthErrorCode = reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN'
  throw new LakehouseError(
    code,
    reason === 'expired' ? 'auth: the token has expired' : 'auth: the token is invalid',
    { context: { reason } },
  )
}

function reasonOf(error: unknown): TokenFailureReason {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case TOKEN_ERROR_CODES.invalidAlgorithm:
    case TOKEN_ERROR_CODES.missingSignature:
    case TOKEN_ERROR_CODES.invalidKey:
      return 'algorithm'
    case TOKEN_ERROR_CODES.invalidSignature:
      return 'signature'
    case TOKEN_ERROR_CODES.invalidCritHeader:
      return 'header'
    default:
      return 'malformed'
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

/**
 * Signs and verifies the service's access tokens. Create one per secret at start-up; both
 * operations are synchronous and allocation-light (verification is the hot path of every
 * authenticated request).
 * @example
 * ```ts
 * const tokens = new TokenService({
 *   secret, issuer: config.jwtIssuer, audience: config.jwtAudience, clock: systemClock,
 * })
 * const { token } = tokens.sign({ sub: userId, sid, role: 'registered', username }, 3600)
 * const claims = tokens.verify(bearer) // throws INVALID_TOKEN / TOKEN_EXPIRED
 * ```
 */
export class TokenService {
  readonly issuer: string
  readonly audience: string
  readonly leewaySeconds: number
  readonly #clock: Clock
  readonly #ids: IdGenerator
  readonly #sign: Signer
  readonly #verify: Verifier
  readonly #key: Buffer
  /** The header segment plus its dot, exactly as `sign` writes it. */
  readonly #ownHeader: string
  /** Verified tokens, oldest first (see the module documentation). */
  readonly #verified = new Map<string, VerifiedClaims>()
  readonly #verifiedCacheSize: number

  /**
   * @param options - secret, issuer, audience, clock, leeway
   * @throws LakehouseError `CONFIG_INVALID` when the secret is empty, not bytes, or a PEM or JWK
   *   key, the issuer or audience is empty, the leeway is not an integer from 0 to 60, or the
   *   cache size is not a non-negative integer
   */
  constructor(options: TokenServiceOptions) {
    const { secret, issuer, audience, clock } = options
    const leeway = options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS
    if (!(secret instanceof Uint8Array) || secret.byteLength === 0) {
      configFail('auth: the JWT secret must be non-empty bytes')
    }
    if (!isNonEmptyString(issuer)) configFail('auth: the JWT issuer must be a non-empty string')
    if (!isNonEmptyString(audience)) configFail('auth: the JWT audience must be a non-empty string')
    if (!Number.isInteger(leeway) || leeway < 0 || leeway > MAX_LEEWAY_SECONDS) {
      configFail(
        `auth: the JWT leeway must be an integer from 0 to ${MAX_LEEWAY_SECONDS} seconds (got ${String(leeway)})`,
      )
    }
    const cacheSize = options.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      configFail('auth: the verified-token cache size must be a non-negative integer')
    }
    this.#verifiedCacheSize = cacheSize
    this.issuer = issuer
    this.audience = audience
    this.leewaySeconds = leeway
    this.#clock = clock
    this.#ids = options.ids ?? randomIds
    // A private copy: later changes to the caller's array must not change the key.
    const key = Buffer.from(secret)
    // A public key (PEM or JWK) configured as the HMAC secret would let anyone sign tokens.
    if (key.includes('-----BEGIN') || key.includes('"kty"')) {
      configFail(
        'auth: the JWT secret looks like a PEM or JWK key; HS256 needs random secret bytes',
      )
    }
    try {
      this.#sign = createSigner<Record<string, unknown>>({ key, algorithm: 'HS256' })
      // Time-based claims are checked below against the injected clock: fast-jwt only takes a
      // clock per verifier, and a verifier per call would redo the key setup.
      this.#verify = createVerifier<string>({
        key,
        algorithms: ['HS256'],
        complete: true,
        cache: false,
        ignoreExpiration: true,
        ignoreNotBefore: true,
      })
    } catch (error) {
      // fast-jwt validates its options as well; keep its refusal a configuration error.
      const code: LakehouseErrorCode = 'CONFIG_INVALID'
      throw new LakehouseError(code, 'auth: the JWT secret is not usable for HS256', {
        cause: error,
      })
    }
    this.#key = key
    const sample = this.#sign({})
    this.#ownHeader = sample.slice(0, sample.indexOf('.') + 1)
  }

  /**
   * Issues an access token with `iss`, `aud`, `iat` (now), `exp` (now + ttl) and a fresh `jti`.
   * @param claims - subject, session, role and username
   * @param ttlSeconds - lifetime, a whole number of seconds from 1 to {@link MAX_TTL_SECONDS}
   * @returns the token, its `jti` and its expiry in milliseconds since the epoch
   * @throws LakehouseError `CONFIG_INVALID` when `ttlSeconds` is out of range or `sub`, `sid`
   *   or `username` is not a non-empty string; `INVALID_ROLE` when `role` is not a known role
   */
  sign(claims: AccessTokenInput, ttlSeconds: number): SignResult {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      configFail(`auth: token lifetime must be 1 to ${MAX_TTL_SECONDS} seconds`)
    }
    const { sub, sid, role, username } = claims
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid) || !isNonEmptyString(username)) {
      configFail('auth: token claims sub, sid and username must be non-empty strings')
    }
    const roleCode: AuthErrorCode = 'INVALID_ROLE'
    if (!isRole(role)) throw new LakehouseError(roleCode, 'auth: unknown role')
    const iat = Math.floor(this.#clock.now() / 1000)
    const exp = iat + ttlSeconds
    const jti = this.#ids.token(JTI_BYTES)
    const token = this.#sign({
      iss: this.issuer,
      aud: this.audience,
      sub,
      sid,
      role,
      username,
      iat,
      exp,
      jti,
    })
    return { token, jti, expiresAt: exp * 1000 }
  }

  /**
   * Verifies an access token (see the module documentation for every check).
   * @param token - the untrusted bearer value (any type)
   * @returns the verified, type-checked claims
   * @throws LakehouseError `TOKEN_EXPIRED` when the token expired more than the leeway ago;
   *   `INVALID_TOKEN` for everything else, with `context.reason` a {@link TokenFailureReason}
   */
  verify(token: unknown): AccessClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) reject('malformed')
    const cached = this.#verified.get(token)
    if (cached !== undefined) return this.#checkTimes(cached)
    // Exactly three non-empty segments. fast-jwt then checks each segment against the base64url
    // alphabet before it parses JSON or computes a MAC; a regex here would repeat that scan on
    // the hot path.
    const firstDot = token.indexOf('.')
    const lastDot = token.lastIndexOf('.')
    if (
      firstDot < 1 ||
      lastDot - firstDot < 2 ||
      lastDot === token.length - 1 ||
      token.indexOf('.', firstDot + 1) !== lastDot
    ) {
      reject('malformed')
    }
    const ownHeader = firstDot + 1 === this.#ownHeader.length && token.startsWith(this.#ownHeader)
    let header: Record<string, unknown> | undefined
    let payload: unknown
    if (ownHeader) {
      payload = this.#verifyOwnHeader(token, firstDot, lastDot)
    } else {
      try {
        ;({ header, payload } = this.#verify(token))
      } catch (error) {
        reject(reasonOf(error))
      }
    }
    // The base64url of a 32-byte MAC has 4 spare bits in its last character, which decoders
    // ignore: refuse the non-canonical spellings so that every token has exactly one (a stored
    // hash of the token, or a denylist of them, cannot be dodged by re-spelling it).
    if (token.length - lastDot !== MAC_CHARS + 1 || !CANONICAL_MAC_END.has(token.at(-1) ?? '')) {
      reject('signature')
    }
    // The signature is valid from here on: these checks catch our own tokens of another kind
    // (another typ, issuer or audience) and anything signed with a leaked or shared key. Our
    // own header has typ JWT and no key headers.
    if (header !== undefined) {
      const typ = header.typ
      if (typ !== undefined && (typeof typ !== 'string' || !JWT_TYP.test(typ))) reject('type')
      for (const name of KEY_HEADERS) if (name in header) reject('header')
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      reject('malformed')
    }
    const p = payload as Record<string, unknown>
    if (p.iss !== this.issuer) reject('issuer')
    const aud = p.aud
    if (aud !== this.audience && !(Array.isArray(aud) && aud.includes(this.audience))) {
      reject('audience')
    }
    const { sub, sid, role, username, iat, exp, nbf, jti } = p
    if (
      typeof exp !== 'number' ||
      !Number.isFinite(exp) ||
      typeof iat !== 'number' ||
      !Number.isFinite(iat) ||
      (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) ||
      !isNonEmptyString(sub) ||
      !isNonEmptyString(sid) ||
      !isNonEmptyString(username) ||
      !isNonEmptyString(jti) ||
      !isRole(role)
    ) {
      reject('claims')
    }
    const claims: VerifiedClaims = { sub, sid, role, username, iat, exp, jti, nbf }
    if (this.#verifiedCacheSize > 0) {
      if (this.#verified.size >= this.#verifiedCacheSize) {
        const oldest = this.#verified.keys().next()
        if (oldest.done !== true) this.#verified.delete(oldest.value)
      }
      this.#verified.set(token, claims)
    }
    return this.#checkTimes(claims)
  }

  /** The time checks, run on every verification: `iat` and `nbf` not in the future, `exp`. */
  #checkTimes(claims: VerifiedClaims): AccessClaims {
    const { sub, sid, role, username, iat, exp, jti, nbf } = claims
    const now = this.#clock.now() / 1000
    const leeway = this.leewaySeconds
    if (iat > now + leeway || (nbf !== undefined && nbf > now + leeway)) reject('not-yet-valid')
    // RFC 7519 §4.1.4: the current time must be before exp (strictly), give or take leeway.
    if (now >= exp + leeway) reject('expired')
    return { sub, sid, role, username, iat, exp, jti }
  }

  /**
   * fast-jwt's decoding and signature check for a token with our own header: the payload and
   * signature alphabets, the payload as a JSON object, then the HMAC, in that order and with the
   * same reasons (the header needs no decoding: its content is known).
   * @returns the payload, an object
   */
  #verifyOwnHeader(token: string, firstDot: number, lastDot: number): object {
    const payloadSegment = token.slice(firstDot + 1, lastDot)
    const signatureSegment = token.slice(lastDot + 1)
    if (!BASE64URL_SEGMENT.test(payloadSegment)) reject('malformed')
    if (!BASE64URL_SEGMENT.test(signatureSegment)) reject('signature')
    let payload: unknown
    try {
      payload = JSON.parse(Buffer.from(payloadSegment, 'base64').toString('utf-8'))
    } catch {
      reject('malformed')
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      reject('malformed')
    }
    const mac = createHmac('sha256', this.#key).update(token.slice(0, lastDot)).digest()
    const signature = Buffer.from(signatureSegment, 'base64')
    if (signature.length !== mac.length || !timingSafeEqual(mac, signature)) reject('signature')
    return payload
  }
}

/**
 * Password hashing: the {@link PasswordHasher} contract, the production {@link Argon2Hasher}
 * (argon2id through `@node-rs/argon2`, standard PHC strings, OWASP parameters by default) and
 * the test-only {@link FastTestHasher}.
 *
 * Hashers hash exactly the string they are given, encoded as UTF-8: normalization (NFKC) and the
 * policy are the caller's job (`password-policy.ts`), so that hashing and verifying see the same
 * bytes.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  hash as argon2Hash,
  parseOptions,
  verify as argon2Verify,
  type Algorithm,
  type Options,
  type Version,
} from '@node-rs/argon2'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { Argon2Params } from '../lakehouse/lakehouse-config.js'
import { OWASP_ARGON2 } from '../lakehouse/lakehouse-config.js'
import type { LakehouseErrorCode } from '../lakehouse/error-codes.js'
import type { AuthErrorCode } from './error-codes.js'

/**
 * Hashes and verifies passwords. Implementations guarantee:
 * - `hash` salts every hash with at least 128 random bits and returns a self-describing string
 *   (algorithm, parameters, salt and digest), so parameters can change without a migration;
 * - `verify` compares in constant time, never throws for a malformed or foreign hash (it
 *   returns false), and never truncates the password;
 * - `needsRehash` is true when a hash was not made with the current algorithm and parameters,
 *   so the caller rehashes after the next successful login.
 */
export interface PasswordHasher {
  /** Hashes `password` (already normalized) with a fresh random salt. */
  hash(password: string): Promise<string>
  /** Whether `password` matches `hash`; false for malformed hashes. */
  verify(hash: string, password: string): Promise<boolean>
  /** Whether `hash` should be replaced by a hash with the current parameters. */
  needsRehash(hash: string): boolean
}

// `Algorithm` and `Version` are ambient const enums, which isolatedModules cannot read.
const ARGON2ID = 2 as Algorithm
const VERSION_0X13 = 1 as Version
const OUTPUT_BYTES = 32
const SALT_BYTES = 16
const LONE_SURROGATE = /\p{Cs}/u

function configFail(message: string): never {
  const code: LakehouseErrorCode = 'CONFIG_INVALID'
  throw new LakehouseError(code, message)
}

function checkHashable(password: unknown): asserts password is string {
  const code: AuthErrorCode = 'INVALID_PASSWORD'
  if (typeof password !== 'string') {
    throw new LakehouseError(code, 'auth: password must be a string', {
      context: { reason: 'type' },
    })
  }
  // UTF-8 encoding would silently turn a lone surrogate into U+FFFD.
  if (LONE_SURROGATE.test(password)) {
    throw new LakehouseError(code, 'auth: password is not valid UTF-16 (lone surrogate)', {
      context: { reason: 'encoding' },
    })
  }
}

function isVerifiable(hash: unknown, password: unknown): hash is string {
  return typeof hash === 'string' && typeof password === 'string' && !LONE_SURROGATE.test(password)
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    configFail(
      `auth: argon2 ${name} must be an integer between ${min} and ${max} (got ${String(value)})`,
    )
  }
}

/**
 * argon2id password hashing with explicit parameters, producing standard PHC strings
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) that other argon2 implementations verify.
 * About 12 ms per hash or verify at the OWASP parameters on the reference machine.
 * @example
 * ```ts
 * const hasher = new Argon2Hasher(config.argon2)
 * const stored = await hasher.hash(checkPassword(input, { username, email }))
 * if (await hasher.verify(stored, normalizePassword(attempt)) && hasher.needsRehash(stored)) {
 *   // store await hasher.hash(...) again
 * }
 * ```
 */
export class Argon2Hasher implements PasswordHasher {
  readonly params: Argon2Params
  readonly #options: Options
  #dummy: Promise<string> | undefined

  /**
   * @param params - argon2id memory (KiB), time and parallelism costs; OWASP minimum by default
   * @throws LakehouseError `CONFIG_INVALID` when a parameter is not a positive integer in range
   */
  constructor(params: Argon2Params = OWASP_ARGON2) {
    checkInteger('parallelism', params.parallelism, 1, 255)
    checkInteger('timeCost', params.timeCost, 1, 100)
    checkInteger('memoryCost', params.memoryCost, 8 * params.parallelism, 4 * 1024 * 1024)
    this.params = Object.freeze({
      memoryCost: params.memoryCost,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    })
    this.#options = {
      algorithm: ARGON2ID,
      version: VERSION_0X13,
      memoryCost: params.memoryCost,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
      outputLen: OUTPUT_BYTES,
    }
  }

  /**
   * @param password - the normalized password
   * @returns a PHC string with a fresh 128-bit salt
   * @throws LakehouseError `INVALID_PASSWORD` when `password` is not a string or contains a lone
   *   surrogate
   */
  async hash(password: string): Promise<string> {
    checkHashable(password)
    return await argon2Hash(password, this.#options)
  }

  /**
   * @param hash - a stored PHC string (any argon2 variant and parameters)
   * @param password - the normalized candidate password
   * @returns whether they match; false for malformed hashes, never throws
   */
  async verify(hash: string, password: string): Promise<boolean> {
    if (!isVerifiable(hash, password)) return false
    try {
      return await argon2Verify(hash, password)
    } catch {
      // A malformed or unsupported hash is a non-match, not an outage: the caller answers
      // "invalid credentials" either way, and a corrupt row must not become a 500.
      return false
    }
  }

  /**
   * @param hash - a stored hash
   * @returns true when it is not argon2id v1.3 with exactly this instance's parameters, a
   *   32-byte output and a salt of at least 16 bytes, or cannot be parsed
   */
  needsRehash(hash: string): boolean {
    if (typeof hash !== 'string') return true
    try {
      const parsed = parseOptions(hash)
      return (
        parsed.algorithm !== ARGON2ID ||
        parsed.version !== VERSION_0X13 ||
        parsed.memoryCost !== this.params.memoryCost ||
        parsed.timeCost !== this.params.timeCost ||
        parsed.parallelism !== this.params.parallelism ||
        parsed.outputLen !== OUTPUT_BYTES ||
        parsed.saltLen < SALT_BYTES
      )
    } catch {
      return true
    }
  }

  /**
   * A hash of a random password with this instance's parameters, computed once and reused: verify
   * against it when the user is unknown so that the response takes as long as for a wrong
   * password (no account enumeration by timing).
   * @returns the dummy hash
   */
  dummyHash(): Promise<string> {
    this.#dummy ??= this.hash(randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.#dummy = undefined
      throw error
    })
    return this.#dummy
  }
}

const FAST_HASH = /^\$fast\$c=([1-9][0-9]{0,2})\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/

/**
 * A fast hasher for unit tests only: iterated HMAC-SHA256 keyed with a random 128-bit salt, in a
 * PHC-like string `$fast$c=<iterations>$<salt>$<digest>`. It is far too cheap to resist offline
 * guessing: never configure it in production.
 *
 * `needsRehash` is true for any hash that is not `$fast$` with this instance's iteration count,
 * so tests can exercise rehash-on-login by changing `iterations`.
 */
export class FastTestHasher implements PasswordHasher {
  readonly iterations: number
  #dummy: Promise<string> | undefined

  /**
   * @param iterations - HMAC iterations, 1 to 999 (default 1)
   * @throws LakehouseError `CONFIG_INVALID` when `iterations` is out of range
   */
  constructor(iterations = 1) {
    checkInteger('iterations', iterations, 1, 999)
    this.iterations = iterations
  }

  /**
   * @param password - the normalized password
   * @returns a `$fast$` hash with a fresh random salt
   * @throws LakehouseError `INVALID_PASSWORD` when `password` is not a string or contains a lone
   *   surrogate
   */
  hash(password: string): Promise<string> {
    return Promise.resolve().then(() => {
      checkHashable(password)
      const salt = randomBytes(SALT_BYTES)
      const digest = fastDigest(salt, password, this.iterations)
      return `$fast$c=${this.iterations}$${salt.toString('base64url')}$${digest.toString('base64url')}`
    })
  }

  /**
   * @param hash - a `$fast$` hash
   * @param password - the candidate password
   * @returns whether they match; false for malformed hashes, never throws
   */
  verify(hash: string, password: string): Promise<boolean> {
    return Promise.resolve().then(() => {
      const m = isVerifiable(hash, password) ? FAST_HASH.exec(hash) : null
      if (!m) return false
      const salt = Buffer.from(m[2] ?? '', 'base64url')
      const expected = Buffer.from(m[3] ?? '', 'base64url')
      const actual = fastDigest(salt, password, Number(m[1]))
      return expected.length === actual.length && timingSafeEqual(expected, actual)
    })
  }

  /**
   * @param hash - a stored hash
   * @returns true unless it is a well-formed `$fast$` hash with this instance's iterations
   */
  needsRehash(hash: string): boolean {
    const m = typeof hash === 'string' ? FAST_HASH.exec(hash) : null
    return !m || Number(m[1]) !== this.iterations
  }

  /**
   * A hash of a random password, computed once per instance (see {@link Argon2Hasher.dummyHash}).
   * @returns the dummy hash
   */
  dummyHash(): Promise<string> {
    this.#dummy ??= this.hash(randomBytes(32).toString('base64url'))
    return this.#dummy
  }
}

function fastDigest(salt: Buffer, password: string, iterations: number): Buffer {
  let digest = createHmac('sha256', salt).update(password, 'utf8').digest()
  for (let i = 1; i < iterations; i++) digest = createHmac('sha256', salt).update(digest).digest()
  return digest
}

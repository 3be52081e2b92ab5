/**
 * The password policy of NIST SP 800-63B and OWASP ASVS 5 (V6.2): a length floor and ceiling, a
 * blocklist of commonly breached passwords, and no similarity to the account's own identifiers.
 * There are no composition rules (no "one digit, one symbol"), no case changes, no trimming and
 * no truncation: every character the user typed is hashed, after NFKC normalization so that
 * equivalent Unicode spellings of one password match.
 *
 * NUL (U+0000) is refused rather than accepted: C-string code (bcrypt implementations, some
 * hashing tools used in migrations) stops at the first NUL, so refusing it guarantees that
 * `abc\0def` can never be stored and later matched by `abc`, whatever hasher is behind us.
 * Every other character, including spaces and emoji, is allowed.
 *
 * The blocklist is the `passwords-common` list of `@zxcvbn-ts/language-common` (tens of
 * thousands of passwords from breach corpora, lowercase), loaded lazily on first use (call
 * {@link commonPasswordCount} at start-up to load it early). A password is common
 * when, compared case-insensitively, it is on the list; or is a listed password with only
 * digits, punctuation and symbols added before or after it ("password123456", "!dragon2024"),
 * the first mangling rule every cracking tool tries; or repeats a short unit or a listed
 * password ("99999999", "abcabcabc"), the "repetitive characters" NIST names. The list itself
 * leaves repetitions to zxcvbn's pattern matchers, which we do not use.
 * @module
 */
import { createRequire } from 'node:module'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { AuthErrorCode } from './error-codes.js'

/** Least number of code points of a password (after NFKC). */
export const PASSWORD_MIN_LENGTH = 8
/** Greatest number of UTF-8 bytes of a password (after NFKC). */
export const PASSWORD_MAX_BYTES = 1024

/** Identifiers of the account a password is for; a password equal to any of them is refused. */
export interface PasswordContext {
  readonly username?: string
  readonly email?: string
}

/** The npm package that ships the blocklist, and the dictionary inside it. */
const LIST_PACKAGE = '@zxcvbn-ts/language-common'
const LIST_NAME = 'passwords-common'
/** A list shorter than this is not the one we expect (ASVS 6.2.4 asks for the top 3,000). */
const MIN_LIST_SIZE = 10_000
/** Listed passwords shorter than this are not used as a base for the affix rule. */
const MIN_BASE_LENGTH = 4
/** A password repeating a unit of at most this many characters is refused ("abababab"). */
const MAX_REPEATED_UNIT = 4

const AFFIX_CHAR = /^[\p{Nd}\p{P}\p{S}]$/u

interface CommonPasswords {
  readonly entries: ReadonlySet<string>
  /** Code points of the longest entry. */
  readonly maxLength: number
}

let commonPasswords: CommonPasswords | undefined

function fail(code: AuthErrorCode, message: string, reason: string): never {
  throw new LakehouseError(code, message, { context: { reason } })
}

/** Loads the blocklist once; synchronous so the policy stays a plain function. */
function loadCommonPasswords(): CommonPasswords {
  if (commonPasswords) return commonPasswords
  const require = createRequire(import.meta.url)
  let list: unknown
  try {
    const mod = require(LIST_PACKAGE) as { dictionary?: Record<string, unknown> }
    list = mod.dictionary?.[LIST_NAME]
  } catch (error) {
    throw new LakehouseError(
      'INTERNAL_ERROR',
      `auth: the common-password list (${LIST_PACKAGE}) cannot be loaded; reinstall dependencies`,
      { cause: error },
    )
  }
  if (
    !Array.isArray(list) ||
    list.length < MIN_LIST_SIZE ||
    !list.every((p): p is string => typeof p === 'string')
  ) {
    throw new LakehouseError(
      'INTERNAL_ERROR',
      `auth: ${LIST_PACKAGE} does not contain the expected "${LIST_NAME}" list`,
    )
  }
  const entries = new Set(list.map((p) => p.normalize('NFKC').toLowerCase()))
  let maxLength = 0
  for (const entry of entries) maxLength = Math.max(maxLength, [...entry].length)
  commonPasswords = { entries, maxLength }
  return commonPasswords
}

/**
 * Number of entries of the breached-password blocklist (loading it if needed).
 * @returns the number of distinct lowercase entries
 * @throws LakehouseError `INTERNAL_ERROR` when the list package is missing or malformed
 */
export function commonPasswordCount(): number {
  return loadCommonPasswords().entries.size
}

/** The shortest string that `text` repeats two or more times, if any ("abab" -> "ab"). */
function repeatedUnit(text: string): string | undefined {
  const n = text.length
  for (let size = 1; size <= n / 2; size++) {
    if (n % size === 0 && text.slice(0, size).repeat(n / size) === text) return text.slice(0, size)
  }
  return undefined
}

/**
 * Whether `password` is a commonly breached password: on the blocklist (case-insensitively),
 * a repetition of at most four characters or of a listed password ("aaaaaaaa", "abcabcabc",
 * "passwordpassword"), or a listed password of at least four characters with only digits,
 * punctuation and symbols added in front or behind.
 * @param password - the password, NFKC-normalized
 * @returns true when it must be refused
 * @throws LakehouseError `INTERNAL_ERROR` when the list package is missing or malformed
 */
export function isCommonPassword(password: string): boolean {
  const { entries, maxLength } = loadCommonPasswords()
  const lower = password.toLowerCase()
  if (entries.has(lower)) return true
  const unit = repeatedUnit(lower)
  if (unit !== undefined && ([...unit].length <= MAX_REPEATED_UNIT || entries.has(unit))) {
    return true
  }
  const chars = [...lower]
  const n = chars.length
  let lead = 0
  while (lead < n && AFFIX_CHAR.test(chars[lead] ?? '')) lead++
  let trail = 0
  while (trail < n && AFFIX_CHAR.test(chars[n - 1 - trail] ?? '')) trail++
  // Bases are list entries, so at most maxLength long: O(lead * maxLength) lookups at worst.
  for (let start = 0; start <= lead; start++) {
    const last = Math.min(n, start + maxLength)
    for (let end = Math.max(n - trail, start + MIN_BASE_LENGTH); end <= last; end++) {
      if (entries.has(chars.slice(start, end).join(''))) return true
    }
  }
  return false
}

function sameIdentifier(password: string, identifier: string | undefined): boolean {
  return identifier !== undefined && password === identifier.normalize('NFKC').toLowerCase()
}

/**
 * The checks every password goes through, new or attempted: a string, at most
 * {@link PASSWORD_MAX_BYTES} UTF-8 bytes (refused before any other work when the raw input is
 * already too long), no lone surrogate, no NUL; then NFKC. Use it on login attempts, where the
 * length floor and the blocklist must not apply (the stored password predates them).
 * @param password - the untrusted value from a request (any type)
 * @returns the NFKC-normalized password
 * @throws LakehouseError `INVALID_PASSWORD` (`context.reason`: `type`, `too-long`, `encoding`,
 *   `nul`)
 */
export function normalizePassword(password: unknown): string {
  if (typeof password !== 'string') {
    fail('INVALID_PASSWORD', 'auth: password must be a string', 'type')
  }
  // Every UTF-16 code unit is at least one UTF-8 byte: refuses huge input before any scan.
  if (password.length > PASSWORD_MAX_BYTES) {
    fail(
      'INVALID_PASSWORD',
      `auth: password must be at most ${PASSWORD_MAX_BYTES} bytes`,
      'too-long',
    )
  }
  if (/\p{Cs}/u.test(password)) {
    fail('INVALID_PASSWORD', 'auth: password is not valid UTF-16 (lone surrogate)', 'encoding')
  }
  if (password.includes('\u0000')) {
    fail('INVALID_PASSWORD', 'auth: password must not contain NUL (U+0000)', 'nul')
  }
  const normalized = password.normalize('NFKC')
  // NFKC can expand (one ligature becomes up to 18 characters), so measure again.
  if (Buffer.byteLength(normalized, 'utf8') > PASSWORD_MAX_BYTES) {
    fail(
      'INVALID_PASSWORD',
      `auth: password must be at most ${PASSWORD_MAX_BYTES} bytes`,
      'too-long',
    )
  }
  return normalized
}

/**
 * Checks a new password against the policy (see the module documentation) and returns the
 * form to hash. The password itself never appears in an error message or context.
 * @param password - the untrusted value from a request (any type)
 * @param context - the account's username and email, for the similarity check
 * @returns the NFKC-normalized password, to pass to the hasher
 * @throws LakehouseError `INVALID_PASSWORD` when {@link normalizePassword} refuses it or it is
 *   shorter than {@link PASSWORD_MIN_LENGTH} code points (`context.reason`: `too-short`);
 *   `WEAK_PASSWORD` when it is a common password (`common`) or equals the username, the email
 *   or the email's local part, case-insensitively (`context`); `INTERNAL_ERROR` when the
 *   blocklist package is missing
 */
export function checkPassword(password: unknown, context: PasswordContext): string {
  const normalized = normalizePassword(password)
  let length = 0
  for (const _ of normalized) length++
  if (length < PASSWORD_MIN_LENGTH) {
    fail(
      'INVALID_PASSWORD',
      `auth: password must be at least ${PASSWORD_MIN_LENGTH} characters (got ${length})`,
      'too-short',
    )
  }
  if (isCommonPassword(normalized)) {
    fail('WEAK_PASSWORD', 'auth: password is too common', 'common')
  }
  const lower = normalized.toLowerCase()
  const email = context.email
  const at = email?.lastIndexOf('@') ?? -1
  if (
    sameIdentifier(lower, context.username) ||
    sameIdentifier(lower, email) ||
    (email !== undefined && at > 0 && sameIdentifier(lower, email.slice(0, at)))
  ) {
    fail('WEAK_PASSWORD', 'auth: password must not be the username or email', 'context')
  }
  return normalized
}

/**
 * Validation and normalization of the identifiers users sign up and log in with: usernames and
 * email addresses. Both are NFKC-normalized and validated against an allowlist; each gets a
 * `key` under which uniqueness is enforced (case-insensitive), so "Alice" and "alice" are one
 * account. Nothing is ever trimmed or truncated: input that is not already clean is refused.
 *
 * Username rules (after NFKC):
 * - 3 to 32 code points of Unicode letters, decimal digits, combining marks (at most four,
 *   directly after a letter) and the punctuation `_`, `.`, `-`.
 * - Punctuation separates runs of letters and digits: no two punctuation characters in a row,
 *   no leading or trailing `.` or `-` (a leading or trailing `_` is allowed). Quotes,
 *   apostrophes, `@`, spaces and everything else are refused, so `o'neil` is not a username
 *   (`o_neil` or `oneil` is). This keeps names safe to show in URLs, logs and shells.
 * - No control, format (zero-width, bidi), private-use, unassigned or whitespace characters,
 *   no default-ignorable code points (invisible: variation selectors, the combining grapheme
 *   joiner, Hangul fillers; "admin" followed by one renders as "admin"), no lone surrogates,
 *   anywhere.
 * - Letters from one script, or the UTS #39 "highly restrictive" mixes of Latin with
 *   Chinese/Japanese/Korean; no whole-script lookalikes of ASCII names (see `confusables.ts`).
 *
 * Uniqueness: `key` (NFKC, then full case folding) is the value that must be unique.
 * `skeletonKey` ({@link usernameSkeleton}) is a stricter, lookalike-folding form ("paypa1",
 * "PAYPAl" and "pаypal" share one, so do "admin" and "adrnin"); enforcing uniqueness on it as
 * well as on `key` blocks impersonation by lookalikes within one script, at the cost of
 * refusing some harmless near-duplicates. It does not replace `key`: "ADMIN" and "admin" share
 * a key but not a skeleton.
 * @module
 */
import { domainToASCII } from 'node:url'
import { LakehouseError } from '../common/lakehouse-error.js'
import { classifyScripts, isWholeScriptConfusable, skeleton } from './confusables.js'
import type { AuthErrorCode } from './error-codes.js'

/** Least number of code points of a username (after NFKC). */
export const USERNAME_MIN_LENGTH = 3
/** Greatest number of code points of a username (after NFKC). */
export const USERNAME_MAX_LENGTH = 32
/** Greatest number of code points of an email address (RFC 5321 path limit, after NFKC). */
export const EMAIL_MAX_LENGTH = 254

/** Result of {@link normalizeUsername}. */
export interface NormalizedUsername {
  /** The username to store and display: the NFKC form of the input. */
  readonly username: string
  /** The uniqueness key: {@link usernameKey} of the username. */
  readonly key: string
  /**
   * The lookalike key: {@link usernameSkeleton} of the username. No two users should share
   * one; compare it with `usernameSkeleton(existing.username)` of the stored users.
   */
  readonly skeletonKey: string
}

/** Result of {@link normalizeEmail}. */
export interface NormalizedEmail {
  /** The address to store and send mail to: the NFKC form of the input. */
  readonly email: string
  /** The uniqueness key: lowercase local part, `@`, lowercase ASCII (punycode) domain. */
  readonly key: string
}

/** Input longer than this many UTF-16 code units is refused before normalization. */
const MAX_RAW_USERNAME = 8 * USERNAME_MAX_LENGTH
const MAX_RAW_EMAIL = 4 * EMAIL_MAX_LENGTH
const MAX_LOCAL_PART = 64
const MAX_LABEL = 63
const MAX_ASCII_DOMAIN = 253

// Control, format, lone surrogate, private use, unassigned, whitespace of any kind, and
// default-ignorable (invisible) code points: variation selectors, U+034F, Hangul fillers.
const FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{White_Space}\p{Z}\p{Default_Ignorable_Code_Point}]/u
const USERNAME_CHAR = /^[\p{L}\p{M}\p{Nd}._-]$/u
const UNIT = String.raw`(?:\p{L}\p{M}{0,4}|\p{Nd})`
// Each punctuation character is followed by a mandatory unit, so matching is linear.
const USERNAME = new RegExp(`^_?${UNIT}+(?:[._-]${UNIT}+)*_?$`, 'u')
const LOCAL_ATOM = /^[\p{L}\p{M}\p{Nd}!#$%&'*+/=?^_`{|}~-]+$/u
const DOMAIN_LABEL = /^[\p{L}\p{Nd}](?:[\p{L}\p{M}\p{Nd}-]*[\p{L}\p{M}\p{Nd}])?$/u
const ALL_DIGITS = /^\p{Nd}+$/u

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
}

function fail(code: AuthErrorCode, message: string, reason: string): never {
  throw new LakehouseError(code, message, { context: { reason } })
}

/** Refuses a forbidden character; the message names its code point, never the input. */
function checkForbidden(
  text: string,
  code: AuthErrorCode,
  what: string,
  cap: number,
  capReason: string,
): void {
  if (text.length > cap) fail(code, `auth: ${what} is too long`, capReason)
  const bad = FORBIDDEN.exec(text)
  if (bad) {
    const ch = bad[0]
    if (/\p{Cs}/u.test(ch))
      fail(code, `auth: ${what} is not valid UTF-16 (lone surrogate)`, 'encoding')
    fail(code, `auth: ${what} contains a forbidden character ${codePoint(ch)}`, 'character')
  }
}

function countCodePoints(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * Full case folding, approximated by upper- then lower-casing: "ß" becomes "ss", and a Greek
 * sigma gets its final or medial form by position, so "σ" and "ς" spellings fold alike.
 */
function fold(text: string): string {
  return text.toUpperCase().toLowerCase()
}

/**
 * The uniqueness key of a username: NFKC, then case folding, then NFKC again (folding can
 * denormalize). Applies no validation: for valid usernames it equals `normalizeUsername(x).key`;
 * it also serves to look up a login identifier without revealing why it is invalid.
 * @param username - any string
 * @returns the key
 */
export function usernameKey(username: string): string {
  return fold(username.normalize('NFKC')).normalize('NFKC')
}

/**
 * The lookalike-folded form of a username: a UTS #39 style skeleton (Cyrillic and Greek
 * lookalikes to Latin, `I` and `1` to `l`, `0` to `o`, `m` to `rn`, default-ignorable code
 * points dropped) that is also case-folded. Two usernames with equal skeletons can be mistaken
 * for each other; enforcing uniqueness on the skeleton as well as on {@link usernameKey}
 * prevents registering such a pair ("admin" then "adrnin", "paypal" then "paypa1").
 *
 * This is the lookalike uniqueness key: {@link normalizeUsername} returns it as `skeletonKey`,
 * and for a stored user it is `usernameSkeleton(user.username)` (stored usernames are NFKC, as
 * `normalizeUsername` returns them; the skeleton of a name and of its NFKC form are equal).
 * Applies no validation.
 * @param username - any string (normally a username accepted by {@link normalizeUsername})
 * @returns the skeleton; idempotent
 * @example
 * ```ts
 * usernameSkeleton('adrnin') === usernameSkeleton('admin') // true: both "adrnin"
 * usernameSkeleton('paypa1') === usernameSkeleton('PayPal') // true: both "paypal"
 * ```
 */
export function usernameSkeleton(username: string): string {
  // Printable ASCII, the common case, maps one character at a time (every step below does, and
  // their results for these characters are ASCII): a table lookup, about ten times faster,
  // which matters when the users view indexes a million names at open.
  let out = ''
  for (let i = 0; i < username.length; i++) {
    const mapped = ASCII_SKELETON[username.charCodeAt(i)]
    if (mapped === undefined) return generalSkeleton(username)
    out += mapped
  }
  return out
}

function generalSkeleton(username: string): string {
  // Decompose first so that a precomposed letter and its base + mark spelling map alike.
  return skeleton(fold(skeleton(username.normalize('NFKD')))).normalize('NFKC')
}

/** The skeleton of each printable ASCII character whose skeleton is ASCII, by char code. */
const ASCII_SKELETON: readonly (string | undefined)[] = Array.from({ length: 128 }, (_, c) => {
  if (c < 0x20 || c > 0x7e) return undefined
  const mapped = generalSkeleton(String.fromCharCode(c))
  return /^[\x20-\x7e]*$/.test(mapped) ? mapped : undefined
})

/**
 * Validates a username and returns its stored form and uniqueness key. See the module
 * documentation for the rules.
 * @param input - the untrusted value from a request (any type)
 * @returns the NFKC username, its key and its lookalike key
 * @throws LakehouseError `INVALID_USERNAME` when `input` is not a string or breaks a rule;
 *   `context.reason` is one of `type`, `length`, `encoding`, `character`, `format`, `script`,
 *   `mixed-script`, `confusable`
 * @example
 * ```ts
 * normalizeUsername('Alice_01') // { username: 'Alice_01', key: 'alice_01', skeletonKey: 'alice_ol' }
 * normalizeUsername('\u0430dmin') // throws: Cyrillic "а" mixed with Latin
 * ```
 */
export function normalizeUsername(input: unknown): NormalizedUsername {
  const code = 'INVALID_USERNAME'
  if (typeof input !== 'string') fail(code, 'auth: username must be a string', 'type')
  checkForbidden(input, code, 'username', MAX_RAW_USERNAME, 'length')
  const username = input.normalize('NFKC')
  checkForbidden(username, code, 'username', MAX_RAW_USERNAME, 'length')
  const length = countCodePoints(username)
  if (length < USERNAME_MIN_LENGTH || length > USERNAME_MAX_LENGTH) {
    fail(
      code,
      `auth: username must be ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters (got ${length})`,
      'length',
    )
  }
  if (!USERNAME.test(username)) {
    for (const ch of username) {
      if (!USERNAME_CHAR.test(ch)) {
        fail(code, `auth: username contains a disallowed character ${codePoint(ch)}`, 'character')
      }
    }
    fail(
      code,
      'auth: username must not start or end with "." or "-", repeat punctuation, or start with a combining mark',
      'format',
    )
  }
  const { verdict } = classifyScripts(username)
  if (verdict === 'unsupported') {
    fail(code, 'auth: username uses a script that is not supported for usernames', 'script')
  }
  if (verdict === 'mixed') {
    fail(code, 'auth: username mixes letters of different scripts', 'mixed-script')
  }
  if (isWholeScriptConfusable(username)) {
    fail(code, 'auth: username can be mistaken for a Latin-script name', 'confusable')
  }
  return { username, key: usernameKey(username), skeletonKey: usernameSkeleton(username) }
}

/**
 * Validates an email address and returns its stored form and uniqueness key.
 *
 * Accepted (after NFKC): `local@domain`, at most 254 characters, exactly one `@`. The local
 * part is a dot-atom of 1 to 64 characters: Unicode letters, combining marks, digits and
 * ``!#$%&'*+/=?^_`{|}~-``, separated by single dots. Quoted local parts (`"a b"@x.org`) and
 * IP-literal domains are not accepted. The domain has at least two dot-separated labels of 1 to
 * 63 letters, digits, marks or inner hyphens (internationalized names allowed, also checked in
 * their punycode form), and a top-level label that is not all digits. The local part and each
 * label must each be single-script (no Cyrillic "а" inside a Latin name). No control, format,
 * default-ignorable (invisible) or whitespace characters anywhere; surrounding whitespace is
 * refused, not trimmed.
 * @param input - the untrusted value from a request (any type)
 * @returns the NFKC address and its key (lowercase local part, `@`, lowercase ASCII domain)
 * @throws LakehouseError `INVALID_EMAIL` when `input` is not a string or breaks a rule;
 *   `context.reason` is one of `type`, `length`, `encoding`, `character`, `format`,
 *   `local-part`, `domain`, `script`, `mixed-script`
 */
export function normalizeEmail(input: unknown): NormalizedEmail {
  const code = 'INVALID_EMAIL'
  if (typeof input !== 'string') fail(code, 'auth: email must be a string', 'type')
  checkForbidden(input, code, 'email', MAX_RAW_EMAIL, 'length')
  const email = input.normalize('NFKC')
  checkForbidden(email, code, 'email', MAX_RAW_EMAIL, 'length')
  const length = countCodePoints(email)
  if (length > EMAIL_MAX_LENGTH) {
    fail(
      code,
      `auth: email must be at most ${EMAIL_MAX_LENGTH} characters (got ${length})`,
      'length',
    )
  }
  const at = email.indexOf('@')
  if (at < 0 || email.indexOf('@', at + 1) >= 0) {
    fail(code, 'auth: email must contain exactly one "@"', 'format')
  }
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)

  const localLength = countCodePoints(local)
  if (localLength < 1 || localLength > MAX_LOCAL_PART) {
    fail(code, `auth: email local part must be 1 to ${MAX_LOCAL_PART} characters`, 'local-part')
  }
  if (!local.split('.').every((atom) => LOCAL_ATOM.test(atom))) {
    fail(
      code,
      "auth: email local part must be dot-separated letters, digits and !#$%&'*+/=?^_`{|}~-",
      'local-part',
    )
  }

  const labels = domain.split('.')
  if (labels.length < 2) fail(code, 'auth: email domain needs at least two labels', 'domain')
  for (const label of labels) {
    if (countCodePoints(label) > MAX_LABEL || !DOMAIN_LABEL.test(label)) {
      fail(
        code,
        `auth: email domain labels must be 1 to ${MAX_LABEL} letters, digits or inner hyphens`,
        'domain',
      )
    }
  }
  if (ALL_DIGITS.test(labels[labels.length - 1] ?? '')) {
    fail(code, 'auth: email top-level domain must not be all digits', 'domain')
  }

  for (const part of [local, ...labels]) {
    const { verdict } = classifyScripts(part)
    if (verdict === 'unsupported') {
      fail(code, 'auth: email uses a script that is not supported', 'script')
    }
    if (verdict === 'mixed') {
      fail(code, 'auth: email mixes letters of different scripts in one part', 'mixed-script')
    }
  }

  // WHATWG/UTS #46 processing; '' when a label is not valid IDNA (e.g. a broken "xn--").
  const asciiDomain = domainToASCII(domain)
  if (
    asciiDomain === '' ||
    asciiDomain.length > MAX_ASCII_DOMAIN ||
    asciiDomain.split('.').some((label) => label.length > MAX_LABEL)
  ) {
    fail(code, 'auth: email domain is not a valid internationalized domain name', 'domain')
  }
  return { email, key: `${local.toLowerCase()}@${asciiDomain.toLowerCase()}` }
}

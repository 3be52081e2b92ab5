import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  checkPassword,
  commonPasswordCount,
  isCommonPassword,
  normalizePassword,
  PASSWORD_MAX_BYTES,
} from '../../src/auth/password-policy.js'
import { thrown } from '../support/thrown.js'

const account = { username: 'Quillfeather_9', email: 'Alice.Smith@Example.com' }

describe('checkPassword', () => {
  it.each<[string, unknown, string, string]>([
    ['a number', 12345678, 'INVALID_PASSWORD', 'type'],
    ['an array', ['correct horse battery'], 'INVALID_PASSWORD', 'type'],
    ['an object', { $ne: null }, 'INVALID_PASSWORD', 'type'],
    ['null', null, 'INVALID_PASSWORD', 'type'],
    ['the empty string', '', 'INVALID_PASSWORD', 'too-short'],
    ['7 characters', 'xk3#pq9', 'INVALID_PASSWORD', 'too-short'],
    ['7 code points in 14 UTF-16 units', '\u{1F40E}'.repeat(7), 'INVALID_PASSWORD', 'too-short'],
    ['1,025 ASCII bytes', 'x'.repeat(PASSWORD_MAX_BYTES + 1), 'INVALID_PASSWORD', 'too-long'],
    ['1,026 UTF-8 bytes in 513 characters', '\u00E9'.repeat(513), 'INVALID_PASSWORD', 'too-long'],
    [
      'a ligature that NFKC expands past the limit',
      '\uFDFA'.repeat(60),
      'INVALID_PASSWORD',
      'too-long',
    ],
    ['a lone surrogate', 'correct horse\uD800', 'INVALID_PASSWORD', 'encoding'],
    ['NUL (never truncated; refused)', 'abc\u0000defghij', 'INVALID_PASSWORD', 'nul'],
    ['a breached password', 'password123456', 'WEAK_PASSWORD', 'common'],
    ['a breached password in capitals', 'PASSWORD', 'WEAK_PASSWORD', 'common'],
    [
      'a breached password in fullwidth forms',
      '\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44',
      'WEAK_PASSWORD',
      'common',
    ],
    ['a breached password with digits appended', 'iloveyou2024', 'WEAK_PASSWORD', 'common'],
    ['a breached password wrapped in symbols', '!!dragon!!', 'WEAK_PASSWORD', 'common'],
    ['the username', 'Quillfeather_9', 'WEAK_PASSWORD', 'context'],
    ['the username in another case', 'QUILLFEATHER_9', 'WEAK_PASSWORD', 'context'],
    ['one repeated character', '99999999', 'WEAK_PASSWORD', 'common'],
    ['a repeated short unit', 'abcabcabc', 'WEAK_PASSWORD', 'common'],
    ['a repeated common password', 'monkeymonkey', 'WEAK_PASSWORD', 'common'],
    ['the email', 'alice.smith@example.com', 'WEAK_PASSWORD', 'context'],
    ['the email local part', 'ALICE.SMITH', 'WEAK_PASSWORD', 'context'],
  ])('rejects %s', (_name, password, code, reason) => {
    const error = thrown(() => checkPassword(password, account))
    expect(error.code).toBe(code)
    expect(error.context.reason).toBe(reason)
    if (typeof password === 'string' && password !== '') {
      expect(error.message).not.toContain(password)
      expect(JSON.stringify(error.context)).not.toContain(password)
    }
  })

  it.each<[string, string]>([
    ['a passphrase with spaces and an emoji', 'correct horse battery staple \u{1F40E}'],
    ['exactly 8 characters', 'xk3#pq9!'],
    ['8 emoji', '\u{1F40E}\u{1F98A}\u{1F419}\u{1F335}\u{1F344}\u{1F6B2}\u{1F388}\u{1F9ED}'],
    ['no composition at all', 'zzzyyyxxxwww'],
    ['leading and trailing spaces (kept)', '  tulip meadow  '],
    ['other control characters', 'tab\tseparated\nline'],
    ['exactly 1,024 bytes', randomBytes(768).toString('base64')],
    ['two words that are each common', 'correcthorse'],
    ['a common password inside a longer one', 'my password is not 123456'],
  ])('accepts %s, unchanged', (_name, password) => {
    expect(checkPassword(password, account)).toBe(password)
  })

  it('returns the NFKC form to hash', () => {
    expect(checkPassword('\uFF34ulip \uFB01eld 2024', account)).toBe('Tulip field 2024')
    expect(checkPassword('Cafe\u0301 au lait', account)).toBe('Caf\u00E9 au lait')
  })

  it('accepts a password equal to the username when no context is given', () => {
    expect(checkPassword('Quillfeather_9', {})).toBe('Quillfeather_9')
  })

  it('rejects a 1 MB password quickly, before any other work', () => {
    const huge = 'a'.repeat(1024 * 1024)
    const started = performance.now()
    const error = thrown(() => checkPassword(huge, account))
    expect(performance.now() - started).toBeLessThan(50)
    expect(error.context.reason).toBe('too-long')
  })
})

describe('normalizePassword', () => {
  it('applies the encoding and size checks but not the length floor or blocklist', () => {
    expect(normalizePassword('abc')).toBe('abc')
    expect(normalizePassword('password')).toBe('password')
    expect(thrown(() => normalizePassword('abc\u0000def')).context.reason).toBe('nul')
    expect(thrown(() => normalizePassword(42)).context.reason).toBe('type')
  })
})

describe('common password list', () => {
  it('holds at least 10,000 breached passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000)
  })

  it.each<[string, boolean]>([
    ['123456', true],
    ['qwerty', true],
    ['Password1', true],
    ['trustno1', true],
    ['password123456', true],
    ['2024!monkey', true],
    ['correct horse battery staple', false],
    ['Tr0ub4dor&3', false],
    ['zebra7cactus', false],
    ['zzzzzzzzzz', true],
    ['hunter2hunter2', true],
    ['quokkaquokka', false],
  ])('isCommonPassword(%j) is %s', (password, expected) => {
    expect(isCommonPassword(password)).toBe(expected)
  })

  it('checks a maximal all-digit password quickly', () => {
    const started = performance.now()
    expect(isCommonPassword('9'.repeat(PASSWORD_MAX_BYTES))).toBe(true)
    expect(isCommonPassword('7'.repeat(PASSWORD_MAX_BYTES - 1) + 'x')).toBe(false)
    expect(performance.now() - started).toBeLessThan(200)
  })
})

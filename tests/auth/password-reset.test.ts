import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_RESET_TTL_SECONDS,
  ResetTokens,
  type ResetTokensOptions,
} from '../../src/auth/password-reset.js'
import { TokenService } from '../../src/auth/tokens.js'
import { thrown } from '../support/thrown.js'

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0)
const SECRET = randomBytes(32)
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo'

function clockAt(ms = NOW_MS): { ms: number; now: () => number } {
  const clock = { ms, now: () => clock.ms }
  return clock
}

function tokens(overrides: Partial<ResetTokensOptions> = {}): ResetTokens {
  return new ResetTokens({ secret: SECRET, clock: clockAt(), ...overrides })
}

/** A reset token with any payload text, MAC-ed with the key the module derives (the protocol). */
function macBody(text: string): string {
  const key = Buffer.from(
    hkdfSync('sha256', SECRET, Buffer.alloc(0), 'polarway-lakehouse password reset v1', 32),
  )
  const body = Buffer.from(text).toString('base64url')
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}

/** A reset token with any JSON payload (the attacker who knows the key). */
const craft = (payload: unknown): string => macBody(JSON.stringify(payload))

function reason(fn: () => unknown): string | undefined {
  const error = thrown(fn)
  expect(error.code).toBe('INVALID_TOKEN')
  return error.context.reason as string | undefined
}

const VALID = {
  typ: 'pwreset',
  sub: 'user-1',
  pwb: tokens().binding(HASH),
  iat: NOW_MS / 1000,
  exp: NOW_MS / 1000 + 600,
  jti: 'abc',
}

describe('ResetTokens', () => {
  it('issues a token that verifies to its user, binding and lifetime', () => {
    const t = tokens()
    const issued = t.issue('user-1', HASH)
    expect(issued.expiresAt).toBe(NOW_MS + DEFAULT_RESET_TTL_SECONDS * 1000)
    const claims = t.verify(issued.token)
    expect(claims).toMatchObject({ sub: 'user-1', iat: NOW_MS / 1000 })
    expect(claims.exp - claims.iat).toBe(3600)
    expect(t.binds(claims, HASH)).toBe(true)
    expect(t.binds(claims, `${HASH}x`)).toBe(false)
    expect(issued.token.split('.')).toHaveLength(2)
    expect(issued.token).not.toContain(HASH)
    // The binding is keyed: nothing in the token is a function of the hash alone.
    expect(t.binding(HASH)).not.toBe(tokens({ secret: randomBytes(32) }).binding(HASH))
  })

  it('gives two tokens issued in the same second different values', () => {
    const t = tokens()
    expect(t.issue('user-1', HASH).token).not.toBe(t.issue('user-1', HASH).token)
  })

  it('accepts a token of another instance with the same secret, not of another secret', () => {
    const token = tokens().issue('user-1', HASH).token
    expect(tokens().verify(token).sub).toBe('user-1')
    expect(reason(() => tokens({ secret: randomBytes(32) }).verify(token))).toBe('signature')
  })

  it('expires exactly at exp and refuses an iat beyond the skew allowance', () => {
    const clock = clockAt()
    const t = tokens({ clock, ttlSeconds: 120 })
    const { token } = t.issue('user-1', HASH)
    clock.ms += 119_999
    expect(t.verify(token).sub).toBe('user-1')
    clock.ms += 1
    expect(thrown(() => t.verify(token)).code).toBe('TOKEN_EXPIRED')
    const ahead = craft({ ...VALID, iat: NOW_MS / 1000 + 61, exp: NOW_MS / 1000 + 600 })
    expect(reason(() => tokens().verify(ahead))).toBe('not-yet-valid')
    expect(tokens().verify(craft({ ...VALID, iat: NOW_MS / 1000 + 60 })).sub).toBe('user-1')
  })

  it.each([
    ['not a string', 42, 'malformed'],
    ['empty', '', 'malformed'],
    ['one segment', 'abc', 'malformed'],
    ['three segments (an access token shape)', 'a.b.c', 'malformed'],
    ['too long', `${'a'.repeat(2000)}.${'b'.repeat(43)}`, 'malformed'],
    ['bad alphabet', `a*b.${'b'.repeat(43)}`, 'malformed'],
    ['a wrong MAC', `${craft(VALID).split('.')[0]}.${'A'.repeat(43)}`, 'signature'],
    ['another typ', craft({ ...VALID, typ: 'access' }), 'claims'],
    ['a missing sub', craft({ ...VALID, sub: undefined }), 'claims'],
    ['a string exp', craft({ ...VALID, exp: String(VALID.exp) }), 'claims'],
    ['an array payload', craft([VALID]), 'claims'],
    ['a payload that is not JSON', macBody('{not json'), 'claims'],
  ])('refuses %s', (_what, token, why) => {
    expect(reason(() => tokens().verify(token))).toBe(why)
  })

  it('refuses every alteration of a valid token (property)', () => {
    const t = tokens()
    const { token } = t.issue('user-1', HASH)
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.string({ minLength: 0, maxLength: 3 }),
        fc.nat({ max: 3 }),
        (at, insert, remove) => {
          const altered = token.slice(0, at) + insert + token.slice(at + remove)
          fc.pre(altered !== token)
          const error = thrown(() => t.verify(altered))
          expect(error.code).toBe('INVALID_TOKEN')
          expect(error.message).not.toContain(token)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('never mixes with access tokens: neither verifies as the other', () => {
    const clock = clockAt()
    const access = new TokenService({
      secret: SECRET,
      issuer: 'polarway-lakehouse',
      audience: 'polarway-api',
      clock,
    })
    const resets = tokens({ clock })
    const signed = access.sign({ sub: 'user-1', sid: 's', role: 'admin', username: 'u' }, 600)
    expect(reason(() => resets.verify(signed.token))).toBe('malformed')
    const reset = resets.issue('user-1', HASH).token
    expect(thrown(() => access.verify(reset)).code).toBe('INVALID_TOKEN')
    // A reset payload MAC-ed with the raw secret (the access-token key) is refused too.
    const body = reset.split('.')[0] ?? ''
    const rawKeyMac = createHmac('sha256', SECRET).update(body).digest('base64url')
    expect(reason(() => resets.verify(`${body}.${rawKeyMac}`))).toBe('signature')
  })

  it('refuses lifetimes out of range', () => {
    for (const ttlSeconds of [0, 59, 86_401, 1.5, Number.NaN]) {
      expect(thrown(() => tokens({ ttlSeconds })).code).toBe('CONFIG_INVALID')
    }
  })
})

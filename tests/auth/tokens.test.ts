import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/common/clock.js'
import { TokenService, type TokenServiceOptions } from '../../src/auth/tokens.js'
import { thrown } from '../support/thrown.js'

const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0)
const NOW = NOW_MS / 1000
const SECRET = randomBytes(32)
const ISSUER = 'polarway-lakehouse'
const AUDIENCE = 'polarway-api'

function fixedClock(ms = NOW_MS): Clock & { ms: number } {
  const clock = { ms, now: () => clock.ms }
  return clock
}

function service(overrides: Partial<TokenServiceOptions> = {}): TokenService {
  return new TokenService({
    secret: SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: fixedClock(),
    ...overrides,
  })
}

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

type Sign = (input: string) => string
const hmac =
  (algorithm: string, key: string | Buffer): Sign =>
  (input) =>
    createHmac(algorithm, key).update(input).digest('base64url')

/** A compact JWS of any header and payload, signed by `sign` (the attacker's toolbox). */
function craft(header: unknown, payload: unknown, sign: Sign = hmac('sha256', SECRET)): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(input)}`
}

const HEADER = { alg: 'HS256', typ: 'JWT' }
const CLAIMS = { sub: 'user-1', sid: 'session-1', role: 'trader', username: 'alice' } as const
function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...CLAIMS,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: NOW - 60,
    exp: NOW + 3600,
    jti: 'jti-1',
    ...overrides,
  }
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()

describe('TokenService', () => {
  it('signs a token that verifies to the same claims', () => {
    const tokens = service()
    const { token, jti, expiresAt } = tokens.sign(CLAIMS, 900)
    const claims = tokens.verify(token)
    expect(claims).toEqual({ ...CLAIMS, iat: NOW, exp: NOW + 900, jti })
    expect(expiresAt).toBe((NOW + 900) * 1000)
    expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/) // 128 random bits
    const [header, body] = token
      .split('.')
      .slice(0, 2)
      .map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()) as unknown)
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(body).toMatchObject({ iss: ISSUER, aud: AUDIENCE })
  })

  it('issues a fresh jti for every token', () => {
    const tokens = service()
    expect(tokens.sign(CLAIMS, 60).jti).not.toBe(tokens.sign(CLAIMS, 60).jti)
  })

  it.each<[string, string]>([
    ['no typ header', craft({ alg: 'HS256' }, payload())],
    ['typ "jwt" in lower case', craft({ alg: 'HS256', typ: 'jwt' }, payload())],
    ['typ "application/JWT"', craft({ alg: 'HS256', typ: 'application/JWT' }, payload())],
    ['a kid header (ignored: one key)', craft({ ...HEADER, kid: '../../etc/passwd' }, payload())],
    ['an audience array that contains ours', craft(HEADER, payload({ aud: ['other', AUDIENCE] }))],
    ['nbf in the past', craft(HEADER, payload({ nbf: NOW - 10 }))],
    ['nbf 20 s ahead, within the leeway', craft(HEADER, payload({ nbf: NOW + 20 }))],
    ['iat 20 s ahead, within the leeway', craft(HEADER, payload({ iat: NOW + 20 }))],
    ['exp 29 s ago, within the default 30 s leeway', craft(HEADER, payload({ exp: NOW - 29 }))],
    [
      'extra claims (ignored)',
      craft(HEADER, payload({ admin: true, __proto__: { role: 'admin' } })),
    ],
  ])('accepts a token with %s', (_name, token) => {
    expect(service().verify(token)).toMatchObject(CLAIMS)
  })

  it('accepts exp 30 s ago with a 60 s leeway (standards case 25)', () => {
    expect(
      service({ leewaySeconds: 60 }).verify(craft(HEADER, payload({ exp: NOW - 30 }))),
    ).toMatchObject(CLAIMS)
  })

  it.each<[string, number, number]>([
    ['exactly at the leeway boundary', 30, 30],
    ['5 minutes ago with a 60 s leeway (standards case 25)', 300, 60],
    ['1 s ago without leeway', 1, 0],
  ])('throws TOKEN_EXPIRED for exp %s', (_name, agoSeconds, leewaySeconds) => {
    const token = craft(HEADER, payload({ exp: NOW - agoSeconds, iat: NOW - 3600 }))
    const error = thrown(() => service({ leewaySeconds }).verify(token))
    expect(error.code).toBe('TOKEN_EXPIRED')
    expect(error.context.reason).toBe('expired')
  })

  it('expires a signed token when the clock passes exp plus leeway', () => {
    const clock = fixedClock()
    const tokens = service({ clock })
    const { token } = tokens.sign(CLAIMS, 60)
    clock.ms += 89_000
    expect(tokens.verify(token).sub).toBe('user-1')
    clock.ms += 1_000
    expect(thrown(() => tokens.verify(token)).code).toBe('TOKEN_EXPIRED')
  })

  it.each<[string, unknown, string]>([
    // Standards case 22: alg "none", with and without a signature.
    [
      'alg none, empty signature',
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload())}.`,
      'malformed',
    ],
    ['alg none, with a signature', craft({ alg: 'none', typ: 'JWT' }, payload()), 'algorithm'],
    ['alg "None"', craft({ alg: 'None' }, payload()), 'algorithm'],
    ['no alg', craft({ typ: 'JWT' }, payload()), 'algorithm'],
    // Standards case 23: HS256 with another key.
    [
      'HS256 with another key',
      craft(HEADER, payload(), hmac('sha256', randomBytes(32))),
      'signature',
    ],
    // Standards case 24: other algorithms, and the RS256 -> HS256 key confusion.
    [
      'HS384 with our key',
      craft({ alg: 'HS384', typ: 'JWT' }, payload(), hmac('sha384', SECRET)),
      'algorithm',
    ],
    [
      'HS512 with our key',
      craft({ alg: 'HS512', typ: 'JWT' }, payload(), hmac('sha512', SECRET)),
      'algorithm',
    ],
    [
      'RS256',
      craft({ alg: 'RS256', typ: 'JWT' }, payload(), (input) =>
        cryptoSign('sha256', Buffer.from(input), rsa.privateKey).toString('base64url'),
      ),
      'algorithm',
    ],
    [
      'ES256',
      craft({ alg: 'ES256', typ: 'JWT' }, payload(), (input) =>
        cryptoSign('sha256', Buffer.from(input), {
          key: ec.privateKey,
          dsaEncoding: 'ieee-p1363',
        }).toString('base64url'),
      ),
      'algorithm',
    ],
    [
      'HS256 keyed with an RSA public key',
      craft(HEADER, payload(), hmac('sha256', rsaPublicPem)),
      'signature',
    ],
    ['RS256 header over our HMAC', craft({ alg: 'RS256', typ: 'JWT' }, payload()), 'algorithm'],
    // Standards case 26: missing or mistyped time claims, and claims from the future.
    ['no exp', craft(HEADER, payload({ exp: undefined })), 'claims'],
    ['a string exp', craft(HEADER, payload({ exp: String(NOW + 3600) })), 'claims'],
    ['a null exp', craft(HEADER, payload({ exp: null })), 'claims'],
    ['no iat', craft(HEADER, payload({ iat: undefined })), 'claims'],
    ['a string nbf', craft(HEADER, payload({ nbf: 'now' })), 'claims'],
    ['nbf 2 minutes ahead', craft(HEADER, payload({ nbf: NOW + 120 })), 'not-yet-valid'],
    ['iat 2 minutes ahead', craft(HEADER, payload({ iat: NOW + 120 })), 'not-yet-valid'],
    // Standards case 27: wrong issuer, audience or type (a reset token is not an access token).
    ['another issuer', craft(HEADER, payload({ iss: 'evil' })), 'issuer'],
    ['no issuer', craft(HEADER, payload({ iss: undefined })), 'issuer'],
    ['another audience', craft(HEADER, payload({ aud: 'reset' })), 'audience'],
    ['an audience array without ours', craft(HEADER, payload({ aud: ['a', 'b'] })), 'audience'],
    ['no audience', craft(HEADER, payload({ aud: undefined })), 'audience'],
    ['typ "reset+jwt"', craft({ alg: 'HS256', typ: 'reset+jwt' }, payload()), 'type'],
    ['typ "at+jwt"', craft({ alg: 'HS256', typ: 'at+jwt' }, payload()), 'type'],
    ['a numeric typ', craft({ alg: 'HS256', typ: 1 }, payload()), 'type'],
    // Key-carrying headers and critical extensions.
    [
      'a jku header',
      craft({ ...HEADER, jku: 'https://evil.example/jwks.json' }, payload()),
      'header',
    ],
    ['a jwk header', craft({ ...HEADER, jwk: { kty: 'oct', k: 'AAAA' } }, payload()), 'header'],
    ['an x5u header', craft({ ...HEADER, x5u: 'https://evil.example/cert' }, payload()), 'header'],
    ['an x5c header', craft({ ...HEADER, x5c: ['MIIB'] }, payload()), 'header'],
    ['a crit header', craft({ ...HEADER, crit: ['exp'], exp: 1 }, payload()), 'header'],
    // Claims we return must be well-typed.
    ['an unknown role', craft(HEADER, payload({ role: 'root' })), 'claims'],
    ['no sub', craft(HEADER, payload({ sub: undefined })), 'claims'],
    ['a numeric sub', craft(HEADER, payload({ sub: 42 })), 'claims'],
    ['an empty sid', craft(HEADER, payload({ sid: '' })), 'claims'],
    ['no jti', craft(HEADER, payload({ jti: undefined })), 'claims'],
    ['no username', craft(HEADER, payload({ username: undefined })), 'claims'],
    // Standards case 29 and other malformed input: never a crash.
    ['two segments', `${b64(HEADER)}.${b64(payload())}`, 'malformed'],
    ['four segments', `${craft(HEADER, payload())}.${b64('x')}`, 'malformed'],
    [
      'an empty header segment',
      `.${b64(payload())}.${hmac('sha256', SECRET)(`.${b64(payload())}`)}`,
      'malformed',
    ],
    [
      'base64 "+" and "/" in the signature',
      craft(HEADER, payload()).replace(/.$/, '+/'),
      'signature',
    ],
    ['a "+" in the payload segment', craft(HEADER, payload()).replace('.', '.+'), 'malformed'],
    ['a "/" in the header segment', `/${craft(HEADER, payload())}`, 'malformed'],
    ['base64 padding', `${craft(HEADER, payload())}=`, 'signature'],
    ['whitespace', ` ${craft(HEADER, payload())}`, 'malformed'],
    ['a 100 kB token', craft(HEADER, payload({ pad: 'x'.repeat(100_000) })), 'malformed'],
    ['a header that is not JSON', craft('{not json', payload()), 'malformed'],
    ['a payload that is not JSON', craft(HEADER, 'not json'), 'malformed'],
    ['a header that is an array', craft(['HS256'], payload()), 'malformed'],
    ['a payload that is an array', craft(HEADER, [payload()]), 'malformed'],
    ['a payload that is a string', craft(HEADER, '"sub"'), 'malformed'],
    ['a payload that is a number', craft(HEADER, '42'), 'malformed'],
    ['a payload that is null', craft(HEADER, 'null'), 'malformed'],
    ['the empty string', '', 'malformed'],
    ['undefined', undefined, 'malformed'],
    ['null', null, 'malformed'],
    ['a number', 42, 'malformed'],
    ['an object', { token: craft(HEADER, payload()) }, 'malformed'],
    ['a Buffer', Buffer.from(craft(HEADER, payload())), 'malformed'],
    ['an array of segments', craft(HEADER, payload()).split('.'), 'malformed'],
  ])('throws INVALID_TOKEN for %s', (_name, token, reason) => {
    const error = thrown(() => service().verify(token))
    expect(error.code).toBe('INVALID_TOKEN')
    expect(error.context.reason).toBe(reason)
    expect(error.message).toBe('auth: the token is invalid')
    if (typeof token === 'string' && token !== '') {
      expect(JSON.stringify(error.context)).not.toContain(token)
    }
  })

  it('refuses non-canonical spellings of a valid signature', () => {
    const tokens = service()
    const { token } = tokens.sign(CLAIMS, 60)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(token.at(-1)!)
    for (let spare = 1; spare < 4; spare++) {
      const respelled = token.slice(0, -1) + alphabet[last + spare]
      expect(Buffer.from(respelled.split('.')[2]!, 'base64url')).toEqual(
        Buffer.from(token.split('.')[2]!, 'base64url'),
      )
      expect(thrown(() => tokens.verify(respelled)).context.reason).toBe('signature')
    }
  })

  it('rejects every single-character change of a valid token', () => {
    const tokens = service()
    const { token } = tokens.sign(CLAIMS, 60)
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue
      const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
      expect(thrown(() => tokens.verify(changed)).code).toBe('INVALID_TOKEN')
    }
  })

  it('rejects tokens of a service with another secret', () => {
    const { token } = service({ secret: randomBytes(32) }).sign(CLAIMS, 60)
    expect(thrown(() => service().verify(token)).context.reason).toBe('signature')
  })

  it('keeps its own copy of the secret', () => {
    const secret = Uint8Array.from(SECRET)
    const tokens = service({ secret })
    const { token } = tokens.sign(CLAIMS, 60)
    secret.fill(0)
    expect(tokens.verify(token).sub).toBe('user-1')
  })

  it.each<[string, Partial<TokenServiceOptions>]>([
    ['an empty secret', { secret: new Uint8Array() }],
    ['a string secret', { secret: 'x'.repeat(32) as unknown as Uint8Array }],
    ['an RSA public key as secret', { secret: Buffer.from(rsaPublicPem) }],
    [
      'an RSA public JWK as secret',
      { secret: Buffer.from(JSON.stringify(rsa.publicKey.export({ format: 'jwk' }))) },
    ],
    ['an empty issuer', { issuer: '' }],
    ['an empty audience', { audience: '' }],
    ['a leeway above 60 s', { leewaySeconds: 61 }],
    ['a negative leeway', { leewaySeconds: -1 }],
    ['a fractional leeway', { leewaySeconds: 1.5 }],
  ])('refuses %s at construction', (_name, overrides) => {
    expect(thrown(() => service(overrides)).code).toBe('CONFIG_INVALID')
  })

  it.each([0, -1, 1.5, Number.NaN, 366 * 24 * 3600 + 1])(
    'refuses a lifetime of %s seconds',
    (ttl) => {
      expect(thrown(() => service().sign(CLAIMS, ttl)).code).toBe('CONFIG_INVALID')
    },
  )

  it('refuses to sign an unknown role or empty claims', () => {
    expect(thrown(() => service().sign({ ...CLAIMS, role: 'root' }, 60)).code).toBe('INVALID_ROLE')
    expect(thrown(() => service().sign({ ...CLAIMS, sub: '' }, 60)).code).toBe('CONFIG_INVALID')
  })
})

describe('verified-token memory', () => {
  const claims = { sub: 'u1', sid: 's1', role: 'registered', username: 'alice' }

  it('still applies exp to a remembered token', () => {
    const clock = fixedClock()
    const s = service({ clock })
    const { token } = s.sign(claims, 60)
    expect(s.verify(token).sub).toBe('u1')
    expect(s.verify(token).sub).toBe('u1')
    clock.ms += (60 + s.leewaySeconds) * 1000
    expect(thrown(() => s.verify(token)).code).toBe('TOKEN_EXPIRED')
  })

  it('still applies nbf to a remembered token', () => {
    const clock = fixedClock()
    const s = service({ clock })
    const early = craft(
      { alg: 'HS256', typ: 'JWT' },
      {
        ...claims,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: NOW,
        nbf: NOW + 600,
        exp: NOW + 3600,
        jti: 'j1',
      },
    )
    expect(thrown(() => s.verify(early)).context.reason).toBe('not-yet-valid')
    expect(thrown(() => s.verify(early)).context.reason).toBe('not-yet-valid')
    clock.ms += 600_000
    expect(s.verify(early).jti).toBe('j1')
  })

  it('never remembers a refused token, so a tampered copy stays refused', () => {
    const s = service()
    const { token } = s.sign(claims, 60)
    const tampered = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`
    expect(thrown(() => s.verify(tampered)).context.reason).toBe('signature')
    expect(s.verify(token).sub).toBe('u1')
    expect(thrown(() => s.verify(tampered)).context.reason).toBe('signature')
  })

  it('is bounded and can be turned off, with the same verdicts', () => {
    for (const verifiedCacheSize of [0, 2]) {
      const s = service({ verifiedCacheSize })
      const tokens = Array.from({ length: 5 }, (_, i) => s.sign({ ...claims, sub: `u${i}` }, 60))
      for (let round = 0; round < 3; round++) {
        tokens.forEach(({ token }, i) => expect(s.verify(token).sub).toBe(`u${i}`))
      }
    }
    expect(thrown(() => service({ verifiedCacheSize: -1 })).code).toBe('CONFIG_INVALID')
    expect(thrown(() => service({ verifiedCacheSize: 1.5 })).code).toBe('CONFIG_INVALID')
  })

  it('does not carry verdicts over to a service with another key', () => {
    const s = service()
    const { token } = s.sign(claims, 60)
    s.verify(token)
    const rotated = service({ secret: randomBytes(32) })
    expect(thrown(() => rotated.verify(token)).context.reason).toBe('signature')
  })
})

/**
 * The attack cases of the standards file (`../shared/research/auth-standards.md`, section 4),
 * by their numbers, run against the real AuthService over a real local lakehouse. Cases that
 * belong to later issue areas (HTTP status mapping, GDPR erasure, audit hash chain, session
 * listing) are listed with `it.skip` and the area they wait for.
 *
 * The domain has no HTTP status codes: "400" is a validation code (`INVALID_*`), "401" is
 * `INVALID_CREDENTIALS`/`INVALID_TOKEN`/`TOKEN_EXPIRED`, "403" is `FORBIDDEN` or an account
 * state code, "409" is `USER_EXISTS`, "429" is `ACCOUNT_LOCKED`.
 */
import { createHash, createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuthService, LoginResult } from '../../src/auth/auth-service.js'
import { hasPermission } from '../../src/auth/roles.js'
import type { LakehouseError } from '../../src/common/lakehouse-error.js'
import { and, col } from '../../src/delta/expr/expression.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import type { UserRecord } from '../../src/lakehouse/rows.js'
import {
  adminAndUser,
  CountingHasher,
  expectError,
  fakeClock,
  openInstance,
  PASSWORD,
  type FakeClock,
  type InstanceOptions,
  type TestInstance,
} from '../lakehouse/support/test-lakehouse.js'
import { makeTempDir } from '../support/temp.js'

interface World {
  readonly inst: TestInstance
  readonly auth: AuthService
  readonly clock: FakeClock
  readonly admin: UserRecord
  readonly register: (name: string, password?: string, tier?: string) => Promise<UserRecord>
  readonly approved: (name: string, tier?: string) => Promise<UserRecord>
}

async function world(clock = fakeClock(), options: InstanceOptions = {}): Promise<World> {
  const inst = await openInstance({ clock, ...options })
  const { auth } = inst
  const admin = await auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  const register = (name: string, password = PASSWORD, tier?: string): Promise<UserRecord> =>
    auth.register({ username: name, email: `${name}@example.com`, password, tier })
  return {
    inst,
    auth,
    clock,
    admin,
    register,
    approved: async (name, tier) =>
      auth.approveUser(admin.userId, (await register(name, PASSWORD, tier)).userId),
  }
}

let sharedWorld: Promise<World> | undefined
/**
 * One world shared by the cases that only read or are refused before any write (the tests of
 * a file run one after another), to keep the suite fast.
 */
const shared = (): Promise<World> => (sharedWorld ??= world())

/**
 * Two instances on one lakehouse that tail each other's failed logins every 20 ms, with the
 * options to open more.
 */
async function tailingInstances(prefix: string): Promise<{
  a: TestInstance
  b: TestInstance
  clock: FakeClock
  options: InstanceOptions
}> {
  const clock = fakeClock()
  const customize = (b: ReturnType<typeof LakehouseConfig.builder>): typeof b => b.refreshMs(20)
  const options = {
    dir: await makeTempDir(prefix),
    clock,
    customize,
    auth: { backgroundSync: true },
  }
  return { a: await openInstance(options), b: await openInstance(options), clock, options }
}

describe('attack cases: identifiers', () => {
  it('1: stores no predicate injection: the username is refused, the value never parsed', async () => {
    const { auth, inst, approved } = await world()
    await approved('alice')
    const users = await inst.store.version('users')
    await expectError(
      () => auth.register({ username: "a' OR '1'='1", email: 'x@example.com', password: PASSWORD }),
      'INVALID_USERNAME',
    )
    await expectError(() => auth.login("a' OR '1'='1", PASSWORD), 'INVALID_CREDENTIALS')
    await expectError(() => auth.login("alice' OR '1'='1", PASSWORD), 'INVALID_CREDENTIALS')
    // An apostrophe is legal in an email local part: stored literally, matched literally.
    const oneil = await auth.register({
      username: 'oneil',
      email: "o'neil@example.com",
      password: PASSWORD,
    })
    expect(oneil.email).toBe("o'neil@example.com")
    expect(await inst.store.query('users', col('email').eq("' OR '1'='1"))).toEqual([])
    const rows = await inst.store.query('users', col('email_key').eq("o'neil@example.com"))
    expect(rows.map((r) => r.user_id)).toEqual([oneil.userId])
    expect(await inst.store.version('users')).toBe(users + 1)
  })

  it.each([
    ['Cyrillic а in a Latin name', '\u0430dmin'],
    ['an all-Cyrillic lookalike', '\u0430\u0440\u0440\u0435'],
    ['a zero-width space', 'ad\u200Bmin'],
    ['a zero-width joiner', 'ad\u200Dmin'],
    ['a right-to-left override', '\u202Eadmin'],
    ['a trailing bidi override', 'admin\u202E'],
  ])('3: refuses %s in a username', async (_what, username) => {
    const { auth } = await shared()
    await expectError(
      () => auth.register({ username, email: 'm@example.com', password: PASSWORD }),
      'INVALID_USERNAME',
    )
  })

  it.each([
    ['a NUL', 'alice\u0000'],
    ['a lone surrogate', 'ali\uD800ce'],
    ['a replacement character (invalid UTF-8 decoded)', 'alice\uFFFD'],
  ])('4: refuses %s, never truncating', async (_what, username) => {
    const { auth } = await shared()
    const error = await expectError(
      () => auth.register({ username, email: 'a@example.com', password: PASSWORD }),
      'INVALID_USERNAME',
    )
    expect(error.message).not.toContain(username)
    expect(auth.findUser('alice')).toBeUndefined()
    expect(auth.findUser('ali')).toBeUndefined()
  })

  it.each([
    ['10 kB', 'a'.repeat(10_240)],
    ['empty', ''],
    ['blank', '   '],
  ])('5: refuses a %s username before hashing or touching a table', async (_what, username) => {
    const { auth, inst } = await shared()
    inst.hasher.reset()
    const version = await inst.store.version('users')
    await expectError(
      () => auth.register({ username, email: 'b@example.com', password: PASSWORD }),
      'INVALID_USERNAME',
    )
    expect(inst.hasher.hashCalls).toBe(0)
    expect(await inst.store.version('users')).toBe(version)
  })

  it.each<[string, unknown]>([
    ['an array', ['admin']],
    ['an object', { name: 'admin' }],
    ['a query operator', { $ne: null }],
    ['a number', 42],
    ['null', null],
  ])('6: refuses %s as a username and as a login identifier', async (_what, value) => {
    const { auth, inst } = await shared()
    await expectError(
      () => auth.register({ username: value, email: 'c@example.com', password: PASSWORD }),
      'INVALID_USERNAME',
    )
    inst.hasher.reset()
    await expectError(() => auth.login(value, PASSWORD), 'INVALID_CREDENTIALS')
    await expectError(() => auth.login('root_admin', value), 'INVALID_CREDENTIALS')
    expect(inst.hasher.verifyCalls).toBe(0)
  })

  it('7: ignores role, state and __proto__ fields in the signup body', async () => {
    const { auth } = await world()
    const body = JSON.parse(
      '{"username":"eve","email":"eve@example.com","password":"correct horse battery staple",' +
        '"role":"admin","is_active":true,"approved_by":"system","subscriptionTier":"professional",' +
        '"__proto__":{"role":"admin","tier":"professional"},' +
        '"preferences":{"__proto__":{"polluted":true}}}',
    ) as Record<string, unknown>
    const user = await auth.register(body as never)
    expect(user).toMatchObject({ role: 'pending', subscriptionTier: 'free', approvedBy: null })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).role).toBeUndefined()
  })

  it('8: keeps one user when many registrations of one name race on two instances', async () => {
    // The multi-process variant is tests/concurrency/auth-register.test.ts.
    const dir = await makeTempDir('race-')
    const a = await openInstance({ dir })
    const b = await openInstance({ dir })
    const attempts = Array.from({ length: 16 }, (_, i) =>
      (i % 2 === 0 ? a : b).auth.register({
        username: 'Contested',
        email: `contested${i}@example.com`,
        password: PASSWORD,
      }),
    )
    const results = await Promise.allSettled(attempts)
    const ok = results.filter((r) => r.status === 'fulfilled')
    const codes = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as LakehouseError).code] : [],
    )
    expect(ok).toHaveLength(1)
    expect(codes).toEqual(Array<string>(15).fill('USER_EXISTS'))
    const rows = await a.store.query('users', col('username_key').eq('contested'))
    expect(rows).toHaveLength(1)
    await Promise.all([a.close(), b.close()])
  })

  it('9: answers an existing email exactly like an existing username, after the same work', async () => {
    const { auth, inst, register } = await world()
    await register('frank')
    inst.hasher.reset()
    const byName = await expectError(
      () => auth.register({ username: 'frank', email: 'new@example.com', password: PASSWORD }),
      'USER_EXISTS',
    )
    expect(inst.hasher.hashCalls).toBe(1)
    inst.hasher.reset()
    const byEmail = await expectError(
      () => auth.register({ username: 'frank2', email: 'FRANK@example.com', password: PASSWORD }),
      'USER_EXISTS',
    )
    expect(inst.hasher.hashCalls).toBe(1)
    expect(byEmail.message).toBe(byName.message)
    expect(byEmail.context).toEqual(byName.context)
  })
  // A signup response that does not reveal the existing account at all (the same 201 as a new
  // signup) is an HTTP-layer decision: server issue area.
})

describe('attack cases: passwords', () => {
  it('10: refuses a 1 MB password fast, without hashing', async () => {
    const { auth, inst, approved } = await world()
    await approved('grace')
    const huge = 'p'.repeat(1024 * 1024)
    inst.hasher.reset()
    const started = performance.now()
    await expectError(
      () => auth.register({ username: 'henry', email: 'h@example.com', password: huge }),
      'INVALID_PASSWORD',
    )
    await expectError(() => auth.login('grace', huge), 'INVALID_CREDENTIALS')
    expect(performance.now() - started).toBeLessThan(500)
    expect(inst.hasher.hashCalls + inst.hasher.verifyCalls).toBe(0)
  })

  it.each([
    ['7 characters', 'ivy', 'abcdefg', 'INVALID_PASSWORD'],
    ['a breached password', 'ivy', 'password123456', 'WEAK_PASSWORD'],
    ['the username', 'ivy_longname', 'Ivy_Longname', 'WEAK_PASSWORD'],
    ['the email', 'ivy', 'ivy@example.com', 'WEAK_PASSWORD'],
  ])('11: refuses %s', async (_what, username, password, code) => {
    const { auth } = await shared()
    await expectError(
      () => auth.register({ username, email: `${username}@example.com`, password }),
      code,
    )
  })

  it('12: accepts a passphrase without composition rules', async () => {
    const { auth, register, admin } = await world()
    const pw = 'correct horse battery staple 🐎'
    const user = await register('jules', pw)
    await auth.approveUser(admin.userId, user.userId)
    expect((await auth.login('jules', pw)).user.userId).toBe(user.userId)
  })

  it('15: never stores a NUL, and a password with a NUL never matches its prefix', async () => {
    const { auth, approved } = await world()
    await expectError(
      () => auth.register({ username: 'kim', email: 'k@example.com', password: 'abc\0defghijk' }),
      'INVALID_PASSWORD',
    )
    const user = await approved('lou')
    await expectError(
      () => auth.changePassword(user.userId, PASSWORD, 'abc\0defghijk'),
      'INVALID_PASSWORD',
    )
    await expectError(() => auth.login('lou', `${PASSWORD}\0extra`), 'INVALID_CREDENTIALS')
    await expectError(() => auth.login('lou', PASSWORD.slice(0, 7)), 'INVALID_CREDENTIALS')
  })

  it('16: rehashes a hash with weaker parameters on the next login', async () => {
    const { inst, approved } = await world()
    const user = await approved('mia')
    await inst.close()
    const upgraded = await openInstance({ dir: inst.dir, auth: { hasher: new CountingHasher(3) } })
    await upgraded.auth.login('mia', PASSWORD)
    const [row] = await upgraded.store.query('users', col('user_id').eq(user.userId))
    expect(row?.password_hash).toMatch(/^\$fast\$c=3\$/)
    await upgraded.close()
    // The argon2id variant (m/t below the OWASP minimum) is in tests/integration.
  })
})

describe('attack cases: login and rate limits', () => {
  it('17: gives an unknown user and a wrong password the same answer after the same work', async () => {
    const { auth, inst, approved } = await world()
    await approved('nina')
    inst.hasher.reset()
    const wrong = await expectError(
      () => auth.login('nina', 'wrong password!'),
      'INVALID_CREDENTIALS',
    )
    const wrongWork = { hash: inst.hasher.hashCalls, verify: inst.hasher.verifyCalls }
    inst.hasher.reset()
    const unknown = await expectError(
      () => auth.login('nobody_here', 'wrong password!'),
      'INVALID_CREDENTIALS',
    )
    const unknownWork = { hash: inst.hasher.hashCalls, verify: inst.hasher.verifyCalls }
    expect(wrongWork).toEqual({ hash: 0, verify: 1 })
    // The dummy hash is computed when the service starts, not by the first unknown login.
    expect(unknownWork).toEqual(wrongWork)
    expect(unknown.message).toBe(wrong.message)
    expect(unknown.retryAfterSeconds).toBe(wrong.retryAfterSeconds)
  })

  it('17: stages and deletes the same session files whether the user is unknown, the password wrong or the account disabled', async () => {
    // The session files of a login are written while argon2id runs, and those writes slow it:
    // staging them for known accounts alone would tell them from unknown ones by time.
    const { auth, inst, admin, approved } = await world()
    await approved('olive')
    const off = await approved('otto')
    await auth.disableUser(admin.userId, off.userId)
    const sessionFiles = async (): Promise<string[]> =>
      (await fs.readdir(path.join(inst.dir, 'sessions'), { recursive: true }))
        .filter((f) => f.endsWith('.parquet') || f.includes('_delta_log'))
        .sort()
    const before = await sessionFiles()
    const version = await inst.store.version('sessions')
    const staged: { rows: readonly Record<string, unknown>[]; discarded: Promise<void> }[] = []
    const prepare = inst.store.prepareAppend.bind(inst.store)
    inst.store.prepareAppend = (name, rows, options) => {
      const prepared = prepare(name, rows, options)
      if (name !== 'sessions') return prepared
      const entry = { rows, discarded: new Promise<void>(() => undefined) }
      staged.push(entry)
      return {
        commit: () => prepared.commit(),
        discard: () => (entry.discarded = prepared.discard()),
      }
    }
    for (const [who, password] of [
      ['olive', 'wrong password!'],
      ['nobody_here', 'wrong password!'],
      ['nobody@example.com', 'wrong password!'],
      ['otto', PASSWORD],
      ['otto', 'wrong password!'],
    ] as const) {
      const code =
        who === 'otto' && password === PASSWORD ? 'ACCOUNT_DISABLED' : 'INVALID_CREDENTIALS'
      await expectError(() => auth.login(who, password), code)
    }
    expect(staged).toHaveLength(5)
    const columns = Object.keys(staged[0]!.rows[0]!).sort()
    for (const { rows } of staged) {
      expect(rows).toHaveLength(1)
      expect(Object.keys(rows[0]!).sort()).toEqual(columns)
      // A decoy never carries what was typed.
      expect(JSON.stringify(rows[0])).not.toContain('nobody')
    }
    await Promise.all(staged.map((s) => s.discarded))
    expect(await inst.store.version('sessions')).toBe(version)
    expect(await sessionFiles()).toEqual(before)
    // The decoy is not a user: a login that succeeds stages the real one.
    const ok = await auth.login('olive', PASSWORD)
    expect(staged[5]!.rows[0]!.session_id).toBe(ok.sessionId)
  })

  it('18: locks an account across instances after the configured failures', async () => {
    const { a, b, options } = await tailingInstances('lockout-')
    const user = await a.auth.bootstrapAdmin({
      username: 'olga',
      email: 'olga@example.com',
      password: PASSWORD,
    })
    await b.store.refresh()
    for (let i = 0; i < 10; i++) {
      const inst = i % 2 === 0 ? a : b
      await expectError(() => inst.auth.login('olga', `wrong ${i} password`), 'INVALID_CREDENTIALS')
    }
    // A new instance loads the failures of the window from the audit log at start.
    const c = await openInstance({ ...options, auth: { backgroundSync: false } })
    await expectError(() => c.auth.login('olga', PASSWORD), 'ACCOUNT_LOCKED')
    // Running instances counted 5 each themselves; the other 5 arrive by tailing the audit
    // log every refresh interval (20 ms here). A probe with the right password would reset the
    // count if it came too early, so wait a generous number of intervals first.
    await new Promise((resolve) => setTimeout(resolve, 750))
    for (const inst of [a, b]) {
      const locked = await expectError(() => inst.auth.login('olga', PASSWORD), 'ACCOUNT_LOCKED')
      expect(locked.retryAfterSeconds).toBe(15 * 60)
    }
    expect(a.auth.getUser(user.userId)?.lastLogin).toBeNull()
    await Promise.all([a.close(), b.close(), c.close()])
  })

  it('18: counts failures whose audit event could not be written (fails closed)', async () => {
    const { auth, inst, approved } = await world()
    await approved('quinn')
    const append = inst.store.append.bind(inst.store)
    inst.store.append = (name, rows, options) =>
      name === 'audit_log' && rows.some((r) => r.action === 'LOGIN_FAILED')
        ? Promise.reject(new Error('disk full'))
        : append(name, rows, options)
    for (let i = 0; i < 10; i++) {
      await expect(auth.login('quinn', `wrong guess ${i}`)).rejects.toThrow('disk full')
    }
    await expectError(() => auth.login('quinn', PASSWORD), 'ACCOUNT_LOCKED')
  })

  it('18: holds the limit against a burst of concurrent guesses', async () => {
    const { auth, approved } = await world()
    await approved('pat')
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => auth.login('pat', `guess number ${i}`)),
    )
    const codes = results.map((r) =>
      r.status === 'rejected' ? (r.reason as LakehouseError).code : 'OK',
    )
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS').length).toBeLessThanOrEqual(10)
    expect(codes.filter((c) => c === 'ACCOUNT_LOCKED').length).toBeGreaterThanOrEqual(20)
    await expectError(() => auth.login('pat', PASSWORD), 'ACCOUNT_LOCKED')
  })

  it('20: lockout still allows the owner to reset the password, and ends it on every instance', async () => {
    const { a, b, clock } = await tailingInstances('reset-lockout-')
    await a.auth.bootstrapAdmin({ username: 'rosa', email: 'rosa@example.com', password: PASSWORD })
    await b.store.refresh()
    for (let i = 0; i < 10; i++) {
      await expectError(() => a.auth.login('rosa', `wrong ${i} password`), 'INVALID_CREDENTIALS')
    }
    await expectError(() => a.auth.login('rosa', PASSWORD), 'ACCOUNT_LOCKED')
    // Instance b learns of the failures by tailing the audit log.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await expectError(() => b.auth.login('rosa', PASSWORD), 'ACCOUNT_LOCKED')
    clock.advance(60_000)
    const grant = await a.auth.requestPasswordReset('rosa@example.com')
    expect(grant).toBeDefined()
    const next = 'the owner is back in again'
    await a.auth.resetPassword(grant?.token, next)
    // No login happened since the failures: b may let the owner in only once it has tailed
    // the reset event (and refreshed its users view for the new hash).
    await new Promise((resolve) => setTimeout(resolve, 300))
    await b.store.refresh()
    expect((await b.auth.login('rosa', next)).user.username).toBe('rosa')
    expect((await a.auth.login('rosa', next)).user.username).toBe('rosa')
    await expectError(() => b.auth.login('rosa', PASSWORD), 'INVALID_CREDENTIALS')
    await Promise.all([a.close(), b.close()])
  })

  it('21: gives a pending user no privileges, an approved one the tier role, a rejected one none', async () => {
    const { auth, register, admin } = await world()
    const pending = await register('quentin', PASSWORD, 'pioneer')
    const { token } = await auth.login('quentin', PASSWORD)
    const asPending = auth.verifyToken(token)
    expect(asPending.role).toBe('pending')
    expect(hasPermission(asPending.role, 'registered')).toBe(false)
    await auth.approveUser(admin.userId, pending.userId)
    expect(auth.verifyToken(token).role).toBe('trader')
    const other = await register('rachel')
    await auth.rejectUser(admin.userId, other.userId)
    await expectError(() => auth.login('rachel', PASSWORD), 'ACCOUNT_REJECTED')
  })
})

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

function craft(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: (input: string) => string,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(input)}`
}

const hmac =
  (algorithm: string, key: string | Uint8Array) =>
  (input: string): string =>
    createHmac(algorithm, key).update(input).digest('base64url')

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()

describe('attack cases: JWT', () => {
  interface JwtWorld {
    readonly w: World
    readonly login: LoginResult
    readonly claims: Record<string, unknown>
    readonly secret: Uint8Array
    readonly now: number
  }

  let sharedJwt: Promise<JwtWorld> | undefined
  /** The world of the read-only forging cases, built once. */
  const sharedJwtWorld = (): Promise<JwtWorld> => (sharedJwt ??= jwtWorld())

  async function jwtWorld(): Promise<JwtWorld> {
    const w = await world()
    await w.approved('sam', 'pioneer')
    const login = await w.auth.login('sam', PASSWORD)
    const claims = JSON.parse(
      Buffer.from(login.token.split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>
    return {
      w,
      login,
      claims,
      secret: w.inst.store.jwtSecret,
      now: Math.floor(w.clock.now() / 1000),
    }
  }

  const HS256 = { alg: 'HS256', typ: 'JWT' }

  it('accepts a token crafted with the right key and claims (the control case)', async () => {
    const { w, claims, secret, login } = await sharedJwtWorld()
    const token = craft(HS256, { ...claims, jti: 'other' }, hmac('sha256', secret))
    expect(w.auth.verifyToken(token).sessionId).toBe(login.sessionId)
  })

  type Forge = (j: JwtWorld) => string
  it.each<[string, string, Forge]>([
    ['22', 'alg none', (j) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(j.claims)}.`],
    [
      '22',
      'alg none with a signature',
      (j) => craft({ alg: 'none' }, j.claims, hmac('sha256', j.secret)),
    ],
    [
      '23',
      'HS256 signed with another key',
      (j) => craft(HS256, j.claims, hmac('sha256', 'k'.repeat(32))),
    ],
    [
      '24',
      'HS384 with our key',
      (j) => craft({ alg: 'HS384' }, j.claims, hmac('sha384', j.secret)),
    ],
    [
      '24',
      'HS512 with our key',
      (j) => craft({ alg: 'HS512' }, j.claims, hmac('sha512', j.secret)),
    ],
    [
      '24',
      'RS256',
      (j) =>
        craft({ alg: 'RS256' }, j.claims, (i) =>
          cryptoSign('sha256', Buffer.from(i), rsa.privateKey).toString('base64url'),
        ),
    ],
    [
      '24',
      'ES256',
      (j) =>
        craft({ alg: 'ES256' }, j.claims, (i) =>
          cryptoSign('sha256', Buffer.from(i), {
            key: ec.privateKey,
            dsaEncoding: 'ieee-p1363',
          }).toString('base64url'),
        ),
    ],
    [
      '24',
      'RS256 header, HMAC with the public key',
      (j) => craft({ alg: 'RS256' }, j.claims, hmac('sha256', rsaPublicPem)),
    ],
    [
      '24',
      'HS256 with the public key as HMAC key',
      (j) => craft(HS256, j.claims, hmac('sha256', rsaPublicPem)),
    ],
    [
      '24',
      'a jwk header',
      (j) => craft({ ...HS256, jwk: { kty: 'oct', k: 'x' } }, j.claims, hmac('sha256', j.secret)),
    ],
    [
      '24',
      'a jku header',
      (j) =>
        craft({ ...HS256, jku: 'https://evil.example/jwks' }, j.claims, hmac('sha256', j.secret)),
    ],
    [
      '26',
      'no exp',
      (j) => craft(HS256, { ...j.claims, exp: undefined }, hmac('sha256', j.secret)),
    ],
    [
      '26',
      'a string exp',
      (j) => craft(HS256, { ...j.claims, exp: String(j.now + 600) }, hmac('sha256', j.secret)),
    ],
    [
      '26',
      'nbf 5 minutes ahead',
      (j) => craft(HS256, { ...j.claims, nbf: j.now + 300 }, hmac('sha256', j.secret)),
    ],
    [
      '26',
      'iat 5 minutes ahead',
      (j) => craft(HS256, { ...j.claims, iat: j.now + 300 }, hmac('sha256', j.secret)),
    ],
    [
      '27',
      'a wrong iss',
      (j) => craft(HS256, { ...j.claims, iss: 'https://evil.example' }, hmac('sha256', j.secret)),
    ],
    [
      '27',
      'a wrong aud',
      (j) => craft(HS256, { ...j.claims, aud: 'another-service' }, hmac('sha256', j.secret)),
    ],
    [
      '27',
      'a reset-token typ',
      (j) => craft({ ...HS256, typ: 'reset+jwt' }, j.claims, hmac('sha256', j.secret)),
    ],
    [
      '27',
      'another session id',
      (j) => craft(HS256, { ...j.claims, sid: 'forged-session' }, hmac('sha256', j.secret)),
    ],
    [
      '27',
      'another subject for the session',
      (j) => craft(HS256, { ...j.claims, sub: 'someone-else' }, hmac('sha256', j.secret)),
    ],
    ['29', 'two segments', (j) => j.login.token.split('.').slice(0, 2).join('.')],
    ['29', 'four segments', (j) => `${j.login.token}.${j.login.token.split('.')[2]}`],
    ['29', 'bad base64', (j) => j.login.token.replace('.', '.*')],
    [
      '29',
      'a 100 kB token',
      (j) => craft(HS256, { ...j.claims, pad: 'x'.repeat(100_000) }, hmac('sha256', j.secret)),
    ],
    ['29', 'an empty string', () => ''],
    [
      '29',
      'a re-spelled signature',
      (j) => `${j.login.token.slice(0, -1)}${j.login.token.endsWith('A') ? 'B' : 'A'}`,
    ],
  ])('%s: refuses %s with INVALID_TOKEN', async (_case, _what, forge) => {
    const j = await sharedJwtWorld()
    const error = await expectError(() => j.w.auth.verifyToken(forge(j)), 'INVALID_TOKEN')
    expect(error.message).not.toContain(j.login.token)
  })

  it('27: refuses a real reset token as an access token, and an access token as a reset token', async () => {
    const { w, login } = await sharedJwtWorld()
    const grant = await w.auth.requestPasswordReset('sam')
    await expectError(() => w.auth.verifyToken(grant?.token), 'INVALID_TOKEN')
    await expectError(
      () => w.auth.resetPassword(login.token, 'a new passphrase for sam'),
      'INVALID_TOKEN',
    )
    expect(w.auth.verifyToken(login.token).sessionId).toBe(login.sessionId)
  })

  it('25: accepts a token that expired 30 s ago (leeway) and refuses one 5 minutes past', async () => {
    const j = await sharedJwtWorld()
    const sign = hmac('sha256', j.secret)
    const recent = craft(HS256, { ...j.claims, exp: j.now - 30 }, sign)
    expect(j.w.auth.verifyToken(recent).sessionId).toBe(j.login.sessionId)
    const old = craft(HS256, { ...j.claims, exp: j.now - 300 }, sign)
    await expectError(() => j.w.auth.verifyToken(old), 'TOKEN_EXPIRED')
  })

  it.each([
    ['30', 'a deleted user', 'deleted'],
    ['30', 'a disabled (banned) user', 'disabled'],
  ])('%s: refuses the valid token of %s', async (_case, _what, how) => {
    const j = await jwtWorld()
    const { auth, inst, admin } = j.w
    const userId = j.claims.sub as string
    if (how === 'deleted') {
      await inst.store.table('users').delete(col('user_id').eq(userId))
      await inst.store.afterWrite('users')
    } else {
      await auth.disableUser(admin.userId, userId)
    }
    const error = await expectError(() => auth.verifyToken(j.login.token), 'INVALID_TOKEN')
    expect(error.context.reason).toBe(how === 'deleted' ? 'user' : 'session')
  })

  it.skip('30: refuses the token of an erased user (GDPR erasure issue area)', () => {
    // Erasure does not exist yet.
  })

  it('32: refuses to start in production with a secret under 32 bytes', async () => {
    const dir = await makeTempDir('weak-')
    const build = (): LakehouseConfig =>
      LakehouseConfig.builder()
        .basePath(dir)
        .environment('production')
        .jwtSecret('x'.repeat(31))
        .build()
    await expectError(build, 'WEAK_SECRET')
    await expectError(
      () =>
        LakehouseConfig.fromEnv({
          LAKEHOUSE_PATH: dir,
          NODE_ENV: 'production',
          POLARWAY_JWT_SECRET: 'changeme',
        }),
      'WEAK_SECRET',
    )
    await expectError(
      () => LakehouseConfig.fromEnv({ LAKEHOUSE_PATH: dir, NODE_ENV: 'production' }),
      'WEAK_SECRET',
    )
    // Nothing was created: the refusal comes before any table is opened.
    expect(await fs.readdir(dir)).toEqual([])
  })
})

describe('attack cases: sessions', () => {
  it('33: refuses a token reused after logout', async () => {
    const { auth, approved } = await world()
    await approved('tara')
    const { token } = await auth.login('tara', PASSWORD)
    await auth.logout(token)
    await expectError(() => auth.verifyToken(token), 'INVALID_TOKEN')
  })

  it('34: revoke-all ends every session, also on another instance', async () => {
    const dir = await makeTempDir('revoke-')
    const a = await openInstance({ dir })
    const b = await openInstance({ dir })
    const user = await a.auth.bootstrapAdmin({
      username: 'ursula',
      email: 'u@example.com',
      password: PASSWORD,
    })
    const s1 = await a.auth.login('ursula', PASSWORD)
    const s2 = await a.auth.login('ursula', PASSWORD)
    await b.store.refresh()
    expect(b.auth.verifyToken(s1.token).user.userId).toBe(user.userId)
    expect(await a.auth.revokeAllSessions(user.userId, user.userId)).toBe(2)
    await b.store.refresh()
    for (const s of [s1, s2]) {
      await expectError(() => a.auth.verifyToken(s.token), 'INVALID_TOKEN')
      await expectError(() => b.auth.verifyToken(s.token), 'INVALID_TOKEN')
    }
    await Promise.all([a.close(), b.close()])
  })

  it('35: a password change revokes the other sessions', async () => {
    const { auth, approved } = await world()
    const user = await approved('vera')
    const keep = await auth.login('vera', PASSWORD)
    const other = await auth.login('vera', PASSWORD)
    await auth.changePassword(user.userId, PASSWORD, 'new long passphrase here', {
      keepSessionId: keep.sessionId,
    })
    await expectError(() => auth.verifyToken(other.token), 'INVALID_TOKEN')
    expect(auth.verifyToken(keep.token).sessionId).toBe(keep.sessionId)
  })

  it('35: a password reset revokes every session', async () => {
    const { auth, approved } = await world()
    await approved('vanya')
    const sessions = [await auth.login('vanya', PASSWORD), await auth.login('vanya', PASSWORD)]
    const grant = await auth.requestPasswordReset('vanya')
    await auth.resetPassword(grant?.token, 'new long passphrase here')
    for (const s of sessions) await expectError(() => auth.verifyToken(s.token), 'INVALID_TOKEN')
  })

  describe('35: a login that verified the old credentials while they changed', () => {
    const NEW = 'a completely different passphrase 42'

    /** Holds the next verify (or hash) until released, telling when it started. */
    class GatedHasher extends CountingHasher {
      #gate: { what: 'verify' | 'hash'; started: () => void; wait: Promise<void> } | undefined
      rehashAll = false

      hold(what: 'verify' | 'hash'): { started: Promise<void>; release: () => void } {
        let release!: () => void
        let started!: () => void
        const wait = new Promise<void>((r) => (release = r))
        const begun = new Promise<void>((r) => (started = r))
        this.#gate = { what, started, wait }
        return { started: begun, release }
      }

      async #pass(what: 'verify' | 'hash'): Promise<void> {
        const gate = this.#gate
        if (gate?.what !== what) return
        this.#gate = undefined
        gate.started()
        await gate.wait
      }

      override async verify(hash: string, password: string): Promise<boolean> {
        await this.#pass('verify')
        return super.verify(hash, password)
      }

      override async hash(password: string): Promise<string> {
        await this.#pass('hash')
        return super.hash(password)
      }

      override needsRehash(hash: string): boolean {
        return this.rehashAll || super.needsRehash(hash)
      }
    }

    async function setup(dir?: string): Promise<{
      inst: TestInstance
      hasher: GatedHasher
      user: UserRecord
      admin: UserRecord
    }> {
      const hasher = new GatedHasher()
      const inst = await openInstance({ dir, auth: { hasher } })
      const { admin, user } = await adminAndUser(inst, 'victim')
      return { inst, hasher, user, admin }
    }

    const liveSessions = async (inst: TestInstance, userId: string): Promise<number> =>
      (
        await inst.store.query(
          'sessions',
          and(col('user_id').eq(userId), col('is_revoked').eq(false)),
        )
      ).length

    it('does not survive a password reset committed meanwhile', async () => {
      const { inst, hasher, user } = await setup()
      const gate = hasher.hold('verify')
      const attacker = inst.auth.login('victim', PASSWORD)
      await gate.started
      const grant = await inst.auth.requestPasswordReset('victim@example.com')
      await inst.auth.resetPassword(grant?.token, NEW)
      gate.release()
      const refused = await expectError(() => attacker, 'INVALID_CREDENTIALS')
      expect(refused.context.reason).toBe('credentials-changed')
      expect(await liveSessions(inst, user.userId)).toBe(0)
      expect((await inst.auth.login('victim', NEW)).user.userId).toBe(user.userId)
      await inst.close()
    })

    it('does not write a rehash of the old password over a reset', async () => {
      const { inst, hasher, user } = await setup()
      hasher.rehashAll = true
      const gate = hasher.hold('hash')
      const attacker = inst.auth.login('victim', PASSWORD)
      await gate.started
      hasher.rehashAll = false
      const grant = await inst.auth.requestPasswordReset('victim@example.com')
      await inst.auth.resetPassword(grant?.token, NEW)
      gate.release()
      await expectError(() => attacker, 'INVALID_CREDENTIALS')
      await expectError(() => inst.auth.login('victim', PASSWORD), 'INVALID_CREDENTIALS')
      expect((await inst.auth.login('victim', NEW)).user.userId).toBe(user.userId)
      await inst.close()
    })

    it('does not survive a reset on another instance whose commit it has not seen', async () => {
      const { inst: a, user } = await setup()
      const hasher = new GatedHasher()
      const b = await openInstance({ dir: a.dir, auth: { hasher } })
      const gate = hasher.hold('verify')
      const attacker = b.auth.login('victim', PASSWORD)
      await gate.started
      const grant = await a.auth.requestPasswordReset('victim@example.com')
      await a.auth.resetPassword(grant?.token, NEW)
      gate.release()
      await expectError(() => attacker, 'INVALID_CREDENTIALS')
      expect(await liveSessions(a, user.userId)).toBe(0)
      await Promise.all([a.close(), b.close()])
    })

    it('does not survive the account being disabled meanwhile, nor come back when enabled', async () => {
      const { inst, hasher, user, admin } = await setup()
      const gate = hasher.hold('verify')
      const login = inst.auth.login('victim', PASSWORD)
      await gate.started
      await inst.auth.disableUser(admin.userId, user.userId)
      gate.release()
      await expectError(() => login, 'ACCOUNT_DISABLED')
      await inst.auth.enableUser(admin.userId, user.userId)
      expect(await liveSessions(inst, user.userId)).toBe(0)
      const denied = await inst.store.query(
        'audit_log',
        and(col('action').eq('LOGIN'), col('outcome').eq('denied')),
      )
      expect(
        denied.map((e) => (JSON.parse(String(e.details_json)) as { reason: string }).reason),
      ).toEqual(['disabled'])
      await inst.close()
    })
  })

  it('36: refuses user A revoking user B sessions', async () => {
    const { auth, approved } = await world()
    const a = await approved('walt', 'professional')
    const b = await approved('xena')
    const { token } = await auth.login('xena', PASSWORD)
    await expectError(() => auth.revokeAllSessions(a.userId, b.userId), 'FORBIDDEN')
    expect(auth.verifyToken(token).user.userId).toBe(b.userId)
  })
  // Listing another user's sessions: no session-listing API exists yet (sessions issue area).

  it('37: refuses a session from its absolute expiry on, however often it is used', async () => {
    const { auth, approved, clock } = await world()
    await approved('yuri')
    const { token, expiresAt } = await auth.login('yuri', PASSWORD)
    // Used every 20 minutes: never idle for the default 30.
    while (clock.ms + 20 * 60_000 < expiresAt.getTime()) {
      clock.advance(20 * 60_000)
      auth.verifyToken(token)
    }
    clock.ms = expiresAt.getTime() - 1
    expect(auth.verifyToken(token).sessionId).toBeDefined()
    clock.ms = expiresAt.getTime()
    await expectError(() => auth.verifyToken(token), 'INVALID_TOKEN')
  })

  it('37: refuses a session from its idle timeout on (default 30 minutes)', async () => {
    const { auth, approved, clock } = await world()
    await approved('yuki')
    const { token } = await auth.login('yuki', PASSWORD)
    clock.advance(30 * 60_000 - 1)
    expect(auth.verifyToken(token).sessionId).toBeDefined()
    clock.advance(30 * 60_000)
    const error = await expectError(() => auth.verifyToken(token), 'TOKEN_EXPIRED')
    expect(error.context.reason).toBe('idle')
  })

  it('38: uses session ids of 128 random bits and stores only token hashes', async () => {
    const { auth, approved, inst } = await world()
    await approved('zack')
    const logins = [await auth.login('zack', PASSWORD), await auth.login('ZACK', PASSWORD)]
    for (const { sessionId } of logins) {
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(Buffer.from(sessionId, 'base64url')).toHaveLength(16)
    }
    expect(logins[0]?.sessionId).not.toBe(logins[1]?.sessionId)
    await auth.logout(logins[0]!.token)
    await inst.store.table('sessions').checkpoint()
    await inst.close()
    const sessions = await (await openInstance({ dir: inst.dir })).store.scan('sessions')
    expect(sessions.map((r) => r.token_hash).sort()).toEqual(
      logins.map((l) => createHash('sha256').update(l.token).digest('hex')).sort(),
    )
    // The token (or its signature) appears in no file of the lakehouse: data, log, checkpoint.
    const files = await listFiles(inst.dir)
    expect(files.length).toBeGreaterThan(10)
    for (const file of files) {
      const text = (await fs.readFile(file)).toString('latin1')
      for (const { token } of logins) {
        expect(text, file).not.toContain(token)
        expect(text, file).not.toContain(token.split('.')[2])
      }
    }
  })
})

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(full)))
    else out.push(full)
  }
  return out
}

describe('attack cases: RBAC, audit, GDPR', () => {
  it.each(['pending', 'registered'])(
    '39: refuses a %s user on admin operations and trader-level checks',
    async (kind) => {
      const { auth, register, approved, inst } = await world()
      const target = await register('target')
      const actor = kind === 'pending' ? await register('actor') : await approved('actor', 'free')
      const { token } = await auth.login('actor', PASSWORD)
      expect(hasPermission(auth.verifyToken(token).role, 'trader')).toBe(false)
      await expectError(() => auth.approveUser(actor.userId, target.userId), 'FORBIDDEN')
      await expectError(() => auth.getAllUsers(actor.userId), 'FORBIDDEN')
      // Each denial is audited with the acting user.
      const denied = await inst.store.query('audit_log', col('outcome').eq('denied'))
      expect(denied.map((r) => [r.action, r.user_id]).sort()).toEqual([
        ['APPROVE_USER', actor.userId],
        ['LIST_USERS', actor.userId],
      ])
    },
  )

  // 41 (one audit row per action, without secrets) is covered in auth-service.test.ts.

  it.skip('43: audit rows cannot be modified and a hash-chain break is detected (audit hash chain issue area)', () => {})

  it.skip('44: erasure removes PII from time travel after purge (GDPR erasure issue area)', () => {})

  it('45: refuses time travel over users by a non-admin', async () => {
    const { auth, approved, inst } = await world()
    const trader = await approved('amos', 'professional')
    await expectError(() => auth.readUsersAtVersion(trader.userId, 1), 'FORBIDDEN')
    await expectError(() => auth.readUsersAtTimestamp(trader.userId, new Date()), 'FORBIDDEN')
    const denied = await inst.store.query('audit_log', col('outcome').eq('denied'))
    expect(denied.map((r) => r.action)).toEqual(['TIME_TRAVEL_USERS', 'TIME_TRAVEL_USERS'])
  })
  // Erasure of user B by non-admin A: GDPR erasure issue area.

  it('48: enforces a downgrade on the next verification', async () => {
    const { auth, approved, admin } = await world()
    const user = await approved('bea', 'pioneer')
    const { token } = await auth.login('bea', PASSWORD)
    expect(hasPermission(auth.verifyToken(token).role, 'trader')).toBe(true)
    await auth.setRole(admin.userId, user.userId, 'registered')
    expect(hasPermission(auth.verifyToken(token).role, 'trader')).toBe(false)
  })
})

import { createHash } from 'node:crypto'
import { readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { SYSTEM_ACTOR, type Actor, type AuthService } from '../../src/auth/auth-service.js'
import type { LakehouseError } from '../../src/common/lakehouse-error.js'
import type { UserRecord } from '../../src/lakehouse/rows.js'
import { and, col } from '../../src/delta/expr/expression.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import {
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

const CTX = { ipAddress: '192.0.2.10', userAgent: 'vitest/4' } as const
const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface World {
  readonly inst: TestInstance
  readonly auth: AuthService
  readonly clock: FakeClock
  readonly admin: UserRecord
  /** Registers a user (pending). */
  readonly register: (name: string, tier?: string) => Promise<UserRecord>
  /** Registers and approves a user. */
  readonly approved: (name: string, tier?: string) => Promise<UserRecord>
}

async function world(options: InstanceOptions = {}): Promise<World> {
  const clock = fakeClock()
  const inst = await openInstance({ clock, ...options })
  const { auth } = inst
  const admin = await auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  const register = (name: string, tier?: string): Promise<UserRecord> =>
    auth.register({ username: name, email: `${name}@example.com`, password: PASSWORD, tier })
  return {
    inst,
    auth,
    clock,
    admin,
    register,
    approved: async (name, tier) =>
      auth.approveUser(admin.userId, (await register(name, tier)).userId),
  }
}

let sharedWorld: Promise<World> | undefined
/** One world for the cases refused before any write (a file's tests run one at a time). */
const shared = (): Promise<World> => (sharedWorld ??= world())

async function auditRows(inst: TestInstance): Promise<Record<string, unknown>[]> {
  // LOGIN events are written in the background, right after each login.
  await inst.auth.flushLoginEvents()
  return inst.store.scan('audit_log')
}

/** Runs `fn` and returns the audit rows it added. */
async function newAuditRows(
  inst: TestInstance,
  fn: () => Promise<unknown>,
): Promise<Record<string, unknown>[]> {
  const before = new Set((await auditRows(inst)).map((r) => r.event_id))
  await fn().catch(() => undefined)
  return (await auditRows(inst)).filter((r) => !before.has(r.event_id))
}

function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  o.self = o
  return o
}

describe('AuthService', () => {
  describe('register', () => {
    it('registers a pending user with the requested tier and optional fields', async () => {
      const { auth, inst, clock } = await world()
      const user = await auth.register(
        {
          username: 'Alice_01',
          email: 'Alice@Example.COM',
          password: PASSWORD,
          tier: 'pioneer',
          firstName: 'Alice',
          lastName: 'Liddell',
          preferences: { theme: 'dark' },
        },
        CTX,
      )
      expect(user).toMatchObject({
        username: 'Alice_01',
        email: 'Alice@Example.COM',
        role: 'pending',
        subscriptionTier: 'pioneer',
        firstName: 'Alice',
        lastName: 'Liddell',
        isActive: true,
        preferences: { theme: 'dark' },
        approvedAt: null,
        approvedBy: null,
        rejectedAt: null,
        lastLogin: null,
      })
      expect(user.createdAt.getTime()).toBe(clock.now())
      expect(user).not.toHaveProperty('passwordHash')
      const [row] = await inst.store.query('users', col('user_id').eq(user.userId))
      expect(row).toMatchObject({ username_key: 'alice_01', email_key: 'alice@example.com' })
      expect(row?.password_hash).toMatch(/^\$fast\$/)
    })

    it('refuses a lookalike of a user stored before this instance opened', async () => {
      const a = await openInstance()
      await a.auth.register({ username: 'admin', email: 'a@example.com', password: PASSWORD })
      const b = await openInstance({ dir: a.dir })
      await expectError(
        () => b.auth.register({ username: 'adrnin', email: 'b@example.com', password: PASSWORD }),
        'USER_EXISTS',
      )
      await Promise.all([a.close(), b.close()])
    })

    it('defaults the tier to free', async () => {
      const { register } = await world()
      expect((await register('bob_free')).subscriptionTier).toBe('free')
    })

    it.each([
      ['a username that only looks like one taken', { username: 'AIice', email: 'o@example.com' }],
      ['a lookalike with a digit', { username: 'a1ice', email: 'p@example.com' }],
      ['the same username in another case', { username: 'ALICE', email: 'other@example.com' }],
      ['the same email in another case', { username: 'alice2', email: 'ALICE@example.com' }],
    ])('refuses %s with USER_EXISTS', async (_what, dup) => {
      const { auth, register, inst } = await world()
      await register('alice')
      const before = await inst.store.version('users')
      const error = await expectError(
        () => auth.register({ ...dup, password: PASSWORD }),
        'USER_EXISTS',
      )
      expect(error.message).toBe('auth: a user with this username or email already exists')
      expect(await inst.store.version('users')).toBe(before)
      // The success event staged during the attempt is neither committed nor left behind.
      const events = await auditRows(inst)
      const outcomes = events.filter((e) => e.action === 'REGISTER').map((e) => e.outcome)
      expect(outcomes.sort()).toEqual(['failure', 'success'])
      await new Promise((resolve) => setTimeout(resolve, 50))
      const audit = path.join(inst.dir, 'audit_log')
      const temps = (await readdir(path.join(audit, '_delta_log'))).filter((f) => f.startsWith('.'))
      expect(temps).toEqual([])
      const live = new Set(
        (await inst.store.table('audit_log').files()).map((f) => decodeURIComponent(f.path)),
      )
      const onDisk = (await readdir(audit, { recursive: true }))
        .filter((f) => f.endsWith('.parquet') && !f.startsWith('_delta_log'))
        .map((f) => f.split(path.sep).join('/'))
      expect(onDisk.filter((f) => !live.has(f))).toEqual([])
    })

    it.each<[string, Record<string, unknown>, string]>([
      ['an unknown tier', { tier: 'gold' }, 'INVALID_TIER'],
      ['a first name with a control character', { firstName: 'A\u0007' }, 'INVALID_INPUT'],
      ['a first name with surrounding blanks', { firstName: ' Al' }, 'INVALID_INPUT'],
      ['a last name that is too long', { lastName: 'x'.repeat(101) }, 'INVALID_INPUT'],
      ['preferences that are an array', { preferences: [1] }, 'INVALID_INPUT'],
      [
        'preferences that are too large',
        { preferences: { x: 'y'.repeat(17000) } },
        'INVALID_INPUT',
      ],
      ['a common password', { password: 'password123456' }, 'WEAK_PASSWORD'],
      ['an invalid email', { email: 'not-an-email' }, 'INVALID_EMAIL'],
      ['a first name with a lone surrogate', { firstName: 'Bob\uD800' }, 'INVALID_INPUT'],
      // U+FDFA is one code point that NFKC expands to 18.
      ['a name too long after NFKC', { firstName: '\uFDFA'.repeat(10) }, 'INVALID_INPUT'],
      ['a huge name', { lastName: 'x'.repeat(1_000_000) }, 'INVALID_INPUT'],
      [
        'preferences over 16 KiB in UTF-8 but not in UTF-16 units',
        { preferences: { x: '\u4e2d'.repeat(6000) } },
        'INVALID_INPUT',
      ],
      ['preferences holding a BigInt', { preferences: { n: 1n } }, 'INVALID_INPUT'],
      ['preferences with a cycle', { preferences: cyclic() }, 'INVALID_INPUT'],
      ['preferences whose toJSON is not an object', { preferences: new Date(0) }, 'INVALID_INPUT'],
      [
        'preferences whose toJSON gives nothing',
        { preferences: { toJSON: () => undefined } },
        'INVALID_INPUT',
      ],
    ])('refuses %s before any write', async (_what, override, code) => {
      const { auth, inst } = await shared()
      const before = await inst.store.version('users')
      inst.hasher.reset()
      await expectError(
        () =>
          auth.register({
            username: 'carol',
            email: 'carol@example.com',
            password: PASSWORD,
            ...override,
          }),
        code,
      )
      expect(inst.hasher.hashCalls).toBe(0)
      expect(await inst.store.version('users')).toBe(before)
    })

    it('registers and approves a burst of concurrent sign-ups without write conflicts', async () => {
      const { auth, admin, inst } = await world()
      const users = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          auth.register({
            username: `burst${i}`,
            email: `burst${i}@example.com`,
            password: PASSWORD,
          }),
        ),
      )
      const approved = await Promise.all(users.map((u) => auth.approveUser(admin.userId, u.userId)))
      expect(approved.every((u) => u.role === 'registered')).toBe(true)
      expect(await inst.store.scan('users')).toHaveLength(31)
    })

    it('refuses an input that is not an object', async () => {
      const { auth } = await world()
      await expectError(() => auth.register(null as never), 'INVALID_INPUT')
    })
  })

  describe('bootstrapAdmin', () => {
    it('creates one active admin, approved by the system', async () => {
      const { admin, auth } = await world()
      expect(admin).toMatchObject({ role: 'admin', isActive: true, approvedBy: 'system' })
      expect(admin.approvedAt).toBeInstanceOf(Date)
      await expectError(
        () =>
          auth.bootstrapAdmin({ username: 'admin2', email: 'a2@example.com', password: PASSWORD }),
        'INVALID_STATE',
      )
    })
  })

  describe('approveUser', () => {
    it.each([
      ['free', 'registered'],
      ['hobbyist', 'trader'],
      ['pioneer', 'trader'],
      ['professional', 'trader'],
    ])('approves a %s user as %s', async (tier, role) => {
      const { auth, admin, register, clock } = await world()
      const user = await register('dave', tier)
      clock.advance(MINUTE)
      const approved = await auth.approveUser(admin.userId, user.userId)
      expect(approved).toMatchObject({ role, subscriptionTier: tier, approvedBy: admin.userId })
      expect(approved.approvedAt?.getTime()).toBe(clock.now())
    })

    it('sets the tier given at approval instead of the requested one', async () => {
      const { auth, admin, register } = await world()
      const user = await register('erin', 'professional')
      const approved = await auth.approveUser({ userId: admin.userId }, user.userId, 'free')
      expect(approved).toMatchObject({ role: 'registered', subscriptionTier: 'free' })
    })

    it('refuses users that are not pending, unknown users and unknown tiers', async () => {
      const { auth, admin, approved, register } = await world()
      const done = await approved('frank')
      await expectError(() => auth.approveUser(admin.userId, done.userId), 'INVALID_STATE')
      await expectError(() => auth.approveUser(admin.userId, 'no-such-user'), 'USER_NOT_FOUND')
      const pending = await register('grace')
      await expectError(
        () => auth.approveUser(admin.userId, pending.userId, 'gold'),
        'INVALID_TIER',
      )
      expect(auth.getUser(pending.userId)?.role).toBe('pending')
    })
  })

  describe('rejectUser', () => {
    it('rejects a pending user, who can then neither log in nor be approved or enabled', async () => {
      const { auth, admin, register } = await world()
      const user = await register('heidi')
      const session = await auth.login('heidi', PASSWORD)
      const rejected = await auth.rejectUser(admin.userId, user.userId, CTX)
      expect(rejected).toMatchObject({ isActive: false, role: 'pending' })
      expect(rejected.rejectedAt).toBeInstanceOf(Date)
      await expectError(() => auth.login('heidi', PASSWORD), 'ACCOUNT_REJECTED')
      await expectError(() => auth.verifyToken(session.token), 'INVALID_TOKEN')
      await expectError(() => auth.approveUser(admin.userId, user.userId), 'INVALID_STATE')
      await expectError(() => auth.rejectUser(admin.userId, user.userId), 'INVALID_STATE')
      await expectError(() => auth.enableUser(admin.userId, user.userId), 'INVALID_STATE')
      expect(await auth.getPendingUsers(admin.userId)).toEqual([])
    })

    it('revokes sessions another instance opened that this one has not seen yet', async () => {
      const { inst, auth, admin, register, clock } = await world()
      const user = await register('rita')
      const other = await openInstance({ dir: inst.dir, clock })
      const session = await other.auth.login('rita', PASSWORD)
      await auth.rejectUser(admin.userId, user.userId)
      const [row] = await inst.store.query('sessions', col('session_id').eq(session.sessionId))
      expect(row).toMatchObject({ is_revoked: true })
      await Promise.all([inst.close(), other.close()])
    })

    it('gives a wrong password for a rejected account the generic error', async () => {
      const { auth, admin, register } = await world()
      const user = await register('ivan')
      await auth.rejectUser(admin.userId, user.userId)
      await expectError(() => auth.login('ivan', 'wrong password here'), 'INVALID_CREDENTIALS')
    })
  })

  describe('setRole', () => {
    it('changes roles, and the next verification sees the new role', async () => {
      const { auth, admin, approved } = await world()
      const user = await approved('judy', 'pioneer')
      const { token } = await auth.login('judy', PASSWORD)
      expect(auth.verifyToken(token).role).toBe('trader')
      await auth.setRole(admin.userId, user.userId, 'admin')
      expect(auth.verifyToken(token).role).toBe('admin')
      await auth.setRole(admin.userId, user.userId, 'registered')
      const verified = auth.verifyToken(token)
      expect(verified.role).toBe('registered')
      expect(verified.user.role).toBe('registered')
      expect(verified.claims.role).toBe('trader') // the claim is stale; it does not count
    })

    it('refuses unknown roles', async () => {
      const { auth, admin, approved } = await world()
      const user = await approved('ken')
      await expectError(() => auth.setRole(admin.userId, user.userId, 'superuser'), 'INVALID_ROLE')
      await expectError(() => auth.setRole(admin.userId, user.userId, 'Admin'), 'INVALID_ROLE')
    })

    it('never demotes or disables the last active admin', async () => {
      const { auth, admin, approved } = await world()
      await expectError(() => auth.setRole(admin.userId, admin.userId, 'trader'), 'LAST_ADMIN')
      await expectError(() => auth.setRole(SYSTEM_ACTOR, admin.userId, 'registered'), 'LAST_ADMIN')
      await expectError(() => auth.disableUser(admin.userId, admin.userId), 'LAST_ADMIN')
      expect(auth.getUser(admin.userId)).toMatchObject({ role: 'admin', isActive: true })
      // With a second admin, either can go, but then the remaining one is the last again.
      const other = await approved('leo')
      await auth.setRole(admin.userId, other.userId, 'admin')
      await auth.setRole(other.userId, admin.userId, 'trader')
      expect(auth.getUser(admin.userId)?.role).toBe('trader')
      await expectError(() => auth.setRole(other.userId, other.userId, 'trader'), 'LAST_ADMIN')
      await expectError(() => auth.disableUser(other.userId, other.userId), 'LAST_ADMIN')
      // A disabled admin does not count as an active admin.
      await auth.setRole(other.userId, admin.userId, 'admin')
      await auth.disableUser(other.userId, admin.userId)
      await expectError(() => auth.setRole(other.userId, other.userId, 'trader'), 'LAST_ADMIN')
    })

    it('keeps one admin when two admins demote each other at once on two instances', async () => {
      const clock = fakeClock()
      const a = await openInstance({ clock })
      const x = await a.auth.bootstrapAdmin({
        username: 'xadmin',
        email: 'x@example.com',
        password: PASSWORD,
      })
      const yUser = await a.auth.register({
        username: 'yadmin',
        email: 'y@example.com',
        password: PASSWORD,
      })
      const y = await a.auth.setRole(x.userId, yUser.userId, 'admin')
      const b = await openInstance({ dir: a.dir, clock })
      const results = await Promise.allSettled([
        a.auth.setRole(x.userId, y.userId, 'registered'),
        b.auth.setRole(y.userId, x.userId, 'registered'),
      ])
      const codes = results.map((r) =>
        r.status === 'fulfilled' ? 'OK' : (r.reason as { code: string }).code,
      )
      // The second to commit re-runs on the first's version, where its own actor is no longer
      // an admin: it is refused before the last-admin rule is reached.
      expect(codes.sort()).toEqual(['FORBIDDEN', 'OK'])
      const admins = await a.store.query('users', col('role').eq('admin'))
      expect(admins).toHaveLength(1)
      await Promise.all([a.close(), b.close()])
    })

    it('refuses an admin demoted or disabled after the operation began, on any instance', async () => {
      const clock = fakeClock()
      const a = await openInstance({ clock })
      const root = await a.auth.bootstrapAdmin({
        username: 'root_admin',
        email: 'root@example.com',
        password: PASSWORD,
      })
      const reg = (name: string): Promise<UserRecord> =>
        a.auth.register({ username: name, email: `${name}@example.com`, password: PASSWORD })
      const mallory = await a.auth.approveUser(root.userId, (await reg('mallory')).userId)
      await a.auth.setRole(root.userId, mallory.userId, 'admin')
      const friend = await a.auth.approveUser(root.userId, (await reg('friend')).userId)
      // B still sees mallory as an admin: its view has not refreshed.
      const b = await openInstance({ dir: a.dir, clock })
      await a.auth.setRole(root.userId, mallory.userId, 'registered')
      const usersVersion = await a.store.version('users')
      await expectError(() => b.auth.setRole(mallory.userId, mallory.userId, 'admin'), 'FORBIDDEN')
      await a.auth.setRole(root.userId, mallory.userId, 'admin')
      await b.store.refresh()
      await a.auth.disableUser(root.userId, mallory.userId)
      await expectError(() => b.auth.enableUser(mallory.userId, mallory.userId), 'FORBIDDEN')
      await expectError(() => b.auth.approveUser(mallory.userId, friend.userId), 'FORBIDDEN')
      expect(await a.store.version('users')).toBe(usersVersion + 2)
      await a.store.refresh()
      expect(a.auth.getUser(mallory.userId)).toMatchObject({ role: 'admin', isActive: false })
      // On one instance: an operation authorized before the demotion commits after it.
      await a.auth.enableUser(root.userId, mallory.userId)
      await b.store.refresh()
      const results = await Promise.allSettled([
        a.auth.setRole(root.userId, mallory.userId, 'registered'),
        a.auth.setRole(mallory.userId, friend.userId, 'admin'),
      ])
      expect(
        results.map((r) => (r.status === 'fulfilled' ? 'OK' : (r.reason as LakehouseError).code)),
      ).toEqual(['OK', 'FORBIDDEN'])
      expect(a.auth.getUser(friend.userId)?.role).toBe('registered')
      // Each refusal is in the audit log.
      const denied = await a.store.query(
        'audit_log',
        and(col('outcome').eq('denied'), col('user_id').eq(mallory.userId)),
      )
      expect(denied.map((e) => e.action).sort()).toEqual([
        'APPROVE_USER',
        'ENABLE_USER',
        'SET_ROLE',
        'SET_ROLE',
      ])
      await Promise.all([a.close(), b.close()])
    })

    it('lets an admin promote to admin and keep the role of an admin who stays', async () => {
      const { auth, admin } = await world()
      const same = await auth.setRole(admin.userId, admin.userId, 'admin')
      expect(same.role).toBe('admin')
    })
  })

  describe('disableUser and enableUser', () => {
    it('stops logins and every token at once, and enabling allows new logins', async () => {
      const { auth, admin, approved } = await world()
      const user = await approved('mallory')
      const a = await auth.login('mallory', PASSWORD)
      const b = await auth.login('mallory@example.com', PASSWORD)
      await auth.disableUser(admin.userId, user.userId, CTX)
      for (const t of [a.token, b.token]) {
        await expectError(() => auth.verifyToken(t), 'INVALID_TOKEN')
      }
      await expectError(() => auth.login('mallory', PASSWORD), 'ACCOUNT_DISABLED')
      // The wrong password still gets the generic error (no account state is revealed).
      await expectError(() => auth.login('mallory', 'not the password'), 'INVALID_CREDENTIALS')
      const enabled = await auth.enableUser(admin.userId, user.userId)
      expect(enabled.isActive).toBe(true)
      // Sessions revoked by the disable stay revoked.
      await expectError(() => auth.verifyToken(a.token), 'INVALID_TOKEN')
      const c = await auth.login('mallory', PASSWORD)
      expect(auth.verifyToken(c.token).user.userId).toBe(user.userId)
    })

    it('refuses unknown users', async () => {
      const { auth, admin } = await world()
      await expectError(() => auth.disableUser(admin.userId, 'nobody'), 'USER_NOT_FOUND')
      await expectError(() => auth.enableUser(admin.userId, 'nobody'), 'USER_NOT_FOUND')
    })
  })

  describe('login', () => {
    it.each(['niaj', 'NIAJ', 'niaj@example.com', 'Niaj@EXAMPLE.com'])(
      'logs in with %s and stores only the token hash',
      async (identifier) => {
        const { auth, approved, inst, clock } = await world()
        const user = await approved('niaj')
        const result = await auth.login(identifier, PASSWORD, CTX)
        expect(result.user.userId).toBe(user.userId)
        expect(result.expiresAt.getTime()).toBe(Math.floor(clock.now() / 1000) * 1000 + 24 * HOUR)
        const [row] = await inst.store.query('sessions', col('session_id').eq(result.sessionId))
        expect(row).toMatchObject({
          user_id: user.userId,
          token_hash: createHash('sha256').update(result.token).digest('hex'),
          ip_address: CTX.ipAddress,
          user_agent: CTX.userAgent,
          is_revoked: false,
          expires_date: result.expiresAt.toISOString().slice(0, 10),
        })
        expect(JSON.stringify(row)).not.toContain(result.token)
        expect(auth.getUser(user.userId)?.lastLogin?.getTime()).toBe(clock.now())
      },
    )

    it('stores a request context with a lone surrogate or a huge user agent well-formed and bounded', async () => {
      const { auth, inst, approved } = await world()
      await approved('ursula')
      const huge = 'A'.repeat(5000)
      for (const userAgent of ['x\uD800', huge, `${'a'.repeat(1023)}\u{1F600}`]) {
        const { sessionId } = await auth.login('ursula', PASSWORD, {
          ipAddress: '10.0.0.1\uDC00',
          userAgent,
        })
        const [row] = await inst.store.query('sessions', col('session_id').eq(sessionId))
        expect(String(row?.user_agent)).not.toMatch(/\p{Cs}/u)
        expect(String(row?.user_agent).length).toBeLessThanOrEqual(1024)
        expect(row?.ip_address).toBe('10.0.0.1\uFFFD')
      }
    })

    it('gives unknown users and wrong passwords the same error', async () => {
      const { auth, approved } = await world()
      await approved('olivia')
      const wrong = await expectError(
        () => auth.login('olivia', 'wrong password!'),
        'INVALID_CREDENTIALS',
      )
      const unknown = await expectError(() => auth.login('nobody', PASSWORD), 'INVALID_CREDENTIALS')
      const badEmail = await expectError(() => auth.login('x@@y', PASSWORD), 'INVALID_CREDENTIALS')
      expect(unknown.message).toBe(wrong.message)
      expect(badEmail.message).toBe(wrong.message)
    })

    it.each<[string, unknown, unknown]>([
      ['a numeric identifier', 42, PASSWORD],
      ['an object identifier', { $ne: null }, PASSWORD],
      ['an empty identifier', '', PASSWORD],
      ['a huge identifier', 'a'.repeat(10_000), PASSWORD],
      ['a non-string password', 'olivia', ['x']],
      ['a 2 KiB password', 'olivia', 'x'.repeat(2048)],
    ])('refuses %s with INVALID_CREDENTIALS without hashing', async (_what, id, pw) => {
      const { auth, inst } = await shared()
      inst.hasher.reset()
      await expectError(() => auth.login(id, pw), 'INVALID_CREDENTIALS')
      expect(inst.hasher.verifyCalls).toBe(0)
    })

    it('finds the user and checks the token in the live views, never by a table scan', async () => {
      const { auth, approved } = await world()
      await approved('ruth')
      const scans = vi.spyOn(DeltaTable.prototype, 'toRows')
      try {
        const { token } = await auth.login('RUTH@example.com', PASSWORD)
        auth.verifyToken(token)
        await expectError(() => auth.login('nobody', PASSWORD), 'INVALID_CREDENTIALS')
        expect(scans).not.toHaveBeenCalled()
      } finally {
        scans.mockRestore()
      }
    })

    it('lets a pending user log in with the pending role only', async () => {
      const { auth, register } = await world()
      await register('peggy', 'professional')
      const { token } = await auth.login('peggy', PASSWORD)
      expect(auth.verifyToken(token).role).toBe('pending')
    })
  })

  describe('verifyToken', () => {
    it('fails closed (VIEWS_STALE) while the background refresh keeps failing, and recovers', async () => {
      const a = await openInstance({
        customize: (b) => b.refreshMs(20),
        store: { autoRefresh: true },
        auth: { maxViewAgeMs: 300 },
      })
      const admin = await a.auth.bootstrapAdmin({
        username: 'root_admin',
        email: 'root@example.com',
        password: PASSWORD,
      })
      const { token } = await a.auth.login('root_admin', PASSWORD)
      expect(a.auth.verifyToken(token).user.userId).toBe(admin.userId)
      // Another writer leaves a commit no reader can parse: every refresh fails from now on.
      const next = (await a.store.version('sessions')) + 1
      const broken = path.join(
        a.dir,
        'sessions',
        '_delta_log',
        `${String(next).padStart(20, '0')}.json`,
      )
      await writeFile(broken, '{"garbage": \n')
      await new Promise((resolve) => setTimeout(resolve, 600))
      const stale = await expectError(() => a.auth.verifyToken(token), 'VIEWS_STALE')
      expect(stale.context.limitMs).toBe(300)
      expect(a.logger.warnings.some((w) => w.includes('refreshing live views failed'))).toBe(true)
      await rm(broken)
      // The next background refresh succeeds (polled: timers run late on a loaded machine).
      for (let i = 0; i < 150 && a.store.viewAge('sessions') > 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(a.auth.verifyToken(token).user.userId).toBe(admin.userId)
      await a.close()
    })

    it('returns the user, current role and session of a valid token', async () => {
      const { auth, approved } = await world()
      const user = await approved('quinn', 'hobbyist')
      const login = await auth.login('quinn', PASSWORD)
      const verified = auth.verifyToken(login.token)
      expect(verified).toMatchObject({
        role: 'trader',
        sessionId: login.sessionId,
        expiresAt: login.expiresAt,
      })
      expect(verified.user.userId).toBe(user.userId)
      expect(verified.claims).toMatchObject({ sub: user.userId, sid: login.sessionId })
    })

    it('accepts a session until its expiry and refuses it from then on', async () => {
      // The absolute lifetime alone (the idle timeout has its own tests).
      const { auth, approved, clock } = await world({
        customize: (b) => b.sessionDurationHours(1).sessionIdleMinutes(0),
      })
      await approved('rupert')
      const { token, expiresAt } = await auth.login('rupert', PASSWORD)
      clock.ms = expiresAt.getTime() - 1
      expect(auth.verifyToken(token).sessionId).toBeDefined()
      clock.ms = expiresAt.getTime()
      const error = await expectError(() => auth.verifyToken(token), 'INVALID_TOKEN')
      expect(error.context.reason).toBe('session')
      clock.ms = expiresAt.getTime() + 2 * MINUTE
      await expectError(() => auth.verifyToken(token), 'TOKEN_EXPIRED')
    })

    it('refuses a token of another lakehouse', async () => {
      const a = await world()
      const b = await world()
      await a.approved('sybil')
      const { token } = await a.auth.login('sybil', PASSWORD)
      await expectError(() => b.auth.verifyToken(token), 'INVALID_TOKEN')
    })
  })

  describe('logout', () => {
    it('revokes only the session of the token, once', async () => {
      const { auth, approved, inst } = await world()
      await approved('trent')
      const a = await auth.login('trent', PASSWORD)
      const b = await auth.login('trent', PASSWORD)
      await auth.logout(a.token, CTX)
      await expectError(() => auth.verifyToken(a.token), 'INVALID_TOKEN')
      expect(auth.verifyToken(b.token).sessionId).toBe(b.sessionId)
      const [row] = await inst.store.query('sessions', col('session_id').eq(a.sessionId))
      expect(row).toMatchObject({ is_revoked: true })
      const version = await inst.store.version('sessions')
      await auth.logout(a.token) // already revoked: a no-op
      expect(await inst.store.version('sessions')).toBe(version)
    })

    it('refuses a token that is not ours', async () => {
      const { auth } = await world()
      await expectError(() => auth.logout('not.a.token'), 'INVALID_TOKEN')
    })
  })

  describe('revokeAllSessions', () => {
    it('lets a user revoke all their own sessions', async () => {
      const { auth, approved } = await world()
      const user = await approved('uma')
      const tokens = [await auth.login('uma', PASSWORD), await auth.login('uma', PASSWORD)]
      expect(await auth.revokeAllSessions(user.userId, user.userId)).toBe(2)
      for (const t of tokens) await expectError(() => auth.verifyToken(t.token), 'INVALID_TOKEN')
      expect(await auth.revokeAllSessions({ userId: user.userId }, user.userId)).toBe(0)
    })

    it('lets an admin revoke another user sessions, and nobody else', async () => {
      const { auth, approved, admin } = await world()
      const victim = await approved('victor')
      const other = await approved('wendy', 'pioneer')
      const { token } = await auth.login('victor', PASSWORD)
      await expectError(() => auth.revokeAllSessions(other.userId, victim.userId), 'FORBIDDEN')
      expect(auth.verifyToken(token).user.userId).toBe(victim.userId)
      expect(await auth.revokeAllSessions(admin.userId, victim.userId)).toBe(1)
      await expectError(() => auth.verifyToken(token), 'INVALID_TOKEN')
      await expectError(() => auth.revokeAllSessions(admin.userId, 'nobody'), 'USER_NOT_FOUND')
    })
  })

  describe('changePassword', () => {
    it('verifies the old password, revokes other sessions and keeps the current one', async () => {
      const { auth, approved } = await world()
      const user = await approved('xavier')
      const current = await auth.login('xavier', PASSWORD)
      const other = await auth.login('xavier', PASSWORD)
      const next = 'a completely different passphrase'
      await expectError(
        () => auth.changePassword(user.userId, 'wrong old password', next),
        'INVALID_CREDENTIALS',
      )
      await auth.changePassword(user.userId, PASSWORD, next, { keepSessionId: current.sessionId })
      expect(auth.verifyToken(current.token).sessionId).toBe(current.sessionId)
      await expectError(() => auth.verifyToken(other.token), 'INVALID_TOKEN')
      await expectError(() => auth.login('xavier', PASSWORD), 'INVALID_CREDENTIALS')
      expect((await auth.login('xavier', next)).user.userId).toBe(user.userId)
    })

    it('revokes every session when no session is kept', async () => {
      const { auth, approved } = await world()
      const user = await approved('yvonne')
      const s = await auth.login('yvonne', PASSWORD)
      await auth.changePassword(user.userId, PASSWORD, 'another long passphrase')
      await expectError(() => auth.verifyToken(s.token), 'INVALID_TOKEN')
    })

    it('applies the password policy to the new password', async () => {
      const { auth, approved } = await world()
      const user = await approved('zoe')
      await expectError(
        () => auth.changePassword(user.userId, PASSWORD, 'short'),
        'INVALID_PASSWORD',
      )
      await expectError(
        () => auth.changePassword(user.userId, PASSWORD, 'password123456'),
        'WEAK_PASSWORD',
      )
      await expectError(
        () => auth.changePassword(user.userId, PASSWORD, 'zoe@example.com'),
        'WEAK_PASSWORD',
      )
      expect((await auth.login('zoe', PASSWORD)).user.userId).toBe(user.userId)
    })

    it('answers an unknown user like a wrong password, after the same work', async () => {
      const { auth, inst } = await world()
      inst.hasher.reset()
      await expectError(
        () => auth.changePassword('nobody', PASSWORD, 'x'.repeat(20)),
        'INVALID_CREDENTIALS',
      )
      expect(inst.hasher.verifyCalls).toBe(1)
    })
  })

  describe('password reset', () => {
    const NEXT = 'a brand new reset passphrase'

    it('issues a token for a known account and sets the new password with it', async () => {
      const { auth, inst, approved } = await world()
      const user = await approved('rita')
      const grant = await auth.requestPasswordReset('RITA@example.com', CTX)
      expect(grant?.user.userId).toBe(user.userId)
      expect(grant?.expiresAt).toBe(inst.store.clock.now() + HOUR)
      const events = await newAuditRows(inst, () => auth.resetPassword(grant?.token, NEXT, CTX))
      expect(events.map((e) => [e.action, e.outcome, e.resource])).toContainEqual([
        'PASSWORD_RESET',
        'success',
        `user:${user.userId}`,
      ])
      await expectError(() => auth.login('rita', PASSWORD), 'INVALID_CREDENTIALS')
      expect((await auth.login('rita', NEXT)).user.userId).toBe(user.userId)
    })

    it('answers unknown, disabled and rejected accounts with undefined after the same work', async () => {
      const { auth, inst, approved, register, admin } = await world()
      const off = await approved('sven')
      await auth.disableUser(admin.userId, off.userId)
      const rejected = await register('tess')
      await auth.rejectUser(admin.userId, rejected.userId)
      for (const who of ['nobody', 'nobody@example.com', 'sven', 'tess', '', 'x'.repeat(400)]) {
        const events = await newAuditRows(inst, async () => {
          expect(await auth.requestPasswordReset(who)).toBeUndefined()
        })
        expect(events.map((e) => [e.action, e.outcome])).toEqual([
          ['PASSWORD_RESET_REQUEST', 'denied'],
        ])
      }
      const known = await newAuditRows(inst, () => auth.requestPasswordReset('root_admin'))
      expect(known.map((e) => [e.action, e.outcome])).toEqual([
        ['PASSWORD_RESET_REQUEST', 'success'],
      ])
    })

    it('works once: a used or superseded token is refused', async () => {
      const { auth, approved } = await world()
      await approved('uma')
      const first = await auth.requestPasswordReset('uma')
      const second = await auth.requestPasswordReset('uma')
      await auth.resetPassword(first?.token, NEXT)
      const used = await expectError(() => auth.resetPassword(first?.token, NEXT), 'INVALID_TOKEN')
      expect(used.context.reason).toBe('used')
      await expectError(() => auth.resetPassword(second?.token, NEXT), 'INVALID_TOKEN')
      // A password change supersedes outstanding tokens too.
      const third = await auth.requestPasswordReset('uma')
      const user = auth.findUser('uma')
      await auth.changePassword(user?.userId ?? '', NEXT, 'yet another long passphrase')
      await expectError(() => auth.resetPassword(third?.token, NEXT), 'INVALID_TOKEN')
    })

    it('lets exactly one of two concurrent uses on two instances change the password', async () => {
      const dir = await makeTempDir('reset-race-')
      const a = await openInstance({ dir })
      const b = await openInstance({ dir })
      await a.auth.bootstrapAdmin({
        username: 'vince',
        email: 'vince@example.com',
        password: PASSWORD,
      })
      await b.store.refresh()
      const grant = await a.auth.requestPasswordReset('vince')
      const results = await Promise.allSettled([
        a.auth.resetPassword(grant?.token, 'first racing passphrase'),
        b.auth.resetPassword(grant?.token, 'second racing passphrase'),
      ])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const refused = results.find((r) => r.status === 'rejected')
      expect((refused?.reason as LakehouseError).code).toBe('INVALID_TOKEN')
      const winner = results[0].status === 'fulfilled' ? 'first' : 'second'
      await a.store.refresh()
      await b.store.refresh()
      for (const inst of [a, b]) {
        expect((await inst.auth.login('vince', `${winner} racing passphrase`)).user.username).toBe(
          'vince',
        )
      }
      await Promise.all([a.close(), b.close()])
    })

    it('revokes every session of the user', async () => {
      const { auth, approved } = await world()
      await approved('wade')
      const s1 = await auth.login('wade', PASSWORD)
      const s2 = await auth.login('wade', PASSWORD)
      await auth.resetPassword((await auth.requestPasswordReset('wade'))?.token, NEXT)
      for (const s of [s1, s2]) await expectError(() => auth.verifyToken(s.token), 'INVALID_TOKEN')
    })

    it('refuses expired, forged and malformed tokens, and applies the password policy', async () => {
      const { auth, approved, clock } = await world()
      await approved('xia')
      const grant = await auth.requestPasswordReset('xia')
      const token = grant?.token ?? ''
      await expectError(() => auth.resetPassword(token, 'short'), 'INVALID_PASSWORD')
      await expectError(() => auth.resetPassword(token, 'password123456'), 'WEAK_PASSWORD')
      await expectError(() => auth.resetPassword(token, 'xia@example.com'), 'WEAK_PASSWORD')
      // The last character changed (to one it is not already: 'A' would leave 1 in 64 intact).
      const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
      for (const bad of [undefined, 42, '', 'a.b', `${token}x`, altered]) {
        const error = await expectError(() => auth.resetPassword(bad, NEXT), 'INVALID_TOKEN')
        expect(error.message).not.toContain(token)
      }
      // An access token is not a reset token.
      const login = await auth.login('xia', PASSWORD)
      await expectError(() => auth.resetPassword(login.token, NEXT), 'INVALID_TOKEN')
      clock.advance(HOUR)
      await expectError(() => auth.resetPassword(token, NEXT), 'TOKEN_EXPIRED')
      expect((await auth.login('xia', PASSWORD)).user.username).toBe('xia')
    })

    it('refuses a reset of an account disabled after the token was issued', async () => {
      const { auth, approved, admin } = await world()
      const user = await approved('yuri')
      const grant = await auth.requestPasswordReset('yuri')
      await auth.disableUser(admin.userId, user.userId)
      await expectError(() => auth.resetPassword(grant?.token, NEXT), 'ACCOUNT_DISABLED')
      await auth.enableUser(admin.userId, user.userId)
      expect((await auth.login('yuri', PASSWORD)).user.userId).toBe(user.userId)
    })

    it('grants an account at most 5 resets an hour, on every instance, answering like unknown', async () => {
      // Both instances tail each other's audit events every 20 ms.
      const clock = fakeClock()
      const options: InstanceOptions = {
        dir: await makeTempDir('reset-limit-'),
        clock,
        customize: (builder) => builder.refreshMs(20),
        auth: { backgroundSync: true },
      }
      const a = await openInstance(options)
      const b = await openInstance(options)
      const tailed = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 300))
      await a.auth.bootstrapAdmin({ username: 'abe', email: 'abe@example.com', password: PASSWORD })
      await b.store.refresh()
      // Concurrent requests on one instance: exactly the limit is granted.
      const burst = await Promise.all([1, 2, 3, 4].map(() => a.auth.requestPasswordReset('abe')))
      expect(burst.every((g) => g?.token)).toBe(true)
      await tailed()
      expect((await b.auth.requestPasswordReset('ABE@example.com'))?.token).toBeTruthy()
      await tailed()
      const refused = await newAuditRows(a, async () => {
        expect(await a.auth.requestPasswordReset('abe', CTX)).toBeUndefined()
      })
      expect(
        refused.map((e) => [e.action, e.outcome, JSON.parse(e.details_json as string) as unknown]),
      ).toEqual([['PASSWORD_RESET_REQUEST', 'denied', { reason: 'rate_limited' }]])
      // The tokens granted still work; the limit opens again an hour after the grants.
      clock.advance(59 * MINUTE)
      expect(await b.auth.requestPasswordReset('abe')).toBeUndefined()
      await b.auth.resetPassword(burst[0]?.token, NEXT)
      clock.advance(MINUTE)
      expect((await b.auth.requestPasswordReset('abe'))?.token).toBeTruthy()
      await Promise.all([a.close(), b.close()])
    })

    it('honours a configured reset limit, and refuses one out of range', async () => {
      const { auth, approved } = await world({ auth: { maxResetRequestsPerHour: 1 } })
      await approved('bea')
      expect(await auth.requestPasswordReset('bea')).toBeDefined()
      expect(await auth.requestPasswordReset('bea')).toBeUndefined()
      for (const bad of [0, 101, 2.5]) {
        await expect(
          openInstance({ auth: { maxResetRequestsPerHour: bad } }),
        ).rejects.toMatchObject({
          code: 'CONFIG_INVALID',
        })
      }
    })

    it('honours a configured token lifetime, and refuses one out of range', async () => {
      const { auth, approved, clock } = await world({ auth: { passwordResetTtlSeconds: 120 } })
      await approved('zack')
      const grant = await auth.requestPasswordReset('zack')
      clock.advance(2 * MINUTE)
      await expectError(() => auth.resetPassword(grant?.token, NEXT), 'TOKEN_EXPIRED')
      await expect(openInstance({ auth: { passwordResetTtlSeconds: 10 } })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      })
    })
  })

  describe('reads', () => {
    it('gets users by id, username and email', async () => {
      const { auth, register } = await world()
      const user = await register('amber')
      expect(auth.getUser(user.userId)).toEqual(user)
      expect(auth.getUser('nobody')).toBeUndefined()
      expect(auth.findUser('AMBER')?.userId).toBe(user.userId)
      expect(auth.findUser('amber@EXAMPLE.com')?.userId).toBe(user.userId)
      expect(auth.findUser('not valid!')).toBeUndefined()
    })

    it('lists pending and all users, oldest first, to admins and the system', async () => {
      const { auth, admin, register, approved, clock } = await world()
      clock.advance(MINUTE)
      const b = await register('bert')
      clock.advance(MINUTE)
      const c = await approved('cleo')
      clock.advance(MINUTE)
      const d = await register('dina')
      await auth.rejectUser(admin.userId, d.userId)
      for (const actor of [admin.userId, { userId: admin.userId }, SYSTEM_ACTOR] as Actor[]) {
        expect((await auth.getUserAs(actor, b.userId))?.username).toBe('bert')
        expect((await auth.getPendingUsers(actor)).map((u) => u.username)).toEqual(['bert'])
        expect((await auth.getAllUsers(actor)).map((u) => u.userId)).toEqual([
          admin.userId,
          b.userId,
          c.userId,
          d.userId,
        ])
      }
    })

    it('grants the system role only to the SYSTEM_ACTOR object itself', async () => {
      const { auth } = await world()
      const forged = { system: true } as unknown as Actor
      await expectError(() => auth.getAllUsers(forged), 'FORBIDDEN')
      await expectError(() => auth.getAllUsers('system'), 'FORBIDDEN')
    })

    it.each([
      ['a registered user', 'registered'],
      ['a trader', 'trader'],
      ['a pending user', 'pending'],
      ['a disabled admin', 'disabled-admin'],
      ['a rejected user', 'rejected'],
      ['an unknown user id', 'unknown'],
    ])('refuses admin reads and writes to %s with FORBIDDEN', async (_what, kind) => {
      const { auth, admin, register, approved } = await world()
      const target = await register('target')
      let actor: string
      if (kind === 'registered') actor = (await approved('acting', 'free')).userId
      else if (kind === 'trader') actor = (await approved('acting', 'pioneer')).userId
      else if (kind === 'pending') actor = (await register('acting')).userId
      else if (kind === 'rejected') {
        actor = (await register('acting')).userId
        await auth.rejectUser(admin.userId, actor)
      } else if (kind === 'disabled-admin') {
        actor = (await approved('acting')).userId
        await auth.setRole(admin.userId, actor, 'admin')
        await auth.disableUser(admin.userId, actor)
      } else actor = 'no-such-user'
      const calls: (() => Promise<unknown>)[] = [
        () => auth.getUserAs(actor, target.userId),
        () => auth.getPendingUsers(actor),
        () => auth.getAllUsers(actor),
        () => auth.approveUser(actor, target.userId),
        () => auth.rejectUser(actor, target.userId),
        () => auth.setRole(actor, target.userId, 'admin'),
        () => auth.setRole(actor, actor, 'admin'),
        () => auth.disableUser(actor, target.userId),
        () => auth.enableUser(actor, target.userId),
        () => auth.revokeAllSessions(actor, target.userId),
        () => auth.readUsersAtVersion(actor, 0),
        () => auth.readUsersAtTimestamp(actor, new Date()),
        () => auth.cleanupExpiredSessions(actor),
      ]
      for (const call of calls) await expectError(call, 'FORBIDDEN')
      expect(auth.getUser(target.userId)?.role).toBe('pending')
    })
  })

  describe('time travel', () => {
    it('returns the users exactly as they were at every version and timestamp', async () => {
      const { auth, admin, inst, clock, register } = await world()
      const states: { version: number; at: number; users: UserRecord[] }[] = []
      const snap = async (): Promise<void> => {
        states.push({
          version: await inst.store.version('users'),
          at: clock.now(),
          users: await auth.getAllUsers(SYSTEM_ACTOR),
        })
        clock.advance(MINUTE)
      }
      await snap()
      const alice = await register('alice', 'pioneer')
      await snap()
      const bob = await register('bob')
      await snap()
      const carol = await register('carol')
      await snap()
      await auth.approveUser(admin.userId, alice.userId)
      await snap()
      await auth.approveUser(admin.userId, bob.userId)
      await snap()
      await auth.setRole(admin.userId, alice.userId, 'admin')
      await snap()
      await auth.setRole(admin.userId, alice.userId, 'registered')
      await snap()
      await auth.disableUser(admin.userId, bob.userId)
      await snap()
      await auth.rejectUser(admin.userId, carol.userId)
      await snap()
      await inst.store.table('users').delete(col('user_id').eq(bob.userId))
      await inst.store.afterWrite('users')
      await snap()

      expect(new Set(states.map((s) => s.version)).size).toBe(states.length)
      expect(states.at(-1)?.users.map((u) => u.username)).toEqual(['root_admin', 'alice', 'carol'])
      for (const state of states) {
        expect(await auth.readUsersAtVersion(admin.userId, state.version)).toEqual(state.users)
        expect(
          await auth.readUsersAtTimestamp(admin.userId, new Date(state.at + 30_000).toISOString()),
        ).toEqual(state.users)
        expect(await auth.readUsersAtTimestamp(SYSTEM_ACTOR, state.at + 59_000)).toEqual(
          state.users,
        )
      }
      // Spot checks of what the states hold.
      const roleAt = (i: number, id: string): string | undefined =>
        states[i]?.users.find((u) => u.userId === id)?.role
      expect([4, 5, 6, 7].map((i) => roleAt(i, alice.userId))).toEqual([
        'trader',
        'trader',
        'admin',
        'registered',
      ])
      expect(states[8]?.users.find((u) => u.userId === bob.userId)?.isActive).toBe(false)
      expect(states[9]?.users.find((u) => u.userId === carol.userId)?.rejectedAt).toBeInstanceOf(
        Date,
      )
      expect(states[9]?.users.some((u) => u.userId === bob.userId)).toBe(true)
    })

    it('orders users created in the same millisecond alike now and in time travel', async () => {
      const { auth, admin, register, inst } = await world()
      for (const name of ['ann', 'ben', 'cat', 'dan', 'eva', 'fay']) await register(name)
      const version = await inst.store.version('users')
      expect(await auth.readUsersAtVersion(admin.userId, version)).toEqual(
        await auth.getAllUsers(admin.userId),
      )
    })

    it('answers a version whose files were vacuumed with VERSION_NOT_FOUND', async () => {
      const { auth, admin, register, inst, clock } = await world()
      const user = await register('vacuumed')
      const old = await inst.store.version('users')
      await auth.approveUser(admin.userId, user.userId)
      clock.advance(8 * 24 * HOUR)
      const vacuumed = await inst.store.vacuum('users')
      expect(vacuumed.users?.filesDeleted.length).toBeGreaterThan(0)
      await expectError(() => auth.readUsersAtVersion(admin.userId, old), 'VERSION_NOT_FOUND')
      expect((await auth.readUsersAtTimestamp(admin.userId, clock.now())).length).toBe(2)
    })

    it('refuses missing versions and bad timestamps', async () => {
      const { auth, admin } = await world()
      await expectError(() => auth.readUsersAtVersion(admin.userId, 999), 'VERSION_NOT_FOUND')
      await expectError(() => auth.readUsersAtTimestamp(admin.userId, 'soon'), 'INVALID_TIMESTAMP')
      await expectError(
        () => auth.readUsersAtTimestamp(admin.userId, '2020-01-01T00:00:00Z'),
        'INVALID_TIMESTAMP',
      )
    })
  })

  describe('maintenance', () => {
    it('keeps logins, tokens and uniqueness working after compaction and z-ordering', async () => {
      const { auth, inst, approved, admin } = await world()
      for (const name of ['kai', 'lia', 'moe']) await approved(name)
      const before = await auth.login('kai', PASSWORD)
      await inst.store.compact()
      await inst.store.zOrder()
      expect(inst.store.users.size).toBe(4)
      expect(auth.verifyToken(before.token).user.username).toBe('kai')
      await expectError(
        () => auth.register({ username: 'KAI', email: 'k2@example.com', password: PASSWORD }),
        'USER_EXISTS',
      )
      const lia = auth.findUser('lia')!
      await auth.setRole(admin.userId, lia.userId, 'trader')
      expect((await auth.login('lia', PASSWORD)).user.role).toBe('trader')
      await auth.logout(before.token)
      await expectError(() => auth.verifyToken(before.token), 'INVALID_TOKEN')
    })
  })

  describe('cleanupExpiredSessions', () => {
    it('deletes expired sessions only, and says how many', async () => {
      const { auth, approved, inst, clock, admin } = await world({
        customize: (b) => b.sessionDurationHours(1).sessionIdleMinutes(0),
      })
      await approved('gail')
      const old = await auth.login('gail', PASSWORD)
      clock.advance(30 * MINUTE)
      const older = await auth.login('gail', PASSWORD)
      clock.advance(20 * MINUTE)
      const fresh = await auth.login('gail', PASSWORD)
      expect(await auth.cleanupExpiredSessions()).toBe(0)
      clock.advance(15 * MINUTE) // `old` expired, the others not yet
      expect(await auth.cleanupExpiredSessions(admin.userId)).toBe(1)
      expect(inst.store.sessions.get(old.sessionId)).toBeUndefined()
      expect(auth.verifyToken(older.token).sessionId).toBe(older.sessionId)
      clock.advance(2 * 24 * HOUR) // whole expired day partitions
      expect(await auth.cleanupExpiredSessions()).toBe(2)
      expect(await inst.store.scan('sessions')).toEqual([])
      expect(inst.store.sessions.get(fresh.sessionId)).toBeUndefined()
      const events = await inst.store.query('audit_log', col('action').eq('CLEANUP_SESSIONS'))
      expect(events).toHaveLength(2)
    })
  })

  describe('lockout', () => {
    async function fail(auth: AuthService, id: string, n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        await expectError(() => auth.login(id, `wrong password ${i}`), 'INVALID_CREDENTIALS')
      }
    }

    it('locks an account after 10 failures, with retry-after, until the window passes', async () => {
      const { auth, approved, clock } = await world()
      await approved('hank')
      await fail(auth, 'hank', 10)
      const locked = await expectError(() => auth.login('hank', PASSWORD), 'ACCOUNT_LOCKED')
      expect(locked.retryAfterSeconds).toBe(15 * 60)
      clock.advance(5 * MINUTE)
      const later = await expectError(() => auth.login('HANK', PASSWORD), 'ACCOUNT_LOCKED')
      expect(later.retryAfterSeconds).toBe(10 * 60)
      clock.advance(10 * MINUTE)
      expect((await auth.login('hank', PASSWORD)).user.username).toBe('hank')
    })

    it('counts failures by email and username alike, and a success resets the count', async () => {
      const { auth, approved } = await world()
      await approved('iris')
      await fail(auth, 'iris', 5)
      await fail(auth, 'IRIS@example.com', 4)
      await auth.login('iris', PASSWORD)
      await fail(auth, 'iris', 9)
      await auth.login('iris', PASSWORD)
    })

    it('locks unknown identifiers the same way', async () => {
      const { auth } = await world()
      await fail(auth, 'ghost', 10)
      const error = await expectError(() => auth.login('Ghost', PASSWORD), 'ACCOUNT_LOCKED')
      expect(error.retryAfterSeconds).toBeGreaterThan(0)
    })

    it('honours a configured limit and window', async () => {
      const { auth, approved, clock } = await world({ customize: (b) => b.lockout(3, 1) })
      await approved('jack')
      await fail(auth, 'jack', 3)
      await expectError(() => auth.login('jack', PASSWORD), 'ACCOUNT_LOCKED')
      clock.advance(MINUTE)
      await auth.login('jack', PASSWORD)
    })
  })

  describe('rehash on login', () => {
    it('replaces a hash made with other parameters after a successful login', async () => {
      const { inst, approved } = await world()
      const user = await approved('kate')
      const hashOf = async (i: TestInstance): Promise<string> =>
        (await i.store.query('users', col('user_id').eq(user.userId)))[0]?.password_hash as string
      const weak = await hashOf(inst)
      expect(weak).toMatch(/^\$fast\$c=1\$/)
      await inst.close()
      const stronger = await openInstance({
        dir: inst.dir,
        auth: { hasher: new CountingHasher(2) },
      })
      await expectError(() => stronger.auth.login('kate', 'wrong password!'), 'INVALID_CREDENTIALS')
      expect(await hashOf(stronger)).toBe(weak) // never on a failed login
      await stronger.auth.login('kate', PASSWORD)
      const rehashed = await hashOf(stronger)
      expect(rehashed).toMatch(/^\$fast\$c=2\$/)
      expect(stronger.hasher.inner.needsRehash(rehashed)).toBe(false)
      await stronger.auth.login('kate', PASSWORD)
      await stronger.close()
    })
  })

  describe('audit trail', () => {
    it('writes one event per action with actor, target, outcome, UTC time and IP', async () => {
      const { auth, inst, admin, clock } = await world()
      const pw2 = 'a second strong passphrase'
      let userId = ''
      let token = ''
      let sessionId = ''
      const steps: [string, () => Promise<unknown>, Record<string, unknown>][] = [
        [
          'REGISTER',
          async () =>
            (userId = (
              await auth.register(
                { username: 'lena', email: 'lena@example.com', password: PASSWORD },
                CTX,
              )
            ).userId),
          { outcome: 'success' },
        ],
        [
          'APPROVE_USER',
          () => auth.approveUser(admin.userId, userId, undefined, CTX),
          { outcome: 'success' },
        ],
        [
          'LOGIN',
          async () => ({ token, sessionId } = await auth.login('lena', PASSWORD, CTX)),
          { outcome: 'success' },
        ],
        ['LOGIN_FAILED', () => auth.login('lena', 'wrong password!', CTX), { outcome: 'failure' }],
        [
          'SET_ROLE',
          () => auth.setRole(admin.userId, userId, 'trader', CTX),
          { outcome: 'success' },
        ],
        [
          'PASSWORD_CHANGE',
          () => auth.changePassword(userId, PASSWORD, pw2, { ...CTX, keepSessionId: sessionId }),
          { outcome: 'success' },
        ],
        ['LOGOUT', () => auth.logout(token, CTX), { outcome: 'success' }],
        [
          'REVOKE_ALL_SESSIONS',
          () => auth.revokeAllSessions(userId, userId, CTX),
          { outcome: 'success' },
        ],
        ['DISABLE_USER', () => auth.disableUser(admin.userId, userId, CTX), { outcome: 'success' }],
        ['LOGIN', () => auth.login('lena', pw2, CTX), { outcome: 'denied' }],
        ['ENABLE_USER', () => auth.enableUser(admin.userId, userId, CTX), { outcome: 'success' }],
        ['SET_ROLE', () => auth.setRole(userId, userId, 'admin', CTX), { outcome: 'denied' }],
      ]
      for (const [action, run, expected] of steps) {
        clock.advance(1000)
        const rows = await newAuditRows(inst, run)
        expect(rows, action).toHaveLength(1)
        const [row] = rows
        expect(row, action).toMatchObject({
          action,
          ...expected,
          ip_address: CTX.ipAddress,
          user_agent: CTX.userAgent,
        })
        expect((row?.timestamp as Date).toISOString()).toBe(new Date(clock.now()).toISOString())
        expect(row?.date_partition).toBe(new Date(clock.now()).toISOString().slice(0, 10))
        expect(row?.user_id, action).toBe(userId)
        if (
          ['APPROVE_USER', 'SET_ROLE', 'DISABLE_USER', 'ENABLE_USER'].includes(action) &&
          expected.outcome === 'success'
        ) {
          expect(JSON.parse(row?.details_json as string)).toMatchObject({ actor: admin.userId })
          expect(row?.resource).toBe(`user:${userId}`)
        }
      }
      // Never a password, a token or a hash.
      const hashes = (await inst.store.scan('users', { columns: ['password_hash'] })).map(
        (r) => r.password_hash as string,
      )
      const tokenHash = createHash('sha256').update(token).digest('hex')
      const text = JSON.stringify(await auditRows(inst))
      for (const secret of [PASSWORD, pw2, 'wrong password!', token, tokenHash, ...hashes]) {
        expect(text).not.toContain(secret)
      }
      for (const part of token.split('.')) expect(text).not.toContain(part)
    })
  })
})

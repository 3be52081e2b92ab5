/**
 * Hardening beyond the scenario suite: password changes are throttled like logins, disabled
 * accounts cannot change passwords, and concurrent admin bootstraps create one admin even from
 * separate store instances (separate processes share only the files).
 */
import { describe, expect, it } from 'vitest'
import { col } from '../../src/delta/index.js'
import type { TableName } from '../../src/lakehouse/tables.js'
import {
  adminAndUser,
  expectError,
  fakeClock,
  openInstance,
  PASSWORD,
  type TestInstance,
} from '../lakehouse/support/test-lakehouse.js'

describe('AuthService hardening', () => {
  it('locks password changes after repeated wrong old passwords, like logins', async () => {
    const clock = fakeClock()
    const inst = await openInstance({ clock, customize: (b) => b.lockout(3, 15) })
    const admin = await inst.auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    for (let i = 0; i < 3; i++) {
      await expectError(
        () => inst.auth.changePassword(admin.userId, `wrong guess ${i}!`, 'a brand new passphrase'),
        'INVALID_CREDENTIALS',
      )
    }
    const locked = await expectError(
      () => inst.auth.changePassword(admin.userId, PASSWORD, 'a brand new passphrase'),
      'ACCOUNT_LOCKED',
    )
    expect(locked.retryAfterSeconds).toBeGreaterThan(0)
    clock.advance(16 * 60_000)
    await inst.auth.changePassword(admin.userId, PASSWORD, 'a brand new passphrase')
    await inst.close()
  })

  it('refuses a password change for a disabled account', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const admin = await inst.auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    const u = await inst.auth.register({
      username: 'dora',
      email: 'dora@example.com',
      password: PASSWORD,
    })
    await inst.auth.approveUser(admin.userId, u.userId)
    await inst.auth.disableUser(admin.userId, u.userId)
    await expectError(
      () => inst.auth.changePassword(u.userId, PASSWORD, 'another long passphrase'),
      'ACCOUNT_DISABLED',
    )
    await inst.close()
  })

  it('creates exactly one admin when two instances bootstrap at once', async () => {
    const a = await openInstance({ clock: fakeClock() })
    const b = await openInstance({ dir: a.dir, clock: fakeClock() })
    const results = await Promise.allSettled([
      a.auth.bootstrapAdmin({ username: 'admin_a', email: 'a@example.com', password: PASSWORD }),
      b.auth.bootstrapAdmin({ username: 'admin_b', email: 'b@example.com', password: PASSWORD }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const rejected = results.find((r) => r.status === 'rejected')
    expect((rejected?.reason as { code?: string }).code).toBe('INVALID_STATE')
    await a.store.refresh()
    expect([...a.store.users.values()].filter((u) => u.record.role === 'admin')).toHaveLength(1)
    await a.close()
    await b.close()
  })
})

describe('login staging', () => {
  /** Data files on disk that no live version of the table references. */
  async function strayFiles(inst: TestInstance, table: TableName): Promise<string[]> {
    const t = inst.store.table(table)
    await t.refresh()
    const live = new Set(t.snapshot.files().map((f) => decodeURIComponent(f.path)))
    const onDisk = (await t.store.listKeys('', { recursive: true })).filter(
      (k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'),
    )
    return onDisk.filter((k) => !live.has(k))
  }

  async function settle(): Promise<void> {
    // Discards of refused logins run in the background.
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5))
  }

  it('leaves no files behind when the password is wrong, the account disabled or locked', async () => {
    const clock = fakeClock()
    const inst = await openInstance({ clock, customize: (b) => b.lockout(2, 15) })
    const admin = await inst.auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    const u = await inst.auth.register({
      username: 'erin',
      email: 'erin@example.com',
      password: PASSWORD,
    })
    await inst.auth.approveUser(admin.userId, u.userId)
    await expectError(() => inst.auth.login('erin', 'not the password!'), 'INVALID_CREDENTIALS')
    await expectError(
      () => inst.auth.login('nobody_here', 'not the password!'),
      'INVALID_CREDENTIALS',
    )
    await expectError(
      () => inst.auth.login('erin', 'still not the password'),
      'INVALID_CREDENTIALS',
    )
    await expectError(() => inst.auth.login('erin', PASSWORD), 'ACCOUNT_LOCKED')
    clock.advance(16 * 60_000)
    await inst.auth.disableUser(admin.userId, u.userId)
    await expectError(() => inst.auth.login('erin', PASSWORD), 'ACCOUNT_DISABLED')
    await settle()
    expect(await strayFiles(inst, 'sessions')).toEqual([])
    expect(await strayFiles(inst, 'audit_log')).toEqual([])
    expect(await inst.store.scan('sessions')).toEqual([])
    await inst.close()
  })

  it('commits exactly the staged session of a successful login, and its event after it', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const admin = await inst.auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    const { token, sessionId } = await inst.auth.login('root_admin', PASSWORD)
    expect(inst.auth.verifyToken(token).user.userId).toBe(admin.userId)
    const sessions = await inst.store.scan('sessions')
    expect(sessions.map((s) => s.session_id)).toEqual([sessionId])
    await inst.auth.flushLoginEvents()
    const events = await inst.store.scan('audit_log', { filter: col('action').eq('LOGIN') })
    expect(events.map((e) => e.resource)).toEqual([`session:${sessionId}`])
    expect(await strayFiles(inst, 'sessions')).toEqual([])
    await inst.close()
  })
})

/** An admin and an approved user `alice` (password {@link PASSWORD}). */
async function withAlice(inst: TestInstance): Promise<{ adminId: string; aliceId: string }> {
  const { admin, user } = await adminAndUser(inst, 'alice')
  return { adminId: admin.userId, aliceId: user.userId }
}

describe('passwords, revocations and logouts at their edges', () => {
  it('logs in with a password registration accepted, measured as registration measures it', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const { adminId } = await withAlice(inst)
    // 400 fullwidth letters: 1,200 bytes as typed, 400 after NFKC (what is hashed and limited).
    const fullwidth = Array.from({ length: 400 }, (_, i) =>
      String.fromCodePoint(0xff41 + (i % 26)),
    ).join('')
    expect(Buffer.byteLength(fullwidth)).toBeGreaterThan(1024)
    const u = await inst.auth.register({
      username: 'wide_user',
      email: 'wide@example.com',
      password: fullwidth,
    })
    await inst.auth.approveUser(adminId, u.userId)
    await inst.auth.login('wide_user', fullwidth)
    await inst.auth.changePassword(u.userId, fullwidth, 'a brand new passphrase')
    await inst.auth.login('wide_user', 'a brand new passphrase')
    // Longer than registration's bound as typed: refused before any hashing, like a wrong one.
    const long = await expectError(
      () => inst.auth.login('wide_user', 'x'.repeat(1025)),
      'INVALID_CREDENTIALS',
    )
    expect(long.context.reason).toBe('password-shape')
    await inst.close()
  })

  it('does not overwrite a password reset that committed while a change was hashing', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const { aliceId } = await withAlice(inst)
    const grant = await inst.auth.requestPasswordReset('alice')
    if (!grant) throw new Error('no reset grant')
    // The owner resets the password between the change's check of the old one and its commit.
    const hash = inst.hasher.hash.bind(inst.hasher)
    let raced = false
    inst.hasher.hash = async (password: string): Promise<string> => {
      if (!raced) {
        raced = true
        await inst.auth.resetPassword(grant.token, 'the owner reset this one')
      }
      return hash(password)
    }
    const error = await expectError(
      () => inst.auth.changePassword(aliceId, PASSWORD, 'the attacker set this one'),
      'INVALID_CREDENTIALS',
    )
    expect(error.context.reason).toBe('credentials-changed')
    await inst.auth.login('alice', 'the owner reset this one')
    await expectError(
      () => inst.auth.login('alice', 'the attacker set this one'),
      'INVALID_CREDENTIALS',
    )
    const events = await inst.store.query('audit_log', col('action').eq('PASSWORD_CHANGE'))
    const outcomes = events.map((e) => {
      const details = JSON.parse(String(e.details_json)) as { reason?: string }
      return [e.outcome, details.reason]
    })
    expect(outcomes).toContainEqual(['failure', 'credentials-changed'])
    await inst.close()
  })

  it('revokes when two revocations of one user race (the second commit is redone)', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const { aliceId } = await withAlice(inst)
    for (let round = 0; round < 3; round++) {
      const { token } = await inst.auth.login('alice', PASSWORD)
      await Promise.all([inst.auth.logout(token), inst.auth.logout(token)])
      await expectError(() => inst.auth.verifyToken(token), 'INVALID_TOKEN')
      const tokens = await Promise.all([1, 2].map(() => inst.auth.login('alice', PASSWORD)))
      await Promise.all([
        inst.auth.revokeAllSessions(aliceId, aliceId),
        inst.auth.revokeAllSessions(aliceId, aliceId),
      ])
      for (const t of tokens)
        await expectError(() => inst.auth.verifyToken(t.token), 'INVALID_TOKEN')
    }
    await inst.close()
  })

  it('records who revoked all sessions of a user, the user or an admin', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const { adminId, aliceId } = await withAlice(inst)
    await inst.auth.revokeAllSessions(aliceId, aliceId)
    await inst.auth.revokeAllSessions(adminId, aliceId)
    const events = await inst.store.query('audit_log', col('action').eq('REVOKE_ALL_SESSIONS'))
    const actors = events.map(
      (e) => (JSON.parse(String(e.details_json)) as { actor?: string }).actor,
    )
    expect(actors.sort()).toEqual([adminId, aliceId].sort())
    await inst.close()
  })

  it('audits a refused admin call with its target, and a refused new password', async () => {
    const inst = await openInstance({ clock: fakeClock() })
    const { adminId, aliceId } = await withAlice(inst)
    await expectError(() => inst.auth.setRole(aliceId, adminId, 'registered'), 'FORBIDDEN')
    await expectError(
      () => inst.auth.changePassword(aliceId, PASSWORD, 'password'),
      'WEAK_PASSWORD',
    )
    const denied = await inst.store.query('audit_log', col('action').eq('SET_ROLE'))
    expect(denied.map((e) => [e.outcome, e.user_id, e.resource])).toEqual([
      ['denied', aliceId, `user:${adminId}`],
    ])
    const changes = await inst.store.query('audit_log', col('action').eq('PASSWORD_CHANGE'))
    expect(changes.map((e) => [e.outcome, e.resource])).toEqual([['failure', `user:${aliceId}`]])
    expect(String(changes[0]?.details_json)).toContain('new-password')
    await inst.close()
  })

  it('logs out a session another instance created since the last refresh', async () => {
    const a = await openInstance({ clock: fakeClock() })
    const b = await openInstance({ dir: a.dir, clock: fakeClock() })
    await withAlice(a)
    const { token } = await a.auth.login('alice', PASSWORD)
    await b.auth.logout(token)
    await a.store.refresh()
    await expectError(() => a.auth.verifyToken(token), 'INVALID_TOKEN')
    await Promise.all([a.close(), b.close()])
  })

  it('revokes the session of a token this instance finds idle, for instances that do not', async () => {
    const clock = fakeClock()
    const a = await openInstance({ clock })
    const b = await openInstance({
      dir: a.dir,
      clock,
      customize: (builder) => builder.sessionIdleMinutes(0),
    })
    await withAlice(a)
    const { token, sessionId } = await a.auth.login('alice', PASSWORD)
    clock.advance(31 * 60_000)
    const idle = await expectError(() => a.auth.verifyToken(token), 'TOKEN_EXPIRED')
    expect(idle.context.reason).toBe('idle')
    await a.auth.logout(token)
    expect(a.store.sessions.get(sessionId)?.revoked).toBe(true)
    await b.store.refresh()
    await expectError(() => b.auth.verifyToken(token), 'INVALID_TOKEN')
    const events = await a.store.query('audit_log', col('action').eq('LOGOUT'))
    expect(events.map((e) => e.resource)).toEqual([`session:${sessionId}`])
    await Promise.all([a.close(), b.close()])
  })
})

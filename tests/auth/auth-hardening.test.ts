/**
 * Hardening beyond the scenario suite: password changes are throttled like logins, disabled
 * accounts cannot change passwords, and concurrent admin bootstraps create one admin even from
 * separate store instances (separate processes share only the files).
 */
import { describe, expect, it } from 'vitest'
import { col } from '../../src/delta/index.js'
import type { TableName } from '../../src/lakehouse/tables.js'
import {
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

import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ActionType } from '../src/audit/audit-log.js'
import { SYSTEM_ACTOR } from '../src/auth/auth-service.js'
import { LakehouseClient } from '../src/client.js'
import { LakehouseError } from '../src/common/lakehouse-error.js'
import { col } from '../src/delta/expr/expression.js'
import { DEV_SECRET_FILE } from '../src/lakehouse/jwt-secret.js'
import { makeTempDir } from './support/temp.js'
import {
  CountingHasher,
  expectError,
  fakeClock,
  PASSWORD,
  recordingLogger,
  TEST_SECRET,
  testConfig,
  type FakeClock,
} from './lakehouse/support/test-lakehouse.js'

const CTX = { ipAddress: '198.51.100.7', userAgent: 'client-test' }

/** Opens clients of one new lakehouse path, as separate instances would. */
async function instancesOfOneLakehouse(
  clock: FakeClock,
  autoRefresh: boolean,
): Promise<() => Promise<LakehouseClient>> {
  const dir = await makeTempDir('client-')
  return () =>
    LakehouseClient.open(dir, {
      jwtSecret: TEST_SECRET,
      hasher: new CountingHasher(),
      clock,
      logger: recordingLogger(),
      autoRefresh,
    })
}

async function openClient(clock: FakeClock = fakeClock()): Promise<LakehouseClient> {
  return LakehouseClient.open(await makeTempDir('client-'), {
    jwtSecret: TEST_SECRET,
    hasher: new CountingHasher(),
    clock,
    logger: recordingLogger(),
    autoRefresh: false,
  })
}

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('LakehouseClient', () => {
  it('opens a path with a given secret, or a built configuration', async () => {
    const client = await openClient()
    expect(Buffer.from(client.store.jwtSecret).toString()).toBe(TEST_SECRET)
    expect(client.store.config.environment).toBe('test')
    await client.close()
    const dir = await makeTempDir('client-')
    const configured = await LakehouseClient.open(
      testConfig(dir, (b) => b.refreshMs(250)),
      {
        hasher: new CountingHasher(),
        logger: recordingLogger(),
        autoRefresh: false,
      },
    )
    expect(configured.store.config.refreshMs).toBe(250)
    expect(configured.store.config.basePath).toBe(dir)
    await configured.close()
  })

  it('refuses a secret given beside a built configuration, which carries its own', async () => {
    const dir = await makeTempDir('client-')
    const error = await expectError(
      () => LakehouseClient.open(testConfig(dir), { jwtSecret: 'x'.repeat(48) }),
      'CONFIG_INVALID',
    )
    expect(error.context.field).toBe('jwtSecret')
    expect(error.message).not.toContain('x'.repeat(48))
    // Nothing was opened or generated.
    await expect(fs.readdir(dir)).resolves.toEqual([])
  })

  it('stops answering from its views once closed (STORE_CLOSED)', async () => {
    const client = await openClient()
    await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const { token, user } = await client.login('root_admin', PASSWORD)
    expect((await client.verifyToken(token)).user.userId).toBe(user.userId)
    await client.close()
    await expectError(() => client.verifyToken(token), 'STORE_CLOSED')
    await expectError(() => client.getUser(user.userId), 'STORE_CLOSED')
    await expectError(() => client.login('root_admin', PASSWORD), 'STORE_CLOSED')
  })

  it('opens a path with the secret of POLARWAY_JWT_SECRET when none is given, also in production', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    vi.stubEnv('POLARWAY_JWT_SECRET', TEST_SECRET)
    const dir = await makeTempDir('client-')
    const client = await LakehouseClient.open(dir, {
      hasher: new CountingHasher(),
      logger: recordingLogger(),
      autoRefresh: false,
    })
    expect(Buffer.from(client.store.jwtSecret).toString()).toBe(TEST_SECRET)
    expect(client.store.config.environment).toBe('production')
    await client.close()
    // No secret file was generated.
    await expect(fs.access(path.join(dir, DEV_SECRET_FILE))).rejects.toThrow()
  })

  it('generates a development secret when none is given and says so', async () => {
    const dir = await makeTempDir('client-')
    const logger = recordingLogger()
    const client = await LakehouseClient.open(dir, {
      hasher: new CountingHasher(),
      logger,
      autoRefresh: false,
    })
    const file = path.join(dir, DEV_SECRET_FILE)
    expect(Buffer.from(client.store.jwtSecret).toString()).toBe(
      (await fs.readFile(file, 'utf8')).trim(),
    )
    expect(logger.warnings.some((w) => w.includes(file))).toBe(true)
    await client.close()
  })

  it('refuses to open in production without a strong secret', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    const dir = await makeTempDir('client-')
    await expectError(() => LakehouseClient.open(dir, { autoRefresh: false }), 'WEAK_SECRET')
    await expectError(
      () => LakehouseClient.open(dir, { jwtSecret: 'short', autoRefresh: false }),
      'WEAK_SECRET',
    )
    expect(await fs.readdir(dir)).toEqual([])
  })

  it('runs the user life cycle: register, approve, login, verify, role change, logout', async () => {
    const clock = fakeClock()
    const client = await openClient(clock)
    const admin = await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    clock.advance(1000)
    const user = await client.register('alice', 'alice@example.com', PASSWORD, {
      tier: 'pioneer',
      firstName: 'Alice',
      lastName: 'L',
      preferences: { lang: 'de' },
      context: CTX,
    })
    expect(user).toMatchObject({
      role: 'pending',
      subscriptionTier: 'pioneer',
      firstName: 'Alice',
      preferences: { lang: 'de' },
    })
    expect((await client.getPendingUsers()).map((u) => u.userId)).toEqual([user.userId])
    const approved = await client.approveUser(user.userId, undefined, { actor: admin.userId })
    expect(approved.role).toBe('trader')
    const login = await client.login('Alice@Example.com', PASSWORD, { context: CTX })
    expect((await client.verifyToken(login.token)).role).toBe('trader')
    await client.setRole(user.userId, 'registered', { actor: admin.userId })
    expect((await client.verifyToken(login.token)).role).toBe('registered')
    expect((await client.getUser(user.userId))?.role).toBe('registered')
    await client.logout(login.token, { context: CTX })
    // verifyToken reports failures as a rejected promise, not a synchronous throw.
    const pending = client.verifyToken(login.token)
    await expect(pending).rejects.toBeInstanceOf(LakehouseError)
    await expect(pending).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    expect((await client.getAllUsers()).map((u) => u.username)).toEqual(['root_admin', 'alice'])
    await client.close()
  })

  it('runs admin operations as the system by default and enforces a given actor', async () => {
    const client = await openClient()
    const admin = await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const bob = await client.register('bob', 'bob@example.com', PASSWORD)
    const carol = await client.register('carol', 'carol@example.com', PASSWORD)
    await client.approveUser(bob.userId, 'free')
    const actor = { actor: bob.userId }
    await expectError(() => client.approveUser(carol.userId, undefined, actor), 'FORBIDDEN')
    await expectError(() => client.rejectUser(carol.userId, actor), 'FORBIDDEN')
    await expectError(() => client.setRole(carol.userId, 'admin', actor), 'FORBIDDEN')
    await expectError(() => client.disableUser(carol.userId, actor), 'FORBIDDEN')
    await expectError(() => client.enableUser(carol.userId, actor), 'FORBIDDEN')
    await expectError(() => client.getUser(carol.userId, actor), 'FORBIDDEN')
    expect((await client.getUser(carol.userId, { actor: admin.userId }))?.username).toBe('carol')
    expect((await client.getUser(carol.userId))?.username).toBe('carol')
    await expectError(() => client.getPendingUsers(actor), 'FORBIDDEN')
    await expectError(() => client.getAllUsers(actor), 'FORBIDDEN')
    await expectError(() => client.readUsersAtVersion(1, actor), 'FORBIDDEN')
    await expectError(() => client.readUsersAtTimestamp(new Date(), actor), 'FORBIDDEN')
    await expectError(() => client.revokeAllSessions(carol.userId, actor), 'FORBIDDEN')
    expect(
      (await client.rejectUser(carol.userId, { actor: admin.userId })).rejectedAt,
    ).toBeInstanceOf(Date)
    expect((await client.disableUser(bob.userId)).isActive).toBe(false)
    expect((await client.enableUser(bob.userId)).isActive).toBe(true)
    await expectError(() => client.setRole(admin.userId, 'trader'), 'LAST_ADMIN')
    await client.close()
  })

  it('refuses an actor key without a value instead of running as the system', async () => {
    const client = await openClient()
    const admin = await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const mallory = await client.register('mallory', 'mallory@example.com', PASSWORD)
    const before = await client.store.version('users')
    // `{ actor: req.user?.id }` with nobody signed in, and the same from untyped callers.
    const nobodies: unknown[] = [{ actor: undefined }, { actor: null, context: CTX }, null, 'x']
    for (const none of nobodies) {
      const options = none as { actor?: string }
      const calls: [string, () => Promise<unknown>][] = [
        ['APPROVE_USER', () => client.approveUser(mallory.userId, 'professional', options)],
        ['REJECT_USER', () => client.rejectUser(mallory.userId, options)],
        ['SET_ROLE', () => client.setRole(mallory.userId, 'admin', options)],
        ['DISABLE_USER', () => client.disableUser(admin.userId, options)],
        ['ENABLE_USER', () => client.enableUser(admin.userId, options)],
        ['REVOKE_ALL_SESSIONS', () => client.revokeAllSessions(admin.userId, options)],
        ['GET_USER', () => client.getUser(admin.userId, options)],
        ['LIST_PENDING_USERS', () => client.getPendingUsers(options)],
        ['LIST_USERS', () => client.getAllUsers(options)],
        ['TIME_TRAVEL_USERS', () => client.readUsersAtVersion(0, options)],
        ['TIME_TRAVEL_USERS', () => client.readUsersAtTimestamp(new Date(), options)],
      ]
      for (const [action, call] of calls) {
        let pending: Promise<unknown> | undefined
        // A refusal is a rejected promise, not a synchronous throw.
        expect(() => (pending = call())).not.toThrow()
        const error = await expectError(() => pending, 'FORBIDDEN')
        expect(error.context).toMatchObject({ action, reason: 'no-actor' })
      }
    }
    expect(await client.store.version('users')).toBe(before)
    expect(client.auth.getUser(mallory.userId)?.role).toBe('pending')
    // The system stays available when asked for: no actor key, or SYSTEM_ACTOR itself.
    expect((await client.getUser(mallory.userId, {}))?.username).toBe('mallory')
    expect((await client.getUser(mallory.userId, { actor: SYSTEM_ACTOR }))?.username).toBe(
      'mallory',
    )
    expect((await client.getAllUsers({ actor: SYSTEM_ACTOR })).length).toBe(2)
    const approved = await client.approveUser(mallory.userId, 'free', { context: CTX })
    expect(approved.role).not.toBe('pending')
    await client.close()
  })

  it('revokes sessions and changes passwords, keeping the named session', async () => {
    const client = await openClient()
    await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const u = await client.register('dana', 'dana@example.com', PASSWORD)
    await client.approveUser(u.userId)
    const a = await client.login('dana', PASSWORD)
    const b = await client.login('dana', PASSWORD)
    await client.changePassword(u.userId, PASSWORD, 'brand new passphrase', {
      keepSessionId: a.sessionId,
      context: CTX,
    })
    await expect(client.verifyToken(b.token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    expect((await client.verifyToken(a.token)).sessionId).toBe(a.sessionId)
    const changed = await client.store.query('audit_log', col('action').eq('PASSWORD_CHANGE'))
    expect(changed[0]).toMatchObject({ ip_address: CTX.ipAddress, user_agent: CTX.userAgent })
    expect(await client.revokeAllSessions(u.userId, { actor: u.userId })).toBe(1)
    await expect(client.verifyToken(a.token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    await client.close()
  })

  it('resets a password with a token, with the configured lifetime', async () => {
    const client = await openClient()
    await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const u = await client.register('fern', 'fern@example.com', PASSWORD)
    const session = await client.login('fern', PASSWORD)
    expect(await client.requestPasswordReset('nobody@example.com')).toBeUndefined()
    const grant = await client.requestPasswordReset('fern@example.com', { context: CTX })
    expect(grant?.user.userId).toBe(u.userId)
    expect(grant?.expiresAt).toBe(client.store.clock.now() + 3600_000)
    const next = 'a reset passphrase for fern'
    expect((await client.resetPassword(grant?.token ?? '', next, { context: CTX })).userId).toBe(
      u.userId,
    )
    await expect(client.verifyToken(session.token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
    expect((await client.login('fern', next)).user.userId).toBe(u.userId)
    const events = await client.store.query('audit_log', col('action').eq('PASSWORD_RESET'))
    expect(events[0]).toMatchObject({ outcome: 'success', ip_address: CTX.ipAddress })
    await client.close()
    const short = await LakehouseClient.open(client.store.config, {
      hasher: new CountingHasher(),
      passwordResetTtlSeconds: 300,
      maxResetRequestsPerHour: 2,
    })
    const before = short.store.clock.now()
    const g = await short.requestPasswordReset('fern')
    const after = short.store.clock.now()
    // Expiry has whole seconds (the token's exp claim): 300 s after the second of the request.
    const expiresAt = g?.expiresAt ?? 0
    expect(expiresAt % 1000).toBe(0)
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 300_000)
    expect(expiresAt).toBeLessThanOrEqual(after + 300_000)
    // A second grant within the hour reaches the configured limit.
    expect(await short.requestPasswordReset('fern')).toBeDefined()
    expect(await short.requestPasswordReset('fern')).toBeUndefined()
    await short.close()
  })

  it('time-travels the users table by version and by timestamp', async () => {
    const clock = fakeClock()
    const client = await openClient(clock)
    const admin = await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    clock.advance(60_000)
    const u = await client.register('erin', 'erin@example.com', PASSWORD)
    const version = await client.store.version('users')
    const at = clock.now()
    clock.advance(60_000)
    await client.approveUser(u.userId, 'professional', { actor: admin.userId })
    const then = await client.readUsersAtVersion(version)
    expect(then.find((x) => x.userId === u.userId)?.role).toBe('pending')
    const asOf = await client.readUsersAtTimestamp(new Date(at + 1000).toISOString())
    expect(asOf).toEqual(then)
    const now = await client.readUsersAtTimestamp(clock.now(), { actor: admin.userId })
    expect(now.find((x) => x.userId === u.userId)?.role).toBe('trader')
    const history = await client.history()
    expect(history[0]).toMatchObject({ version: version + 1, operation: 'UPDATE' })
    expect(await client.history('audit_log', 1)).toHaveLength(1)
    await client.close()
  })

  it('logs user actions with the username in the metadata', async () => {
    const client = await openClient()
    const id = await client.logAction('u-1', 'alice', ActionType.EXPORT, {
      sessionId: 's-1',
      rowCount: 10,
      cost: 0.5,
      // The username argument is what is recorded, not a username in the metadata.
      metadata: { format: 'csv', username: 'mallory' },
    })
    const [row] = await client.store.query('user_actions', col('action_id').eq(id))
    expect(row).toMatchObject({ user_id: 'u-1', action_type: 'export', session_id: 's-1' })
    expect(JSON.parse(row?.metadata_json as string)).toEqual({ username: 'alice', format: 'csv' })
    await client.close()
  })

  it('cleans up expired sessions and runs maintenance', async () => {
    const clock = fakeClock()
    const client = await openClient(clock)
    await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    await client.login('root_admin', PASSWORD)
    await client.logAction('u-1', 'alice', ActionType.QUERY)
    await client.logAction('u-1', 'alice', ActionType.QUERY)
    clock.advance(3 * 24 * 3600_000)
    expect(await client.cleanupExpiredSessions()).toBe(1)
    const compacted = await client.compact('user_actions')
    expect(compacted.user_actions?.metrics.numFilesRemoved).toBe(2)
    expect(Object.keys(await client.zOrder()).sort()).toEqual(['audit_log', 'user_actions'])
    const vacuumed = await client.vacuum('user_actions')
    expect(vacuumed.user_actions?.dryRun).toBe(false)
    await client.close()
    await client.close()
  })

  it('takes null options as none, and refuses other non-objects and odd arguments with typed errors', async () => {
    const client = await openClient()
    await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    // Untyped callers (JSON, other languages' bindings) pass null for "no options".
    const untyped = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    const bob = (await untyped.register!('bob_b', 'bob@example.com', PASSWORD, null)) as {
      userId: string
    }
    await client.approveUser(bob.userId)
    const { token } = (await untyped.login!('bob_b', PASSWORD, null)) as { token: string }
    await untyped.logAction!(bob.userId, 'bob_b', ActionType.QUERY, null)
    await untyped.changePassword!(bob.userId, PASSWORD, 'a brand new passphrase', null)
    await untyped.logout!(token, null)
    for (const bad of [42, 'context', true]) {
      await expectError(() => untyped.login!('bob_b', PASSWORD, bad), 'INVALID_INPUT')
      await expectError(
        () => untyped.register!('carol', 'carol@example.com', PASSWORD, bad),
        'INVALID_INPUT',
      )
    }
    // Values whose string form throws (a symbol, an object without a prototype) in messages.
    await expectError(() => untyped.changePassword!(Symbol('id'), PASSWORD, 'x'), 'INVALID_INPUT')
    const bare = Object.create(null) as unknown
    for (const call of [
      () => untyped.changePassword!(bare, PASSWORD, 'another passphrase'),
      () => untyped.readUsersAtVersion!(bare),
      () => untyped.readUsersAtTimestamp!(bare),
      () => untyped.history!(bare),
      () => untyped.history!('users', bare),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(LakehouseError)
    }
    await client.close()
  })

  it('accepts a session used on another instance just before it would have been idle', async () => {
    const clock = fakeClock()
    const open = await instancesOfOneLakehouse(clock, true)
    const a = await open()
    await a.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
    const b = await open()
    const { token } = await a.login('root_admin', PASSWORD)
    await b.store.refresh()
    const later = async (ms: number): Promise<void> => {
      clock.advance(ms)
      // The background refresh runs on real time; the views must not look stale.
      await Promise.all([a.store.refresh(), b.store.refresh()])
    }
    await later(29.5 * 60_000)
    // B's use revives a session idle for most of the timeout: it is written at once.
    await b.verifyToken(token)
    await vi.waitFor(async () => {
      const rows = await b.store.scan('session_activity')
      expect(rows).toHaveLength(1)
    })
    await later(0.6 * 60_000)
    // A knows only the login, 30.1 minutes ago; it reads the other uses before refusing.
    const verified = await a.verifyToken(token)
    expect(verified.user.username).toBe('root_admin')
    // Unused everywhere for the whole timeout: refused.
    await later(30 * 60_000)
    await expectError(() => a.verifyToken(token), 'TOKEN_EXPIRED')
    await Promise.all([a.close(), b.close()])
  })

  it('accepts a token another instance issued before its own views refresh', async () => {
    const clock = fakeClock()
    const open = await instancesOfOneLakehouse(clock, false)
    const a = await open()
    const b = await open()
    const user = await a.register('remy', 'remy@example.com', PASSWORD)
    await a.approveUser(user.userId)
    const { token } = await a.login('remy', PASSWORD)
    // b's views have not seen the session: the synchronous check refuses it, the client
    // catches up once and accepts it.
    const early = await expectError(() => b.auth.verifyToken(token), 'INVALID_TOKEN')
    expect(early.context.reason).toBe('unknown-session')
    expect((await b.verifyToken(token)).user.username).toBe('remy')
    // A revoked session is refused without waiting for anything.
    await a.logout(token)
    await b.store.refresh()
    const revoked = await expectError(() => b.verifyToken(token), 'INVALID_TOKEN')
    expect(revoked.context.reason).toBe('session')
    await a.close()
    await b.close()
  })
})

/**
 * End-to-end scenarios through the public API only (`src/index.ts`), with the real argon2id
 * hasher: this is the one test file that hashes with argon2 (the unit tests use a fast hasher).
 */
import { describe, expect, it } from 'vitest'
import {
  ActionType,
  col,
  hasPermission,
  isLakehouseError,
  LakehouseClient,
  LakehouseConfig,
  LakehouseError,
  silentLogger,
  SubscriptionTier,
  UserRole,
  type Clock,
} from '../../src/index.js'
import { makeTempDir } from '../support/temp.js'

const SECRET = 'integration-secret-with-at-least-32-bytes!'
const PASSWORD = 'correct horse battery staple'

function config(dir: string, argon2?: { memoryCost: number; timeCost: number }): LakehouseConfig {
  const b = LakehouseConfig.builder()
    .basePath(dir)
    .environment('test')
    .jwtSecret(SECRET)
    .refreshMs(50)
  if (argon2) b.argon2({ ...argon2, parallelism: 1 })
  return b.build()
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isLakehouseError(error)) return error.code
    throw error
  }
  return 'OK'
}

describe('user life cycle through the public API', () => {
  it('registers, approves, logs in, changes roles and time-travels with argon2id', async () => {
    const dir = await makeTempDir('integration-')
    let now = Date.UTC(2026, 2, 1, 9, 0, 0)
    const clock: Clock = { now: () => now }
    const client = await LakehouseClient.open(config(dir), {
      clock,
      logger: silentLogger,
      autoRefresh: false,
    })
    const admin = await client.bootstrapAdmin('ops_admin', 'ops@example.com', `${PASSWORD} ops`)
    now += 60_000
    const alice = await client.register('alice', 'alice@example.com', PASSWORD, {
      tier: SubscriptionTier.PIONEER,
    })
    now += 1000
    const bob = await client.register('bob', 'bob@example.com', PASSWORD)
    const pendingVersion = await client.store.version('users')
    now += 60_000
    expect((await client.getPendingUsers({ actor: admin.userId })).map((u) => u.username)).toEqual([
      'alice',
      'bob',
    ])
    await client.approveUser(alice.userId, undefined, { actor: admin.userId })
    await client.rejectUser(bob.userId, { actor: admin.userId })

    // The stored hash is a standard argon2id PHC string with the OWASP parameters.
    const [row] = await client.store.query('users', col('user_id').eq(alice.userId))
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)

    expect(await codeOf(client.login('alice', 'wrong password!'))).toBe('INVALID_CREDENTIALS')
    expect(await codeOf(client.login('nobody', PASSWORD))).toBe('INVALID_CREDENTIALS')
    expect(await codeOf(client.login('bob', PASSWORD))).toBe('ACCOUNT_REJECTED')
    const session = await client.login('ALICE@example.com', PASSWORD, {
      context: { ipAddress: '203.0.113.9', userAgent: 'integration' },
    })
    const verified = await client.verifyToken(session.token)
    expect(verified.role).toBe(UserRole.TRADER)
    expect(hasPermission(verified.role, UserRole.TRADER)).toBe(true)
    await client.logAction(alice.userId, 'alice', ActionType.QUERY, { rowCount: 3, cost: '0.01' })

    await client.setRole(alice.userId, UserRole.REGISTERED, { actor: admin.userId })
    expect((await client.verifyToken(session.token)).role).toBe(UserRole.REGISTERED)

    const before = await client.readUsersAtVersion(pendingVersion, { actor: admin.userId })
    expect(before.map((u) => [u.username, u.role])).toEqual([
      ['ops_admin', 'admin'],
      ['alice', 'pending'],
      ['bob', 'pending'],
    ])
    const asOf = await client.readUsersAtTimestamp(new Date(now - 30_000).toISOString())
    expect(asOf).toEqual(before)

    await client.logout(session.token)
    expect(await codeOf(client.verifyToken(session.token))).toBe('INVALID_TOKEN')
    const audit = await client.store.scan('audit_log', { columns: ['action', 'outcome'] })
    expect(audit.filter((r) => r.action === 'LOGIN_FAILED')).toHaveLength(2)
    expect(JSON.stringify(await client.store.scan('audit_log'))).not.toContain(PASSWORD)
    await client.close()
  })

  it('rehashes an argon2id hash made below the OWASP parameters on the next login', async () => {
    const dir = await makeTempDir('integration-')
    const weak = await LakehouseClient.open(config(dir, { memoryCost: 1024, timeCost: 1 }), {
      logger: silentLogger,
      autoRefresh: false,
    })
    expect(weak.store.config.warnings.join(' ')).toMatch(/below the OWASP minimum/)
    const admin = await weak.bootstrapAdmin('carol', 'carol@example.com', PASSWORD)
    await weak.close()
    const hashOf = async (client: LakehouseClient): Promise<string> =>
      (await client.store.query('users', col('user_id').eq(admin.userId)))[0]
        ?.password_hash as string
    const strong = await LakehouseClient.open(config(dir), {
      logger: silentLogger,
      autoRefresh: false,
    })
    expect(await hashOf(strong)).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
    await strong.login('carol', PASSWORD)
    expect(await hashOf(strong)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect((await strong.login('carol', PASSWORD)).user.userId).toBe(admin.userId)
    await strong.close()
  })

  it('shares users and revocations between two clients on one lakehouse', async () => {
    const dir = await makeTempDir('integration-')
    const a = await LakehouseClient.open(config(dir), { logger: silentLogger })
    const b = await LakehouseClient.open(config(dir), { logger: silentLogger })
    const admin = await a.bootstrapAdmin('dave', 'dave@example.com', PASSWORD)
    const session = await a.login('dave', PASSWORD)
    // b sees a's commits within the refresh interval (50 ms here).
    await expect.poll(() => codeOf(b.verifyToken(session.token)), { timeout: 2000 }).toBe('OK')
    expect(await codeOf(b.register('Dave', 'other@example.com', PASSWORD))).toBe('USER_EXISTS')
    await a.revokeAllSessions(admin.userId)
    const revokedAt = Date.now()
    await expect
      .poll(() => codeOf(b.verifyToken(session.token)), { timeout: 2000, interval: 5 })
      .toBe('INVALID_TOKEN')
    expect(Date.now() - revokedAt).toBeLessThan(1000)
    await Promise.all([a.close(), b.close()])
  })

  it('refuses to open in production with a short secret', () => {
    let error: unknown
    try {
      LakehouseConfig.builder()
        .basePath('/nonexistent')
        .environment('production')
        .jwtSecret('short')
        .build()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LakehouseError)
    expect((error as LakehouseError).code).toBe('WEAK_SECRET')
  })
})

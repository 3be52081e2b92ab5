import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AuthService } from '../../src/auth/auth-service.js'
import { MAX_ACTIVITY_RESOLUTION_MS } from '../../src/auth/session-activity.js'
import { col } from '../../src/delta/expr/expression.js'
import {
  expectError,
  fakeClock,
  openInstance,
  PASSWORD,
  type FakeClock,
  type InstanceOptions,
  type TestInstance,
} from '../lakehouse/support/test-lakehouse.js'

const MINUTE = 60_000
const IDLE = 30 * MINUTE

/** An instance with one active user, `alice`. */
async function instance(clock: FakeClock, options: InstanceOptions = {}): Promise<TestInstance> {
  const inst = await openInstance({ clock, ...options })
  if (!options.dir) {
    await inst.auth.bootstrapAdmin({
      username: 'alice',
      email: 'alice@example.com',
      password: PASSWORD,
    })
  }
  return inst
}

/** The recorded uses of a session, in time order (epoch ms). */
async function uses(inst: TestInstance, sessionId: string): Promise<number[]> {
  const rows = await inst.store.query('session_activity', col('session_id').eq(sessionId))
  return rows.map((r) => (r.seen_at as Date).getTime()).sort((a, b) => a - b)
}

describe('session idle timeout', () => {
  it('refuses a session unused for the idle timeout, exactly at the boundary', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const { token } = await inst.auth.login('alice', PASSWORD)
    clock.advance(IDLE - 1)
    expect(inst.auth.verifyToken(token).user.username).toBe('alice')
    // That use restarts the idle period.
    clock.advance(IDLE - 1)
    inst.auth.verifyToken(token)
    clock.advance(IDLE)
    const error = await expectError(() => inst.auth.verifyToken(token), 'TOKEN_EXPIRED')
    expect(error.context.reason).toBe('idle')
    // Refused for good, and logging out of it is a no-op, not an error.
    await expectError(() => inst.auth.verifyToken(token), 'TOKEN_EXPIRED')
    await inst.auth.logout(token)
    await inst.close()
  })

  it('counts a session idle from its login until its first use', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const { token, sessionId } = await inst.auth.login('alice', PASSWORD)
    clock.advance(IDLE)
    await expectError(() => inst.auth.verifyToken(token), 'TOKEN_EXPIRED')
    await inst.auth.syncSessionActivity()
    expect(await uses(inst, sessionId)).toEqual([])
    await inst.close()
  })

  it('follows the configured timeout, and 0 turns it off', async () => {
    const clock = fakeClock()
    const short = await instance(clock, { customize: (b) => b.sessionIdleMinutes(5) })
    const a = await short.auth.login('alice', PASSWORD)
    clock.advance(5 * MINUTE - 1)
    short.auth.verifyToken(a.token)
    clock.advance(5 * MINUTE)
    await expectError(() => short.auth.verifyToken(a.token), 'TOKEN_EXPIRED')
    await short.close()

    const off = await instance(clock, { customize: (b) => b.sessionIdleMinutes(0) })
    const b = await off.auth.login('alice', PASSWORD)
    clock.advance(23 * 60 * MINUTE)
    expect(off.auth.verifyToken(b.token).sessionId).toBe(b.sessionId)
    await off.auth.syncSessionActivity()
    expect(await uses(off, b.sessionId)).toEqual([])
    await off.close()
  })

  it('records a use at most once per resolution interval, with its time', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const { token, sessionId } = await inst.auth.login('alice', PASSWORD)
    const activity = inst.store.table('session_activity')
    const before = activity.version
    // Within the resolution of the login: nothing to write.
    clock.advance(MAX_ACTIVITY_RESOLUTION_MS - 1)
    inst.auth.verifyToken(token)
    await inst.auth.syncSessionActivity()
    expect(activity.version).toBe(before)
    // Past it: one row, with the time of the last use.
    clock.advance(1)
    inst.auth.verifyToken(token)
    clock.advance(10)
    const used = clock.now()
    inst.auth.verifyToken(token)
    await inst.auth.syncSessionActivity()
    expect(activity.version).toBe(before + 1)
    expect(await uses(inst, sessionId)).toEqual([used])
    const [entry] = await activity.history({ limit: 1 })
    expect(entry?.operation).toBe('WRITE')
    // Recorded recently: further uses write nothing until the resolution has passed again.
    clock.advance(MAX_ACTIVITY_RESOLUTION_MS - 11)
    inst.auth.verifyToken(token)
    await inst.auth.syncSessionActivity()
    expect(activity.version).toBe(before + 1)
    clock.advance(20)
    inst.auth.verifyToken(token)
    await inst.auth.syncSessionActivity()
    expect(await uses(inst, sessionId)).toEqual([used, clock.now()])
    await inst.close()
  })

  it('writes the uses of many sessions in one commit, each with its own time', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const logins = [
      await inst.auth.login('alice', PASSWORD),
      await inst.auth.login('alice', PASSWORD),
      await inst.auth.login('alice', PASSWORD),
    ]
    const times: number[] = []
    for (const l of logins) {
      clock.advance(MINUTE)
      times.push(clock.now())
      inst.auth.verifyToken(l.token)
    }
    const before = inst.store.table('session_activity').version
    await inst.auth.syncSessionActivity()
    expect(inst.store.table('session_activity').version).toBe(before + 1)
    for (const [i, l] of logins.entries()) expect(await uses(inst, l.sessionId)).toEqual([times[i]])
    await inst.close()
  })

  it('keeps a session used on one instance valid on another, and on one opened later', async () => {
    const clock = fakeClock()
    const a = await instance(clock)
    const b = await instance(clock, { dir: a.dir })
    const { token, sessionId } = await a.auth.login('alice', PASSWORD)
    await b.store.refresh()
    b.auth.verifyToken(token)
    // Used on A only, for 50 minutes.
    for (let i = 0; i < 10; i++) {
      clock.advance(5 * MINUTE)
      a.auth.verifyToken(token)
      await a.auth.syncSessionActivity()
    }
    const usedLast = clock.now()
    await b.auth.syncSessionActivity()
    const c = await instance(clock, { dir: a.dir })
    clock.advance(IDLE - 1)
    expect(b.auth.verifyToken(token).sessionId).toBe(sessionId)
    expect(c.auth.verifyToken(token).sessionId).toBe(sessionId)
    // C counted from the use it loaded at open (from the login, the session was idle).
    clock.ms = usedLast + IDLE
    // The uses of B and C just now are noted there only (not synced yet): A refuses.
    await expectError(() => a.auth.verifyToken(token), 'TOKEN_EXPIRED')
    await a.close()
    await b.close()
    await c.close()
  })

  it('lets another instance refuse the session once the idle timeout has passed everywhere', async () => {
    const clock = fakeClock()
    const a = await instance(clock)
    const b = await instance(clock, { dir: a.dir })
    const { token } = await a.auth.login('alice', PASSWORD)
    await b.store.refresh()
    clock.advance(10 * MINUTE)
    a.auth.verifyToken(token)
    await a.auth.syncSessionActivity()
    await b.auth.syncSessionActivity()
    clock.advance(IDLE)
    await expectError(() => b.auth.verifyToken(token), 'TOKEN_EXPIRED')
    await expectError(() => a.auth.verifyToken(token), 'TOKEN_EXPIRED')
    await a.close()
    await b.close()
  })

  it('reloads the uses when its tail is behind files compacted and vacuumed away', async () => {
    const clock = fakeClock()
    const a = await instance(clock)
    const b = await instance(clock, { dir: a.dir })
    const one = await a.auth.login('alice', PASSWORD)
    const two = await a.auth.login('alice', PASSWORD)
    await b.store.refresh()
    for (const l of [one, two]) {
      clock.advance(5 * MINUTE)
      a.auth.verifyToken(l.token)
      await a.auth.syncSessionActivity()
    }
    const twoUsed = clock.now()
    // B has not tailed these commits, and their files are gone.
    const activity = a.store.table('session_activity')
    await activity.optimize()
    await activity.vacuum({ retentionHours: 0, enforceRetentionDuration: false })
    await b.auth.syncSessionActivity()
    expect(b.logger.warnings).toEqual([])
    clock.ms = twoUsed + IDLE - 1
    expect(b.auth.verifyToken(two.token).sessionId).toBe(two.sessionId)
    await a.close()
    await b.close()
  })

  it('fails to create the service, with a typed error, when the activity cannot be read', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    await inst.auth.close()
    // A damaged commit of session_activity, after the store has opened.
    await writeFile(
      path.join(inst.dir, 'session_activity', '_delta_log', '00000000000000000001.json'),
      '{"add": not json\n',
    )
    const error = await expectError(
      () => AuthService.create(inst.store, { backgroundSync: true, hasher: inst.hasher }),
      'STORAGE_FAILURE',
    )
    expect(error.message).toContain('loading session activity')
    await inst.store.close()
  })

  it('writes the noted uses when the service closes', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const { token, sessionId } = await inst.auth.login('alice', PASSWORD)
    clock.advance(3 * MINUTE)
    const used = clock.now()
    inst.auth.verifyToken(token)
    await inst.auth.close()
    expect(await uses(inst, sessionId)).toEqual([used])
    await inst.store.close()
  })

  it('writes and tails in the background with background sync', async () => {
    const clock = fakeClock()
    // 1 minute: the resolution is 3 s.
    const options: InstanceOptions = {
      customize: (b) => b.sessionIdleMinutes(1),
      auth: { backgroundSync: true },
    }
    const a = await instance(clock, options)
    const b = await instance(clock, { ...options, dir: a.dir })
    const { token, sessionId } = await a.auth.login('alice', PASSWORD)
    await b.store.refresh()
    clock.advance(50_000)
    a.auth.verifyToken(token)
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && (await uses(a, sessionId)).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(await uses(a, sessionId)).toEqual([clock.now()])
    // B learns of it by its own tail: 59 s after the use, valid there too.
    await new Promise((resolve) => setTimeout(resolve, 3500))
    clock.advance(59_000)
    expect(b.auth.verifyToken(token).sessionId).toBe(sessionId)
    await a.close()
    await b.close()
  }, 30_000)

  it('drops the activity days older than the idle timeout with the expired sessions', async () => {
    const clock = fakeClock()
    const inst = await instance(clock)
    const { token, sessionId } = await inst.auth.login('alice', PASSWORD)
    clock.advance(5 * MINUTE)
    inst.auth.verifyToken(token)
    await inst.auth.syncSessionActivity()
    expect(await uses(inst, sessionId)).toHaveLength(1)
    await inst.auth.cleanupExpiredSessions()
    expect(await uses(inst, sessionId)).toHaveLength(1)
    clock.advance(2 * 24 * 60 * MINUTE)
    await inst.auth.cleanupExpiredSessions()
    expect(await inst.store.scan('session_activity')).toEqual([])
    const [entry] = await inst.store.table('session_activity').history({ limit: 1 })
    expect(entry?.operation).toBe('DELETE')
    expect(Number(entry?.operationMetrics.numCopiedRows ?? 0)).toBe(0)
    await inst.close()
  })
})

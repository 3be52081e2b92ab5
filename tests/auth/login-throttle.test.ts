import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { AuditLog } from '../../src/audit/audit-log.js'
import {
  LOGIN_FAILED,
  LoginThrottle,
  PASSWORD_RESET,
  PASSWORD_RESET_REQUEST,
  RESET_REQUEST_WINDOW_MS,
  throttleKey,
  throttleKeySecret,
} from '../../src/auth/login-throttle.js'
import { randomIds } from '../../src/common/ids.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { makeTempDir } from '../support/temp.js'
import {
  fakeClock,
  recordingLogger,
  testConfig,
  type FakeClock,
} from '../lakehouse/support/test-lakehouse.js'

const MINUTE = 60_000
const WINDOW = 15 * MINUTE
/** Password resets granted per account per hour. */
const RESETS = 5

async function openStore(dir: string, clock: FakeClock): Promise<DeltaStore> {
  return DeltaStore.open(testConfig(dir), { clock, logger: recordingLogger(), autoRefresh: false })
}

/** Commits a failed-login event for `key` at the clock's time, as AuthService does. */
async function recordFailure(store: DeltaStore, clock: FakeClock, key: string): Promise<string> {
  const row = new AuditLog(store, clock, randomIds).rowOf({
    action: LOGIN_FAILED,
    outcome: 'failure',
    resource: `login:${key}`,
  })
  await store.append('audit_log', [row])
  return row.event_id as string
}

describe('throttleKey', () => {
  it('keys known accounts by user id and unknown identifiers by a keyed hash', () => {
    const secret = throttleKeySecret(new TextEncoder().encode('a'.repeat(43)))
    expect(throttleKey('u-1', 'u:alice', secret)).toBe('user:u-1')
    const unknown = throttleKey(undefined, 'u:ghost', secret)
    expect(unknown).toBe(`id:${createHmac('sha256', secret).update('u:ghost').digest('hex')}`)
    expect(unknown).not.toContain('ghost')
    // Without the secret, hashing a guess does not find it.
    expect(unknown).not.toBe(`id:${createHash('sha256').update('u:ghost').digest('hex')}`)
    const other = throttleKeySecret(new TextEncoder().encode('b'.repeat(43)))
    expect(throttleKey(undefined, 'u:ghost', other)).not.toBe(unknown)
  })
})

describe('LoginThrottle', () => {
  async function setup(max = 3): Promise<{
    throttle: LoginThrottle
    store: DeltaStore
    clock: FakeClock
    dir: string
  }> {
    const dir = await makeTempDir('throttle-')
    const clock = fakeClock()
    const store = await openStore(dir, clock)
    const throttle = new LoginThrottle(store, clock, max, WINDOW, RESETS)
    await throttle.start(0)
    return { throttle, store, clock, dir }
  }

  it('locks a key at the limit until the oldest counted failure leaves the window', async () => {
    const { throttle, clock } = await setup()
    throttle.noteFailure('user:a', 'e1', clock.now())
    clock.advance(MINUTE)
    throttle.noteFailure('user:a', 'e2', clock.now())
    expect(throttle.lockedFor('user:a')).toBe(0)
    clock.advance(MINUTE)
    throttle.noteFailure('user:a', 'e3', clock.now())
    expect(throttle.lockedFor('user:a')).toBe((WINDOW - 2 * MINUTE) / 1000)
    expect(throttle.lockedFor('user:b')).toBe(0)
    clock.advance(WINDOW - 2 * MINUTE - 1000)
    expect(throttle.lockedFor('user:a')).toBe(1)
    clock.advance(1000)
    expect(throttle.lockedFor('user:a')).toBe(0)
  })

  it('counts one event once, however often it is noted', async () => {
    const { throttle, clock } = await setup()
    for (let i = 0; i < 5; i++) throttle.noteFailure('user:a', 'same-event', clock.now())
    expect(throttle.lockedFor('user:a')).toBe(0)
  })

  it('forgets failures before a success, noted here or seen in the sessions', async () => {
    const { throttle, clock } = await setup()
    for (let i = 0; i < 3; i++) throttle.noteFailure('user:a', `e${i}`, clock.now())
    expect(throttle.lockedFor('user:a')).toBeGreaterThan(0)
    // Another instance's successful login (a session created after the failures).
    expect(throttle.lockedFor('user:a', clock.now() + 1)).toBe(0)
    clock.advance(1000)
    throttle.noteSuccess('user:a', clock.now())
    expect(throttle.lockedFor('user:a')).toBe(0)
    // Failures reported later (tailed from another instance) that predate the success.
    throttle.noteFailure('user:a', 'late', clock.now() - 500)
    expect(throttle.lockedFor('user:a')).toBe(0)
  })

  it('forgets failures before a password reset, here, at start and from other instances', async () => {
    const { throttle, store, clock, dir } = await setup()
    for (let i = 0; i < 3; i++) throttle.noteFailure('user:a', `e${i}`, clock.now())
    clock.advance(1000)
    throttle.noteReset('user:a', clock.now())
    expect(throttle.lockedFor('user:a')).toBe(0)
    // An older reset never moves the reset time back; failures after the reset still count.
    throttle.noteReset('user:a', clock.now() - 5000)
    clock.advance(1000)
    for (let i = 0; i < 3; i++) throttle.noteFailure('user:a', `after${i}`, clock.now())
    expect(throttle.lockedFor('user:a')).toBeGreaterThan(0)
    // Another instance resets the password: its audit event ends the lock here on sync, and in
    // a throttle started later. A failed or denied reset, or another resource, changes nothing.
    const other = await openStore(dir, clock)
    for (let i = 0; i < 3; i++) await recordFailure(other, clock, 'user:b')
    await throttle.sync()
    expect(throttle.lockedFor('user:b')).toBeGreaterThan(0)
    clock.advance(1000)
    const audit = new AuditLog(other, clock, randomIds)
    await other.append('audit_log', [
      audit.rowOf({ action: PASSWORD_RESET, outcome: 'failure', resource: 'user:a' }),
      audit.rowOf({ action: PASSWORD_RESET, outcome: 'success', resource: 'login:user:a' }),
      audit.rowOf({ action: PASSWORD_RESET, outcome: 'success', resource: 'user:b' }),
    ])
    await throttle.sync()
    expect(throttle.lockedFor('user:a')).toBeGreaterThan(0)
    expect(throttle.lockedFor('user:b')).toBe(0)
    const fresh = new LoginThrottle(store, clock, 3, WINDOW, RESETS)
    await fresh.start(0)
    expect(fresh.lockedFor('user:b')).toBe(0)
    await other.close()
  })

  it('makes attempts wait while running checks could use up the limit', async () => {
    const { throttle, clock } = await setup()
    throttle.noteFailure('user:a', 'e1', clock.now())
    // The limit (3 here) minus one failure leaves room for two running checks.
    expect(throttle.busy('user:a')).toBe(false)
    throttle.beginAttempt('user:a')
    expect(throttle.busy('user:a')).toBe(false)
    throttle.beginAttempt('user:a')
    expect(throttle.busy('user:a')).toBe(true)
    expect(throttle.lockedFor('user:a')).toBe(0) // busy, not locked
    // A waiter wakes when a check ends.
    let woke = false
    const settled = throttle.settled('user:a')?.then(() => (woke = true))
    await Promise.resolve()
    expect(woke).toBe(false)
    throttle.endAttempt('user:a')
    await settled
    expect(woke).toBe(true)
    expect(throttle.busy('user:a')).toBe(false)
    throttle.endAttempt('user:a')
    throttle.endAttempt('user:a') // unbalanced end: harmless
    expect(throttle.busy('user:a')).toBe(false)
    expect(throttle.lockedFor('user:a')).toBe(0)
    // Other keys are not affected; a bounded number of attempts may wait.
    expect(throttle.busy('user:b')).toBe(false)
    throttle.beginAttempt('user:c')
    throttle.beginAttempt('user:c')
    throttle.beginAttempt('user:c')
    const waiters = Array.from({ length: 300 }, () => throttle.settled('user:c'))
    expect(waiters.filter((w) => w === undefined).length).toBe(300 - 256)
  })

  it('loads the failures of the current window from the audit log at start', async () => {
    const { store, clock } = await setup()
    await recordFailure(store, clock, 'user:old')
    clock.advance(WINDOW + MINUTE)
    for (let i = 0; i < 3; i++) await recordFailure(store, clock, 'user:a')
    await recordFailure(store, clock, 'user:old')
    await store.append('audit_log', [
      new AuditLog(store, clock, randomIds).rowOf({
        action: 'LOGIN',
        outcome: 'success',
        resource: 'login:user:b',
      }),
    ])
    const fresh = new LoginThrottle(store, clock, 3, WINDOW, RESETS)
    await fresh.start(0)
    expect(fresh.lockedFor('user:a')).toBe(WINDOW / 1000)
    expect(fresh.lockedFor('user:old')).toBe(0) // one failure is out of the window
    expect(fresh.lockedFor('user:b')).toBe(0)
  })

  it('reloads its window when its tail is behind files compacted and vacuumed away', async () => {
    const { throttle, clock, dir } = await setup()
    const other = await openStore(dir, clock)
    for (let i = 0; i < 2; i++) await recordFailure(other, clock, 'user:c')
    await throttle.sync()
    for (let i = 0; i < 3; i++) await recordFailure(other, clock, 'user:a')
    // The commits this instance has not tailed added files that are gone now.
    const audit = other.table('audit_log')
    await audit.optimize()
    await audit.vacuum({ retentionHours: 0, enforceRetentionDuration: false })
    await throttle.sync()
    expect(throttle.lockedFor('user:a')).toBe(WINDOW / 1000)
    // Reloading counted nothing twice: c's two failures, already tailed, are still two.
    expect(throttle.lockedFor('user:c')).toBe(0)
  })

  it('picks up failures committed by other instances on sync', async () => {
    const { throttle, clock, dir } = await setup()
    const other = await openStore(dir, clock)
    for (let i = 0; i < 3; i++) await recordFailure(other, clock, 'user:a')
    expect(throttle.lockedFor('user:a')).toBe(0)
    await Promise.all([throttle.sync(), throttle.sync()])
    expect(throttle.lockedFor('user:a')).toBe(WINDOW / 1000)
    await throttle.sync() // nothing new: still locked, nothing counted twice
    clock.advance(WINDOW)
    await throttle.sync()
    expect(throttle.lockedFor('user:a')).toBe(0)
    await other.close()
  })

  it('limits the password resets granted per account per hour, across instances', async () => {
    const { throttle, store, clock, dir } = await setup()
    // Grants being made count at once; one that failed to be recorded gives its place back.
    const ends = [1, 2, 3].map(() => throttle.takeResetGrant('user:a'))
    expect(ends.every((end) => end !== undefined)).toBe(true)
    ends[0]?.('g1', clock.now())
    ends[1]?.('g2', clock.now())
    ends[2]?.()
    // Another instance granted two more; denied and failed requests do not count.
    const other = await openStore(dir, clock)
    const audit = new AuditLog(other, clock, randomIds)
    const event = (outcome: 'success' | 'denied' | 'failure', resource = 'user:a') =>
      audit.rowOf({ action: PASSWORD_RESET_REQUEST, outcome, resource })
    await other.append('audit_log', [event('success'), event('success'), event('denied')])
    await other.append('audit_log', [event('failure'), event('success', 'login:user:a')])
    expect(throttle.takeResetGrant('user:b')).toBeDefined()
    const fifth = throttle.takeResetGrant('user:a')
    expect(fifth).toBeDefined()
    await throttle.sync()
    expect(throttle.takeResetGrant('user:a')).toBeUndefined() // 4 granted, 1 in flight
    fifth?.('g5', clock.now())
    expect(throttle.takeResetGrant('user:a')).toBeUndefined()
    // A throttle started now loads the hour's grants from the audit log (the other instance's
    // two: this one's were only noted here).
    const fresh = new LoginThrottle(store, clock, 3, WINDOW, RESETS)
    await fresh.start(0)
    for (let i = 0; i < 3; i++) expect(fresh.takeResetGrant('user:a')).toBeDefined()
    expect(fresh.takeResetGrant('user:a')).toBeUndefined()
    // The limit is per hour.
    clock.advance(RESET_REQUEST_WINDOW_MS)
    await throttle.sync()
    expect(throttle.takeResetGrant('user:a')).toBeDefined()
    await other.close()
  })

  it('tails other instances in the background every refresh interval until stopped', async () => {
    const { clock, dir } = await setup()
    const store = await openStore(dir, clock)
    const throttle = new LoginThrottle(store, clock, 2, WINDOW, RESETS)
    await throttle.start(20)
    const other = await openStore(dir, clock)
    await recordFailure(other, clock, 'user:a')
    await recordFailure(other, clock, 'user:a')
    await vi.waitFor(() => expect(throttle.lockedFor('user:a')).toBeGreaterThan(0), {
      timeout: 3000,
      interval: 10,
    })
    throttle.stop()
    await recordFailure(other, clock, 'user:b')
    await recordFailure(other, clock, 'user:b')
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(throttle.lockedFor('user:b')).toBe(0)
    await Promise.all([store.close(), other.close()])
  })
})

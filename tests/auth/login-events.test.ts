import { describe, expect, it, vi } from 'vitest'
import { AuditLog } from '../../src/audit/audit-log.js'
import { AuthService } from '../../src/auth/auth-service.js'
import { LOGIN_EVENTS_APP_ID, LOGIN_EVENTS_LOST, LoginEvents } from '../../src/auth/login-events.js'
import { randomIds } from '../../src/common/ids.js'
import { and, col } from '../../src/delta/expr/expression.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import type { UserRecord } from '../../src/lakehouse/rows.js'
import {
  CountingHasher,
  fakeClock,
  openInstance,
  PASSWORD,
  testConfig,
  type TestInstance,
} from '../lakehouse/support/test-lakehouse.js'
import { makeTempDir } from '../support/temp.js'

const CTX = { ipAddress: '192.0.2.44', userAgent: 'events-test/1' }
const DAY = 86_400_000

/** Appends session rows as a process that died before writing their events would have. */
async function orphanSessions(inst: TestInstance, ids: readonly string[]): Promise<void> {
  const row = (await inst.store.scan('sessions'))[0]
  for (const id of ids) {
    await inst.store.append('sessions', [
      { ...row, session_id: id, token_hash: id.padEnd(64, '0').slice(0, 64) },
    ])
  }
}

/** Creates the admin `root_admin` (password {@link PASSWORD}), who logs in below. */
function bootstrap(inst: TestInstance): Promise<UserRecord> {
  return inst.auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
}

async function loginEvents(inst: TestInstance): Promise<Record<string, unknown>[]> {
  await inst.auth.flushLoginEvents()
  return inst.store.scan('audit_log', {
    filter: and(col('action').eq('LOGIN'), col('outcome').eq('success')),
  })
}

async function watermark(inst: TestInstance): Promise<number | undefined> {
  const audit = inst.store.table('audit_log')
  await audit.refresh()
  return audit.snapshot.txnVersion(LOGIN_EVENTS_APP_ID)
}

/** Counts LOGIN events per session resource. */
function perSession(events: readonly Record<string, unknown>[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const e of events) counts.set(String(e.resource), (counts.get(String(e.resource)) ?? 0) + 1)
  return counts
}

describe('LoginEvents (the login audit outbox)', () => {
  it('writes each login event from its session row, after the login, and moves the watermark', async () => {
    const clock = fakeClock()
    const inst = await openInstance({ clock })
    const admin = await bootstrap(inst)
    clock.advance(1234)
    const { sessionId } = await inst.auth.login('root_admin', PASSWORD, CTX)
    const events = await loginEvents(inst)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      user_id: admin.userId,
      username: 'root_admin',
      resource: `session:${sessionId}`,
      ip_address: CTX.ipAddress,
      user_agent: CTX.userAgent,
      details_json: null,
    })
    const session = inst.store.sessions.get(sessionId)
    expect((events[0]?.timestamp as Date).getTime()).toBe(session?.createdAt)
    expect(await watermark(inst)).toBe(await inst.store.version('sessions'))
    // Logout and cleanup commit to sessions too; they are not logins.
    await inst.auth.logout((await inst.auth.login('root_admin', PASSWORD)).token)
    clock.advance(48 * 3_600_000)
    await inst.auth.cleanupExpiredSessions()
    await inst.auth.login('root_admin', PASSWORD)
    expect(await loginEvents(inst)).toHaveLength(3)
    await inst.close()
  })

  it('writes the events a dead process left behind when the next service starts', async () => {
    const dir = await makeTempDir('login-events-')
    const a = await openInstance({ dir })
    await bootstrap(a)
    await a.auth.login('root_admin', PASSWORD)
    await a.auth.flushLoginEvents()
    // A process that committed two sessions and died before writing their events: its rows
    // are in the sessions table, the watermark is behind them.
    const before = await a.store.scan('sessions')
    const orphan = { ...before[0], session_id: 'orphan-1', token_hash: 'x'.repeat(64) }
    await a.store.append('sessions', [orphan, { ...orphan, session_id: 'orphan-2' }])
    expect(perSession(await loginEvents(a)).has('session:orphan-1')).toBe(false)
    const b = await openInstance({ dir })
    const counts = perSession(await loginEvents(b))
    expect(counts.get('session:orphan-1')).toBe(1)
    expect(counts.get('session:orphan-2')).toBe(1)
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
    expect(await watermark(b)).toBe(await b.store.version('sessions'))
    await Promise.all([a.close(), b.close()])
  })

  it('checks in the background for events a dead process left, without new logins', async () => {
    const dir = await makeTempDir('login-events-timer-')
    const a = await openInstance({ dir, auth: { backgroundSync: true, loginEventsCheckMs: 20 } })
    await bootstrap(a)
    await a.auth.login('root_admin', PASSWORD)
    const row = (await a.store.scan('sessions'))[0]
    await a.store.append('sessions', [
      { ...row, session_id: 'orphan-3', token_hash: 'b'.repeat(64) },
    ])
    await new Promise((resolve) => setTimeout(resolve, 400))
    // No login since the orphan: only the background check can have written its event.
    const counts = perSession(await loginEvents(a))
    expect(a.logger.warnings).toEqual([])
    expect(counts.get('session:orphan-3')).toBe(1)
    expect(counts.size).toBe(2)
    await a.close()
  })

  it('writes every event exactly once when two instances log users in at once', async () => {
    const dir = await makeTempDir('login-events-race-')
    const a = await openInstance({ dir })
    const b = await openInstance({ dir })
    await bootstrap(a)
    await b.store.refresh()
    const logins = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 === 0 ? a : b).auth.login('root_admin', PASSWORD),
      ),
    )
    await Promise.all([a.auth.flushLoginEvents(), b.auth.flushLoginEvents()])
    // Whatever each instance wrote, the union is every session once.
    const counts = perSession(await loginEvents(a))
    expect(counts.size).toBe(16)
    for (const l of logins) expect(counts.get(`session:${l.sessionId}`)).toBe(1)
    expect(await watermark(a)).toBe(await a.store.version('sessions'))
    await Promise.all([a.close(), b.close()])
  })

  it('sets the watermark of a lakehouse that has none without inventing past events', async () => {
    // A lakehouse whose logins were audited as they happened (before the outbox): sessions
    // exist, the watermark does not.
    const dir = await makeTempDir('login-events-init-')
    const store = await DeltaStore.open(testConfig(dir), { autoRefresh: false })
    const now = new Date()
    const expires = new Date(now.getTime() + 3_600_000)
    await store.append('sessions', [
      {
        session_id: 'old-session',
        token_hash: 'a'.repeat(64),
        user_id: 'u-1',
        username: 'old_user',
        role: 'registered',
        created_at: now,
        expires_at: expires,
        is_revoked: false,
        revoked_at: null,
        ip_address: null,
        user_agent: null,
        expires_date: expires.toISOString().slice(0, 10),
      },
    ])
    const sessionsVersion = await store.version('sessions')
    await store.close()
    const inst = await openInstance({ dir })
    expect(await watermark(inst)).toBe(sessionsVersion)
    expect(await loginEvents(inst)).toEqual([])
    await inst.close()
  })

  it('keeps a login successful when writing its event fails, and writes it on the next run', async () => {
    const inst = await openInstance()
    await bootstrap(inst)
    const audit = inst.store.table('audit_log')
    const transact = audit.transact.bind(audit)
    let failures = 1
    audit.transact = ((...args: Parameters<typeof transact>) => {
      if (failures-- > 0) return Promise.reject(new Error('disk full (simulated)'))
      return transact(...args)
    }) as typeof audit.transact
    const first = await inst.auth.login('root_admin', PASSWORD)
    await inst.auth.flushLoginEvents()
    expect(inst.logger.warnings.some((w) => w.includes('login events failed'))).toBe(true)
    const second = await inst.auth.login('root_admin', PASSWORD)
    const counts = perSession(await loginEvents(inst))
    expect(counts.get(`session:${first.sessionId}`)).toBe(1)
    expect(counts.get(`session:${second.sessionId}`)).toBe(1)
    await inst.close()
  })

  it('starts the service even when the catch-up write fails, and catches up later', async () => {
    const dir = await makeTempDir('login-events-start-')
    const first = await openInstance({ dir })
    await bootstrap(first)
    const old = await first.auth.login('root_admin', PASSWORD)
    await first.auth.flushLoginEvents()
    // A login whose process died before its event was written: the start has one to catch up.
    await orphanSessions(first, ['orphan-start'])
    await first.close()
    const warnings: string[] = []
    const logger = { info: () => undefined, warn: (m: string) => void warnings.push(m) }
    const store = await DeltaStore.open(testConfig(dir), { autoRefresh: false, logger })
    const audit = store.table('audit_log')
    const transact = audit.transact.bind(audit)
    audit.transact = () => Promise.reject(new Error('disk full (simulated)'))
    const auth = await AuthService.create(store, {
      hasher: new CountingHasher(),
      backgroundSync: false,
    })
    expect(warnings.some((w) => w.includes('missing login events failed'))).toBe(true)
    audit.transact = transact
    const { sessionId } = await auth.login('root_admin', PASSWORD)
    await auth.flushLoginEvents()
    const events = await store.scan('audit_log', { filter: col('action').eq('LOGIN') })
    expect(events.map((e) => e.resource).sort()).toEqual(
      [`session:${old.sessionId}`, 'session:orphan-start', `session:${sessionId}`].sort(),
    )
    await auth.close()
    await store.close()
  })

  it('catches up a watermark far behind in commits of bounded size, each event once', async () => {
    const inst = await openInstance()
    await bootstrap(inst)
    await inst.auth.login('root_admin', PASSWORD)
    await inst.auth.flushLoginEvents()
    const from = await watermark(inst)
    const orphans = ['orphan-a', 'orphan-b', 'orphan-c', 'orphan-d', 'orphan-e']
    await orphanSessions(inst, orphans)
    const audit = inst.store.table('audit_log')
    const transact = vi.spyOn(audit, 'transact')
    const events = new LoginEvents(
      inst.store,
      new AuditLog(inst.store, { now: () => Date.now() }, randomIds),
      inst.logger,
      2,
    )
    await events.start()
    // Five versions, two per commit: three commits, the watermark moved by each.
    expect(transact).toHaveBeenCalledTimes(3)
    await audit.refresh()
    const moved = (await audit.changes(audit.version - 3)).map((c) =>
      c.actions.flatMap((a) => (a.kind === 'txn' ? [a.version] : [])),
    )
    const w = from ?? 0
    expect(moved).toEqual([[w + 2], [w + 4], [w + 5]])
    const counts = perSession(await loginEvents(inst))
    for (const id of orphans) expect(counts.get(`session:${id}`)).toBe(1)
    expect(await watermark(inst)).toBe((from ?? 0) + orphans.length)
    expect(inst.logger.warnings).toEqual([])
    await events.close()
    await inst.close()
  })

  it('records the logins whose commits log cleanup removed as a gap and goes on after them', async () => {
    const clock = fakeClock()
    const dir = await makeTempDir('login-events-lost-')
    const a = await openInstance({ dir, clock })
    await bootstrap(a)
    await a.auth.login('root_admin', PASSWORD)
    await a.auth.flushLoginEvents()
    const from = (await watermark(a)) ?? 0
    // Logins whose events were never written (every run failing for longer than the log's
    // retention), then a checkpoint and log cleanup 31 days later.
    await orphanSessions(a, ['lost-1', 'lost-2', 'kept-3'])
    const sessions = a.store.table('sessions')
    await sessions.checkpoint()
    clock.advance(Date.now() - clock.now() + 31 * DAY)
    await sessions.cleanupLog()
    expect(await sessions.oldestCommitVersion()).toBe(from + 3)
    await a.close()
    const b = await openInstance({ dir, clock })
    const events = await b.store.scan('audit_log')
    const counts = perSession(events.filter((e) => e.action === 'LOGIN'))
    expect(counts.has('session:lost-1')).toBe(false)
    expect(counts.has('session:lost-2')).toBe(false)
    expect(counts.get('session:kept-3')).toBe(1)
    const gaps = events.filter((e) => e.action === LOGIN_EVENTS_LOST)
    expect(gaps).toHaveLength(1)
    expect(gaps[0]).toMatchObject({ outcome: 'failure', resource: 'table:sessions' })
    expect(JSON.parse(String(gaps[0]?.details_json))).toMatchObject({
      fromVersion: from + 1,
      throughVersion: from + 2,
    })
    expect(b.logger.warnings).toEqual([
      expect.stringContaining(`sessions versions ${from + 1} to ${from + 2} cannot be written`),
    ])
    expect(await watermark(b)).toBe(from + 3)
    // The writer goes on: the next login has its event, and the gap is not recorded again.
    const { sessionId } = await b.auth.login('root_admin', PASSWORD)
    const after = await loginEvents(b)
    expect(perSession(after).get(`session:${sessionId}`)).toBe(1)
    const all = await b.store.scan('audit_log', { filter: col('action').eq(LOGIN_EVENTS_LOST) })
    expect(all).toHaveLength(1)
    await b.close()
  })

  it('records a removed range longer than the bound of one commit as one gap', async () => {
    const clock = fakeClock()
    const inst = await openInstance({ clock })
    await bootstrap(inst)
    await inst.auth.login('root_admin', PASSWORD)
    await inst.auth.flushLoginEvents()
    const from = (await watermark(inst)) ?? 0
    await orphanSessions(inst, ['lost-1', 'lost-2', 'lost-3', 'lost-4', 'kept-5'])
    const sessions = inst.store.table('sessions')
    await sessions.checkpoint()
    clock.advance(Date.now() - clock.now() + 31 * DAY)
    await sessions.cleanupLog()
    await orphanSessions(inst, ['kept-6', 'kept-7'])
    const audit = inst.store.table('audit_log')
    await audit.refresh()
    const versionBefore = audit.version
    const events = new LoginEvents(
      inst.store,
      new AuditLog(inst.store, clock, randomIds),
      inst.logger,
      2,
    )
    await events.start()
    const all = await inst.store.scan('audit_log')
    const gaps = all.filter((e) => e.action === LOGIN_EVENTS_LOST)
    expect(gaps.map((g) => JSON.parse(String(g.details_json)) as unknown)).toEqual([
      expect.objectContaining({ fromVersion: from + 1, throughVersion: from + 4 }),
    ])
    const counts = perSession(all.filter((e) => e.action === 'LOGIN'))
    for (const id of ['kept-5', 'kept-6', 'kept-7']) expect(counts.get(`session:${id}`)).toBe(1)
    for (const id of ['lost-1', 'lost-4']) expect(counts.has(`session:${id}`)).toBe(false)
    // The removed versions and the next two in one commit, the last version in another.
    const moved = (await audit.changes(versionBefore)).map((c) =>
      c.actions.flatMap((a) => (a.kind === 'txn' ? [a.version] : [])),
    )
    expect(moved).toEqual([[from + 6], [from + 7]])
    expect(inst.logger.warnings).toHaveLength(1)
    await events.close()
    await inst.close()
  })

  it('writes at close the events of logins noted while a write was running', async () => {
    const inst = await openInstance()
    await bootstrap(inst)
    await inst.auth.flushLoginEvents()
    // The first write of events is held until the second login has committed.
    const audit = inst.store.table('audit_log')
    const transact = audit.transact.bind(audit)
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    let first = true
    audit.transact = (async (...args: Parameters<typeof transact>) => {
      if (first) {
        first = false
        await held
      }
      return transact(...args)
    }) as typeof audit.transact
    const one = await inst.auth.login('root_admin', PASSWORD)
    const two = await inst.auth.login('root_admin', PASSWORD)
    const closing = inst.close()
    release()
    await closing
    // Read without an auth service, whose start would write the missing events.
    const store = await DeltaStore.open(testConfig(inst.dir), { autoRefresh: false })
    const counts = perSession(await store.scan('audit_log', { filter: col('action').eq('LOGIN') }))
    expect(counts.get(`session:${one.sessionId}`)).toBe(1)
    expect(counts.get(`session:${two.sessionId}`)).toBe(1)
    await store.close()
  })

  it('is started by AuthService.create with the store', async () => {
    const inst = await openInstance()
    const other = await AuthService.create(inst.store, {
      hasher: new CountingHasher(),
      backgroundSync: false,
    })
    expect(await watermark(inst)).toBe(await inst.store.version('sessions'))
    await other.close()
    await inst.close()
  })
})

/**
 * Logins under contention: two instances of one lakehouse each run many logins at once, so
 * that prepared session appends race for the same versions within a process and across
 * processes (a lost race takes the retry path: the staged commit file is dropped and the
 * session commits at the next free version). Every login must end with exactly one session
 * row and one LOGIN event, and every token must verify on both instances. Concurrent logins to
 * one account with the right password all get in, even beyond the lockout limit.
 */
import { expect, it } from 'vitest'
import { openInstance, PASSWORD } from '../lakehouse/support/test-lakehouse.js'
import { makeTempDir } from '../support/temp.js'

it('gives every one of many concurrent logins on two instances one session and one event', async () => {
  const dir = await makeTempDir('login-contention-')
  const a = await openInstance({ dir })
  const b = await openInstance({ dir })
  await a.auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  for (let i = 0; i < 24; i++) {
    await a.auth.register({
      username: `user${i}`,
      email: `user${i}@example.com`,
      password: PASSWORD,
    })
  }
  await b.store.refresh()
  const tokens: string[] = []
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).auth.login(`user${i}`, PASSWORD)),
    )
    tokens.push(...results.map((r) => r.token))
  }
  await Promise.all([a.auth.flushLoginEvents(), b.auth.flushLoginEvents()])
  await Promise.all([a.store.refresh(), b.store.refresh()])
  for (const t of tokens) {
    expect(a.auth.verifyToken(t).role).toBe('pending')
    expect(b.auth.verifyToken(t).role).toBe('pending')
  }
  const sessions = await a.store.scan('sessions')
  expect(sessions.length).toBe(tokens.length)
  expect(new Set(sessions.map((s) => s.session_id)).size).toBe(tokens.length)
  const logins = (await a.store.scan('audit_log')).filter((e) => e.action === 'LOGIN')
  expect(logins.length).toBe(tokens.length)
  await Promise.all([a.close(), b.close()])
}, 120_000)

it('lets concurrent logins to one account with the right password all in, beyond the lockout limit', async () => {
  const inst = await openInstance()
  await inst.auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  // 30 at once against a limit of 10: running checks count as failures, so the later ones
  // wait for earlier ones to end instead of being refused.
  const results = await Promise.allSettled(
    Array.from({ length: 30 }, () => inst.auth.login('root_admin', PASSWORD)),
  )
  expect(results.filter((r) => r.status === 'rejected')).toEqual([])
  expect(inst.hasher.verifyCalls).toBe(30)
  await inst.close()
}, 60_000)

/**
 * Revocation across processes: a logout, a revoke-all or a disable in process A (this test
 * process) makes the token fail in process B (a child that only reads the lakehouse) within the
 * refresh interval. B runs with `LAKEHOUSE_REFRESH_MS=200`; each failure must show within twice
 * that plus slack for process scheduling. Attack case 34 of the standards file.
 * `POLARWAY_FULL=1` revokes more sessions, one at a time.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AuthService } from '../../src/auth/auth-service.js'
import { FastTestHasher } from '../../src/auth/password-hasher.js'
import { silentLogger } from '../../src/common/logger.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { makeTempDir } from '../support/temp.js'
import { FULL, startChild } from './support/child-process.js'

const SECRET = 'auth-revocation-secret-of-at-least-32-bytes'
const REFRESH_MS = 200
const SLACK_MS = 400
const PASSWORD = 'correct horse battery staple'
const LOGOUTS = FULL ? 10 : 1

interface Failure {
  readonly index: number
  readonly code: string
  readonly at: number
}

describe('revocation across processes', () => {
  it(`makes revoked tokens fail in another process within ${REFRESH_MS} ms refreshes`, async () => {
    const dir = await makeTempDir('auth-revocation-')
    const config = LakehouseConfig.builder()
      .basePath(dir)
      .environment('test')
      .jwtSecret(SECRET)
      .build()
    const store = await DeltaStore.open(config, { logger: silentLogger, autoRefresh: false })
    const auth = await AuthService.create(store, {
      hasher: new FastTestHasher(),
      backgroundSync: false,
    })
    const admin = await auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    const users = await Promise.all(
      ['alice', 'bob'].map(async (name) => {
        const u = await auth.register({
          username: name,
          email: `${name}@example.com`,
          password: PASSWORD,
        })
        return auth.approveUser(admin.userId, u.userId)
      }),
    )
    // Tokens [0, LOGOUTS) are logged out one by one; then alice revokes all her sessions; then
    // bob is disabled.
    const logouts = []
    for (let i = 0; i < LOGOUTS; i++) logouts.push(await auth.login('alice', PASSWORD))
    const revokeAll = await auth.login('alice', PASSWORD)
    const disabled = await auth.login('bob', PASSWORD)
    const tokens = [...logouts, revokeAll, disabled].map((l) => l.token)
    const tokensFile = path.join(dir, 'tokens.json')
    await fs.writeFile(tokensFile, JSON.stringify(tokens), { mode: 0o600 })

    const child = startChild('auth-revocation.child.ts', [dir, tokensFile], {
      POLARWAY_JWT_SECRET: SECRET,
      LAKEHOUSE_REFRESH_MS: String(REFRESH_MS),
    })
    const failures = new Map<number, Failure>()
    let buffer = ''
    child.proc.stdout.on('data', (chunk: string) => {
      buffer += chunk
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (line === 'ready') continue
        const f = JSON.parse(line) as Failure
        failures.set(f.index, f)
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1)
    })
    await child.ready
    child.start()

    const waitFor = async (index: number): Promise<Failure> => {
      const deadline = Date.now() + 10_000
      while (!failures.has(index) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const f = failures.get(index)
      if (!f)
        throw new Error(`process B never refused token ${index}: ${(await child.exited).stderr}`)
      return f
    }
    const revoke = async (index: number, run: () => Promise<unknown>): Promise<void> => {
      // Let B run a few refreshes first, so that a failure cannot be an accident of timing.
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS))
      expect(failures.has(index), `token ${index} failed before its revocation`).toBe(false)
      const started = Date.now()
      await run()
      // The revocation is durable once run() resolves (its audit event commits after it).
      const revoked = Date.now()
      const failure = await waitFor(index)
      expect(failure.code).toBe('INVALID_TOKEN')
      expect(failure.at).toBeGreaterThanOrEqual(started)
      expect(failure.at - revoked).toBeLessThanOrEqual(2 * REFRESH_MS + SLACK_MS)
    }

    for (let i = 0; i < LOGOUTS; i++) await revoke(i, () => auth.logout(tokens[i]))
    await revoke(LOGOUTS, () => auth.revokeAllSessions(users[0]!.userId, users[0]!.userId))
    await revoke(LOGOUTS + 1, () => auth.disableUser(admin.userId, users[1]!.userId))

    const exit = await child.exited
    expect(exit.code, exit.stderr).toBe(0)
    expect([...failures.keys()].sort((a, b) => a - b)).toEqual(tokens.map((_, i) => i))
    await auth.close()
    await store.close()
  }, 60_000)
})

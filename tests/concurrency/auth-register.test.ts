/**
 * Uniqueness of usernames across processes: concurrent registrations of one username in two
 * processes (each one DeltaStore + AuthService, as two server instances) create exactly one
 * user; every other attempt fails with USER_EXISTS (never WRITE_CONFLICT, never a second row).
 * Attack case 8 of the standards file. At the same time each process registers users of its
 * own: a burst of sign-ups must all succeed, however much their commits conflict.
 * `POLARWAY_FULL=1` runs 10 rounds.
 */
import { describe, expect, it } from 'vitest'
import { col } from '../../src/delta/expr/expression.js'
import { silentLogger } from '../../src/common/logger.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { makeTempDir } from '../support/temp.js'
import { expectSuccess, FULL, startChild } from './support/child-process.js'

const SECRET = 'auth-register-secret-of-at-least-32-bytes'
const PROCESSES = 2
const ATTEMPTS_PER_PROCESS = 25
const DISTINCT_PER_PROCESS = 10
const ROUNDS = FULL ? 10 : 1

describe('registration across processes', () => {
  it(
    `creates one user from ${PROCESSES * ATTEMPTS_PER_PROCESS} concurrent registrations of one username`,
    async () => {
      const dir = await makeTempDir('auth-register-')
      const config = LakehouseConfig.builder()
        .basePath(dir)
        .environment('test')
        .jwtSecret(SECRET)
        .build()
      // Create the tables before the race, so the children only race on registrations.
      const store = await DeltaStore.open(config, { logger: silentLogger, autoRefresh: false })
      for (let round = 0; round < ROUNDS; round++) {
        const username = `Contested_${round}`
        const children = Array.from({ length: PROCESSES }, (_, w) =>
          startChild(
            'auth-register.child.ts',
            [dir, String(w), String(ATTEMPTS_PER_PROCESS), username, String(DISTINCT_PER_PROCESS)],
            { POLARWAY_JWT_SECRET: SECRET },
          ),
        )
        await Promise.all(children.map((c) => c.ready))
        for (const c of children) c.start()
        const results = (
          await Promise.all(children.map((c, w) => expectSuccess(c, `process ${w}`)))
        ).map((out) => JSON.parse(out.trim()) as { contested: string[]; distinct: string[] })
        const outcomes = results.flatMap((r) => r.contested)
        expect(results.flatMap((r) => r.distinct)).toEqual(
          Array<string>(PROCESSES * DISTINCT_PER_PROCESS).fill('created'),
        )
        expect(outcomes).toHaveLength(PROCESSES * ATTEMPTS_PER_PROCESS)
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1)
        expect(outcomes.filter((o) => o === 'USER_EXISTS')).toHaveLength(outcomes.length - 1)
        const key = username.toLowerCase()
        expect(await store.query('users', col('username_key').eq(key))).toHaveLength(1)
        const registrations = await store.query('audit_log', col('action').eq('REGISTER'), {
          columns: ['outcome', 'username'],
        })
        const mine = registrations.filter((r) => r.username === username)
        expect(mine.filter((r) => r.outcome === 'success')).toHaveLength(1)
        expect(mine.filter((r) => r.outcome === 'failure')).toHaveLength(outcomes.length - 1)
      }
      expect(await store.scan('users')).toHaveLength(
        ROUNDS * (1 + PROCESSES * DISTINCT_PER_PROCESS),
      )
      await store.close()
    },
    120_000 * ROUNDS,
  )
})

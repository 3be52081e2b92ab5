import { describe, expect, it } from 'vitest'
import { EXPIRED_SESSIONS_JOB } from '../../src/auth/lakehouse-maintenance.js'
import { LakehouseClient, type LakehouseClientOptions } from '../../src/client.js'
import { LakehouseError } from '../../src/common/lakehouse-error.js'
import { TABLE_NAMES } from '../../src/lakehouse/tables.js'
import { writeRawCommit } from '../delta/operations/vacuum-support.js'
import { makeTempDir } from '../support/temp.js'
import {
  CountingHasher,
  expectError,
  fakeClock,
  PASSWORD,
  recordingLogger,
  TEST_SECRET,
  type FakeClock,
} from '../lakehouse/support/test-lakehouse.js'

const HOUR = 3_600_000

async function open(
  clock: FakeClock,
  maintenance?: LakehouseClientOptions['maintenance'],
  dir?: string,
): Promise<LakehouseClient> {
  return LakehouseClient.open(dir ?? (await makeTempDir('maintenance-')), {
    jwtSecret: TEST_SECRET,
    hasher: new CountingHasher(),
    clock,
    logger: recordingLogger(),
    autoRefresh: false,
    maintenance,
  })
}

describe('lakehouse maintenance', () => {
  it('is off unless asked for', async () => {
    const client = await open(fakeClock())
    expect(client.maintenance).toBeUndefined()
    await client.close()
  })

  it('registers every table and the expired-session job, started, and stops on close', async () => {
    const client = await open(fakeClock(), true)
    const scheduler = client.maintenance
    expect(scheduler?.started).toBe(true)
    const jobs = scheduler!.stats().map((s) => `${s.table ?? ''}/${s.job}`)
    for (const t of TABLE_NAMES) {
      for (const job of ['compaction', 'checkpoint', 'vacuum', 'logCleanup']) {
        expect(jobs).toContain(`${t}/${job}`)
      }
    }
    expect(jobs).toContain(`sessions/${EXPIRED_SESSIONS_JOB}`)
    await client.close()
    expect(scheduler?.started).toBe(false)
  })

  it('deletes expired sessions as a job, and their tokens stop working', async () => {
    const clock = fakeClock()
    const client = await open(clock, { sessionCleanupIntervalMs: HOUR })
    const user = await client.register('maintained', 'maintained@example.com', PASSWORD)
    await client.approveUser(user.userId, 'free')
    const { token } = await client.login('maintained', PASSWORD)
    const first = await client.maintenance!.runNow('sessions', EXPIRED_SESSIONS_JOB)
    expect(first.status).toBe('skipped')
    expect(first.metrics.sessionsDeleted).toBe(0)
    clock.advance((client.store.config.sessionDurationHours + 1) * HOUR)
    const run = await client.maintenance!.runNow('sessions', EXPIRED_SESSIONS_JOB)
    expect(run.status).toBe('succeeded')
    expect(run.metrics.sessionsDeleted).toBe(1)
    expect(await client.store.scan('sessions')).toEqual([])
    await expectError(() => client.verifyToken(token), 'TOKEN_EXPIRED')
    await client.close()
  })

  it('compacts small files of users and the views stay exact', async () => {
    const clock = fakeClock()
    const client = await open(clock, { minSmallFiles: 2 })
    for (let i = 0; i < 6; i++) {
      await client.register(`user${i}`, `user${i}@example.com`, PASSWORD)
      clock.advance(1000)
    }
    const users = client.store.table('users')
    const before = users.snapshot.numFiles
    expect(before).toBeGreaterThanOrEqual(6)
    const run = await client.maintenance!.runNow('users', 'compaction')
    expect(run.status).toBe('succeeded')
    expect(users.snapshot.numFiles).toBeLessThan(before)
    expect((await client.getAllUsers()).map((u) => u.username).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `user${i}`),
    )
    // The view still finds each user in its new file: an approval rewrites exactly one row.
    const u3 = (await client.getAllUsers()).find((u) => u.username === 'user3')!
    expect((await client.approveUser(u3.userId, 'pioneer')).role).toBe('trader')
    expect((await client.getAllUsers()).filter((u) => u.role === 'trader')).toHaveLength(1)
    await client.close()
  })

  it('vacuums with the configured retention, refusing nothing it should keep', async () => {
    const clock = fakeClock()
    const client = await open(clock, { minSmallFiles: 2 })
    for (let i = 0; i < 3; i++) await client.register(`vac${i}`, `vac${i}@example.com`, PASSWORD)
    await client.maintenance!.runNow('users', 'compaction')
    const run = await client.maintenance!.runNow('users', 'vacuum')
    // Default retention is 168 hours: the compacted-away files are too young to delete.
    expect(run.status).toBe('succeeded')
    expect(run.metrics.filesDeleted).toBe(0)
    expect(await client.getAllUsers()).toHaveLength(3)
    await client.close()
  })

  it("fails runs with the lakehouse's typed errors, as the store's own calls do", async () => {
    const client = await open(fakeClock(), {})
    const users = client.store.table('users')
    await users.refresh()
    // The table keeps removed files 30 days, longer than the configured vacuum retention.
    await writeRawCommit(users.store, users.version + 1, [
      { kind: 'commitInfo', info: { operation: 'SET TBLPROPERTIES' } },
      {
        ...users.metadata,
        configuration: {
          ...users.metadata.configuration,
          'delta.deletedFileRetentionDuration': 'interval 30 days',
        },
      },
    ])
    const run = await client.maintenance!.runNow('users', 'vacuum')
    expect(run.status).toBe('failed')
    expect(run.error).toBeInstanceOf(LakehouseError)
    expect(run.error).toMatchObject({ code: 'CONFIG_INVALID' })
    const direct = await expectError(() => client.vacuum('users'), 'CONFIG_INVALID')
    expect(direct.message).toBe(run.error?.message)
    await client.close()
  })

  it('refuses a bad policy with a typed error and opens nothing', async () => {
    await expectError(() => open(fakeClock(), { minSmallFiles: 1 }), 'INVALID_POLICY')
  })
})

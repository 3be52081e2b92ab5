/**
 * Interop (lakehouse): the four tables of a lakehouse, written through the client by the
 * operations of its users (sign-ups, approvals, logins whose session and audit files and
 * commit files are staged during the password check, logouts, role and password changes, a
 * password reset, actions, expired-session cleanup and compaction, over several days so that
 * the partitioned tables get several partitions, with in-commit timestamps), are read by
 * delta-rs with exactly the rows we read, at every version.
 */
import path from 'node:path'
import { expect, it } from 'vitest'
import { ActionType } from '../../src/audit/audit-log.js'
import { LakehouseClient } from '../../src/client.js'
import { DeltaTable } from '../../src/delta/index.js'
import { TABLE_NAMES } from '../../src/lakehouse/tables.js'
import {
  CountingHasher,
  fakeClock,
  PASSWORD,
  recordingLogger,
  TEST_SECRET,
} from '../lakehouse/support/test-lakehouse.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

const HOUR = 3_600_000
const CTX = { ipAddress: '203.0.113.9', userAgent: 'interop/1' }

/** Builds a lakehouse through a day-spanning sequence of user operations. */
async function buildLakehouse(dir: string): Promise<void> {
  const clock = fakeClock()
  const client = await LakehouseClient.open(dir, {
    jwtSecret: TEST_SECRET,
    hasher: new CountingHasher(),
    clock,
    logger: recordingLogger(),
    autoRefresh: false,
  })
  const admin = await client.bootstrapAdmin('root_admin', 'root@example.com', PASSWORD)
  const actor = { actor: admin.userId }
  const alice = await client.register('alice', 'alice@example.com', PASSWORD, {
    tier: 'pioneer',
    firstName: 'Alice',
    preferences: { theme: 'dark', langs: ['en', 'fr'] },
    context: CTX,
  })
  const bob = await client.register('bob', 'bob@example.com', PASSWORD)
  const carol = await client.register('carol', 'carol@example.com', PASSWORD)
  await client.approveUser(alice.userId, undefined, actor)
  await client.approveUser(bob.userId, 'free', actor)
  await client.rejectUser(carol.userId, actor)
  const a1 = await client.login('alice', PASSWORD, { context: CTX })
  await client.login('alice@example.com', PASSWORD)
  const b1 = await client.login('bob', PASSWORD)
  await client.logout(a1.token)
  await client.logAction(alice.userId, 'alice', ActionType.QUERY, {
    sessionId: b1.sessionId,
    rowCount: 42,
    bytesScanned: 1_000_000n,
    computeTimeMs: 12.5,
    cost: '0.0012',
    metadata: { table: 'trades' },
  })
  // A use of a session past the activity resolution: one session_activity row.
  clock.advance(2 * 60_000)
  await client.verifyToken(b1.token)
  await client.auth.syncSessionActivity()
  clock.advance(26 * HOUR) // a new day: new audit_log and user_actions partitions
  await client.setRole(bob.userId, 'trader', actor)
  await client.changePassword(alice.userId, PASSWORD, 'a changed alice passphrase')
  const grant = await client.requestPasswordReset('bob')
  await client.resetPassword(grant?.token ?? '', 'a reset bob passphrase', { context: CTX })
  const b2 = await client.login('bob', 'a reset bob passphrase')
  clock.advance(2 * 60_000)
  await client.verifyToken(b2.token)
  await client.auth.syncSessionActivity()
  await client.logAction(bob.userId, 'bob', ActionType.EXPORT, { rowCount: 7, cost: 0.5 })
  clock.advance(30 * HOUR) // every session of the first day has expired
  expect(await client.cleanupExpiredSessions()).toBeGreaterThan(0)
  await client.compact()
  const a2 = await client.login('alice', 'a changed alice passphrase')
  clock.advance(2 * 60_000)
  await client.verifyToken(a2.token)
  await client.close() // writes that use
}

describeWithOracle('lakehouse tables read by delta-rs', (oracle) => {
  const dirP = makeTempDir('lakehouse-interop-').then(async (dir) => {
    await buildLakehouse(dir)
    return dir
  })

  it.each([...TABLE_NAMES])(
    'delta-rs reads %s as we do at every version',
    async (name) => {
      const table = path.join(await dirP, name)
      const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [table])
      const versions = (await DeltaTable.open(table)).version + 1
      expect(Object.keys(read.versions)).toHaveLength(versions)
      // Every version with data files is compared row by row.
      const compared = await expectSameAtEveryVersion(table, read)
      expect(compared).toBeGreaterThan(versions / 2)
    },
    180_000,
  )
})

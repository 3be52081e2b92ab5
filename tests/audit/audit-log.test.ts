import { describe, expect, it } from 'vitest'
import { ActionType, AuditLog } from '../../src/audit/audit-log.js'
import type { IdGenerator } from '../../src/common/ids.js'
import { col } from '../../src/delta/expr/expression.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { makeTempDir } from '../support/temp.js'
import {
  expectError,
  fakeClock,
  recordingLogger,
  testConfig,
  type FakeClock,
} from '../lakehouse/support/test-lakehouse.js'

function sequentialIds(): IdGenerator {
  let n = 0
  return { uuid: () => `id-${++n}`, token: () => `token-${++n}` }
}

async function setup(): Promise<{ store: DeltaStore; audit: AuditLog; clock: FakeClock }> {
  const clock = fakeClock(Date.UTC(2026, 11, 31, 23, 59, 59, 500))
  const store = await DeltaStore.open(testConfig(await makeTempDir('audit-')), {
    clock,
    logger: recordingLogger(),
    autoRefresh: false,
  })
  return { store, audit: new AuditLog(store, clock, sequentialIds()), clock }
}

describe('AuditLog', () => {
  it('builds a row with actor, target, action, outcome, UTC time, day partition and IP', async () => {
    const { audit, clock } = await setup()
    const row = audit.rowOf({
      action: 'APPROVE_USER',
      outcome: 'success',
      userId: 'u-1',
      username: 'alice',
      resource: 'user:u-1',
      details: { actor: 'admin-1', tier: 'pioneer' },
      context: { ipAddress: '2001:db8::1', userAgent: 'curl/8' },
    })
    expect(row).toEqual({
      event_id: 'id-1',
      timestamp: new Date(clock.now()),
      user_id: 'u-1',
      username: 'alice',
      action: 'APPROVE_USER',
      resource: 'user:u-1',
      outcome: 'success',
      details_json: '{"actor":"admin-1","tier":"pioneer"}',
      ip_address: '2001:db8::1',
      user_agent: 'curl/8',
      date_partition: '2026-12-31',
    })
  })

  it('fills absent fields with nulls and clips long text', async () => {
    const { audit } = await setup()
    const row = audit.rowOf({
      action: 'LOGIN_FAILED',
      outcome: 'failure',
      context: { userAgent: 'x'.repeat(5000) },
    })
    expect(row).toMatchObject({
      user_id: null,
      username: null,
      resource: null,
      details_json: null,
      ip_address: null,
    })
    expect(row.user_agent).toHaveLength(1024)
  })

  it('records events durably, group-committing concurrent ones', async () => {
    const { store, audit, clock } = await setup()
    const before = await store.version('audit_log')
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit.record({ action: 'LOGIN', outcome: 'success', userId: `u-${i}` }),
      ),
    )
    const rows = await store.scan('audit_log')
    expect(rows).toHaveLength(20)
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(20)
    expect(rows.every((r) => (r.timestamp as Date).getTime() === clock.now())).toBe(true)
    // Fewer commits than events: callers that arrive during a commit ride the next one.
    expect((await store.version('audit_log')) - before).toBeLessThan(20)
    await store.close()
  })

  it('logs user actions with exact counts and decimal costs', async () => {
    const { store, audit } = await setup()
    const id = await audit.logAction({
      userId: 'u-1',
      actionType: ActionType.QUERY,
      sessionId: 's-1',
      resource: 'dataset:prices',
      rowCount: 42,
      bytesScanned: 9_007_199_254_740_993n,
      computeTimeMs: 12.5,
      cost: '0.001234',
      metadata: { username: 'alice', sql: 'select 1' },
    })
    const [row] = await store.query('user_actions', col('action_id').eq(id))
    expect(row).toMatchObject({
      user_id: 'u-1',
      session_id: 's-1',
      action_type: 'query',
      resource: 'dataset:prices',
      row_count: 42n,
      bytes_scanned: 9_007_199_254_740_993n,
      compute_time_ms: 12.5,
      metadata_json: '{"username":"alice","sql":"select 1"}',
      date_partition: '2026-12-31',
    })
    expect(String(row?.cost)).toBe('0.001234')
    const minimal = await audit.logAction({ userId: 'u-2', actionType: 'custom_action' })
    const [m] = await store.query('user_actions', col('action_id').eq(minimal))
    expect(m).toMatchObject({ row_count: null, cost: null, metadata_json: null })
    await store.close()
  })

  it('refuses an invalid cost with INVALID_QUERY', async () => {
    const { store, audit } = await setup()
    await expectError(
      () => audit.logAction({ userId: 'u-1', actionType: 'query', cost: 'a lot' }),
      'INVALID_QUERY',
    )
    await store.close()
  })

  it('names the action types of the seed', () => {
    expect(Object.values(ActionType).sort()).toEqual([
      'api_call',
      'data_access',
      'export',
      'login',
      'logout',
      'password_change',
      'query',
      'register',
    ])
  })
})

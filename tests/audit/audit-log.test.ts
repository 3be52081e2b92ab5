import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ActionType,
  AuditLog,
  MAX_TEXT_LENGTH,
  sanitizeContext,
  storableText,
  type AuditEvent,
} from '../../src/audit/audit-log.js'
import type { IdGenerator } from '../../src/common/ids.js'
import { col } from '../../src/delta/expr/expression.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { makeTempDir } from '../support/temp.js'
import {
  expectError,
  fakeClock,
  openInstance,
  PASSWORD,
  recordingLogger,
  testConfig,
  type FakeClock,
} from '../lakehouse/support/test-lakehouse.js'

const LONE = /\p{Cs}/u
/** 1023 ASCII characters and an emoji: 1025 UTF-16 units, the cut at 1024 falls inside it. */
const SPLIT_UA = `${'a'.repeat(MAX_TEXT_LENGTH - 1)}\u{1F600}`

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

function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  o.self = o
  return o
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

  it('clips on a code-point boundary: an emoji across the limit is dropped whole', async () => {
    const { store, audit } = await setup()
    const event: AuditEvent = {
      action: 'LOGIN_FAILED',
      outcome: 'failure',
      resource: SPLIT_UA,
      context: { ipAddress: SPLIT_UA, userAgent: SPLIT_UA },
    }
    const row = audit.rowOf(event)
    for (const column of ['resource', 'ip_address', 'user_agent']) {
      expect(row[column]).toBe('a'.repeat(MAX_TEXT_LENGTH - 1))
    }
    await audit.record(event)
    expect(await store.query('audit_log', col('action').eq('LOGIN_FAILED'))).toHaveLength(1)
    await store.close()
  })

  it('stores lone surrogates of a request context as U+FFFD', async () => {
    const { store, audit } = await setup()
    const event: AuditEvent = {
      action: 'LOGIN_FAILED',
      outcome: 'failure',
      resource: 'user:\uDC00',
      context: { ipAddress: '10.0.0.1\uD800', userAgent: '\uDFFFcurl\uD83D' },
    }
    expect(audit.rowOf(event)).toMatchObject({
      resource: 'user:\uFFFD',
      ip_address: '10.0.0.1\uFFFD',
      user_agent: '\uFFFDcurl\uFFFD',
    })
    await audit.record(event)
    const [row] = await store.query('audit_log', col('action').eq('LOGIN_FAILED'))
    expect(row?.user_agent).toBe('\uFFFDcurl\uFFFD')
    const id = await audit.logAction({ userId: 'u-1', actionType: 'query', resource: SPLIT_UA })
    const [action] = await store.query('user_actions', col('action_id').eq(id))
    expect(action?.resource).toBe('a'.repeat(MAX_TEXT_LENGTH - 1))
    await store.close()
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

  it.each<[string, Record<string, unknown>]>([
    ['a NaN row count', { rowCount: NaN }],
    ['an infinite row count', { rowCount: Infinity }],
    ['a fractional row count', { rowCount: 1.5 }],
    ['a negative byte count', { bytesScanned: -100 }],
    ['a byte count beyond a long', { bytesScanned: 2n ** 63n }],
    ['a NaN compute time', { computeTimeMs: NaN }],
    ['a negative compute time', { computeTimeMs: -1 }],
    ['metadata holding a BigInt', { metadata: { n: 1n } }],
    ['metadata with a cycle', { metadata: cyclic() }],
    ['metadata that is not an object once serialized', { metadata: new Date(0) }],
  ])('refuses %s with INVALID_QUERY and writes nothing', async (_what, fields) => {
    const { store, audit } = await setup()
    const before = await store.version('user_actions')
    await expectError(
      () => audit.logAction({ userId: 'u-1', actionType: 'query', ...fields }),
      'INVALID_QUERY',
    )
    expect(await store.version('user_actions')).toBe(before)
    await store.close()
  })

  it('refuses event details that are not JSON with INVALID_QUERY', async () => {
    const { store, audit } = await setup()
    expect(() => audit.rowOf({ action: 'X', outcome: 'success', details: { n: 1n } })).toThrow(
      /details must be JSON/,
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

describe('storableText', () => {
  // Any code point, and surrogate halves and pairs often, so that cuts fall inside pairs.
  const unit = fc.oneof(
    fc.constantFrom('a', '\u{1F600}', '\uD83D', '\uDE00', '\uFFFD'),
    fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((cu) => String.fromCharCode(cu)),
  )
  const text = fc.string({ unit, maxLength: 60 })
  const codePoints = (s: string): string[] => Array.from(s)

  it('gives a well-formed prefix by code points, within the limit, cut no shorter than needed', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 70 }), (input, max) => {
        const out = storableText(input, max)
        expect(out).not.toBeNull()
        const clipped = out ?? ''
        expect(LONE.test(clipped)).toBe(false)
        expect(clipped.length).toBeLessThanOrEqual(max)
        // A prefix of the input by code points, once its lone surrogates are U+FFFD.
        const whole = codePoints(input).map((ch) => (LONE.test(ch) ? '\uFFFD' : ch))
        expect(codePoints(clipped)).toEqual(whole.slice(0, codePoints(clipped).length))
        // It drops at most the one pair that would not fit.
        if (clipped.length < input.length) expect(clipped.length).toBeGreaterThanOrEqual(max - 1)
        // A well-formed input comes back as a plain prefix of itself.
        if (!LONE.test(input)) expect(input.startsWith(clipped)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('clips at 1024 UTF-16 units by default, and gives null for no text', () => {
    expect(storableText('x'.repeat(5000))).toHaveLength(MAX_TEXT_LENGTH)
    expect(storableText(SPLIT_UA)).toBe('a'.repeat(MAX_TEXT_LENGTH - 1))
    expect(storableText(SPLIT_UA.slice(0, MAX_TEXT_LENGTH))).toBe(
      `${'a'.repeat(MAX_TEXT_LENGTH - 1)}\uFFFD`,
    )
    for (const none of [undefined, null, 42, ['a', 'b'], { toString: () => 'x' }]) {
      expect(storableText(none)).toBeNull()
    }
  })
})

describe('sanitizeContext', () => {
  it('makes the IP address and user agent storable and keeps other properties', () => {
    expect(
      sanitizeContext({ ipAddress: '10.0.0.1\uD800', userAgent: SPLIT_UA, keepSessionId: 's-1' }),
    ).toEqual({
      ipAddress: '10.0.0.1\uFFFD',
      userAgent: 'a'.repeat(MAX_TEXT_LENGTH - 1),
      keepSessionId: 's-1',
    })
    expect(sanitizeContext({})).toEqual({ ipAddress: null, userAgent: null })
    expect(sanitizeContext(undefined)).toBeUndefined()
    // Untyped callers: a header array, a number, a null context.
    expect(sanitizeContext({ ipAddress: ['10.0.0.1', '10.0.0.2'], userAgent: 7 } as never)).toEqual(
      { ipAddress: null, userAgent: null },
    )
    expect(sanitizeContext(null as never)).toBeUndefined()
  })

  it('does not change its argument', () => {
    const ctx = { userAgent: '\uD800' }
    sanitizeContext(ctx)
    expect(ctx).toEqual({ userAgent: '\uD800' })
  })
})

describe('audit of logins with a user agent cut inside an emoji', () => {
  it('records failed logins and writes the LOGIN events of later logins', async () => {
    const inst = await openInstance()
    const { auth, store, logger } = inst
    await auth.bootstrapAdmin({
      username: 'root_admin',
      email: 'root@example.com',
      password: PASSWORD,
    })
    const ctx = { userAgent: SPLIT_UA }
    // Refused as a wrong password, not with the audit write's INVALID_QUERY.
    await expectError(() => auth.login('root_admin', 'wrong guess', ctx), 'INVALID_CREDENTIALS')
    const failed = await store.query('audit_log', col('action').eq('LOGIN_FAILED'))
    expect(failed.map((r) => r.user_agent)).toEqual(['a'.repeat(MAX_TEXT_LENGTH - 1)])

    // The LOGIN event of the session is written from its row, and does not hold up others.
    await auth.login('root_admin', PASSWORD, ctx)
    await auth.flushLoginEvents()
    await auth.login('root_admin', PASSWORD)
    await auth.flushLoginEvents()
    const logins = await store.query('audit_log', col('action').eq('LOGIN'))
    expect(logins.map((r) => r.user_agent).sort()).toEqual(['a'.repeat(MAX_TEXT_LENGTH - 1), null])
    expect(logger.warnings.filter((w) => w.includes('login events'))).toEqual([])
    await inst.close()
  })
})

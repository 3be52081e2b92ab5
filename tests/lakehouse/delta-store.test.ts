import { promises as fs } from 'node:fs'
import path from 'node:path'
import { inspect } from 'node:util'
import { parquetReadObjects } from 'hyparquet'
import { describe, expect, it, vi } from 'vitest'
import { col, type Expression } from '../../src/delta/expr/expression.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { DeltaStore, toLakehouseError } from '../../src/lakehouse/delta-store.js'
import { DEV_SECRET_FILE } from '../../src/lakehouse/jwt-secret.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { TABLE_NAMES, TABLES, type TableName } from '../../src/lakehouse/tables.js'
import { DeltaError } from '../../src/delta/errors.js'
import { LakehouseError } from '../../src/common/lakehouse-error.js'
import { makeTempDir } from '../support/temp.js'
import {
  expectError,
  fakeClock,
  recordingLogger,
  T0,
  testConfig,
  type FakeClock,
} from './support/test-lakehouse.js'

const DAY = 24 * 3600_000

/** A complete `users` row with distinctive personal data. */
function userRow(i: number, clock: FakeClock, role = 'registered'): Record<string, unknown> {
  const now = new Date(clock.now())
  return {
    user_id: `user-${i}`,
    username: `zebra_marker_${i}`,
    username_key: `zebra_marker_${i}`,
    email: `pii.marker${i}@example.org`,
    email_key: `pii.marker${i}@example.org`,
    password_hash: `$fast$c=1$hash-marker-${i}`,
    role,
    subscription_tier: 'free',
    first_name: `Firstmarker${i}`,
    last_name: null,
    is_active: true,
    created_at: now,
    updated_at: now,
    last_login: null,
    preferences_json: null,
    approved_at: null,
    approved_by: null,
    rejected_at: null,
  }
}

function auditRow(i: number, clock: FakeClock, userId = `user-${i}`): Record<string, unknown> {
  const now = new Date(clock.now())
  return {
    event_id: `event-${i}-${clock.now()}`,
    timestamp: now,
    user_id: userId,
    username: `zebra_marker_${i}`,
    action: i % 2 === 0 ? 'LOGIN' : 'LOGOUT',
    resource: `user:${userId}`,
    outcome: 'success',
    details_json: null,
    ip_address: `203.0.113.${i}`,
    user_agent: 'agent-marker',
    date_partition: now.toISOString().slice(0, 10),
  }
}

function sessionRow(i: number, clock: FakeClock): Record<string, unknown> {
  const expires = new Date(clock.now() + DAY)
  return {
    session_id: `session-${i}`,
    token_hash: 'a'.repeat(64),
    user_id: `user-${i}`,
    username: `zebra_marker_${i}`,
    role: 'registered',
    created_at: new Date(clock.now()),
    expires_at: expires,
    is_revoked: false,
    revoked_at: null,
    ip_address: `198.51.100.${i}`,
    user_agent: 'agent-marker',
    expires_date: expires.toISOString().slice(0, 10),
  }
}

async function open(
  dir: string,
  clock: FakeClock = fakeClock(),
  options: { autoRefresh?: boolean; refreshMs?: number } = {},
): Promise<DeltaStore> {
  return DeltaStore.open(
    testConfig(dir, (b) => b.refreshMs(options.refreshMs ?? 1000)),
    { clock, logger: recordingLogger(), autoRefresh: options.autoRefresh ?? false },
  )
}

const MARKERS = [
  'zebra_marker',
  'pii.marker',
  'Firstmarker',
  'agent-marker',
  '203.0.113',
  'hash-marker',
]

describe('DeltaStore', () => {
  it('creates the four tables as Delta tables with their partitioning and properties', async () => {
    const dir = await makeTempDir('store-')
    const store = await open(dir)
    for (const name of TABLE_NAMES) {
      const table = await DeltaTable.open(path.join(dir, name))
      const def = TABLES[name]
      expect(table.version).toBe(0)
      expect(table.partitionColumns).toEqual(def.partitionColumns)
      expect(table.schema).toEqual(def.schema)
      expect(table.metadata.configuration).toMatchObject(def.properties)
      expect(table.metadata.configuration['delta.dataSkippingStatsColumns']).toBe(
        def.statsColumns.join(','),
      )
      expect(table.metadata.name).toBe(name)
      expect(table.protocol.writerFeatures ?? []).toContain('inCommitTimestamp')
      expect(table.protocol.minWriterVersion).toBe(7)
    }
    expect(TABLES.sessions.partitionColumns).toEqual(['expires_date'])
    expect(TABLES.audit_log.partitionColumns).toEqual(['date_partition'])
    expect(TABLES.user_actions.partitionColumns).toEqual(['date_partition'])
    expect(TABLES.users.partitionColumns).toEqual([])
    expect(store.users.version).toBe(0)
    expect(store.sessions.version).toBe(0)
    await store.close()
  })

  it('never declares stats on a personal column', () => {
    const personal = ['username', 'username_key', 'email', 'email_key', 'password_hash']
    const more = ['first_name', 'last_name', 'ip_address', 'user_agent', 'token_hash']
    for (const name of TABLE_NAMES) {
      for (const c of [...personal, ...more, 'details_json', 'preferences_json']) {
        expect(TABLES[name].statsColumns).not.toContain(c)
      }
    }
  })

  it('keeps personal data out of the log and the checkpoints', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    for (let i = 0; i < 3; i++) {
      await store.append('users', [userRow(i, clock)])
      await store.append('sessions', [sessionRow(i, clock)])
      await store.append('audit_log', [auditRow(i, clock)])
      clock.advance(1000)
    }
    await store.table('users').update(col('user_id').eq('user-1'), { role: 'trader' })
    for (const name of TABLE_NAMES) await store.table(name).checkpoint()
    await store.close()

    let checkpoints = 0
    let adds = 0
    for (const name of TABLE_NAMES) {
      const logDir = path.join(dir, name, '_delta_log')
      for (const file of await fs.readdir(logDir)) {
        const bytes = await fs.readFile(path.join(logDir, file))
        const text = bytes.toString('latin1')
        for (const marker of MARKERS) expect(text, `${name}/${file}`).not.toContain(marker)
        if (file.endsWith('.json')) {
          for (const line of bytes.toString('utf8').split('\n').filter(Boolean)) {
            const action = JSON.parse(line) as { add?: { stats?: string } }
            if (!action.add?.stats) continue
            adds++
            const stats = JSON.parse(action.add.stats) as { minValues?: object }
            for (const key of Object.keys(stats.minValues ?? {})) {
              expect(TABLES[name].statsColumns).toContain(key)
            }
          }
        }
        if (file.endsWith('.checkpoint.parquet')) {
          checkpoints++
          const rows = await parquetReadObjects({
            file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          })
          const decoded = JSON.stringify(rows, (_k, v: unknown) =>
            typeof v === 'bigint' ? v.toString() : v,
          )
          expect(decoded).toContain('"add"')
          for (const marker of MARKERS) expect(decoded, `${name}/${file}`).not.toContain(marker)
        }
      }
    }
    expect(checkpoints).toBe(TABLE_NAMES.length)
    expect(adds).toBeGreaterThanOrEqual(10)
    // The data files do hold the personal data (they are what erasure rewrites).
    const users = await DeltaTable.open(path.join(dir, 'users'))
    expect((await users.toRows({ columns: ['username'] })).map((r) => r.username)).toContain(
      'zebra_marker_1',
    )
  })

  it('appends, scans and queries rows with projections and typed filters', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    await store.append('users', [userRow(1, clock), userRow(2, clock, 'admin')])
    await store.append('users', [userRow(3, clock, 'admin')])
    expect(await store.scan('users')).toHaveLength(3)
    const admins = await store.query('users', col('role').eq('admin'), { columns: ['user_id'] })
    expect(admins.map((r) => r.user_id).sort()).toEqual(['user-2', 'user-3'])
    expect(Object.keys(admins[0] ?? {})).toEqual(['user_id'])
    // User input is a value, never parsed: an injection attempt matches nothing.
    expect(await store.query('users', col('username').eq("x' OR '1'='1"))).toEqual([])
    const result = await store.append('audit_log', [auditRow(1, clock)])
    expect(result.version).toBe(1)
    expect(await store.scan('audit_log', { filter: col('action').eq('LOGOUT') })).toHaveLength(1)
    await store.close()
  })

  it('reads a table as of a version and a timestamp, and lists its history', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    const times: number[] = []
    for (let i = 1; i <= 3; i++) {
      clock.advance(60_000)
      await store.append('users', [userRow(i, clock)])
      times.push(clock.now())
    }
    expect(await store.version('users')).toBe(3)
    for (let v = 0; v <= 3; v++) expect(await store.readVersion('users', v)).toHaveLength(v)
    const at = (ms: number): Promise<unknown[]> => store.readTimestamp('users', ms)
    expect(await at(times[0]! + 30_000)).toHaveLength(1)
    expect(await at(times[1]!)).toHaveLength(2)
    expect(await store.readTimestamp('users', new Date(times[2]!).toISOString())).toHaveLength(3)
    expect(await store.readTimestamp('users', new Date(times[1]! - 1))).toHaveLength(1)
    const projected = await store.readVersion('users', 2, {
      columns: ['user_id'],
      filter: col('user_id').eq('user-2'),
    })
    expect(projected).toEqual([{ user_id: 'user-2' }])
    const history = await store.history('users')
    expect(history.map((h) => h.version)).toEqual([3, 2, 1, 0])
    expect(history[3]?.operation).toBe('CREATE TABLE')
    expect(history[0]?.timestamp.getTime()).toBe(times[2])
    expect(await store.history('users', 2)).toHaveLength(2)
    await store.close()
  })

  it('compacts, z-orders and vacuums with the configured retention', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    for (let i = 0; i < 4; i++) await store.append('audit_log', [auditRow(i, clock)])
    const before = await store.scan('audit_log')
    const compacted = await store.compact('audit_log')
    expect(compacted.audit_log?.metrics.numFilesRemoved).toBe(4)
    expect(compacted.audit_log?.metrics.numFilesAdded).toBe(1)
    expect(await store.scan('audit_log')).toHaveLength(before.length)

    await store.append('user_actions', [
      {
        action_id: 'a1',
        timestamp: new Date(clock.now()),
        user_id: 'user-1',
        action_type: 'query',
        date_partition: new Date(clock.now()).toISOString().slice(0, 10),
      },
    ])
    for (let i = 4; i < 6; i++) await store.append('audit_log', [auditRow(i, clock)])
    const zordered = await store.zOrder()
    expect(Object.keys(zordered).sort()).toEqual(['audit_log', 'user_actions'])
    expect(zordered.audit_log?.skipped).toBe(false)
    const custom = await store.zOrder('audit_log', ['outcome'])
    expect(Object.keys(custom)).toEqual(['audit_log'])
    await expectError(() => store.zOrder('audit_log', ['no_such_column']), 'INVALID_QUERY')

    // Files removed by compaction are deleted once they are older than the retention.
    const early = await store.vacuum('audit_log')
    expect(early.audit_log?.filesDeleted).toEqual([])
    clock.advance(8 * DAY)
    const late = await store.vacuum('audit_log')
    expect(late.audit_log?.filesDeleted.length).toBeGreaterThanOrEqual(4)
    expect(await store.scan('audit_log')).toHaveLength(6)
    const all = await store.vacuum()
    expect(Object.keys(all).sort()).toEqual([...TABLE_NAMES].sort())
    await expectError(() => store.vacuum('audit_log', 1), 'INVALID_QUERY')
    await store.close()
  })

  it('z-orders each event table on the configured columns it has', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await DeltaStore.open(
      testConfig(dir, (b) => b.zOrderColumns(['action_type'])),
      { clock, logger: recordingLogger(), autoRefresh: false },
    )
    for (let i = 0; i < 2; i++) await store.append('audit_log', [auditRow(i, clock)])
    const zordered = await store.zOrder()
    // action_type is a user_actions column only: audit_log is left alone.
    expect(Object.keys(zordered)).toEqual(['user_actions'])
    expect((await store.history('audit_log', 1))[0]?.operation).toBe('WRITE')
    await store.close()
  })

  it.each([
    ['a regular file', (file: string) => file],
    ['under a regular file', (file: string) => path.join(file, 'lakehouse')],
  ])('refuses a base path that is %s with CONFIG_INVALID', async (_, basePath) => {
    const file = path.join(await makeTempDir('store-'), 'file')
    await fs.writeFile(file, 'x')
    const error = await expectError(() => open(basePath(file)), 'CONFIG_INVALID')
    expect(error.context.field).toBe('basePath')
    expect(error.message).toMatch(/is not a directory/)
    expect(await fs.readFile(file, 'utf8')).toBe('x')
  })

  it('hands out copies of its secret and shows it to neither util.inspect nor JSON', async () => {
    const dir = await makeTempDir('store-')
    const secret = new Uint8Array(32).fill(171)
    const store = await DeltaStore.open(
      LakehouseConfig.builder().basePath(dir).environment('test').jwtSecret(secret).build(),
      { logger: recordingLogger(), autoRefresh: false },
    )
    store.jwtSecret.fill(0)
    expect(store.jwtSecret.every((b) => b === 171)).toBe(true)
    expect(inspect(store, { depth: 4 })).not.toMatch(/171,\s*171,\s*171/)
    expect(JSON.stringify(store.config)).not.toContain('171,171')
    await store.close()
  })

  it('says which setting to change when a table keeps removed files longer than the configured retention', async () => {
    const dir = await makeTempDir('store-')
    // A table created elsewhere with a 30-day deletedFileRetentionDuration.
    await DeltaTable.create(path.join(dir, 'users'), {
      schema: TABLES.users.schema,
      properties: {
        ...TABLES.users.properties,
        'delta.deletedFileRetentionDuration': 'interval 30 days',
      },
    })
    const store = await open(dir, fakeClock())
    const error = await expectError(() => store.vacuum('users'), 'CONFIG_INVALID')
    expect(error.context).toMatchObject({ field: 'vacuumRetentionHours', table: 'users' })
    expect(error.message).toMatch(/vacuumRetentionHours \(168\).*users \(720 hours\)/)
    // An explicit retention below the table's stays a caller mistake; a long enough one works.
    await expectError(() => store.vacuum('users', 200), 'INVALID_QUERY')
    expect((await store.vacuum('users', 720)).users?.dryRun).toBe(false)
    await store.close()
  })

  it.each<[string, (s: DeltaStore) => Promise<unknown>, string]>([
    ['a missing version', (s) => s.readVersion('users', 42), 'VERSION_NOT_FOUND'],
    ['a negative version', (s) => s.readVersion('users', -1), 'VERSION_NOT_FOUND'],
    ['a malformed timestamp', (s) => s.readTimestamp('users', 'yesterday'), 'INVALID_TIMESTAMP'],
    [
      'a timestamp before the table',
      (s) => s.readTimestamp('users', T0 - DAY),
      'INVALID_TIMESTAMP',
    ],
    ['a timestamp in the future', (s) => s.readTimestamp('users', T0 + DAY), 'INVALID_TIMESTAMP'],
    ['an unknown column', (s) => s.query('users', col('nope').eq(1)), 'INVALID_QUERY'],
    ['a row of the wrong shape', (s) => s.append('users', [{ user_id: 1 }]), 'INVALID_QUERY'],
    ['an unknown table', (s) => s.scan('nope' as TableName), 'UNKNOWN_TABLE'],
    // Arguments checked before anything is read (they gave raw TypeErrors or RangeErrors, or
    // silently read the whole or latest table).
    ['an unknown table to z-order', (s) => s.zOrder('nope' as TableName), 'UNKNOWN_TABLE'],
    ['an empty table name to compact', (s) => s.compact('' as TableName), 'UNKNOWN_TABLE'],
    ['an empty table name to vacuum', (s) => s.vacuum('' as TableName), 'UNKNOWN_TABLE'],
    [
      'z-order columns given as a string',
      (s) => s.zOrder('audit_log', 'user_id' as unknown as string[]),
      'INVALID_QUERY',
    ],
    ['a null filter', (s) => s.query('users', null as unknown as Expression), 'INVALID_QUERY'],
    [
      'a missing filter',
      (s) => s.query('users', undefined as unknown as Expression),
      'INVALID_QUERY',
    ],
    [
      'a missing version',
      (s) => s.readVersion('users', undefined as unknown as number),
      'VERSION_NOT_FOUND',
    ],
    ['a huge version', (s) => s.readVersion('users', 1e20), 'VERSION_NOT_FOUND'],
    ['a fractional version', (s) => s.readVersion('users', 1.5), 'VERSION_NOT_FOUND'],
    ['a timestamp beyond Date', (s) => s.readTimestamp('users', 1e20), 'INVALID_TIMESTAMP'],
    [
      'a timestamp just past Date',
      (s) => s.readTimestamp('users', 8.64e15 + 1),
      'INVALID_TIMESTAMP',
    ],
    ['a timestamp before Date', (s) => s.readTimestamp('users', -8.64e15 - 1), 'INVALID_TIMESTAMP'],
    ['an invalid Date', (s) => s.readTimestamp('users', new Date(Number.NaN)), 'INVALID_TIMESTAMP'],
    [
      'a missing timestamp',
      (s) => s.readTimestamp('users', undefined as unknown as number),
      'INVALID_TIMESTAMP',
    ],
  ])('translates %s into a LakehouseError', async (_what, call, code) => {
    const dir = await makeTempDir('store-')
    const store = await open(dir)
    const error = await expectError(() => call(store), code)
    expect(error.message).toMatch(/^lakehouse: /)
    await store.close()
  })

  it('passes non-engine errors through and maps unknown engine codes to STORAGE_FAILURE', () => {
    const plain = new Error('x')
    expect(toLakehouseError(plain, 'op')).toBe(plain)
    const mapped = toLakehouseError(new DeltaError('STORAGE_ERROR', 'disk'), 'op')
    expect(mapped).toBeInstanceOf(LakehouseError)
    expect((mapped as LakehouseError).code).toBe('STORAGE_FAILURE')
    expect((mapped as LakehouseError).cause).toBeInstanceOf(DeltaError)
  })

  it('waits for queued events at close and refuses work afterwards', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    const pending = store.append('audit_log', [auditRow(1, clock)])
    await store.close()
    await pending
    await store.close() // idempotent
    await expectError(() => store.append('audit_log', [auditRow(2, clock)]), 'STORE_CLOSED')
    await expectError(() => store.scan('users'), 'STORE_CLOSED')
    await expectError(() => store.refresh(), 'STORE_CLOSED')
    await expectError(() => store.zOrder(), 'STORE_CLOSED')
    const table = await DeltaTable.open(path.join(dir, 'audit_log'))
    expect(await table.toRows()).toHaveLength(1)
  })

  it('says it is closed as soon as close() is called', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    expect(store.closed).toBe(false)
    const pending = store.append('audit_log', [auditRow(1, clock)])
    const closing = store.close()
    expect(store.closed).toBe(true)
    await closing
    await pending
    expect(store.closed).toBe(true)
  })

  it('resolves every concurrent close() only once the queued rows are durable', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const store = await open(dir, clock)
    const rows = Array.from({ length: 5000 }, (_, i) => auditRow(i, clock))
    const pending = store.append('audit_log', rows)
    const first = store.close()
    const second = store.close()
    expect(second).toBe(first)
    await second
    // The first close's rows are committed by the time the second close resolves.
    const table = await DeltaTable.open(path.join(dir, 'audit_log'))
    expect(table.version).toBe(1)
    expect(await table.toRows()).toHaveLength(rows.length)
    await pending
  })

  it('reopens an existing lakehouse with its rows in the views', async () => {
    const dir = await makeTempDir('store-')
    const clock = fakeClock()
    const first = await open(dir, clock)
    await first.append('users', [userRow(1, clock)])
    await first.append('sessions', [sessionRow(1, clock)])
    await first.close()
    const second = await open(dir, clock)
    expect(second.users.version).toBe(1)
    expect(second.users.get('user-1')?.record.username).toBe('zebra_marker_1')
    expect(second.sessions.get('session-1')?.userId).toBe('user-1')
    expect(await second.version('users')).toBe(1)
    await second.close()
  })

  it('refuses an existing table that does not match its definition with UNSUPPORTED_TABLE', async () => {
    const dir = await makeTempDir('store-')
    await DeltaTable.create(path.join(dir, 'users'), {
      schema: {
        type: 'struct',
        fields: [{ name: 'user_id', type: 'long', nullable: false, metadata: {} }],
      },
    })
    const error = await expectError(() => open(dir), 'UNSUPPORTED_TABLE')
    expect(error.context).toMatchObject({ table: 'users', column: 'user_id' })
  })

  it('logs configuration warnings at open', async () => {
    const dir = await makeTempDir('store-')
    const logger = recordingLogger()
    const config = LakehouseConfig.builder()
      .basePath(dir)
      .environment('development')
      .jwtSecret('short-secret')
      .build()
    const store = await DeltaStore.open(config, { logger, autoRefresh: false })
    expect(logger.warnings.join('\n')).toMatch(/12 bytes.*brute-forced/)
    expect(Buffer.from(store.jwtSecret).toString()).toBe('short-secret')
    await store.close()
  })

  it('generates and reuses the development secret when none is configured', async () => {
    const dir = await makeTempDir('store-')
    const config = LakehouseConfig.builder().basePath(dir).environment('development').build()
    const logger = recordingLogger()
    const store = await DeltaStore.open(config, { logger, autoRefresh: false })
    const file = path.join(dir, DEV_SECRET_FILE)
    expect(Buffer.from(store.jwtSecret).toString()).toBe((await fs.readFile(file, 'utf8')).trim())
    expect(logger.warnings.some((w) => w.includes(file))).toBe(true)
    await store.close()
    const again = await DeltaStore.open(config, { logger: recordingLogger(), autoRefresh: false })
    expect(Buffer.from(again.jwtSecret).equals(Buffer.from(store.jwtSecret))).toBe(true)
    await again.close()
  })

  describe('live views', () => {
    it('shows this instance commits immediately', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const store = await open(dir, clock)
      await store.append('users', [userRow(1, clock)])
      expect(store.users.get('user-1')?.record.email).toBe('pii.marker1@example.org')
      await store.append('sessions', [sessionRow(1, clock)])
      expect(store.sessions.get('session-1')?.revoked).toBe(false)
      await store.table('sessions').update(col('session_id').eq('session-1'), {
        is_revoked: true,
      })
      await store.afterWrite('sessions')
      expect(store.sessions.get('session-1')?.revoked).toBe(true)
      await store.close()
    })

    it('shows another instance commits after refresh', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const a = await open(dir, clock)
      const b = await open(dir, clock)
      await a.append('users', [userRow(1, clock)])
      expect(b.users.get('user-1')).toBeUndefined()
      await b.refresh()
      expect(b.users.get('user-1')?.record.username).toBe('zebra_marker_1')
      await a.table('users').delete(col('user_id').eq('user-1'))
      await b.refresh()
      expect(b.users.get('user-1')).toBeUndefined()
      expect(b.users.size).toBe(0)
      await Promise.all([a.close(), b.close()])
    })

    it('picks up another instance commits within the refresh interval', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const a = await open(dir, clock)
      const b = await open(dir, clock, { autoRefresh: true, refreshMs: 50 })
      await a.append('sessions', [sessionRow(7, clock)])
      const committed = Date.now()
      await vi.waitFor(() => expect(b.sessions.get('session-7')).toBeDefined(), {
        timeout: 2000,
        interval: 5,
      })
      expect(Date.now() - committed).toBeLessThan(1000)
      await Promise.all([a.close(), b.close()])
    })
  })

  describe('viewAge', () => {
    /** Writes an unparsable commit as the next version of a table, as a broken writer might. */
    async function corruptNextCommit(store: DeltaStore, name: TableName): Promise<string> {
      const next = (await store.version(name)) + 1
      const file = path.join(
        store.config.basePath,
        name,
        '_delta_log',
        `${String(next).padStart(20, '0')}.json`,
      )
      // Written aside and renamed into place: a background refresh must not meet the file
      // empty, half-created.
      await fs.writeFile(`${file}.tmp`, '{"garbage": \n')
      await fs.rename(`${file}.tmp`, file)
      return file
    }

    it('is the time since the last successful refresh, and grows while refreshes fail', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const store = await open(dir, clock)
      expect(store.viewAge('users')).toBe(0) // built at open
      expect(store.viewAge('sessions')).toBe(0)
      clock.advance(5000)
      expect(store.viewAge('users')).toBe(5000)
      await store.refresh()
      expect(store.viewAge('users')).toBe(0)
      expect(store.viewAge('sessions')).toBe(0)

      const corrupt = await corruptNextCommit(store, 'sessions')
      clock.advance(3000)
      await expect(store.refresh()).rejects.toThrow()
      expect(store.viewAge('sessions')).toBe(3000) // its refresh failed
      expect(store.viewAge('users')).toBe(0) // its refresh succeeded
      clock.advance(60_000)
      await expect(store.sessions.advance()).rejects.toThrow()
      expect(store.viewAge('sessions')).toBe(63_000)

      await fs.rm(corrupt)
      await store.refresh()
      expect(store.viewAge('sessions')).toBe(0)
      await store.close()
    })

    it('is not lowered by this process own commits', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const store = await open(dir, clock)
      clock.advance(2000)
      await store.append('sessions', [sessionRow(1, clock)])
      await store.append('users', [userRow(1, clock)])
      expect(store.sessions.get('session-1')).toBeDefined()
      expect(store.viewAge('sessions')).toBe(2000)
      expect(store.viewAge('users')).toBe(2000)
      await store.close()
    })

    it('follows the background refresh, and grows while it fails', async () => {
      const dir = await makeTempDir('store-')
      const clock = fakeClock()
      const logger = recordingLogger()
      const store = await DeltaStore.open(
        testConfig(dir, (b) => b.refreshMs(10)),
        { clock, logger, autoRefresh: true },
      )
      clock.advance(1000)
      await vi.waitFor(() => expect(store.viewAge('sessions')).toBe(0), { timeout: 2000 })

      const corrupt = await corruptNextCommit(store, 'sessions')
      // A background refresh may have started before the file landed: let it settle.
      await vi.waitFor(() => expect(logger.warnings.length).toBeGreaterThan(0), { timeout: 2000 })
      clock.advance(1000)
      const failures = logger.warnings.length
      await vi.waitFor(() => expect(logger.warnings.length).toBeGreaterThan(failures + 3), {
        timeout: 2000,
      })
      expect(store.viewAge('sessions')).toBe(1000)
      expect(logger.warnings.at(-1)).toMatch(/refreshing live views failed/)

      await fs.rm(corrupt)
      await vi.waitFor(() => expect(store.viewAge('sessions')).toBe(0), { timeout: 2000 })
      await store.close()
    })

    it('refuses other names and a closed store', async () => {
      const dir = await makeTempDir('store-')
      const store = await open(dir)
      await expectError(() => store.viewAge('audit_log' as 'users'), 'UNKNOWN_TABLE')
      await store.close()
      await expectError(() => store.viewAge('users'), 'STORE_CLOSED')
    })
  })
})

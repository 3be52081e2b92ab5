import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isLakehouseError } from '../../src/common/lakehouse-error.js'
import type { Logger } from '../../src/common/logger.js'
import { DeltaTable, MemoryStore, systemClock, type StructType } from '../../src/delta/index.js'
import { TableLease } from '../../src/maintenance/table-lease.js'
import {
  MaintenanceScheduler,
  countSmallFiles,
  type MaintenanceRun,
  type MaintenanceSchedulerOptions,
} from '../../src/maintenance/maintenance-scheduler.js'

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'part', type: 'string', nullable: true, metadata: {} },
  ],
}
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const silent: Logger = { info: () => undefined, warn: () => undefined }

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

async function newTable(store = new MemoryStore(), partitioned = false): Promise<DeltaTable> {
  return DeltaTable.create(store, {
    schema: SCHEMA,
    partitionColumns: partitioned ? ['part'] : [],
  })
}

function scheduler(options: MaintenanceSchedulerOptions = {}): MaintenanceScheduler {
  return new MaintenanceScheduler({ random: () => 0.5, logger: silent, ...options })
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: Date.UTC(2026, 0, 1) })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('MaintenanceScheduler', () => {
  it('runs nothing before start() and runs each policy at its interval', async () => {
    const table = await newTable()
    await table.append([{ id: 1n, part: 'a' }])
    const s = scheduler()
    s.addTable('t', table, {
      checkpoint: { intervalMs: 10 * MINUTE },
      logCleanup: { intervalMs: HOUR },
    })
    await vi.advanceTimersByTimeAsync(2 * HOUR)
    expect(s.runs()).toEqual([])
    s.start()
    await vi.advanceTimersByTimeAsync(10 * MINUTE + 1)
    expect(s.runs().map((r) => [r.job, r.status])).toEqual([['checkpoint', 'succeeded']])
    expect(s.runs()[0]!.metrics).toMatchObject({ version: 1, numOfAddFiles: 1 })
    expect(
      await table.store.head('_delta_log/00000000000000000001.checkpoint.parquet'),
    ).toBeDefined()
    await vi.advanceTimersByTimeAsync(50 * MINUTE)
    const jobs = s.runs().map((r) => `${r.job}:${r.status}:${r.reason ?? ''}`)
    expect(jobs.filter((j) => j === 'checkpoint:skipped:up-to-date')).toHaveLength(5)
    expect(jobs.filter((j) => j.startsWith('logCleanup'))).toEqual(['logCleanup:succeeded:'])
    expect(s.stats().find((j) => j.job === 'checkpoint')).toMatchObject({
      table: 't',
      runs: 6,
      succeeded: 1,
      skipped: 5,
      failed: 0,
    })
    await s.stop()
  })

  it('compacts only when enough small files can be compacted', async () => {
    const table = await newTable(new MemoryStore(), true)
    const s = scheduler()
    s.addTable('t', table, {
      compaction: { intervalMs: HOUR, minSmallFiles: 4, targetFileSize: 1024 * 1024 },
    })
    for (let i = 0; i < 3; i++) await table.append([{ id: BigInt(i), part: 'a' }])
    await table.append([{ id: 9n, part: 'b' }])
    const below = await s.runNow('t', 'compaction')
    expect(below).toMatchObject({
      status: 'skipped',
      reason: 'below-threshold',
      metrics: { smallFiles: 4, compactableFiles: 3 },
    })
    await table.append([{ id: 3n, part: 'a' }])
    const run = await s.runNow('t', 'compaction')
    expect(run).toMatchObject({
      status: 'succeeded',
      metrics: { filesCompacted: 4, filesAdded: 1 },
    })
    await table.refresh()
    expect(table.snapshot.numFiles).toBe(2)
    expect(await table.toRows()).toHaveLength(5)
  })

  it('vacuums and cleans up the log with the table settings', async () => {
    const table = await newTable()
    await table.append([{ id: 1n, part: 'a' }])
    await table.overwrite([{ id: 2n, part: 'a' }])
    const s = scheduler()
    s.addTable('t', table, {
      vacuum: { intervalMs: DAY, retentionHours: 0 },
      logCleanup: { intervalMs: DAY },
    })
    const failed = await s.runNow('t', 'vacuum')
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatchObject({ code: 'RETENTION_TOO_SHORT' })
    vi.setSystemTime(Date.now() + 8 * DAY)
    const s2 = scheduler()
    s2.addTable('t', table, { vacuum: { intervalMs: DAY }, logCleanup: { intervalMs: DAY } })
    expect(await s2.runNow('t', 'vacuum')).toMatchObject({
      status: 'succeeded',
      metrics: { filesDeleted: 1, directoriesDeleted: 0 },
    })
    expect(await s2.runNow('t', 'logCleanup')).toMatchObject({
      status: 'succeeded',
      metrics: { logFilesDeleted: 0 },
    })
  })

  it('keeps every delay within interval × (1 ± jitter)', async () => {
    const randoms = [0, 0.999999, 0.25, 0.75, 0.5]
    let i = 0
    const starts: number[] = []
    const s = scheduler({ random: () => randoms[i++ % randoms.length]! })
    s.addJob('tick', {
      intervalMs: 100 * SECOND,
      jitter: 0.2,
      run: ({ startedAt }) => {
        starts.push(startedAt)
        return Promise.resolve()
      },
    })
    const t0 = Date.now()
    s.start()
    await vi.advanceTimersByTimeAsync(1000 * SECOND)
    await s.stop()
    const delays = starts.map((t, k) => t - (k === 0 ? t0 : starts[k - 1]!))
    expect(delays.slice(0, 5)).toEqual([80_000, 120_000, 90_000, 110_000, 100_000])
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(80 * SECOND)
      expect(d).toBeLessThanOrEqual(120 * SECOND)
    }
  })

  it('waits intervals longer than setTimeout can hold (a monthly job) in full', async () => {
    const starts: number[] = []
    const s = scheduler()
    const MONTH = 30 * 24 * 3600 * SECOND
    s.addJob('monthly', {
      intervalMs: MONTH,
      run: ({ startedAt }) => {
        starts.push(startedAt)
        return Promise.resolve()
      },
    })
    const t0 = Date.now()
    s.start()
    // Node fires a timeout above 2^31 - 1 ms (24.8 days) after 1 ms: a job would spin.
    await vi.advanceTimersByTimeAsync(60 * SECOND)
    expect(starts).toEqual([])
    await vi.advanceTimersByTimeAsync(MONTH)
    await s.stop()
    expect(starts).toEqual([t0 + MONTH])
  })

  it('reports a failing job and retries it later', async () => {
    const seen: MaintenanceRun[] = []
    let calls = 0
    const s = scheduler({ onRun: (run) => seen.push(run) })
    s.addJob('flaky', {
      intervalMs: HOUR,
      retryMs: MINUTE,
      jitter: 0,
      run: () => {
        calls++
        if (calls === 1) return Promise.reject(new Error('commit race lost'))
        return Promise.resolve({ metrics: { sessionsDeleted: 3 } })
      },
    })
    s.start()
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      job: 'flaky',
      status: 'failed',
      error: { message: 'commit race lost' },
    })
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(seen).toHaveLength(2)
    expect(seen[1]).toMatchObject({ status: 'succeeded', metrics: { sessionsDeleted: 3 } })
    // Back to the normal interval after a success.
    await vi.advanceTimersByTimeAsync(HOUR - SECOND)
    expect(seen).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(SECOND)
    expect(seen).toHaveLength(3)
    await s.stop()
  })

  it('stop() waits for the running job and aborts its signal', async () => {
    const gate = deferred()
    let aborted = false
    const s = scheduler()
    s.addJob('slow', {
      intervalMs: MINUTE,
      jitter: 0,
      run: async ({ signal }) => {
        signal.addEventListener('abort', () => (aborted = true))
        await gate.promise
      },
    })
    s.start()
    await vi.advanceTimersByTimeAsync(MINUTE)
    let stopped = false
    const stopping = s.stop().then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(10)
    expect(aborted).toBe(true)
    expect(stopped).toBe(false)
    gate.resolve()
    await stopping
    expect(stopped).toBe(true)
    expect(s.runs()).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(10 * MINUTE)
    expect(s.runs()).toHaveLength(1)
  })

  it('never runs the same table job in two schedulers at once (two processes)', async () => {
    const store = new MemoryStore()
    const t1 = await newTable(store)
    const t2 = await DeltaTable.open(store)
    let active = 0
    let maxActive = 0
    let ran = 0
    const job = (name: string) => ({
      table: 'users',
      intervalMs: MINUTE,
      retryMs: 10 * SECOND,
      jitter: 0,
      run: async () => {
        active++
        ran++
        maxActive = Math.max(maxActive, active)
        await new Promise((r) => setTimeout(r, 30 * SECOND)) // longer than the retry delay
        active--
        return { metrics: { by: name === 'p1' ? 1 : 2 } }
      },
    })
    const p1 = scheduler({ owner: 'p1', leaseDurationMs: 5 * MINUTE })
    const p2 = scheduler({ owner: 'p2', leaseDurationMs: 5 * MINUTE })
    p1.addTable('users', t1, {})
    p2.addTable('users', t2, {})
    p1.addJob('expired-sessions', job('p1'))
    p2.addJob('expired-sessions', job('p2'))
    p1.start()
    p2.start()
    await vi.advanceTimersByTimeAsync(10 * MINUTE)
    const stopping = Promise.all([p1.stop(), p2.stop()])
    await vi.advanceTimersByTimeAsync(MINUTE) // lets a running job finish
    await stopping
    expect(maxActive).toBe(1)
    expect(ran).toBeGreaterThan(5)
    const runs = [...p1.runs(), ...p2.runs()]
    expect(runs.some((r) => r.reason === 'lease-held')).toBe(true)
    expect(runs.every((r) => r.status !== 'failed')).toBe(true)
    // Successful runs never overlap in time.
    const done = runs
      .filter((r) => r.status === 'succeeded')
      .sort((a, b) => a.startedAt - b.startedAt)
    for (let k = 1; k < done.length; k++) {
      expect(done[k]!.startedAt).toBeGreaterThanOrEqual(
        done[k - 1]!.startedAt + done[k - 1]!.durationMs,
      )
    }
  })

  it('takes over the lease of a crashed process once it expires', async () => {
    const store = new MemoryStore()
    const table = await newTable(store)
    await table.append([{ id: 1n, part: 'a' }])
    // A process took the lease and died: no heartbeat renews it, nobody releases it.
    const dead = new TableLease(store, {
      owner: 'dead',
      durationMs: 5 * MINUTE,
      clock: systemClock,
    })
    expect((await dead.acquire()).acquired).toBe(true)
    const other = scheduler({ owner: 'other' })
    other.addTable('t', table, { checkpoint: { intervalMs: HOUR } })
    expect(await other.runNow('t', 'checkpoint')).toMatchObject({
      status: 'skipped',
      reason: 'lease-held',
    })
    vi.setSystemTime(Date.now() + 5 * MINUTE)
    expect(await other.runNow('t', 'checkpoint')).toMatchObject({ status: 'succeeded' })
  })

  it('aborts a run whose lease was taken over', async () => {
    const store = new MemoryStore()
    const table = await newTable(store)
    const s = scheduler({ owner: 'slow', leaseDurationMs: 3 * MINUTE })
    s.addTable('t', table, {})
    let aborted = false
    s.addJob('long', {
      table: 't',
      intervalMs: HOUR,
      run: async ({ signal }) => {
        signal.addEventListener('abort', () => (aborted = true))
        await new Promise((r) => setTimeout(r, 10 * MINUTE))
      },
    })
    const running = s.runNow('t', 'long')
    await vi.advanceTimersByTimeAsync(SECOND)
    // Another process steals it (its clock runs ahead past the expiry).
    const thief = new TableLease(store, {
      owner: 'thief',
      durationMs: HOUR,
      clock: { now: () => Date.now() + 4 * MINUTE },
    })
    expect((await thief.acquire()).acquired).toBe(true)
    await vi.advanceTimersByTimeAsync(MINUTE) // the next heartbeat notices
    expect(aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(10 * MINUTE)
    expect(await running).toMatchObject({ status: 'succeeded', leaseLost: true })
  })

  it('logs a throwing listener and keeps going', async () => {
    const warnings: string[] = []
    const s = scheduler({
      onRun: () => {
        throw new Error('listener broke')
      },
      logger: { info: () => undefined, warn: (m) => warnings.push(m) },
    })
    s.addJob('noop', { intervalMs: MINUTE, run: () => Promise.resolve({ skipped: 'nothing' }) })
    const run = await s.runNow('noop')
    expect(run).toMatchObject({ status: 'skipped', reason: 'nothing' })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('listener broke')
  })

  it.each([
    ['a zero interval', { checkpoint: { intervalMs: 0 } }],
    ['a jitter of 1', { checkpoint: { intervalMs: 1, jitter: 1 } }],
    ['a threshold of 1', { compaction: { intervalMs: 1, minSmallFiles: 1 } }],
    [
      'a fraction above 1',
      { compaction: { intervalMs: 1, minSmallFiles: 2, smallFileFraction: 2 } },
    ],
    ['a negative retention', { vacuum: { intervalMs: 1, retentionHours: -1 } }],
  ])('refuses %s with INVALID_POLICY at registration', async (_name, policy) => {
    const table = await newTable()
    const error = (() => {
      try {
        scheduler().addTable('t', table, policy)
      } catch (e) {
        return e
      }
    })()
    expect(isLakehouseError(error, 'INVALID_POLICY')).toBe(true)
  })

  it('refuses duplicate and unknown names', async () => {
    const table = await newTable()
    const s = scheduler()
    s.addTable('t', table, {})
    expect(() => s.addTable('t', table, {})).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_JOB' }),
    )
    expect(() =>
      s.addJob('j', { table: 'nope', intervalMs: 1, run: () => Promise.resolve() }),
    ).toThrow(expect.objectContaining({ code: 'UNKNOWN_JOB' }))
    await expect(s.runNow('t', 'vacuum')).rejects.toMatchObject({ code: 'UNKNOWN_JOB' })
  })
})

describe('countSmallFiles', () => {
  it('counts small files per partition, compactable only where two or more are', () => {
    const f = (size: number, part: string) => ({
      kind: 'add' as const,
      path: `${part}/${size}`,
      partitionValues: { part },
      size,
      modificationTime: 0,
      dataChange: true,
    })
    expect(countSmallFiles([f(1, 'a'), f(2, 'a'), f(3, 'b'), f(500, 'b'), f(4, 'c')], 100)).toEqual(
      {
        smallFiles: 4,
        compactableFiles: 2,
      },
    )
  })
})

describe('MaintenanceScheduler across real processes', () => {
  it('never runs one table job in two processes at once', async () => {
    vi.useRealTimers()
    const { spawn } = await import('node:child_process')
    const fs = await import('node:fs/promises')
    const path = await import('node:path')
    const { makeTempDir } = await import('../support/temp.js')
    const dir = await makeTempDir('lease-race-')
    const tableDir = path.join(dir, 'table')
    const logFile = path.join(dir, 'runs.log')
    await DeltaTable.create(tableDir, { schema: SCHEMA })
    const child = path.join(import.meta.dirname, 'lease-race.child.ts')
    const procs = [0, 1, 2].map((i) =>
      spawn(process.execPath, ['--import', 'tsx', child, tableDir, `p${i}`, '25', logFile], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = procs.map(
      (p) =>
        new Promise<string[]>((resolve, reject) => {
          let out = ''
          p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
          p.on('error', reject)
          p.on('close', (code) => {
            if (code !== 0) reject(new Error(`child exited with ${code}`))
            else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as string[])
          })
        }),
    )
    // Start them together once all are ready.
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.stdout.once('data', () => resolve())
          }),
      ),
    )
    for (const p of procs) p.stdin.write('go\n')
    const statuses = (await Promise.all(outputs)).flat()
    const lines = (await fs.readFile(logFile, 'utf8')).trim().split('\n')
    let holder: string | undefined
    for (const line of lines) {
      const [kind, owner] = line.split(' ')
      if (kind === 'start') {
        expect(holder, `overlap at "${line}"`).toBeUndefined()
        holder = owner
      } else {
        expect(owner).toBe(holder)
        holder = undefined
      }
    }
    const succeeded = statuses.filter((s) => s === 'succeeded').length
    expect(succeeded).toBe(lines.length / 2)
    expect(succeeded).toBeGreaterThan(0)
    expect(statuses.every((s) => s === 'succeeded' || s === 'skipped:lease-held')).toBe(true)
    expect(statuses).toContain('skipped:lease-held') // they did contend
  }, 60_000)
})

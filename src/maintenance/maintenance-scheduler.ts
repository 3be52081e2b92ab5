/**
 * `MaintenanceScheduler`: runs table maintenance (compaction of small files, checkpoints,
 * VACUUM, log cleanup) and named domain jobs (e.g. expired-session cleanup) at configured
 * intervals, with jitter.
 *
 * - Opt-in: nothing runs before {@link MaintenanceScheduler.start}; {@link MaintenanceScheduler.stop}
 *   cancels the timers and waits for the jobs that are running.
 * - One run at a time per table: in this process the jobs of a table form one queue; across
 *   processes each run first takes the table's {@link TableLease} (`.maintenance/` at the table
 *   root) and is skipped, then retried later, when another process holds it.
 * - A failed run (a lost commit race included) is reported and retried after `retryMs`.
 * - Every run is recorded ({@link MaintenanceRun}: what ran, when, how long, what it did, the
 *   error) and passed to the optional `onRun` listener; {@link MaintenanceScheduler.runs} returns
 *   the recent ones and {@link MaintenanceScheduler.stats} counts per job.
 *
 * Delays are `intervalMs × (1 ± jitter)`, drawn uniformly, so processes started together spread
 * out. Time and timers are injected (tests drive them with fake timers).
 *
 * @example
 * ```ts
 * const scheduler = new MaintenanceScheduler()
 * scheduler.addTable('users', usersTable, {
 *   compaction: { intervalMs: 3_600_000, minSmallFiles: 20 },
 *   checkpoint: { intervalMs: 600_000 },
 *   vacuum: { intervalMs: 86_400_000 },
 *   logCleanup: { intervalMs: 86_400_000 },
 * })
 * scheduler.start()
 * // ...
 * await scheduler.stop()
 * ```
 * @module
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { systemClock, type Clock } from '../common/clock.js'
import { consoleLogger, type Logger } from '../common/logger.js'
import type {
  AddAction,
  CheckpointResult,
  LogCleanupResult,
  ObjectStore,
  OptimizeOptions,
  OptimizeResult,
  Snapshot,
  VacuumOptions,
  VacuumResult,
} from '../delta/index.js'
import { checkpointKey } from '../delta/log/log-path.js'
import { DEFAULT_TARGET_FILE_SIZE } from '../delta/operations/optimize/plan.js'
import { maintenanceError } from './error-codes.js'
import { TableLease, type HeldLease, type LeaseRecord } from './table-lease.js'

/** Target size used to decide what "small" means when neither policy nor table sets one. */
export { DEFAULT_TARGET_FILE_SIZE }

/** Default fraction of the target size below which a file counts as small. */
export const DEFAULT_SMALL_FILE_FRACTION = 0.25

/** Default jitter: delays vary by ±10 %. */
export const DEFAULT_JITTER = 0.1

/** Default lease duration (renewed every third of it while a run lasts). */
export const DEFAULT_LEASE_DURATION_MS = 10 * 60_000

/** Longest default retry delay after a failed or skipped-for-lease run. */
const MAX_DEFAULT_RETRY_MS = 60_000

/** When a job runs: an interval, jitter and the retry delay. */
export interface TaskSchedule {
  /** Time between runs, in milliseconds. */
  readonly intervalMs: number
  /** Each delay is `intervalMs × (1 ± jitter)`, uniformly; in [0, 1), default 0.1. */
  readonly jitter?: number
  /**
   * Delay before retrying after a failure or when another process holds the lease (jittered
   * the same way); default `min(intervalMs, 60 s)`.
   */
  readonly retryMs?: number
}

/** When to compact: enough small files, checked at each interval. */
export interface CompactionPolicy extends TaskSchedule {
  /**
   * Compact when at least this many small files could be compacted (small files in partitions
   * holding two or more of them; a lone small file per partition cannot be compacted).
   */
  readonly minSmallFiles: number
  /** A file is small when its size is below this fraction of the target size (default 0.25). */
  readonly smallFileFraction?: number
  /**
   * Target file size: passed to OPTIMIZE, and the base of "small". Default: the table's
   * `delta.targetFileSize`, else OPTIMIZE's default (100 MiB).
   */
  readonly targetFileSize?: number
  /** Z-order columns for OPTIMIZE. */
  readonly zOrder?: readonly string[]
}

/** When to vacuum, and with which retention. */
export interface VacuumPolicy extends TaskSchedule {
  /** Retention in hours (default: the table's `delta.deletedFileRetentionDuration`). */
  readonly retentionHours?: number
}

/** Maintenance of one table; each job is optional. */
export interface TablePolicy {
  readonly compaction?: CompactionPolicy
  readonly checkpoint?: TaskSchedule
  readonly vacuum?: VacuumPolicy
  readonly logCleanup?: TaskSchedule
}

/** The built-in table jobs. */
export type TableJob = 'compaction' | 'checkpoint' | 'vacuum' | 'logCleanup'

/**
 * What the scheduler needs of a table: a `DeltaTable` fits. Structural, so that tests and
 * wrappers can stand in.
 */
export interface MaintainableTable {
  readonly store: ObjectStore
  readonly snapshot: Snapshot
  refresh(): Promise<unknown>
  optimize(options?: OptimizeOptions): Promise<OptimizeResult>
  checkpoint(): Promise<CheckpointResult>
  vacuum(options?: VacuumOptions): Promise<VacuumResult>
  cleanupLog(): Promise<LogCleanupResult>
}

/** What a custom job receives. */
export interface JobContext {
  /** Aborted when the scheduler stops or the table's lease is lost: finish early. */
  readonly signal: AbortSignal
  /** Start of the run (epoch milliseconds, from the scheduler's clock). */
  readonly startedAt: number
}

/** What a custom job may report. */
export interface JobOutcome {
  /** Counters to record (e.g. `{ sessionsDeleted: 12 }`). */
  readonly metrics?: Readonly<Record<string, number>>
  /** Set when the job decided there was nothing to do: the run is recorded as skipped. */
  readonly skipped?: string
}

/** A named domain job (registered by higher layers, e.g. expired-session cleanup). */
export interface CustomJob extends TaskSchedule {
  /**
   * A table registered with {@link MaintenanceScheduler.addTable}: the job then queues with
   * that table's jobs and runs under its lease. Without it the job only runs one at a time
   * in this process.
   */
  readonly table?: string
  /** The work. A thrown error fails the run (retried after `retryMs`). */
  run(context: JobContext): Promise<JobOutcome | void>
}

/** One recorded run. */
export interface MaintenanceRun {
  /** The table's name, for table jobs and custom jobs bound to a table. */
  readonly table: string | undefined
  /** `compaction`, `checkpoint`, `vacuum`, `logCleanup`, or the custom job's name. */
  readonly job: string
  /** Start, epoch milliseconds. */
  readonly startedAt: number
  /** Duration in milliseconds. */
  readonly durationMs: number
  /**
   * `succeeded`; `skipped` (nothing to do, or another process holds the lease: see `reason`);
   * `failed` (see `error`).
   */
  readonly status: 'succeeded' | 'skipped' | 'failed'
  /** Why a run was skipped: `lease-held`, `below-threshold`, `up-to-date`, or the job's own. */
  readonly reason?: string
  /**
   * What the run did. Table jobs report: compaction `smallFiles`, `compactableFiles`,
   * `filesCompacted`, `filesAdded`, `version`; checkpoint `version`, `numOfAddFiles`; vacuum
   * `filesDeleted`, `bytesDeleted`, `directoriesDeleted`; log cleanup `logFilesDeleted`,
   * `checkpointVersion`.
   */
  readonly metrics: Readonly<Record<string, number>>
  /** The failure of a failed run. */
  readonly error?: Error
  /** True when the lease was lost while the run was going on. */
  readonly leaseLost?: boolean
}

/** Counters of one job. */
export interface JobStats {
  readonly table: string | undefined
  readonly job: string
  readonly runs: number
  readonly succeeded: number
  readonly skipped: number
  readonly failed: number
  /** The latest run. */
  readonly lastRun: MaintenanceRun | undefined
}

/** Timer functions (injectable for tests). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Options of the scheduler. */
export interface MaintenanceSchedulerOptions {
  /** Time source for leases and run records (default: the system clock). */
  readonly clock?: Clock
  /** Timers (default: the global ones, unref'd so they never keep the process alive). */
  readonly timers?: Timers
  /** Uniform random numbers in [0, 1), for jitter (default `Math.random`). */
  readonly random?: () => number
  /** Lease owner written into lease files (default `<host>:<uuid>`). */
  readonly owner?: string
  /** Lease duration in milliseconds (default 10 minutes). */
  readonly leaseDurationMs?: number
  /** How many runs {@link MaintenanceScheduler.runs} keeps (default 200). */
  readonly historySize?: number
  /** Called after every run. It must not throw; if it does, the error is logged. */
  readonly onRun?: (run: MaintenanceRun) => void
  /** Where listener failures are reported (default: the console). */
  readonly logger?: Logger
}

/** The longest delay `setTimeout` honours: Node fires a longer one after 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** A timeout of the default timers: the current step of a possibly longer wait. */
interface ChainedTimeout {
  step: ReturnType<typeof setTimeout> | undefined
}

const defaultTimers: Timers = {
  setTimeout(callback, ms) {
    // Longer delays (a monthly vacuum is 2.6e9 ms) are waited in steps.
    const timeout: ChainedTimeout = { step: undefined }
    const arm = (left: number): void => {
      const step = Math.min(left, MAX_TIMEOUT_MS)
      timeout.step = setTimeout(() => {
        if (left > step) arm(left - step)
        else callback()
      }, step)
      timeout.step.unref?.()
    }
    arm(ms)
    return timeout
  },
  clearTimeout(handle) {
    clearTimeout((handle as ChainedTimeout).step)
  },
}

/**
 * Counts the small files of a table and those OPTIMIZE could compact (small files in a
 * partition that holds at least two of them).
 * @param files - the live files
 * @param smallBelow - size in bytes below which a file is small
 * @returns both counts
 */
export function countSmallFiles(
  files: readonly AddAction[],
  smallBelow: number,
): { smallFiles: number; compactableFiles: number } {
  const perPartition = new Map<string, number>()
  let smallFiles = 0
  for (const f of files) {
    if (f.size >= smallBelow) continue
    smallFiles++
    const key = JSON.stringify(Object.entries(f.partitionValues).sort())
    perPartition.set(key, (perPartition.get(key) ?? 0) + 1)
  }
  let compactableFiles = 0
  for (const n of perPartition.values()) if (n >= 2) compactableFiles += n
  return { smallFiles, compactableFiles }
}

/** A serial queue with (optionally) a lease: one table, or one standalone custom job. */
interface Unit {
  readonly table: string | undefined
  readonly lease: TableLease | undefined
  tail: Promise<void>
}

type Execute = (context: JobContext) => Promise<JobOutcome>

interface Task {
  readonly key: string
  readonly table: string | undefined
  readonly job: string
  readonly schedule: TaskSchedule
  readonly unit: Unit
  readonly execute: Execute
  timer: unknown
  stats: { runs: number; succeeded: number; skipped: number; failed: number; last?: MaintenanceRun }
}

function taskKey(table: string | undefined, job: string): string {
  return table === undefined ? job : `${table}/${job}`
}

/** Schedules and runs table maintenance and custom jobs. */
export class MaintenanceScheduler {
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #random: () => number
  readonly #owner: string
  readonly #leaseDurationMs: number
  readonly #historySize: number
  readonly #onRun: ((run: MaintenanceRun) => void) | undefined
  readonly #logger: Logger
  readonly #tables = new Map<string, { table: MaintainableTable; unit: Unit }>()
  readonly #tasks = new Map<string, Task>()
  readonly #runs: MaintenanceRun[] = []
  readonly #running = new Set<AbortController>()
  #started = false

  /**
   * @param options - clock, timers, jitter source, lease settings, listener
   * @throws LakehouseError `INVALID_POLICY` for a non-positive lease duration or history size
   */
  constructor(options: MaintenanceSchedulerOptions = {}) {
    this.#clock = options.clock ?? systemClock
    this.#timers = options.timers ?? defaultTimers
    this.#random = options.random ?? Math.random
    this.#owner = options.owner ?? `${hostname()}:${randomUUID()}`
    this.#leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS
    this.#historySize = options.historySize ?? 200
    this.#onRun = options.onRun
    this.#logger = options.logger ?? consoleLogger
    if (!(this.#leaseDurationMs > 0) || !Number.isFinite(this.#leaseDurationMs)) {
      throw maintenanceError(
        'INVALID_POLICY',
        `leaseDurationMs ${this.#leaseDurationMs} must be positive`,
      )
    }
    if (!Number.isSafeInteger(this.#historySize) || this.#historySize < 1) {
      throw maintenanceError(
        'INVALID_POLICY',
        `historySize ${this.#historySize} must be a positive integer`,
      )
    }
  }

  /** Whether the scheduler is started. */
  get started(): boolean {
    return this.#started
  }

  /**
   * Registers a table and its maintenance policy. When the scheduler is running, the table's
   * jobs are scheduled at once.
   * @param name - a unique name for the table (used in run records)
   * @param table - the table (a `DeltaTable`)
   * @param policy - which jobs run, and when
   * @throws LakehouseError `DUPLICATE_JOB`, `INVALID_POLICY`
   */
  addTable(name: string, table: MaintainableTable, policy: TablePolicy): void {
    if (this.#tables.has(name))
      throw maintenanceError('DUPLICATE_JOB', `table ${name} is already registered`)
    const tasks: [TableJob, TaskSchedule, Execute][] = []
    if (policy.compaction) {
      const c = policy.compaction
      checkSchedule(name, 'compaction', c)
      if (!Number.isSafeInteger(c.minSmallFiles) || c.minSmallFiles < 2) {
        throw maintenanceError(
          'INVALID_POLICY',
          `table ${name}: compaction.minSmallFiles ${c.minSmallFiles} must be an integer of at least 2`,
        )
      }
      const fraction = c.smallFileFraction ?? DEFAULT_SMALL_FILE_FRACTION
      if (!(fraction > 0 && fraction <= 1)) {
        throw maintenanceError(
          'INVALID_POLICY',
          `table ${name}: compaction.smallFileFraction ${fraction} must be in (0, 1]`,
        )
      }
      if (c.targetFileSize !== undefined && !(c.targetFileSize > 0)) {
        throw maintenanceError(
          'INVALID_POLICY',
          `table ${name}: compaction.targetFileSize ${c.targetFileSize} must be positive`,
        )
      }
      tasks.push(['compaction', c, () => compact(table, c, fraction)])
    }
    if (policy.checkpoint) {
      checkSchedule(name, 'checkpoint', policy.checkpoint)
      tasks.push(['checkpoint', policy.checkpoint, () => checkpoint(table)])
    }
    if (policy.vacuum) {
      const v = policy.vacuum
      checkSchedule(name, 'vacuum', v)
      if (v.retentionHours !== undefined && !(v.retentionHours >= 0)) {
        throw maintenanceError(
          'INVALID_POLICY',
          `table ${name}: vacuum.retentionHours ${v.retentionHours} must be a non-negative number`,
        )
      }
      tasks.push(['vacuum', v, () => vacuum(table, v)])
    }
    if (policy.logCleanup) {
      checkSchedule(name, 'logCleanup', policy.logCleanup)
      tasks.push(['logCleanup', policy.logCleanup, () => cleanupLog(table)])
    }
    const unit: Unit = {
      table: name,
      lease: new TableLease(table.store, {
        owner: this.#owner,
        durationMs: this.#leaseDurationMs,
        clock: this.#clock,
      }),
      tail: Promise.resolve(),
    }
    this.#tables.set(name, { table, unit })
    for (const [job, schedule, execute] of tasks) this.#addTask(name, job, schedule, unit, execute)
  }

  /**
   * Registers a named custom job.
   * @param name - unique job name (e.g. `expired-sessions`)
   * @param job - its schedule, optional table, and the work
   * @throws LakehouseError `DUPLICATE_JOB`, `UNKNOWN_JOB` (the table is not registered),
   *   `INVALID_POLICY`
   */
  addJob(name: string, job: CustomJob): void {
    checkSchedule(job.table ?? name, name, job)
    if (typeof job.run !== 'function')
      throw maintenanceError('INVALID_POLICY', `job ${name} has no run function`)
    let unit: Unit
    if (job.table !== undefined) {
      const entry = this.#tables.get(job.table)
      if (!entry)
        throw maintenanceError('UNKNOWN_JOB', `job ${name}: table ${job.table} is not registered`)
      unit = entry.unit
    } else {
      unit = { table: undefined, lease: undefined, tail: Promise.resolve() }
    }
    this.#addTask(job.table, name, job, unit, async (context) => (await job.run(context)) ?? {})
  }

  #addTask(
    table: string | undefined,
    job: string,
    schedule: TaskSchedule,
    unit: Unit,
    execute: Execute,
  ): void {
    const key = taskKey(table, job)
    if (this.#tasks.has(key))
      throw maintenanceError('DUPLICATE_JOB', `job ${key} is already registered`)
    const task: Task = {
      key,
      table,
      job,
      schedule,
      unit,
      execute,
      timer: undefined,
      stats: { runs: 0, succeeded: 0, skipped: 0, failed: 0 },
    }
    this.#tasks.set(key, task)
    if (this.#started) this.#schedule(task, schedule.intervalMs)
  }

  /** Starts the timers (idempotent). Each job first runs after one (jittered) interval. */
  start(): void {
    if (this.#started) return
    this.#started = true
    for (const task of this.#tasks.values()) this.#schedule(task, task.schedule.intervalMs)
  }

  /**
   * Stops scheduling, asks running custom jobs to finish (their signal aborts), and waits for
   * every running or queued-and-started run to end. Runs not yet started are dropped.
   * @returns when nothing runs any more
   */
  async stop(): Promise<void> {
    this.#started = false
    for (const task of this.#tasks.values()) {
      if (task.timer !== undefined) this.#timers.clearTimeout(task.timer)
      task.timer = undefined
    }
    for (const controller of this.#running) controller.abort()
    const units = new Set<Unit>([...this.#tasks.values()].map((t) => t.unit))
    await Promise.all([...units].map((u) => u.tail))
  }

  /**
   * Runs one job now, through the table's queue and lease, whether or not the scheduler is
   * started (its timer is not moved).
   * @param target - the table name (for table jobs and bound custom jobs) or the job name
   * @param job - the job (`compaction`, `checkpoint`, `vacuum`, `logCleanup` or a custom job's
   *   name); omit for a standalone custom job given as `target`
   * @returns the recorded run
   * @throws LakehouseError `UNKNOWN_JOB`
   */
  runNow(target: string, job?: string): Promise<MaintenanceRun> {
    const key = job === undefined ? target : taskKey(target, job)
    const task = this.#tasks.get(key)
    if (!task) return Promise.reject(maintenanceError('UNKNOWN_JOB', `no job ${key}`))
    return this.#enqueue(task, true)
  }

  /**
   * Recent runs, oldest first.
   * @returns a copy of the run records
   */
  runs(): MaintenanceRun[] {
    return [...this.#runs]
  }

  /**
   * Counters per job.
   * @returns one entry per registered job
   */
  stats(): JobStats[] {
    return [...this.#tasks.values()].map((t) => ({
      table: t.table,
      job: t.job,
      runs: t.stats.runs,
      succeeded: t.stats.succeeded,
      skipped: t.stats.skipped,
      failed: t.stats.failed,
      lastRun: t.stats.last,
    }))
  }

  #jittered(schedule: TaskSchedule, base: number): number {
    const jitter = schedule.jitter ?? DEFAULT_JITTER
    return Math.max(0, Math.round(base * (1 + jitter * (2 * this.#random() - 1))))
  }

  #schedule(task: Task, base: number): void {
    if (task.timer !== undefined) this.#timers.clearTimeout(task.timer)
    task.timer = this.#timers.setTimeout(
      () => {
        task.timer = undefined
        if (!this.#started) return
        void this.#enqueue(task, false).then((run) => {
          if (!this.#started) return
          const again =
            run.status === 'failed' || run.reason === 'lease-held'
              ? (task.schedule.retryMs ?? Math.min(task.schedule.intervalMs, MAX_DEFAULT_RETRY_MS))
              : task.schedule.intervalMs
          this.#schedule(task, again)
        })
      },
      this.#jittered(task.schedule, base),
    )
  }

  /** Queues a run behind the unit's other runs; never rejects. */
  #enqueue(task: Task, manual: boolean): Promise<MaintenanceRun> {
    const run = task.unit.tail.then(() =>
      manual || this.#started
        ? this.#run(task)
        : this.#record(task, this.#clock.now(), 'skipped', {}, 'stopped'),
    )
    task.unit.tail = run.then(() => undefined)
    return run
  }

  async #run(task: Task): Promise<MaintenanceRun> {
    const startedAt = this.#clock.now()
    let held: HeldLease | undefined
    if (task.unit.lease) {
      let attempt
      try {
        attempt = await task.unit.lease.acquire()
      } catch (error) {
        return this.#record(task, startedAt, 'failed', {}, undefined, asError(error))
      }
      if (!attempt.acquired) {
        return this.#record(
          task,
          startedAt,
          'skipped',
          {},
          'lease-held',
          undefined,
          undefined,
          attempt.holder,
        )
      }
      held = attempt.lease
    }
    const controller = new AbortController()
    this.#running.add(controller)
    let leaseLost = false
    let heartbeat: unknown
    const beat = (): void => {
      heartbeat = this.#timers.setTimeout(() => {
        void held!.renew().then(
          (ok) => {
            if (!ok) {
              leaseLost = true
              controller.abort()
            } else if (heartbeat !== undefined) beat()
          },
          (error: unknown) => {
            leaseLost = true
            controller.abort()
            this.#logger.warn(
              `maintenance: renewing the lease of ${task.key} failed: ${asError(error).message}`,
            )
          },
        )
      }, this.#leaseDurationMs / 3)
    }
    if (held) beat()
    let outcome: JobOutcome | undefined
    let failure: Error | undefined
    try {
      outcome = await task.execute({ signal: controller.signal, startedAt })
    } catch (error) {
      failure = asError(error)
    } finally {
      this.#running.delete(controller)
      if (heartbeat !== undefined) this.#timers.clearTimeout(heartbeat)
      heartbeat = undefined
    }
    if (held) {
      try {
        await held.release()
      } catch (error) {
        failure ??= asError(error)
      }
    }
    if (failure) return this.#record(task, startedAt, 'failed', {}, undefined, failure, leaseLost)
    const status = outcome?.skipped === undefined ? 'succeeded' : 'skipped'
    return this.#record(
      task,
      startedAt,
      status,
      outcome?.metrics ?? {},
      outcome?.skipped,
      undefined,
      leaseLost,
    )
  }

  #record(
    task: Task,
    startedAt: number,
    status: MaintenanceRun['status'],
    metrics: Readonly<Record<string, number>>,
    reason?: string,
    error?: Error,
    leaseLost?: boolean,
    holder?: LeaseRecord,
  ): MaintenanceRun {
    const run: MaintenanceRun = {
      table: task.table,
      job: task.job,
      startedAt,
      durationMs: Math.max(0, this.#clock.now() - startedAt),
      status,
      metrics: holder ? { ...metrics, leaseExpiresAt: holder.expiresAt } : metrics,
      ...(reason === undefined ? {} : { reason }),
      ...(error === undefined ? {} : { error }),
      ...(leaseLost ? { leaseLost } : {}),
    }
    task.stats.runs++
    task.stats[status === 'succeeded' ? 'succeeded' : status === 'skipped' ? 'skipped' : 'failed']++
    task.stats.last = run
    this.#runs.push(run)
    if (this.#runs.length > this.#historySize)
      this.#runs.splice(0, this.#runs.length - this.#historySize)
    if (this.#onRun) {
      try {
        this.#onRun(run)
      } catch (listenerError) {
        this.#logger.warn(
          `maintenance: the onRun listener failed for ${task.key}: ${asError(listenerError).message}`,
        )
      }
    }
    return run
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function checkSchedule(owner: string, job: string, s: TaskSchedule): void {
  const bad = (what: string): never => {
    throw maintenanceError('INVALID_POLICY', `${owner} ${job}: ${what}`)
  }
  if (typeof s !== 'object' || s === null) bad('missing schedule')
  if (!(s.intervalMs > 0) || !Number.isFinite(s.intervalMs))
    bad(`intervalMs ${s.intervalMs} must be positive`)
  const j = s.jitter ?? DEFAULT_JITTER
  if (!(j >= 0 && j < 1)) bad(`jitter ${j} must be in [0, 1)`)
  if (s.retryMs !== undefined && (!(s.retryMs > 0) || !Number.isFinite(s.retryMs))) {
    bad(`retryMs ${s.retryMs} must be positive`)
  }
}

async function compact(
  table: MaintainableTable,
  policy: CompactionPolicy,
  fraction: number,
): Promise<JobOutcome> {
  await table.refresh()
  const snapshot = table.snapshot
  const target = policy.targetFileSize ?? snapshot.config.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE
  const counts = countSmallFiles(snapshot.files(), target * fraction)
  if (counts.compactableFiles < policy.minSmallFiles) {
    return { skipped: 'below-threshold', metrics: counts }
  }
  const result = await table.optimize({
    ...(policy.targetFileSize === undefined ? {} : { targetFileSize: policy.targetFileSize }),
    ...(policy.zOrder === undefined ? {} : { zOrder: policy.zOrder }),
  })
  const m = result.metrics
  return {
    ...(result.skipped ? { skipped: 'up-to-date' } : {}),
    metrics: {
      ...counts,
      filesCompacted: m.numFilesRemoved,
      filesAdded: m.numFilesAdded,
      version: result.version,
    },
  }
}

async function checkpoint(table: MaintainableTable): Promise<JobOutcome> {
  await table.refresh()
  const version = table.snapshot.version
  if ((await table.store.head(checkpointKey(version))) !== undefined) {
    return { skipped: 'up-to-date', metrics: { version } }
  }
  const result = await table.checkpoint()
  return { metrics: { version: result.version, numOfAddFiles: result.numOfAddFiles } }
}

async function vacuum(table: MaintainableTable, policy: VacuumPolicy): Promise<JobOutcome> {
  const result = await table.vacuum(
    policy.retentionHours === undefined ? {} : { retentionHours: policy.retentionHours },
  )
  return {
    metrics: {
      filesDeleted: result.filesDeleted.length,
      bytesDeleted: result.bytesDeleted,
      directoriesDeleted: result.directoriesDeleted.length,
    },
  }
}

async function cleanupLog(table: MaintainableTable): Promise<JobOutcome> {
  const result = await table.cleanupLog()
  return {
    metrics: {
      logFilesDeleted: result.deletedFiles.length,
      ...(result.checkpointVersion === undefined
        ? {}
        : { checkpointVersion: result.checkpointVersion }),
    },
  }
}

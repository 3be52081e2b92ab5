/**
 * The lakehouse's maintenance: the tables and the expired-session cleanup registered with
 * a {@link MaintenanceScheduler}. The library leaves it opt-in (`LakehouseClient.open(path,
 * { maintenance: true })`); a server starts it.
 * @module
 */
import type { AuthService } from './auth-service.js'
import type { OptimizeOptions } from '../delta/index.js'
import {
  MaintenanceScheduler,
  type MaintainableTable,
  type MaintenanceSchedulerOptions,
  type TablePolicy,
} from '../maintenance/maintenance-scheduler.js'
import { guard, vacuumFailure, type DeltaStore } from '../lakehouse/delta-store.js'
import {
  TABLE_NAMES,
  TABLES,
  Z_ORDER_TABLES,
  configuredZOrderColumns,
  type TableName,
} from '../lakehouse/tables.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Intervals and thresholds of the lakehouse's maintenance (all optional). */
export interface LakehouseMaintenanceOptions extends MaintenanceSchedulerOptions {
  /** Compact a table when this many small files can be compacted (default 64). */
  readonly minSmallFiles?: number
  /** How often compaction checks its threshold (default 15 minutes). */
  readonly compactionIntervalMs?: number
  /** How often a checkpoint is made when the latest version has none (default 1 hour). */
  readonly checkpointIntervalMs?: number
  /** How often tables are vacuumed with the configured retention (default 24 hours). */
  readonly vacuumIntervalMs?: number
  /** How often expired log files are removed (default 24 hours). */
  readonly logCleanupIntervalMs?: number
  /** How often expired sessions are deleted (default 1 hour). */
  readonly sessionCleanupIntervalMs?: number
}

/** The name of the expired-session job. */
export const EXPIRED_SESSIONS_JOB = 'expired-sessions'

/**
 * A table as the scheduler sees it: the store's handle, with the live views advanced after a
 * compaction so that they never wait for the background refresh.
 */
function maintainable(store: DeltaStore, name: TableName): MaintainableTable {
  const table = store.table(name)
  // Runs fail with the lakehouse's errors, as the store's own maintenance calls do.
  const translated = <T>(what: string, run: () => Promise<T>): Promise<T> =>
    guard(`${what} ${name}`, run)
  return {
    get store() {
      return table.store
    },
    get snapshot() {
      return table.snapshot
    },
    refresh: () => translated('refreshing', () => table.refresh()),
    optimize: (options?: OptimizeOptions) =>
      translated('compacting', async () => {
        const result = await table.optimize(options)
        await store.afterWrite(name)
        return result
      }),
    checkpoint: () => translated('checkpointing', () => table.checkpoint()),
    async vacuum(options) {
      try {
        return await table.vacuum(options)
      } catch (error) {
        throw vacuumFailure(error, store.config, name)
      }
    },
    cleanupLog: () => translated('cleaning up the log of', () => table.cleanupLog()),
  }
}

/**
 * Builds (without starting) the scheduler of a lakehouse: per table compaction (z-ordered on
 * the configured columns for `audit_log` and `user_actions`), checkpoint, vacuum with the
 * configured retention and log cleanup; and the expired-session cleanup, bound to `sessions`
 * so that one process at a time runs it.
 * @param store - the open store
 * @param auth - the auth service (runs the session cleanup as the system)
 * @param options - intervals, thresholds and scheduler options
 * @returns the scheduler; call `start()` to run it and `stop()` before closing the store
 * @throws MaintenanceError `INVALID_POLICY` for a bad interval or threshold
 */
export function lakehouseMaintenance(
  store: DeltaStore,
  auth: AuthService,
  options: LakehouseMaintenanceOptions = {},
): MaintenanceScheduler {
  const scheduler = new MaintenanceScheduler(options)
  const config = store.config
  for (const name of TABLE_NAMES) {
    const def = TABLES[name]
    // The same columns DeltaStore.zOrder uses for this table.
    const zOrder = Z_ORDER_TABLES.includes(name)
      ? configuredZOrderColumns(def, config.zOrderColumns)
      : []
    const policy: TablePolicy = {
      compaction: {
        intervalMs: options.compactionIntervalMs ?? 15 * MINUTE,
        minSmallFiles: options.minSmallFiles ?? 64,
        ...(zOrder.length > 0 ? { zOrder } : {}),
      },
      checkpoint: { intervalMs: options.checkpointIntervalMs ?? HOUR },
      vacuum: {
        intervalMs: options.vacuumIntervalMs ?? 24 * HOUR,
        retentionHours: config.vacuumRetentionHours,
      },
      logCleanup: { intervalMs: options.logCleanupIntervalMs ?? 24 * HOUR },
    }
    scheduler.addTable(name, maintainable(store, name), policy)
  }
  scheduler.addJob(EXPIRED_SESSIONS_JOB, {
    table: 'sessions',
    intervalMs: options.sessionCleanupIntervalMs ?? HOUR,
    async run() {
      const deleted = await auth.cleanupExpiredSessions()
      return deleted === 0
        ? { skipped: 'no expired sessions', metrics: { sessionsDeleted: 0 } }
        : { metrics: { sessionsDeleted: deleted } }
    },
  })
  return scheduler
}

/**
 * The lakehouse tables (the four of the design, and `session_activity` for the idle timeout):
 * schemas (snake_case, Delta types), partitioning and properties.
 *
 * Personal data never reaches the Delta log: `delta.dataSkippingStatsColumns` lists only
 * non-personal columns, so `add.stats` (and checkpoints) carry no usernames, emails, names,
 * IP addresses, user agents, hashes or free-form details. Erasure then only has to rewrite data
 * files and purge the old ones.
 * @module
 */
import type { DataType, StructField, StructType } from '../delta/index.js'

/**
 * The `delta.deletedFileRetentionDuration` of the lakehouse tables, in hours: they are created
 * without the property, so they keep Delta's default of one week. The engine refuses to vacuum
 * a table with a shorter retention (files still needed by readers of recent versions would be
 * deleted), so it is also the least `vacuumRetentionHours` a configuration may set.
 */
export const DELETED_FILE_RETENTION_HOURS = 168

/** Names of the lakehouse tables. */
export const TABLE_NAMES = [
  'users',
  'sessions',
  'audit_log',
  'user_actions',
  'session_activity',
] as const

/** A lakehouse table name. */
export type TableName = (typeof TABLE_NAMES)[number]

/** Definition of one table. */
export interface TableDefinition {
  readonly name: TableName
  readonly schema: StructType
  readonly partitionColumns: readonly string[]
  /** Columns that get min/max/nullCount stats (never personal data). */
  readonly statsColumns: readonly string[]
  readonly properties: Readonly<Record<string, string>>
  readonly description: string
}

function field(name: string, type: DataType, nullable = true): StructField {
  return { name, type, nullable, metadata: {} }
}

function define(
  name: TableName,
  description: string,
  fields: StructField[],
  partitionColumns: string[],
  statsColumns: string[],
  extra: Record<string, string> = {},
): TableDefinition {
  return {
    name,
    description,
    schema: { type: 'struct', fields },
    partitionColumns,
    statsColumns,
    properties: {
      'delta.dataSkippingStatsColumns': statsColumns.join(','),
      'delta.checkpointInterval': '10',
      // In-commit timestamps make "as of <time>" reads independent of file modification
      // times, which copies and backups do not preserve.
      'delta.enableInCommitTimestamps': 'true',
      ...extra,
    },
  }
}

/** `users`: one row per user. */
export const USERS_TABLE = define(
  'users',
  'Polarway users: one row per user',
  [
    field('user_id', 'string', false),
    field('username', 'string', false),
    field('username_key', 'string', false),
    field('email', 'string', false),
    field('email_key', 'string', false),
    field('password_hash', 'string', false),
    field('role', 'string', false),
    field('subscription_tier', 'string', false),
    field('first_name', 'string'),
    field('last_name', 'string'),
    field('is_active', 'boolean', false),
    field('created_at', 'timestamp', false),
    field('updated_at', 'timestamp', false),
    field('last_login', 'timestamp'),
    field('preferences_json', 'string'),
    field('approved_at', 'timestamp'),
    field('approved_by', 'string'),
    field('rejected_at', 'timestamp'),
  ],
  [],
  [
    'user_id',
    'role',
    'subscription_tier',
    'is_active',
    'created_at',
    'updated_at',
    'approved_at',
    'rejected_at',
  ],
)

/** `sessions`: one row per login session, partitioned by expiry day. */
export const SESSIONS_TABLE = define(
  'sessions',
  'Polarway login sessions (token hashes only, never tokens)',
  [
    field('session_id', 'string', false),
    field('token_hash', 'string', false),
    field('user_id', 'string', false),
    field('username', 'string', false),
    field('role', 'string', false),
    field('created_at', 'timestamp', false),
    field('expires_at', 'timestamp', false),
    field('is_revoked', 'boolean', false),
    field('revoked_at', 'timestamp'),
    field('ip_address', 'string'),
    field('user_agent', 'string'),
    field('expires_date', 'date', false),
  ],
  ['expires_date'],
  ['session_id', 'user_id', 'role', 'created_at', 'expires_at', 'is_revoked', 'revoked_at'],
)

/** `audit_log`: one row per audited event, partitioned by day. */
export const AUDIT_LOG_TABLE = define(
  'audit_log',
  'Polarway audit trail (append-only by convention)',
  [
    field('event_id', 'string', false),
    field('timestamp', 'timestamp', false),
    field('user_id', 'string'),
    field('username', 'string'),
    field('action', 'string', false),
    field('resource', 'string'),
    field('outcome', 'string', false),
    field('details_json', 'string'),
    field('ip_address', 'string'),
    field('user_agent', 'string'),
    field('date_partition', 'date', false),
  ],
  ['date_partition'],
  ['event_id', 'timestamp', 'user_id', 'action', 'resource', 'outcome'],
)

/** `user_actions`: billable actions and query costs, partitioned by day. */
export const USER_ACTIONS_TABLE = define(
  'user_actions',
  'Polarway billable user actions and query costs',
  [
    field('action_id', 'string', false),
    field('timestamp', 'timestamp', false),
    field('user_id', 'string', false),
    field('session_id', 'string'),
    field('action_type', 'string', false),
    field('resource', 'string'),
    field('row_count', 'long'),
    field('bytes_scanned', 'long'),
    field('compute_time_ms', 'double'),
    field('cost', 'decimal(18,6)'),
    field('metadata_json', 'string'),
    field('date_partition', 'date', false),
  ],
  ['date_partition'],
  [
    'action_id',
    'timestamp',
    'user_id',
    'session_id',
    'action_type',
    'row_count',
    'bytes_scanned',
    'compute_time_ms',
    'cost',
  ],
)

/**
 * `session_activity`: when sessions were used (their tokens verified), for the idle timeout
 * across instances; append-only, partitioned by day. A row is written at most about once a
 * minute per session in use (`src/auth/session-activity.ts`); rows older than the idle timeout
 * are dropped with the expired sessions, whole day partitions at a time.
 */
export const SESSION_ACTIVITY_TABLE = define(
  'session_activity',
  'Polarway session activity (idle timeout): append-only',
  [
    field('session_id', 'string', false),
    field('user_id', 'string', false),
    field('seen_at', 'timestamp', false),
    field('seen_date', 'date', false),
  ],
  ['seen_date'],
  ['session_id', 'user_id', 'seen_at'],
)

/** All table definitions by name. */
export const TABLES: Readonly<Record<TableName, TableDefinition>> = {
  users: USERS_TABLE,
  sessions: SESSIONS_TABLE,
  audit_log: AUDIT_LOG_TABLE,
  user_actions: USER_ACTIONS_TABLE,
  session_activity: SESSION_ACTIVITY_TABLE,
}

/**
 * The tables z-ordered on the configured columns (`zOrderColumns`) by default: the event tables,
 * whose rows arrive in time order but are looked up by user or action.
 */
export const Z_ORDER_TABLES: readonly TableName[] = ['audit_log', 'user_actions']

/**
 * The columns of a table its rows can be z-ordered on: every column but the partition columns.
 * @param def - the table
 * @returns the column names
 */
export function zOrderableColumns(def: TableDefinition): string[] {
  return def.schema.fields.map((f) => f.name).filter((c) => !def.partitionColumns.includes(c))
}

/**
 * The configured z-order columns that apply to a table: those it can be z-ordered on, in the
 * configured order.
 * @param def - the table
 * @param configured - the configuration's `zOrderColumns`
 * @returns the column names (empty when none applies)
 */
export function configuredZOrderColumns(
  def: TableDefinition,
  configured: readonly string[],
): string[] {
  const usable = zOrderableColumns(def)
  return configured.filter((c) => usable.includes(c))
}

/**
 * True when `name` is a lakehouse table name.
 * @param name - candidate
 * @returns whether it names a table
 */
export function isTableName(name: unknown): name is TableName {
  return typeof name === 'string' && (TABLE_NAMES as readonly string[]).includes(name)
}

/**
 * `polarway-lakehouse`: user management for SaaS platforms, stored as real Delta Lake tables.
 * @module
 */
export {
  LakehouseClient,
  type LakehouseClientOptions,
  type ActorOptions,
  type RegisterOptions,
  type LogActionDetails,
} from './client.js'
export {
  LakehouseConfig,
  LakehouseConfigBuilder,
  OWASP_ARGON2,
  MIN_SECRET_BYTES,
  type Argon2Params,
  type Environment,
} from './lakehouse/lakehouse-config.js'
export { DeltaStore, type DeltaStoreOptions } from './lakehouse/delta-store.js'
export { TABLES, TABLE_NAMES, type TableName, type TableDefinition } from './lakehouse/tables.js'
export type { UserRecord, SessionEntry } from './lakehouse/rows.js'
export { LAKEHOUSE_ERROR_CODES, type LakehouseErrorCode } from './lakehouse/error-codes.js'
export {
  AuthService,
  SYSTEM_ACTOR,
  type Actor,
  type LoginResult,
  type VerifiedToken,
  type RegisterInput,
  type AuthServiceOptions,
  type PasswordResetGrant,
} from './auth/auth-service.js'
export { AUTH_ERROR_CODES, type AuthErrorCode } from './auth/error-codes.js'
export {
  ActionType,
  AuditLog,
  type AuditEvent,
  type RequestContext,
  type UserAction,
  type ActionTypeName,
} from './audit/audit-log.js'
export { LakehouseError, isLakehouseError, type ErrorContext } from './common/lakehouse-error.js'
export { type Clock, systemClock } from './common/clock.js'
export { type Logger, consoleLogger, silentLogger } from './common/logger.js'
export { col, and, or, not, lit, DeltaError, type Expression } from './delta/index.js'
export {
  ROLES,
  UserRole,
  SUBSCRIPTION_TIERS,
  SubscriptionTier,
  TIER_PRICES_EUR_CENTS,
  hasPermission,
  roleForTier,
  isRole,
  isTier,
  type Role,
} from './auth/roles.js'
export { Argon2Hasher, type PasswordHasher } from './auth/password-hasher.js'
export {
  lakehouseMaintenance,
  EXPIRED_SESSIONS_JOB,
  type LakehouseMaintenanceOptions,
} from './auth/lakehouse-maintenance.js'
export {
  MaintenanceScheduler,
  type MaintenanceRun,
  type MaintenanceSchedulerOptions,
  type JobStats,
  type TablePolicy,
  type CustomJob,
} from './maintenance/maintenance-scheduler.js'

/**
 * `polarway-lakehouse/delta`: a Delta Lake engine for Node.js. It knows nothing of users.
 * @module
 */
export {
  DeltaTable,
  type OpenOptions,
  type HistoryOptions,
  type CreateOptions,
  type CommitChanges,
  type PreparedAppend,
} from './table/delta-table.js'
export type { WriteResult, DmlOptions } from './operations/finish-commit.js'
export type { AppendOptions, OverwriteOptions } from './operations/write.js'
export type { MergeOptions } from './operations/merge.js'
export type { UpdateSet } from './operations/update.js'
export type { OptimizeOptions, OptimizeResult } from './operations/optimize/execute.js'
export type { VacuumOptions, VacuumResult, PurgeResult } from './operations/vacuum.js'
export type { RestoreTarget } from './operations/restore.js'
export type { LogCleanupOptions, LogCleanupResult } from './operations/log-cleanup.js'
export type { CheckpointResult } from './checkpoint/write-checkpoint.js'
export type { CreateTableOptions } from './operations/create-table.js'
export type { FilesOptions, ScanOptions } from './table/scan.js'
export type { TransactionContext, TransactOptions } from './transaction/transact.js'
export { Snapshot } from './snapshot/snapshot.js'
export type { HistoryEntry } from './snapshot/history.js'
export type { TableConfig } from './snapshot/table-config.js'
export {
  DeltaError,
  VersionNotFoundError,
  UnsupportedProtocolError,
  CommitConflictError,
  InternalError,
  isDeltaError,
  DELTA_ERROR_CODES,
  type DeltaErrorCode,
  type ConflictKind,
} from './errors.js'
export type {
  Action,
  AddAction,
  RemoveAction,
  ProtocolAction,
  MetadataAction,
  TxnAction,
  CommitInfoAction,
  DomainMetadataAction,
  CdcAction,
  FileStats,
  PartitionValues,
} from './actions/actions.js'
export type {
  DataType,
  PrimitiveType,
  StructType,
  StructField,
  ArrayType,
  MapType,
} from './schema/data-type.js'
export { timestampFromMicros, timestampMicros, subMillisecondMicros } from './schema/timestamps.js'
export type { ObjectStore, ObjectMeta, ListOptions } from './storage/object-store.js'
export { LocalFsStore, type LocalFsStoreOptions } from './storage/local-fs-store.js'
export { MemoryStore } from './storage/memory-store.js'
export { systemClock, type Clock } from './clock.js'
export { col, lit, and, or, not, describeExpression, type Expression } from './expr/expression.js'

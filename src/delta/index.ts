/**
 * `polarway-lakehouse/delta`: a Delta Lake engine for Node.js. It knows nothing of users.
 * @module
 */
export { DeltaTable, type OpenOptions, type HistoryOptions } from './table/delta-table.js'
export type { FilesOptions, ScanOptions } from './table/scan.js'
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
export type { ObjectStore, ObjectMeta, ListOptions } from './storage/object-store.js'
export { LocalFsStore } from './storage/local-fs-store.js'
export { MemoryStore } from './storage/memory-store.js'
export { systemClock, type Clock } from './clock.js'
export { col, lit, and, or, not, type Expression } from './expr/expression.js'

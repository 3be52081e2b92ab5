/**
 * Log actions ("Actions" in PROTOCOL.md): the records that commits and checkpoints are made of.
 * Each action is a readonly object discriminated by `kind`; field names follow the protocol.
 * Unknown fields in the log are dropped on parse; unknown action types are ignored.
 * @module
 */

/** `protocol`: minimum reader/writer versions and the table features in use. */
export interface ProtocolAction {
  readonly kind: 'protocol'
  readonly minReaderVersion: number
  readonly minWriterVersion: number
  /** Present iff `minReaderVersion` is 3. */
  readonly readerFeatures?: readonly string[]
  /** Present iff `minWriterVersion` is 7. */
  readonly writerFeatures?: readonly string[]
}

/** The `format` of a table's data files (always parquet today). */
export interface Format {
  readonly provider: string
  readonly options: Readonly<Record<string, string>>
}

/** `metaData`: schema, partitioning and table properties. The latest one wins. */
export interface MetadataAction {
  readonly kind: 'metaData'
  readonly id: string
  readonly name?: string | null
  readonly description?: string | null
  readonly format: Format
  readonly schemaString: string
  readonly partitionColumns: readonly string[]
  readonly configuration: Readonly<Record<string, string>>
  readonly createdTime?: number | null
}

/** Descriptor of a deletion vector (only parsed so that tables using them can be refused). */
export interface DeletionVectorDescriptor {
  readonly storageType: string
  readonly pathOrInlineDv: string
  readonly offset?: number | null
  readonly sizeInBytes: number
  readonly cardinality: number
}

/** Partition values of a file: column name to serialized value, `null` for a null partition. */
export type PartitionValues = Readonly<Record<string, string | null>>

/** `add`: a data file that is part of the table. */
export interface AddAction {
  readonly kind: 'add'
  /** RFC 2396 URI relative to the table root (or absolute); decode once to get the file. */
  readonly path: string
  readonly partitionValues: PartitionValues
  readonly size: number
  readonly modificationTime: number
  readonly dataChange: boolean
  /** Per-file statistics as a JSON string (see {@link FileStats}). */
  readonly stats?: string | null
  readonly tags?: Readonly<Record<string, string | null>> | null
  readonly deletionVector?: DeletionVectorDescriptor | null
  readonly baseRowId?: number | null
  readonly defaultRowCommitVersion?: number | null
  readonly clusteringProvider?: string | null
}

/** `remove`: a logical deletion of a file (a tombstone kept until it expires). */
export interface RemoveAction {
  readonly kind: 'remove'
  readonly path: string
  readonly dataChange: boolean
  readonly deletionTimestamp?: number | null
  readonly extendedFileMetadata?: boolean | null
  readonly partitionValues?: PartitionValues | null
  readonly size?: number | null
  readonly stats?: string | null
  readonly tags?: Readonly<Record<string, string | null>> | null
  readonly deletionVector?: DeletionVectorDescriptor | null
  readonly baseRowId?: number | null
  readonly defaultRowCommitVersion?: number | null
}

/** `txn`: the latest version an application committed, for idempotent writes. */
export interface TxnAction {
  readonly kind: 'txn'
  readonly appId: string
  readonly version: number
  readonly lastUpdated?: number | null
}

/** `commitInfo`: free-form provenance of a commit. Not part of the table state. */
export interface CommitInfoAction {
  readonly kind: 'commitInfo'
  /** The commitInfo object as written (camelCase keys, unknown keys kept). */
  readonly info: Readonly<Record<string, unknown>>
}

/** `domainMetadata`: per-domain configuration; `removed` is a tombstone. */
export interface DomainMetadataAction {
  readonly kind: 'domainMetadata'
  readonly domain: string
  readonly configuration: string
  readonly removed: boolean
}

/** `cdc`: a change-data file. Ignored by snapshot reads. */
export interface CdcAction {
  readonly kind: 'cdc'
  readonly path: string
  readonly partitionValues: PartitionValues
  readonly size: number
  readonly dataChange: boolean
  readonly tags?: Readonly<Record<string, string | null>> | null
}

/** `checkpointMetadata` / `sidecar`: V2 checkpoint actions (recognized so they can be refused). */
export interface V2CheckpointAction {
  readonly kind: 'checkpointMetadata' | 'sidecar'
}

/** Any log action. */
export type Action =
  | ProtocolAction
  | MetadataAction
  | AddAction
  | RemoveAction
  | TxnAction
  | CommitInfoAction
  | DomainMetadataAction
  | CdcAction
  | V2CheckpointAction

/** Parsed `add.stats`. Min/max values are JSON values as written (bounds, not exact values). */
export interface FileStats {
  readonly numRecords?: number
  readonly minValues?: Readonly<Record<string, unknown>>
  readonly maxValues?: Readonly<Record<string, unknown>>
  readonly nullCount?: Readonly<Record<string, unknown>>
  readonly tightBounds?: boolean
}

/**
 * The reconciliation key of a file action: its path plus the deletion vector's unique id.
 * @param action - an add or remove
 * @returns the key under which the live set stores it
 */
export function fileActionKey(action: {
  readonly path: string
  readonly deletionVector?: DeletionVectorDescriptor | null
}): string {
  const dv = action.deletionVector
  if (!dv) return action.path
  const offset = dv.offset === undefined || dv.offset === null ? '' : `@${dv.offset}`
  return `${action.path}\u0000${dv.storageType}${dv.pathOrInlineDv}${offset}`
}

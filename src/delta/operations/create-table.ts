/**
 * Creating a table: commit 0 with `protocol` and `metaData` (digest section 7.1).
 *
 * Protocol (1,2) unless a property needs a table feature; then writer version 7 with exactly
 * the features the properties ask for (e.g. `delta.appendOnly`, `delta.enableInCommitTimestamps`).
 * Properties this engine cannot honour (deletion vectors, column mapping, change data feed,
 * V2 checkpoints, row tracking) are refused rather than silently ignored.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { Action, MetadataAction, ProtocolAction } from '../actions/actions.js'
import { serializeCommit } from '../actions/serialize-action.js'
import { DeltaError, UnsupportedProtocolError } from '../errors.js'
import { commitKey, LOG_DIR, parseLogKey } from '../log/log-path.js'
import { findType, parseStructType, serializeSchema, type StructType } from '../schema/data-type.js'
import { hasTimestampNtz } from '../snapshot/table-features.js'
import { parseInterval } from '../snapshot/table-config.js'
import type { ObjectStore } from '../storage/object-store.js'
import { ENGINE_INFO } from '../transaction/transaction.js'

/** Options of `DeltaTable.create`. */
export interface CreateTableOptions {
  /** The schema in the protocol's struct form. */
  readonly schema: StructType
  /** Partition columns (top-level, primitive, not all columns). */
  readonly partitionColumns?: readonly string[]
  /** Table properties (`delta.*` ones are validated). */
  readonly properties?: Readonly<Record<string, string>>
  /** `metaData.description`. */
  readonly description?: string
  /** `metaData.name`. */
  readonly name?: string
}

const BOOLEAN_PROPS = [
  'delta.appendOnly',
  'delta.enableInCommitTimestamps',
  'delta.enableExpiredLogCleanup',
]
const INTERVAL_PROPS = [
  'delta.logRetentionDuration',
  'delta.deletedFileRetentionDuration',
  'delta.setTransactionRetentionDuration',
]
const INT_PROPS: Readonly<Record<string, number>> = {
  'delta.checkpointInterval': 1,
  'delta.dataSkippingNumIndexedCols': -1,
  'delta.targetFileSize': 1,
}
const OTHER_KNOWN = new Set([
  'delta.dataSkippingStatsColumns',
  'delta.isolationLevel',
  'delta.checkpoint.writeStatsAsJson',
  'delta.checkpoint.writeStatsAsStruct',
  'delta.minReaderVersion',
  'delta.minWriterVersion',
])
/** Properties whose `true` (or non-default) value needs a feature this engine does not write. */
const UNSUPPORTED: Readonly<Record<string, (v: string) => boolean>> = {
  'delta.enableDeletionVectors': (v) => v.toLowerCase() === 'true',
  'delta.enableChangeDataFeed': (v) => v.toLowerCase() === 'true',
  'delta.enableRowTracking': (v) => v.toLowerCase() === 'true',
  'delta.columnMapping.mode': (v) => v.toLowerCase() !== 'none',
  'delta.checkpointPolicy': (v) => v.toLowerCase() !== 'classic',
  'delta.enableTypeWidening': (v) => v.toLowerCase() === 'true',
}

function invalid(location: string, message: string, operation = 'create'): DeltaError {
  return new DeltaError('INVALID_ARGUMENT', `delta ${operation}: table ${location}: ${message}`, {
    context: { table: location },
  })
}

/**
 * Validates table properties.
 * @param properties - the properties
 * @param location - table location for messages
 * @returns a copy with string values
 * @throws DeltaError `INVALID_ARGUMENT`; UnsupportedProtocolError for unsupported features
 * @internal
 */
export function validateProperties(
  properties: Readonly<Record<string, string>>,
  location: string,
): Record<string, string> {
  const out: Record<string, string> = {}
  const unsupported: string[] = []
  for (const [key, value] of Object.entries(properties)) {
    if (typeof value !== 'string') throw invalid(location, `property ${key} must be a string`)
    out[key] = value
    if (!key.startsWith('delta.')) continue
    const lower = value.trim().toLowerCase()
    if (BOOLEAN_PROPS.includes(key)) {
      if (lower !== 'true' && lower !== 'false')
        throw invalid(location, `${key} must be "true" or "false", got ${JSON.stringify(value)}`)
    } else if (INTERVAL_PROPS.includes(key)) {
      parseInterval(value, key)
    } else if (key in INT_PROPS) {
      const n = Number(value)
      if (!Number.isSafeInteger(n) || n < (INT_PROPS[key] ?? 0)) {
        throw invalid(
          location,
          `${key} must be an integer >= ${INT_PROPS[key]}, got ${JSON.stringify(value)}`,
        )
      }
    } else if (key === 'delta.isolationLevel') {
      if (lower !== 'serializable' && lower !== 'writeserializable') {
        throw invalid(
          location,
          `${key} must be Serializable or WriteSerializable, got ${JSON.stringify(value)}`,
        )
      }
    } else if (key in UNSUPPORTED) {
      if (UNSUPPORTED[key]?.(value.trim())) unsupported.push(`${key}=${value}`)
    } else if (
      !OTHER_KNOWN.has(key) &&
      !key.startsWith('delta.constraints.') &&
      !key.startsWith('delta.inCommitTimestamp')
    ) {
      throw invalid(location, `unknown table property ${key}`)
    }
  }
  if (unsupported.length > 0) {
    throw new UnsupportedProtocolError(
      `delta create: table ${location}: this engine cannot write tables with ${unsupported.join(', ')}`,
      unsupported,
    )
  }
  if (Object.keys(out).some((k) => k.startsWith('delta.constraints.'))) {
    throw new UnsupportedProtocolError(
      `delta create: table ${location}: CHECK constraints are not supported`,
      ['checkConstraints'],
    )
  }
  return out
}

/**
 * The protocol a new table needs for its properties and schema: (1,2) unless a property asks
 * for a writer feature (writer version 7), or a column anywhere in the schema is
 * `timestamp_ntz` (reader 3 and writer 7 with the `timestampNtz` feature in both lists, as
 * PROTOCOL.md requires; readers such as delta-rs refuse the table otherwise).
 * @param properties - validated properties
 * @param schema - the parsed schema
 * @returns the protocol action
 * @internal
 */
export function protocolFor(
  properties: Readonly<Record<string, string>>,
  schema: StructType,
): ProtocolAction {
  const features: string[] = []
  if (properties['delta.appendOnly']?.trim().toLowerCase() === 'true') features.push('appendOnly')
  if (properties['delta.enableInCommitTimestamps']?.trim().toLowerCase() === 'true')
    features.push('inCommitTimestamp')
  if (hasTimestampNtz(schema)) {
    return {
      kind: 'protocol',
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['timestampNtz'],
      writerFeatures: [...features, 'timestampNtz'],
    }
  }
  if (features.length === 0) return { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 2 }
  return { kind: 'protocol', minReaderVersion: 1, minWriterVersion: 7, writerFeatures: features }
}

/**
 * Validates columns a table is to store: well-formed types this engine implements, names unique
 * case-insensitively, at least one column, and no struct without fields (Parquet cannot store
 * one).
 * @param schema - the columns, in the protocol's struct form (untrusted)
 * @param location - table location for messages
 * @param operation - the operation, for messages (`create`, `add columns`)
 * @returns the schema in canonical form
 * @throws DeltaError `INVALID_SCHEMA`, `INVALID_ARGUMENT`; UnsupportedProtocolError for type
 *   names this engine does not implement
 * @internal
 */
export function validateSchema(
  schema: StructType,
  location: string,
  operation = 'create',
): StructType {
  const parsed = parseStructType(schema)
  if (parsed.fields.length === 0) throw invalid(location, 'the schema has no columns', operation)
  const empty = findType(
    parsed,
    (t) => typeof t !== 'string' && t.type === 'struct' && t.fields.length === 0,
  )
  if (empty !== undefined) {
    throw invalid(
      location,
      `column ${JSON.stringify(empty)} is a struct without fields, which Parquet cannot store`,
      operation,
    )
  }
  return parsed
}

/**
 * Validates the schema and partition columns of a new table.
 * @internal
 */
export function validateTableLayout(
  schema: StructType,
  partitionColumns: readonly string[],
  location: string,
): StructType {
  const parsed = validateSchema(schema, location)
  const seen = new Set<string>()
  for (const p of partitionColumns) {
    const f = parsed.fields.find((x) => x.name === p)
    if (!f) throw invalid(location, `partition column ${JSON.stringify(p)} is not in the schema`)
    if (typeof f.type !== 'string' || f.type === 'binary' || f.type === 'void') {
      throw invalid(
        location,
        `partition column ${JSON.stringify(p)} must have a primitive, non-binary type`,
      )
    }
    if (seen.has(p))
      throw invalid(location, `partition column ${JSON.stringify(p)} is listed twice`)
    seen.add(p)
  }
  if (partitionColumns.length >= parsed.fields.length) {
    throw invalid(location, 'at least one column must not be a partition column')
  }
  return parsed
}

/**
 * Creates a table by committing version 0.
 * @param store - the store rooted at the (new) table directory
 * @param options - schema, partitioning, properties
 * @param now - creation time
 * @throws DeltaError `TABLE_ALREADY_EXISTS`, `INVALID_SCHEMA`, `INVALID_ARGUMENT`;
 *   UnsupportedProtocolError for properties needing unsupported features
 */
export async function createTable(
  store: ObjectStore,
  options: CreateTableOptions,
  now: number,
): Promise<void> {
  const location = store.location
  const partitionColumns = [...(options.partitionColumns ?? [])]
  const schema = validateTableLayout(options.schema, partitionColumns, location)
  const properties = validateProperties(options.properties ?? {}, location)
  const existing = await store.listKeys(LOG_DIR)
  if (
    existing.some((k) => parseLogKey(k)?.type === 'commit' || parseLogKey(k)?.type === 'checkpoint')
  ) {
    throw new DeltaError(
      'TABLE_ALREADY_EXISTS',
      `delta create: a Delta table already exists at ${location}`,
      {
        context: { table: location },
      },
    )
  }
  const metadata: MetadataAction = {
    kind: 'metaData',
    id: randomUUID(),
    name: options.name ?? null,
    description: options.description ?? null,
    format: { provider: 'parquet', options: {} },
    schemaString: serializeSchema(schema),
    partitionColumns,
    configuration: properties,
    createdTime: now,
  }
  const protocol = protocolFor(properties, schema)
  const ict = protocol.writerFeatures?.includes('inCommitTimestamp')
    ? { inCommitTimestamp: now }
    : {}
  const actions: Action[] = [
    {
      kind: 'commitInfo',
      info: {
        ...ict,
        timestamp: now,
        operation: 'CREATE TABLE',
        operationParameters: {
          isManaged: 'false',
          description: options.description ?? null,
          partitionBy: JSON.stringify(partitionColumns),
          properties: JSON.stringify(properties),
        },
        isolationLevel: 'Serializable',
        isBlindAppend: true,
        operationMetrics: {},
        engineInfo: ENGINE_INFO,
        txnId: randomUUID(),
      },
    },
    protocol,
    metadata,
  ]
  const created = await store.putIfAbsent(
    commitKey(0),
    new TextEncoder().encode(serializeCommit(actions)),
  )
  if (!created) {
    throw new DeltaError(
      'TABLE_ALREADY_EXISTS',
      `delta create: a Delta table already exists at ${location}`,
      {
        context: { table: location },
      },
    )
  }
}

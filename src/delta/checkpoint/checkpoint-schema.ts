/**
 * The schema of a V1 checkpoint file ("Checkpoint Schema" in PROTOCOL.md): one nullable struct
 * column per action type; each row has exactly one non-null column.
 * @module
 */
import type { DataType, StructField, StructType } from '../schema/data-type.js'

function field(name: string, type: DataType, nullable = true): StructField {
  return { name, type, nullable, metadata: {} }
}

function struct(...fields: StructField[]): StructType {
  return { type: 'struct', fields }
}

const STRING_MAP: DataType = {
  type: 'map',
  keyType: 'string',
  valueType: 'string',
  valueContainsNull: true,
}

const STRING_ARRAY: DataType = { type: 'array', elementType: 'string', containsNull: true }

const DELETION_VECTOR = struct(
  field('storageType', 'string', false),
  field('pathOrInlineDv', 'string', false),
  field('offset', 'integer'),
  field('sizeInBytes', 'integer', false),
  field('cardinality', 'long', false),
)

/** The checkpoint schema this engine reads and writes (without `stats_parsed`). */
export const CHECKPOINT_SCHEMA: StructType = struct(
  field(
    'txn',
    struct(field('appId', 'string'), field('version', 'long'), field('lastUpdated', 'long')),
  ),
  field(
    'add',
    struct(
      field('path', 'string'),
      field('partitionValues', STRING_MAP),
      field('size', 'long'),
      field('modificationTime', 'long'),
      field('dataChange', 'boolean'),
      field('tags', STRING_MAP),
      field('deletionVector', DELETION_VECTOR),
      field('baseRowId', 'long'),
      field('defaultRowCommitVersion', 'long'),
      field('clusteringProvider', 'string'),
      field('stats', 'string'),
    ),
  ),
  field(
    'remove',
    struct(
      field('path', 'string'),
      field('deletionTimestamp', 'long'),
      field('dataChange', 'boolean'),
      field('extendedFileMetadata', 'boolean'),
      field('partitionValues', STRING_MAP),
      field('size', 'long'),
      field('deletionVector', DELETION_VECTOR),
      field('baseRowId', 'long'),
      field('defaultRowCommitVersion', 'long'),
    ),
  ),
  field(
    'metaData',
    struct(
      field('id', 'string'),
      field('name', 'string'),
      field('description', 'string'),
      field('format', struct(field('provider', 'string'), field('options', STRING_MAP))),
      field('schemaString', 'string'),
      field('partitionColumns', STRING_ARRAY),
      field('configuration', STRING_MAP),
      field('createdTime', 'long'),
    ),
  ),
  field(
    'protocol',
    struct(
      field('minReaderVersion', 'integer'),
      field('minWriterVersion', 'integer'),
      field('readerFeatures', STRING_ARRAY),
      field('writerFeatures', STRING_ARRAY),
    ),
  ),
  field(
    'domainMetadata',
    struct(
      field('domain', 'string'),
      field('configuration', 'string'),
      field('removed', 'boolean'),
    ),
  ),
  // V2 checkpoints only: recognized so that a V2 checkpoint is never misread as V1.
  field('checkpointMetadata', struct(field('version', 'long'))),
  field(
    'sidecar',
    struct(
      field('path', 'string'),
      field('sizeInBytes', 'long'),
      field('modificationTime', 'long'),
    ),
  ),
)

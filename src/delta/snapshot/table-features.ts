/**
 * Protocol versions and table features ("Protocol Evolution" and "Table Features" in
 * PROTOCOL.md; digest section 5). A table needing anything this engine does not implement is
 * refused with `UNSUPPORTED_FEATURE` naming what is missing, never misread or corrupted.
 * @module
 */
import type { MetadataAction, ProtocolAction } from '../actions/actions.js'
import { UnsupportedProtocolError } from '../errors.js'
import { findType, type DataType, type StructType } from '../schema/data-type.js'

/** Reader features this engine implements (column mapping only in mode `none`). */
export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  'vacuumProtocolCheck',
  'timestampNtz',
  'columnMapping',
])

/** Writer features this engine can honour (several only while the feature is inactive). */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  'appendOnly',
  'invariants',
  'checkConstraints',
  'changeDataFeed',
  'generatedColumns',
  'identityColumns',
  'allowColumnDefaults',
  'domainMetadata',
  'inCommitTimestamp',
  'vacuumProtocolCheck',
  'timestampNtz',
  'columnMapping',
])

/** Features implied by legacy writer versions 2..6. */
const LEGACY_WRITER_FEATURES: readonly (readonly string[])[] = [
  [],
  [],
  ['appendOnly', 'invariants'],
  ['appendOnly', 'invariants', 'checkConstraints'],
  ['appendOnly', 'invariants', 'checkConstraints', 'changeDataFeed', 'generatedColumns'],
  [
    'appendOnly',
    'invariants',
    'checkConstraints',
    'changeDataFeed',
    'generatedColumns',
    'columnMapping',
  ],
  [
    'appendOnly',
    'invariants',
    'checkConstraints',
    'changeDataFeed',
    'generatedColumns',
    'columnMapping',
    'identityColumns',
  ],
]

function columnMappingActive(metadata: MetadataAction | undefined): boolean {
  const mode = metadata?.configuration['delta.columnMapping.mode']
  return mode !== undefined && mode !== 'none'
}

/**
 * The writer features a protocol requires (explicit for writer version 7, implied otherwise).
 * @param protocol - the table protocol
 * @returns feature names
 */
export function writerFeaturesOf(protocol: ProtocolAction): readonly string[] {
  if (protocol.minWriterVersion >= 7) return protocol.writerFeatures ?? []
  return LEGACY_WRITER_FEATURES[protocol.minWriterVersion] ?? []
}

/**
 * Refuses tables this engine cannot read correctly.
 * @param protocol - the snapshot's protocol
 * @param metadata - the snapshot's metadata (column mapping mode lives there)
 * @param location - table location for the message
 * @throws UnsupportedProtocolError `UNSUPPORTED_FEATURE` naming every unsupported feature
 */
export function checkReadSupported(
  protocol: ProtocolAction,
  metadata: MetadataAction | undefined,
  location: string,
): void {
  const missing: string[] = []
  const v = protocol.minReaderVersion
  if (!Number.isInteger(v) || v < 1 || v > 3) {
    missing.push(`readerVersion=${v}`)
  } else if (v === 3) {
    for (const f of protocol.readerFeatures ?? []) {
      if (!SUPPORTED_READER_FEATURES.has(f)) missing.push(f)
    }
  }
  if (columnMappingActive(metadata) && !missing.includes('columnMapping')) {
    missing.push('columnMapping')
  }
  if (missing.length > 0) {
    throw new UnsupportedProtocolError(
      `delta protocol: table ${location} needs reader support for ${missing.join(', ')}, ` +
        `which this engine does not implement (protocol ${v}/${protocol.minWriterVersion})`,
      missing,
      { context: { table: location } },
    )
  }
}

function fieldsWithMetadata(
  type: DataType,
  key: (k: string) => boolean,
  out: string[],
  path = '',
): void {
  if (typeof type === 'string') return
  if (type.type === 'struct') {
    for (const f of type.fields) {
      const name = path ? `${path}.${f.name}` : f.name
      if (Object.keys(f.metadata).some(key)) out.push(name)
      fieldsWithMetadata(f.type, key, out, name)
    }
  } else if (type.type === 'array') {
    fieldsWithMetadata(type.elementType, key, out, path)
  } else {
    fieldsWithMetadata(type.keyType, key, out, path)
    fieldsWithMetadata(type.valueType, key, out, path)
  }
}

/**
 * Whether a `timestamp_ntz` type appears anywhere in `type` (struct fields, array elements,
 * map keys and values).
 * @param type - a data type
 * @returns true when one does
 */
export function hasTimestampNtz(type: DataType): boolean {
  return findType(type, (t) => t === 'timestamp_ntz') !== undefined
}

/**
 * Refuses writes to tables whose writer obligations this engine does not fulfil. Implies
 * {@link checkReadSupported}.
 * @param protocol - the snapshot's protocol
 * @param metadata - the snapshot's metadata
 * @param schema - the parsed table schema
 * @param location - table location for the message
 * @throws UnsupportedProtocolError `UNSUPPORTED_FEATURE`
 */
export function checkWriteSupported(
  protocol: ProtocolAction,
  metadata: MetadataAction,
  schema: StructType,
  location: string,
): void {
  checkReadSupported(protocol, metadata, location)
  const missing: string[] = []
  const w = protocol.minWriterVersion
  if (!Number.isInteger(w) || w < 1 || w > 7) missing.push(`writerVersion=${w}`)
  const features = writerFeaturesOf(protocol)
  for (const f of features) {
    if (!SUPPORTED_WRITER_FEATURES.has(f)) missing.push(f)
  }
  const has = (f: string): boolean => features.includes(f)
  const cols = (pred: (k: string) => boolean): string[] => {
    const out: string[] = []
    fieldsWithMetadata(schema, pred, out)
    return out
  }
  if (has('invariants') && cols((k) => k === 'delta.invariants').length > 0) {
    missing.push('invariants (columns with delta.invariants)')
  }
  if (
    has('checkConstraints') &&
    Object.keys(metadata.configuration).some((k) => k.startsWith('delta.constraints.'))
  ) {
    missing.push('checkConstraints (table has CHECK constraints)')
  }
  if (has('changeDataFeed') && metadata.configuration['delta.enableChangeDataFeed'] === 'true') {
    missing.push('changeDataFeed (enabled)')
  }
  if (has('generatedColumns') && cols((k) => k === 'delta.generationExpression').length > 0) {
    missing.push('generatedColumns (generated columns present)')
  }
  if (has('identityColumns') && cols((k) => k.startsWith('delta.identity.')).length > 0) {
    missing.push('identityColumns (identity columns present)')
  }
  if (has('allowColumnDefaults') && cols((k) => k === 'CURRENT_DEFAULT').length > 0) {
    missing.push('allowColumnDefaults (column defaults present)')
  }
  // A timestamp_ntz column needs the feature in both lists; a table without it is invalid, and
  // readers that check (delta-rs, Delta Kernel) refuse it: more writes would only add to it.
  if (
    hasTimestampNtz(schema) &&
    !(has('timestampNtz') && (protocol.readerFeatures ?? []).includes('timestampNtz'))
  ) {
    missing.push(
      'timestampNtz (the schema has timestamp_ntz columns, the protocol lacks the feature)',
    )
  }
  if (missing.length > 0) {
    throw new UnsupportedProtocolError(
      `delta protocol: table ${location} needs writer support for ${missing.join(', ')}, ` +
        `which this engine does not implement (protocol ${protocol.minReaderVersion}/${w})`,
      missing,
      { context: { table: location } },
    )
  }
}

/**
 * ADD COLUMNS: schema evolution by appending nullable top-level columns in one commit (Spark's
 * `ALTER TABLE … ADD COLUMNS`, delta-rs `alter.add_columns`; digest sections 3.2 and 3.9).
 *
 * The commit carries one `metaData` action equal to the current one except `schemaString`: the
 * current fields as the log has them (keys this engine does not model kept) followed by the new
 * ones, in the given order. No data file is touched: files written before the change lack the new columns, which
 * readers read as null ("Missing columns in a data file read as null"). That is also why a new
 * column must be nullable.
 *
 * A `timestamp_ntz` column (anywhere inside a new column's type) needs the `timestampNtz` table
 * feature; when the protocol lacks it, the commit also carries the protocol with the feature
 * added (reader 3, writer 7, the legacy features listed explicitly), as Spark enables it
 * automatically. Field metadata that would give a column writer obligations this engine does
 * not fulfil (invariants, generated, identity, default or column-mapped columns) is refused.
 *
 * Operation `ADD COLUMNS`; parameter `columns`, as Spark writes it: a JSON array of
 * `{"column":{"name","type","nullable","metadata"}}`, where `type` is the type's name (`struct`,
 * `array`, `map` for nested types; the full type is in the schema) and a name containing a dot
 * is quoted with backticks. No metrics. The transaction records no read: a concurrent append
 * does not conflict with it (its files read the new columns as null), while a concurrent
 * metadata or protocol change does.
 * @module
 */
import type { MetadataAction, ProtocolAction } from '../actions/actions.js'
import type { Clock } from '../clock.js'
import { DeltaError, UnsupportedProtocolError } from '../errors.js'
import {
  parseSchemaString,
  serializeSchema,
  type DataType,
  type StructField,
} from '../schema/data-type.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import { checkWriteSupported, hasTimestampNtz } from '../snapshot/table-features.js'
import type { ObjectStore } from '../storage/object-store.js'
import { Transaction } from '../transaction/transaction.js'
import { validateSchema } from './create-table.js'
import { finishCommit, type FinishedWrite } from './finish-commit.js'
import { restoredProtocol } from './restore.js'

const OPERATION = 'add columns'

/** Column metadata keys that carry writer obligations, with the feature each belongs to. */
const OBLIGATIONS: readonly {
  readonly test: (key: string) => boolean
  readonly feature: string
}[] = [
  { test: (k) => k === 'delta.invariants', feature: 'invariants' },
  { test: (k) => k === 'delta.generationExpression', feature: 'generatedColumns' },
  { test: (k) => k.startsWith('delta.identity.'), feature: 'identityColumns' },
  { test: (k) => k === 'CURRENT_DEFAULT', feature: 'allowColumnDefaults' },
  { test: (k) => k.startsWith('delta.columnMapping.'), feature: 'columnMapping' },
]

/** The protocol of a table with a `timestamp_ntz` column and nothing else. */
const TIMESTAMP_NTZ_PROTOCOL: ProtocolAction = {
  kind: 'protocol',
  minReaderVersion: 3,
  minWriterVersion: 7,
  readerFeatures: ['timestampNtz'],
  writerFeatures: ['timestampNtz'],
}

function invalid(location: string, message: string, column: string): DeltaError {
  return new DeltaError('INVALID_ARGUMENT', `delta ${OPERATION}: table ${location}: ${message}`, {
    context: { table: location, column },
  })
}

/** Refuses names already in the table or repeated in the list (case-insensitively). */
function checkNames(snapshot: Snapshot, fields: readonly StructField[]): void {
  const existing = new Map(snapshot.schema.fields.map((f) => [f.name.toLowerCase(), f.name]))
  const listed = new Set<string>()
  for (const f of fields) {
    const name: unknown = (f as Partial<StructField> | null)?.name
    if (typeof name !== 'string') continue // the schema validation reports it
    const key = name.toLowerCase()
    const other = existing.get(key)
    if (other !== undefined) {
      throw invalid(
        snapshot.location,
        `column ${JSON.stringify(name)} already exists` +
          (other === name ? '' : ` as ${JSON.stringify(other)}`) +
          ' (column names are case-insensitive)',
        name,
      )
    }
    if (listed.has(key)) {
      throw invalid(snapshot.location, `column ${JSON.stringify(name)} is listed twice`, name)
    }
    listed.add(key)
  }
}

/** Refuses column metadata whose feature this engine would not honour (see the header). */
function checkObligations(location: string, fields: readonly StructField[]): void {
  const visit = (type: DataType, path: string): void => {
    if (typeof type === 'string') return
    if (type.type === 'array') return visit(type.elementType, path)
    if (type.type === 'map') {
      visit(type.keyType, path)
      return visit(type.valueType, path)
    }
    for (const f of type.fields) {
      const at = path ? `${path}.${f.name}` : f.name
      const found = OBLIGATIONS.find((o) => Object.keys(f.metadata).some(o.test))
      if (found) {
        throw new UnsupportedProtocolError(
          `delta ${OPERATION}: table ${location}: column ${JSON.stringify(at)} has metadata of ` +
            `the ${found.feature} feature, which this engine does not implement`,
          [found.feature],
          { context: { table: location, column: at } },
        )
      }
      visit(f.type, at)
    }
  }
  visit({ type: 'struct', fields }, '')
}

/** A field as Spark's `ADD COLUMNS` commitInfo records it. */
function columnParameter(field: StructField): { column: Record<string, unknown> } {
  return {
    column: {
      name: field.name.includes('.') ? `\`${field.name}\`` : field.name,
      type: typeof field.type === 'string' ? field.type : field.type.type,
      nullable: field.nullable,
      metadata: field.metadata,
    },
  }
}

/**
 * Appends nullable top-level columns to the table schema in one commit.
 * @param store - the table's store
 * @param snapshot - the latest snapshot
 * @param clock - time source
 * @param fields - the new columns, in order
 * @returns the commit's result (no metrics) and the snapshot after it
 * @throws DeltaError `INVALID_ARGUMENT` (no columns, a column that is not nullable, a name that
 *   exists or is listed twice, a struct without fields), `INVALID_SCHEMA` (a malformed type),
 *   `COMMIT_CONFLICT` (a concurrent metadata or protocol change); UnsupportedProtocolError
 *   (`UNSUPPORTED_FEATURE`) for a table this engine cannot write, an unsupported type name or
 *   column metadata of an unsupported feature
 * @internal
 */
export async function addColumns(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  fields: readonly StructField[],
): Promise<FinishedWrite> {
  const location = snapshot.location
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, location)
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new DeltaError('INVALID_ARGUMENT', `delta ${OPERATION}: table ${location}: no columns`, {
      context: { table: location },
    })
  }
  checkNames(snapshot, fields)
  const added = validateSchema({ type: 'struct', fields }, location, OPERATION).fields
  const required = added.find((f) => !f.nullable)
  if (required) {
    throw invalid(
      location,
      `column ${JSON.stringify(required.name)} must be nullable: the existing rows have no value for it`,
      required.name,
    )
  }
  checkObligations(location, added)

  // The current fields stay exactly as written (keys this engine does not model included).
  const current = JSON.parse(snapshot.metadata.schemaString) as { fields: unknown[] }
  const addedJson = JSON.parse(serializeSchema({ type: 'struct', fields: added })) as {
    fields: unknown[]
  }
  const metadata: MetadataAction = {
    ...snapshot.metadata,
    schemaString: JSON.stringify({ ...current, fields: [...current.fields, ...addedJson.fields] }),
  }
  const schema = parseSchemaString(metadata.schemaString)
  const protocol = added.some((f) => hasTimestampNtz(f.type))
    ? restoredProtocol(snapshot.protocol, TIMESTAMP_NTZ_PROTOCOL)
    : undefined
  checkWriteSupported(protocol ?? snapshot.protocol, metadata, schema, location)

  const txn = new Transaction(store, snapshot, clock, {
    operation: 'ADD COLUMNS',
    operationParameters: { columns: added.map(columnParameter) },
  })
  if (protocol) txn.addActions([protocol])
  txn.addActions([metadata])
  return finishCommit(store, txn, clock, {})
}

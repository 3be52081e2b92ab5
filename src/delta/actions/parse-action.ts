/**
 * Parsing of log actions from commit JSON lines and checkpoint rows ("Actions" in PROTOCOL.md).
 * Unknown action types and unknown fields are ignored, as the protocol requires; a known action
 * with a missing or mistyped required field is a `MALFORMED_ACTION` error naming where it was.
 * @module
 */
import { DeltaError } from '../errors.js'
import type {
  Action,
  AddAction,
  CdcAction,
  DeletionVectorDescriptor,
  DomainMetadataAction,
  Format,
  MetadataAction,
  PartitionValues,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from './actions.js'

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

class FieldReader {
  private readonly obj: Json
  private readonly action: string
  private readonly where: string

  constructor(obj: Json, action: string, where: string) {
    this.obj = obj
    this.action = action
    this.where = where
  }

  fail(field: string, expected: string): never {
    throw new DeltaError(
      'MALFORMED_ACTION',
      `delta log: ${this.where}: ${this.action}.${field} must be ${expected}`,
      { context: { where: this.where, action: this.action, field } },
    )
  }

  str(field: string): string {
    const v = this.obj[field]
    if (typeof v !== 'string') this.fail(field, 'a string')
    return v
  }

  optStr(field: string): string | null | undefined {
    const v = this.obj[field]
    if (v === undefined || v === null) return v
    if (typeof v !== 'string') this.fail(field, 'a string')
    return v
  }

  num(field: string): number {
    const v = toNumber(this.obj[field])
    if (v === undefined) this.fail(field, 'a number')
    return v
  }

  optNum(field: string): number | null | undefined {
    const raw = this.obj[field]
    if (raw === undefined || raw === null) return raw
    const v = toNumber(raw)
    if (v === undefined) this.fail(field, 'a number')
    return v
  }

  bool(field: string): boolean {
    const v = this.obj[field]
    if (typeof v !== 'boolean') this.fail(field, 'a boolean')
    return v
  }

  optBool(field: string): boolean | null | undefined {
    const v = this.obj[field]
    if (v === undefined || v === null) return v
    if (typeof v !== 'boolean') this.fail(field, 'a boolean')
    return v
  }

  strList(field: string): string[] | undefined {
    const v = this.obj[field]
    if (v === undefined || v === null) return undefined
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      this.fail(field, 'an array of strings')
    }
    return v
  }

  stringMap(field: string, required: boolean): Record<string, string | null> | null | undefined {
    const v = toPlainMap(this.obj[field])
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'an object')
      return v
    }
    if (!isObject(v)) this.fail(field, 'an object of strings')
    const out: Record<string, string | null> = {}
    for (const [k, val] of Object.entries(v)) {
      if (val !== null && typeof val !== 'string') this.fail(`${field}.${k}`, 'a string or null')
      out[k] = val
    }
    return out
  }

  deletionVector(field: string): DeletionVectorDescriptor | null | undefined {
    const v = this.obj[field]
    if (v === undefined || v === null) return v
    if (!isObject(v)) this.fail(field, 'an object')
    const r = new FieldReader(v, `${this.action}.${field}`, this.where)
    return {
      storageType: r.str('storageType'),
      pathOrInlineDv: r.str('pathOrInlineDv'),
      offset: r.optNum('offset'),
      sizeInBytes: r.num('sizeInBytes'),
      cardinality: r.num('cardinality'),
    }
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'bigint') return Number(v)
  return undefined
}

/** Checkpoint maps may arrive as `Map`s or as arrays of key/value entries; normalize. */
function toPlainMap(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries(v as Map<string, unknown>)
  if (Array.isArray(v) && v.every((e) => isObject(e) && 'key' in e)) {
    return Object.fromEntries((v as { key: string; value: unknown }[]).map((e) => [e.key, e.value]))
  }
  return v
}

function parseProtocol(r: FieldReader): ProtocolAction {
  const readerFeatures = r.strList('readerFeatures')
  const writerFeatures = r.strList('writerFeatures')
  return {
    kind: 'protocol',
    minReaderVersion: r.num('minReaderVersion'),
    minWriterVersion: r.num('minWriterVersion'),
    ...(readerFeatures ? { readerFeatures } : {}),
    ...(writerFeatures ? { writerFeatures } : {}),
  }
}

function parseFormat(v: unknown, r: FieldReader): Format {
  if (v === undefined || v === null) return { provider: 'parquet', options: {} }
  if (!isObject(v)) r.fail('format', 'an object')
  const fr = new FieldReader(v, 'metaData.format', '')
  const provider = typeof v.provider === 'string' ? v.provider : 'parquet'
  const options = (fr.stringMap('options', false) ?? {}) as Record<string, string>
  return { provider, options }
}

function parseMetadata(obj: Json, r: FieldReader): MetadataAction {
  const partitionColumns = r.strList('partitionColumns')
  if (!partitionColumns) r.fail('partitionColumns', 'an array of strings')
  const configuration = (r.stringMap('configuration', false) ?? {}) as Record<string, string>
  return {
    kind: 'metaData',
    id: r.str('id'),
    name: r.optStr('name'),
    description: r.optStr('description'),
    format: parseFormat(obj.format, r),
    schemaString: r.str('schemaString'),
    partitionColumns,
    configuration,
    createdTime: r.optNum('createdTime'),
  }
}

function parseAdd(r: FieldReader): AddAction {
  return {
    kind: 'add',
    path: r.str('path'),
    partitionValues: r.stringMap('partitionValues', true) as PartitionValues,
    size: r.num('size'),
    modificationTime: r.num('modificationTime'),
    dataChange: r.bool('dataChange'),
    stats: r.optStr('stats'),
    tags: r.stringMap('tags', false),
    deletionVector: r.deletionVector('deletionVector'),
    baseRowId: r.optNum('baseRowId'),
    defaultRowCommitVersion: r.optNum('defaultRowCommitVersion'),
    clusteringProvider: r.optStr('clusteringProvider'),
  }
}

function parseRemove(r: FieldReader): RemoveAction {
  return {
    kind: 'remove',
    path: r.str('path'),
    dataChange: r.bool('dataChange'),
    deletionTimestamp: r.optNum('deletionTimestamp'),
    extendedFileMetadata: r.optBool('extendedFileMetadata'),
    partitionValues: r.stringMap('partitionValues', false),
    size: r.optNum('size'),
    stats: r.optStr('stats'),
    tags: r.stringMap('tags', false),
    deletionVector: r.deletionVector('deletionVector'),
    baseRowId: r.optNum('baseRowId'),
    defaultRowCommitVersion: r.optNum('defaultRowCommitVersion'),
  }
}

function parseTxn(r: FieldReader): TxnAction {
  return {
    kind: 'txn',
    appId: r.str('appId'),
    version: r.num('version'),
    lastUpdated: r.optNum('lastUpdated'),
  }
}

function parseDomainMetadata(r: FieldReader): DomainMetadataAction {
  return {
    kind: 'domainMetadata',
    domain: r.str('domain'),
    configuration: r.str('configuration'),
    removed: r.bool('removed'),
  }
}

function parseCdc(r: FieldReader): CdcAction {
  return {
    kind: 'cdc',
    path: r.str('path'),
    partitionValues: r.stringMap('partitionValues', false) ?? {},
    size: r.num('size'),
    dataChange: r.optBool('dataChange') ?? false,
    tags: r.stringMap('tags', false),
  }
}

/**
 * Parses one action object (a commit line's object or a checkpoint row).
 * @param obj - the wrapper object, e.g. `{"add": {...}}`; for checkpoint rows the first
 *   non-null known column wins
 * @param where - location for error messages (`<file>:<line>`)
 * @returns the action, or `undefined` for an unknown action type
 * @throws DeltaError `MALFORMED_ACTION`
 */
export function parseAction(obj: unknown, where: string): Action | undefined {
  if (!isObject(obj)) {
    throw new DeltaError('MALFORMED_ACTION', `delta log: ${where}: action is not a JSON object`, {
      context: { where },
    })
  }
  for (const [key, value] of Object.entries(obj)) {
    if (value === null || value === undefined) continue
    if (!isObject(value)) {
      if (KNOWN.has(key)) {
        throw new DeltaError('MALFORMED_ACTION', `delta log: ${where}: ${key} is not an object`, {
          context: { where, action: key },
        })
      }
      continue
    }
    const r = new FieldReader(value, key, where)
    switch (key) {
      case 'protocol':
        return parseProtocol(r)
      case 'metaData':
        return parseMetadata(value, r)
      case 'add':
        return parseAdd(r)
      case 'remove':
        return parseRemove(r)
      case 'txn':
        return parseTxn(r)
      case 'commitInfo':
        return { kind: 'commitInfo', info: value }
      case 'domainMetadata':
        return parseDomainMetadata(r)
      case 'cdc':
        return parseCdc(r)
      case 'checkpointMetadata':
      case 'sidecar':
        return { kind: key }
      default:
        continue
    }
  }
  return undefined
}

const KNOWN = new Set([
  'protocol',
  'metaData',
  'add',
  'remove',
  'txn',
  'commitInfo',
  'domainMetadata',
  'cdc',
  'checkpointMetadata',
  'sidecar',
])

/**
 * Parses a whole commit file: newline-delimited JSON, one action per line. Blank lines are
 * skipped; a line that is not valid JSON is a `MALFORMED_LOG` error naming file and line.
 * @param text - the file content
 * @param file - the file name for error messages
 * @returns the actions in file order
 * @throws DeltaError `MALFORMED_LOG` or `MALFORMED_ACTION`
 */
export function parseCommitFile(text: string, file: string): Action[] {
  const actions: Action[] = []
  let lineNo = 0
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    lineNo++
    const line = text.slice(start, end).trim()
    start = end + 1
    if (line.length === 0) continue
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch (cause) {
      throw new DeltaError(
        'MALFORMED_LOG',
        `delta log: ${file}:${lineNo}: line is not valid JSON (truncated or corrupt commit)`,
        { cause, context: { file, line: lineNo } },
      )
    }
    const action = parseAction(obj, `${file}:${lineNo}`)
    if (action) actions.push(action)
  }
  return actions
}

/**
 * Table properties (`metaData.configuration`) that change engine behaviour, parsed with their
 * defaults (digest section 3.10). Unknown properties are kept in the metadata untouched.
 * @module
 */
import type { MetadataAction } from '../actions/actions.js'
import { DeltaError } from '../errors.js'

/** Default number of commits between automatic checkpoints (Spark's default). */
export const DEFAULT_CHECKPOINT_INTERVAL = 10

const UNIT_MS: Readonly<Record<string, number>> = {
  nanosecond: 1e-6,
  microsecond: 1e-3,
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
}

/**
 * Parses a Delta interval property such as `interval 7 days`, `interval 1 weeks`,
 * `168 hours` or `interval 1 day 12 hours`. Months and years are rejected, as Spark does.
 * @param text - the property value
 * @param key - the property name, for messages
 * @returns the duration in milliseconds
 * @throws DeltaError `INVALID_ARGUMENT` for unparsable or negative intervals
 */
export function parseInterval(text: string, key: string): number {
  const tokens = text.trim().toLowerCase().split(/\s+/)
  if (tokens[0] === 'interval') tokens.shift()
  if (tokens.length === 0 || tokens.length % 2 !== 0) throw badInterval(text, key)
  let total = 0
  for (let i = 0; i < tokens.length; i += 2) {
    const n = Number(tokens[i])
    const unitRaw = tokens[i + 1] ?? ''
    const unit = unitRaw.endsWith('s') ? unitRaw.slice(0, -1) : unitRaw
    const ms = UNIT_MS[unit]
    if (!Number.isFinite(n) || n < 0 || ms === undefined) throw badInterval(text, key)
    total += n * ms
  }
  return total
}

function badInterval(text: string, key: string): DeltaError {
  return new DeltaError(
    'INVALID_ARGUMENT',
    `delta config: ${key} = ${JSON.stringify(text)} is not a valid interval (e.g. "interval 7 days")`,
    { context: { property: key } },
  )
}

/** Typed view of the table properties the engine uses. */
export interface TableConfig {
  readonly appendOnly: boolean
  readonly checkpointInterval: number
  readonly deletedFileRetentionMs: number
  readonly logRetentionMs: number
  readonly enableExpiredLogCleanup: boolean
  readonly setTransactionRetentionMs: number | undefined
  readonly enableInCommitTimestamps: boolean
  readonly inCommitTimestampEnablementVersion: number | undefined
  readonly inCommitTimestampEnablementTimestamp: number | undefined
  readonly isolationLevel: 'Serializable' | 'WriteSerializable'
  readonly targetFileSize: number | undefined
  readonly dataSkippingNumIndexedCols: number
  readonly dataSkippingStatsColumns: string | undefined
}

function bool(conf: Readonly<Record<string, string>>, key: string, dflt: boolean): boolean {
  const v = conf[key]
  if (v === undefined) return dflt
  return v.trim().toLowerCase() === 'true'
}

function int(conf: Readonly<Record<string, string>>, key: string): number | undefined {
  const v = conf[key]
  if (v === undefined) return undefined
  const n = Number(v.trim())
  if (!Number.isSafeInteger(n)) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta config: ${key} = ${JSON.stringify(v)} is not an integer`,
      {
        context: { property: key },
      },
    )
  }
  return n
}

/**
 * Parses the properties of a metadata action.
 * @param metadata - the table metadata
 * @returns the typed configuration
 * @throws DeltaError `INVALID_ARGUMENT` for malformed values of known properties
 */
export function tableConfig(metadata: MetadataAction): TableConfig {
  const c = metadata.configuration
  const interval = (key: string, dflt: string): number => parseInterval(c[key] ?? dflt, key)
  const checkpointInterval = int(c, 'delta.checkpointInterval') ?? DEFAULT_CHECKPOINT_INTERVAL
  const iso = (c['delta.isolationLevel'] ?? 'Serializable').trim().toLowerCase()
  return {
    appendOnly: bool(c, 'delta.appendOnly', false),
    checkpointInterval: checkpointInterval > 0 ? checkpointInterval : DEFAULT_CHECKPOINT_INTERVAL,
    deletedFileRetentionMs: interval('delta.deletedFileRetentionDuration', 'interval 1 week'),
    logRetentionMs: interval('delta.logRetentionDuration', 'interval 30 days'),
    enableExpiredLogCleanup: bool(c, 'delta.enableExpiredLogCleanup', true),
    setTransactionRetentionMs:
      c['delta.setTransactionRetentionDuration'] === undefined
        ? undefined
        : interval('delta.setTransactionRetentionDuration', ''),
    enableInCommitTimestamps: bool(c, 'delta.enableInCommitTimestamps', false),
    inCommitTimestampEnablementVersion: int(c, 'delta.inCommitTimestampEnablementVersion'),
    inCommitTimestampEnablementTimestamp: int(c, 'delta.inCommitTimestampEnablementTimestamp'),
    isolationLevel: iso === 'writeserializable' ? 'WriteSerializable' : 'Serializable',
    targetFileSize: int(c, 'delta.targetFileSize'),
    dataSkippingNumIndexedCols: int(c, 'delta.dataSkippingNumIndexedCols') ?? 32,
    dataSkippingStatsColumns: c['delta.dataSkippingStatsColumns'],
  }
}

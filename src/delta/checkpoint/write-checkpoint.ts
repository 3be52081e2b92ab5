/**
 * Writing classic single-file V1 checkpoints and the `_last_checkpoint` hint ("Checkpoints"
 * in PROTOCOL.md; digest section 4.1).
 *
 * Content: protocol, metadata, live adds (with `dataChange=false`), unexpired tombstones,
 * unexpired app transactions and live domain metadata; never commitInfo or cdc.
 * Atomicity: the store writes the file under a temporary name and renames it into place, so a
 * reader never sees a half-written checkpoint; `_last_checkpoint` is updated only afterwards
 * and never moved backwards. Two writers checkpointing the same version produce equivalent
 * files, so overwriting is harmless.
 * @module
 */
import { DeltaError, isDeltaError } from '../errors.js'
import { runSteps, runStepsNow } from '../concurrency.js'
import { checkpointKey, LAST_CHECKPOINT_KEY } from '../log/log-path.js'
import { writeParquetYielding, type WriteParquetOptions } from '../parquet/index.js'
import type { StructType } from '../schema/data-type.js'
import type { Snapshot } from '../snapshot/snapshot.js'
import type { ObjectStore } from '../storage/object-store.js'
import { CHECKPOINT_SCHEMA } from './checkpoint-schema.js'
import { readLastCheckpoint } from './last-checkpoint.js'
import { readCheckpoint } from './read-checkpoint.js'

/** `created_by` of checkpoint files. */
const CREATED_BY = 'polarway-lakehouse version 0.1.0'

/** The checkpoint schema without the V2-only columns (a V1 checkpoint must not carry them). */
const WRITE_SCHEMA: StructType = {
  type: 'struct',
  fields: CHECKPOINT_SCHEMA.fields.filter(
    (f) => f.name !== 'checkpointMetadata' && f.name !== 'sidecar',
  ),
}

/** Result of writing a checkpoint. */
export interface CheckpointResult {
  /** Version the checkpoint describes. */
  readonly version: number
  /** Number of actions (rows) in the checkpoint. */
  readonly size: number
  /** Number of live files. */
  readonly numOfAddFiles: number
  /** Bytes of the checkpoint file. */
  readonly sizeInBytes: number
}

const big = (v: number | null | undefined): bigint | null =>
  v === undefined || v === null ? null : BigInt(v)

function stringMap(
  obj: Readonly<Record<string, string | null>> | null | undefined,
): Map<string, string | null> | null {
  return obj ? new Map(Object.entries(obj)) : null
}

function emptyRow(): Record<string, unknown> {
  return {
    txn: null,
    add: null,
    remove: null,
    metaData: null,
    protocol: null,
    domainMetadata: null,
  }
}

/**
 * Builds the checkpoint rows of a snapshot.
 * @param snapshot - the snapshot to checkpoint
 * @param now - current time (tombstone and txn expiry)
 * @returns rows in the checkpoint schema
 * @internal
 */
export function checkpointRows(snapshot: Snapshot, now: number): Record<string, unknown>[] {
  return runStepsNow(checkpointRowSteps(snapshot, now))
}

/** Actions converted per step of {@link checkpointRowSteps} (well under a millisecond). */
const ROWS_PER_STEP = 1024

/**
 * {@link checkpointRows} in steps (for `runSteps`): a step after every
 * {@link ROWS_PER_STEP} files or tombstones.
 */
function* checkpointRowSteps(
  snapshot: Snapshot,
  now: number,
): Generator<void, Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  const p = snapshot.protocol
  rows.push({
    ...emptyRow(),
    protocol: {
      minReaderVersion: p.minReaderVersion,
      minWriterVersion: p.minWriterVersion,
      readerFeatures: p.minReaderVersion >= 3 ? [...(p.readerFeatures ?? [])] : null,
      writerFeatures: p.minWriterVersion >= 7 ? [...(p.writerFeatures ?? [])] : null,
    },
  })
  const m = snapshot.metadata
  rows.push({
    ...emptyRow(),
    metaData: {
      id: m.id,
      name: m.name ?? null,
      description: m.description ?? null,
      format: { provider: m.format.provider, options: new Map(Object.entries(m.format.options)) },
      schemaString: m.schemaString,
      partitionColumns: [...m.partitionColumns],
      configuration: new Map(Object.entries(m.configuration)),
      createdTime: big(m.createdTime),
    },
  })
  for (const t of snapshot.txns()) {
    if (snapshot.txnVersion(t.appId, now) === undefined) continue
    rows.push({
      ...emptyRow(),
      txn: { appId: t.appId, version: BigInt(t.version), lastUpdated: big(t.lastUpdated) },
    })
  }
  for (const d of snapshot.domainMetadata()) {
    rows.push({
      ...emptyRow(),
      domainMetadata: { domain: d.domain, configuration: d.configuration, removed: false },
    })
  }
  for (const a of snapshot.files()) {
    if (rows.length % ROWS_PER_STEP === 0) yield
    rows.push({
      ...emptyRow(),
      add: {
        path: a.path,
        partitionValues: stringMap(a.partitionValues),
        size: BigInt(a.size),
        modificationTime: BigInt(a.modificationTime),
        dataChange: false,
        tags: stringMap(a.tags),
        deletionVector: a.deletionVector
          ? {
              storageType: a.deletionVector.storageType,
              pathOrInlineDv: a.deletionVector.pathOrInlineDv,
              offset: a.deletionVector.offset ?? null,
              sizeInBytes: a.deletionVector.sizeInBytes,
              cardinality: BigInt(a.deletionVector.cardinality),
            }
          : null,
        baseRowId: big(a.baseRowId),
        defaultRowCommitVersion: big(a.defaultRowCommitVersion),
        clusteringProvider: a.clusteringProvider ?? null,
        stats: a.stats ?? null,
      },
    })
  }
  const expiry = now - snapshot.config.deletedFileRetentionMs
  for (const r of snapshot.tombstones()) {
    // A tombstone without a deletion timestamp counts as expired (kernel does the same).
    if ((r.deletionTimestamp ?? 0) <= expiry) continue
    if (rows.length % ROWS_PER_STEP === 0) yield
    rows.push({
      ...emptyRow(),
      remove: {
        path: r.path,
        deletionTimestamp: big(r.deletionTimestamp),
        dataChange: false,
        extendedFileMetadata: r.extendedFileMetadata ?? null,
        partitionValues: stringMap(r.partitionValues),
        size: big(r.size),
        deletionVector: null,
        baseRowId: big(r.baseRowId),
        defaultRowCommitVersion: big(r.defaultRowCommitVersion),
      },
    })
  }
  return rows
}

/**
 * Parquet layout of a checkpoint, overridable by tests (see `WriteParquetOptions`).
 * @internal
 */
export type CheckpointLayout = Pick<
  WriteParquetOptions,
  'singlePageMaxRows' | 'pageMaxRows' | 'rowGroupSize'
>

/**
 * Actions per row group. A checkpoint of up to this many actions is one row group with one
 * page per column, the cheapest layout (a checkpoint is written on the commit path or beside
 * it); larger ones get row groups of this size, with pages and string dictionaries
 * (`parquet/write-direct.ts`). Encoding a column chunk of this many actions takes well under a
 * millisecond, so a checkpoint written beside a busy handle's commits delays their
 * acknowledgements by about that much at most.
 */
const ROW_GROUP_ACTIONS = 1024

/**
 * Writes the checkpoint of a snapshot and advances `_last_checkpoint`.
 * @param store - the table's store
 * @param snapshot - the snapshot to checkpoint (its commit must exist)
 * @param now - current time (tombstone and txn expiry)
 * @param layout - Parquet layout overrides, for tests (small pages and row groups)
 * @returns what was written
 * @throws DeltaError `STORAGE_ERROR`; DeltaError `INVALID_ARGUMENT` when the table uses
 *   features a V1 checkpoint cannot represent
 */
export async function writeCheckpoint(
  store: ObjectStore,
  snapshot: Snapshot,
  now: number,
  layout: CheckpointLayout = {},
): Promise<CheckpointResult> {
  if (snapshot.files().some((f) => f.deletionVector)) {
    throw new DeltaError(
      'UNSUPPORTED_FEATURE',
      `delta checkpoint: table ${snapshot.location} has deletion vectors`,
    )
  }
  // In steps, letting the event loop run between them: a checkpoint of thousands of actions
  // takes tens of milliseconds to build and encode, and it is often written beside the commits
  // of a busy handle, whose acknowledgements must not wait for it. Row groups keep each column
  // chunk's step short too.
  const rows = await runSteps(checkpointRowSteps(snapshot, now))
  const bytes = await writeParquetYielding(rows, WRITE_SCHEMA, {
    createdBy: CREATED_BY,
    singlePageMaxRows: ROW_GROUP_ACTIONS,
    rowGroupSize: ROW_GROUP_ACTIONS,
    ...layout,
  })
  const key = checkpointKey(snapshot.version)
  let result: CheckpointResult = {
    version: snapshot.version,
    size: rows.length,
    numOfAddFiles: snapshot.numFiles,
    sizeInBytes: bytes.byteLength,
  }
  if (!(await store.putIfAbsent(key, bytes))) {
    // Another writer checkpointed this version first (delta-rs does after its commits): its
    // file describes the same state, and replacing it could cut it short under a reader that
    // listed its size. Only a damaged one is replaced.
    const existing = await existingCheckpoint(store, snapshot, key)
    if (existing) result = existing
    else await store.put(key, bytes)
  }
  let hint
  try {
    hint = await readLastCheckpoint(store)
  } catch (error) {
    if (!isDeltaError(error)) throw error
  }
  if (!hint || hint.version < snapshot.version) {
    const body = JSON.stringify({
      version: result.version,
      size: result.size,
      sizeInBytes: result.sizeInBytes,
      numOfAddFiles: result.numOfAddFiles,
    })
    await store.put(LAST_CHECKPOINT_KEY, new TextEncoder().encode(body))
  }
  return result
}

/**
 * The checkpoint file of a version that another writer wrote, described as `_last_checkpoint`
 * describes it; `undefined` when it cannot be read (empty, truncated, not a checkpoint).
 */
async function existingCheckpoint(
  store: ObjectStore,
  snapshot: Snapshot,
  key: string,
): Promise<CheckpointResult | undefined> {
  try {
    const [actions, meta] = await Promise.all([
      readCheckpoint(store, snapshot.location, {
        version: snapshot.version,
        flavor: 'classic',
        keys: [key],
      }),
      store.head(key),
    ])
    if (!meta) return undefined
    return {
      version: snapshot.version,
      size: actions.length,
      numOfAddFiles: actions.filter((a) => a.kind === 'add').length,
      sizeInBytes: meta.size,
    }
  } catch (error) {
    if (!isDeltaError(error)) throw error
    return undefined
  }
}

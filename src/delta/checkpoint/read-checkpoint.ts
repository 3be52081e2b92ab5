/**
 * Reading checkpoint files ("Checkpoints" in PROTOCOL.md) into actions.
 * V1 classic and multi-part checkpoints are Parquet files with one struct column per action.
 * A V2 checkpoint (UUID-named, or classic-named with `checkpointMetadata`/`sidecar` rows) is
 * read only far enough to find its protocol; the protocol check then refuses the table, since
 * this engine does not implement `v2Checkpoint`.
 * @module
 */
import { parseAction, parseCommitFile } from '../actions/parse-action.js'
import type { Action } from '../actions/actions.js'
import { DeltaError, isDeltaError } from '../errors.js'
import { readParquetRows } from '../parquet/index.js'
import type { ObjectStore } from '../storage/object-store.js'
import { CHECKPOINT_SCHEMA } from './checkpoint-schema.js'
import { decodeCheckpoint, type CheckpointFileContent } from './decode-checkpoint.js'
import type { CheckpointRef } from '../log/log-segment.js'

/**
 * Reads every file of a checkpoint and returns its actions.
 * @param store - the table's store
 * @param location - table location for messages
 * @param checkpoint - the checkpoint to read
 * @returns the actions (txn, add, remove, metaData, protocol, domainMetadata, V2 markers)
 * @throws DeltaError `CORRUPT_CHECKPOINT` when a file is missing or not a readable checkpoint
 */
export async function readCheckpoint(
  store: ObjectStore,
  location: string,
  checkpoint: CheckpointRef,
): Promise<Action[]> {
  const parts = await Promise.all(
    checkpoint.keys.map((key) => readCheckpointFile(store, location, key)),
  )
  const actions = parts.flatMap((p) => p.actions)
  const malformed = parts.find((p) => p.malformed !== undefined)?.malformed
  if (malformed !== undefined) {
    // A checkpoint without a protocol is the more fundamental defect: report it first, with
    // the malformed row as the cause.
    if (!actions.some((a) => a.kind === 'protocol')) {
      throw new DeltaError(
        'MISSING_PROTOCOL',
        `delta checkpoint: checkpoint ${checkpoint.version} of table ${location} has no protocol action (corrupt checkpoint)`,
        { cause: malformed, context: { table: location, version: checkpoint.version } },
      )
    }
    throw malformed
  }
  return actions
}

async function readCheckpointFile(
  store: ObjectStore,
  location: string,
  key: string,
): Promise<CheckpointFileContent> {
  let data: Uint8Array
  try {
    data = await store.get(key)
  } catch (cause) {
    if (isDeltaError(cause, 'OBJECT_NOT_FOUND')) {
      throw new DeltaError(
        'CORRUPT_CHECKPOINT',
        `delta checkpoint: ${location}/${key} vanished while reading`,
        {
          cause,
          context: { table: location, file: key },
        },
      )
    }
    throw cause
  }
  if (key.endsWith('.json')) {
    return { actions: parseCommitFile(new TextDecoder().decode(data), key), malformed: undefined }
  }
  try {
    return decodeCheckpoint(data, key)
  } catch {
    // A layout the column-wise decoder does not handle, or a corrupt file: the row reader
    // reads every valid layout and reports corruption precisely.
  }
  return decodeCheckpointRows(data, location, key)
}

/**
 * Reads a checkpoint Parquet file row by row with the generic reader: the reference for
 * {@link decodeCheckpoint}, and the path for layouts it does not handle.
 * @param data - the whole file
 * @param location - table location for messages
 * @param key - the file's key
 * @returns the actions in row order, and the first malformed row's error
 * @throws DeltaError `CORRUPT_CHECKPOINT` when the file is not a readable Parquet checkpoint
 * @internal
 */
export async function decodeCheckpointRows(
  data: Uint8Array,
  location: string,
  key: string,
): Promise<CheckpointFileContent> {
  let rows: Record<string, unknown>[]
  try {
    rows = await readParquetRows(data, { schema: CHECKPOINT_SCHEMA, fileName: key })
  } catch (cause) {
    throw new DeltaError(
      'CORRUPT_CHECKPOINT',
      `delta checkpoint: ${location}/${key} is not a readable Parquet checkpoint`,
      { cause, context: { table: location, file: key } },
    )
  }
  const actions: Action[] = []
  let malformed: DeltaError | undefined
  for (let i = 0; i < rows.length; i++) {
    try {
      const action = parseAction(rows[i], `${key}#row${i}`)
      if (action) actions.push(action)
    } catch (error) {
      if (!isDeltaError(error, 'MALFORMED_ACTION')) throw error
      malformed ??= error
    }
  }
  return { actions, malformed }
}

/**
 * The `_last_checkpoint` hint ("Last Checkpoint File" in PROTOCOL.md). It is only a hint:
 * missing, empty, stale or corrupt hints are tolerated, and listing decides which checkpoint
 * is used.
 * @module
 */
import type { ObjectStore } from '../storage/object-store.js'
import { LAST_CHECKPOINT_KEY } from '../log/log-path.js'
import { isDeltaError } from '../errors.js'

/** The fields of `_last_checkpoint` this engine uses or writes. */
export interface LastCheckpointHint {
  readonly version: number
  readonly size?: number
  readonly parts?: number
  readonly sizeInBytes?: number
  readonly numOfAddFiles?: number
}

/**
 * Parses the hint; any defect gives `undefined` (the reader then lists from version 0).
 * @param text - file content
 * @returns the hint, or undefined when unusable
 */
export function parseLastCheckpoint(text: string): LastCheckpointHint | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  const o = json as Record<string, unknown>
  const version = o.version
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return undefined
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined
  const hint: LastCheckpointHint = {
    version,
    size: num(o.size),
    parts: num(o.parts),
    sizeInBytes: num(o.sizeInBytes) ?? num(o.size_in_bytes),
    numOfAddFiles: num(o.numOfAddFiles),
  }
  return hint
}

/**
 * Reads the hint from the store.
 * @param store - the table's store
 * @returns the hint, or undefined when missing or unusable
 * @throws DeltaError `STORAGE_ERROR` only for storage failures other than "not found"
 */
export async function readLastCheckpoint(
  store: ObjectStore,
): Promise<LastCheckpointHint | undefined> {
  let data: Uint8Array
  try {
    data = await store.get(LAST_CHECKPOINT_KEY)
  } catch (error) {
    if (isDeltaError(error, 'OBJECT_NOT_FOUND')) return undefined
    throw error
  }
  return parseLastCheckpoint(new TextDecoder().decode(data))
}

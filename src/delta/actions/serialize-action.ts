/**
 * Serialization of actions to commit-file JSON lines ("Actions" in PROTOCOL.md).
 * Optional fields that are `undefined` or `null` are omitted, as Spark does.
 * @module
 */
import type { Action } from './actions.js'

function compact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null) out[k] = v
  }
  return out
}

/**
 * The JSON object for one action, wrapped in its action-type key (`{"add": {...}}`).
 * @param action - the action
 * @returns a plain JSON-serializable object
 */
export function actionToJson(action: Action): Record<string, unknown> {
  switch (action.kind) {
    case 'commitInfo':
      return { commitInfo: action.info }
    case 'protocol':
      return {
        protocol: compact({
          minReaderVersion: action.minReaderVersion,
          minWriterVersion: action.minWriterVersion,
          readerFeatures: action.readerFeatures,
          writerFeatures: action.writerFeatures,
        }),
      }
    case 'metaData':
      return {
        metaData: compact({
          id: action.id,
          name: action.name,
          description: action.description,
          format: action.format,
          schemaString: action.schemaString,
          partitionColumns: action.partitionColumns,
          configuration: action.configuration,
          createdTime: action.createdTime,
        }),
      }
    case 'add':
      return {
        add: compact({
          path: action.path,
          partitionValues: action.partitionValues,
          size: action.size,
          modificationTime: action.modificationTime,
          dataChange: action.dataChange,
          stats: action.stats,
          tags: action.tags,
          deletionVector: action.deletionVector,
          baseRowId: action.baseRowId,
          defaultRowCommitVersion: action.defaultRowCommitVersion,
          clusteringProvider: action.clusteringProvider,
        }),
      }
    case 'remove':
      return {
        remove: compact({
          path: action.path,
          deletionTimestamp: action.deletionTimestamp,
          dataChange: action.dataChange,
          extendedFileMetadata: action.extendedFileMetadata,
          partitionValues: action.partitionValues,
          size: action.size,
          stats: action.stats,
          tags: action.tags,
          deletionVector: action.deletionVector,
          baseRowId: action.baseRowId,
          defaultRowCommitVersion: action.defaultRowCommitVersion,
        }),
      }
    case 'txn':
      return {
        txn: compact({
          appId: action.appId,
          version: action.version,
          lastUpdated: action.lastUpdated,
        }),
      }
    case 'domainMetadata':
      return {
        domainMetadata: {
          domain: action.domain,
          configuration: action.configuration,
          removed: action.removed,
        },
      }
    case 'cdc':
      return {
        cdc: compact({
          path: action.path,
          partitionValues: action.partitionValues,
          size: action.size,
          dataChange: action.dataChange,
          tags: action.tags,
        }),
      }
    case 'checkpointMetadata':
    case 'sidecar':
      return { [action.kind]: {} }
  }
}

/**
 * Serializes a commit: one JSON object per line, newline-terminated.
 * @param actions - actions in order (commitInfo first by convention)
 * @returns the commit file content
 */
export function serializeCommit(actions: readonly Action[]): string {
  let out = ''
  for (const a of actions) out += JSON.stringify(actionToJson(a)) + '\n'
  return out
}

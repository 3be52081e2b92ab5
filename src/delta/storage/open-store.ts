/**
 * Turning a table URI into an {@link ObjectStore}.
 * @module
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DeltaError } from '../errors.js'
import { LocalFsStore } from './local-fs-store.js'
import type { ObjectStore } from './object-store.js'

/**
 * Opens the store of a table location: a local path (absolute or relative to the working
 * directory) or a `file://` URL. Other schemes are not supported yet.
 * @param uri - the table location
 * @returns a store rooted at the table directory
 * @throws DeltaError `INVALID_ARGUMENT` for empty or unsupported URIs
 */
export function openStore(uri: string): ObjectStore {
  if (typeof uri !== 'string' || uri.trim() === '' || uri.includes('\u0000')) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta store: ${JSON.stringify(uri)} is not a table location`,
    )
  }
  let dir: string
  if (uri.startsWith('file:')) {
    try {
      dir = fileURLToPath(uri)
    } catch (cause) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta store: ${JSON.stringify(uri)} is not a valid file URL`,
        { cause },
      )
    }
  } else if (/^[a-zA-Z][a-zA-Z0-9+.-]+:\/\//.test(uri)) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta store: the scheme of ${JSON.stringify(uri)} is not supported (local paths and file:// only)`,
    )
  } else {
    dir = path.resolve(uri)
  }
  return new LocalFsStore(dir)
}

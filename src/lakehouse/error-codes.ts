/**
 * Error codes of the lakehouse layer (configuration, store, table access).
 * @module
 */
import { defineErrorCodes } from '../common/lakehouse-error.js'

/** Codes and user-safe messages of the lakehouse layer. */
export const LAKEHOUSE_ERROR_CODES = defineErrorCodes({
  CONFIG_INVALID: 'The lakehouse configuration is invalid.',
  WEAK_SECRET: 'The JWT secret is too weak for production.',
  STORE_CLOSED: 'The lakehouse store is closed.',
  VIEWS_STALE:
    'The live views could not follow the tables lately; decisions from them are refused.',
  UNKNOWN_TABLE: 'No such lakehouse table.',
  INVALID_QUERY: 'The query is invalid.',
  VERSION_NOT_FOUND: 'That version of the table does not exist or is no longer available.',
  INVALID_TIMESTAMP: 'The timestamp is invalid or outside the table history.',
  WRITE_CONFLICT: 'A concurrent change conflicted with this operation; retry it.',
  STORAGE_FAILURE: 'The lakehouse storage failed.',
  UNSUPPORTED_TABLE: 'The table uses a feature this version cannot handle.',
})

/** A lakehouse-layer error code. */
export type LakehouseErrorCode = keyof typeof LAKEHOUSE_ERROR_CODES

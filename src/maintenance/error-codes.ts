/**
 * Error codes of the maintenance layer.
 * @module
 */
import { defineErrorCodes, LakehouseError } from '../common/lakehouse-error.js'

/** Codes and user-safe messages of the maintenance layer. */
export const MAINTENANCE_ERROR_CODES = defineErrorCodes({
  INVALID_POLICY: 'The maintenance policy is invalid.',
  DUPLICATE_JOB: 'A maintenance table or job with this name is already registered.',
  UNKNOWN_JOB: 'No such maintenance table or job.',
  LEASE_HELD: 'Another process is running maintenance on this table.',
})

/** A maintenance-layer error code. */
export type MaintenanceErrorCode = keyof typeof MAINTENANCE_ERROR_CODES

/**
 * Creates a maintenance error.
 * @param code - the code
 * @param detail - what exactly is wrong (names the table, job or value; no secrets)
 * @returns the error
 * @internal
 */
export function maintenanceError(
  code: MaintenanceErrorCode,
  detail: string,
): LakehouseError<MaintenanceErrorCode> {
  return new LakehouseError(code, `maintenance: ${detail}`)
}

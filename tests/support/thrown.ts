import { expect } from 'vitest'
import { LakehouseError } from '../../src/common/lakehouse-error.js'

/**
 * Runs `f`, which must throw synchronously, and returns the {@link LakehouseError} it threw.
 * @param f - the call expected to throw
 * @returns the error
 * @throws Error when `f` returns, or AssertionError when it throws something else
 */
export function thrown(f: () => unknown): LakehouseError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(LakehouseError)
    return error as LakehouseError
  }
  throw new Error('expected a LakehouseError')
}

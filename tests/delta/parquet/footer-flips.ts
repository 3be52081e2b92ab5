/** Single-bit damage of a Parquet footer, for robustness tests of the reader. */
import { DeltaError } from '../../../src/delta/errors.js'
import { readParquetRows } from '../../../src/delta/parquet/index.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'

/**
 * Reads every copy of `data` with one bit of its footer flipped.
 * @param data - a Parquet file
 * @param schema - the Delta schema to read it with
 * @returns the flips whose read failed with anything but a DeltaError (empty when all is well)
 */
export async function untypedFooterFlips(data: Uint8Array, schema: StructType): Promise<string[]> {
  const footerLength = new DataView(data.buffer, data.byteOffset).getUint32(data.length - 8, true)
  const untyped: string[] = []
  for (let at = data.length - 8 - footerLength; at < data.length - 8; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = data.slice()
      damaged[at] = damaged[at]! ^ (1 << bit)
      await readParquetRows(damaged, { schema }).catch((error: unknown) => {
        if (!(error instanceof DeltaError)) untyped.push(`byte ${at} bit ${bit}: ${String(error)}`)
      })
    }
  }
  return untyped
}

/**
 * Child process of decoded-size.test.ts: reads the rows of a Parquet file of one non-null
 * boolean column `flag` and prints `rows <n>` or `error <code> <message>`.
 * Usage: node --max-old-space-size=<MiB> --import tsx read-rows.child.ts <file>
 * @module
 */
import * as fs from 'node:fs'
import { DeltaError } from '../../../src/delta/errors.js'
import { readParquetRows } from '../../../src/delta/parquet/index.js'
import { field } from '../../support/schema.js'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: read-rows.child.ts <file>')
try {
  const rows = await readParquetRows(fs.readFileSync(file), {
    schema: { type: 'struct', fields: [field('flag', 'boolean', false)] },
    fileName: 'big.parquet',
  })
  process.stdout.write(`rows ${rows.length}\n`)
} catch (error) {
  if (!(error instanceof DeltaError)) throw error
  process.stdout.write(`error ${error.code} ${error.message}\n`)
}

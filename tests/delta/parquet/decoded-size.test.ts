/**
 * The heap budget of a file's decoded rows: a file whose values would not fit in the heap is a
 * `PARQUET_ERROR` before decoding, not a process ended by V8 (which no `try` can catch).
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { checkDecodedSize } from '../../../src/delta/parquet/check-pages.js'
import { readParquetRows, writeParquet } from '../../../src/delta/parquet/index.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { field } from '../../support/schema.js'
import { cleanupTempDirs, makeTempDir } from '../../support/temp.js'

afterAll(cleanupTempDirs)

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '../../..')
const SCHEMA: StructType = { type: 'struct', fields: [field('flag', 'boolean', false)] }
const MiB = 2 ** 20

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('checkDecodedSize', () => {
  it('accepts what fits in half the heap and refuses more, naming the sizes', () => {
    // 32 bytes per value and 64 per row: 1,000 values in 1,000 rows are 96,000 bytes.
    expect(() => checkDecodedSize(1_000, 1_000, 'f.parquet', 192_000)).not.toThrow()
    let error: unknown
    try {
      checkDecodedSize(1_000, 1_000, 'f.parquet', 191_999)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DeltaError)
    expect(error).toMatchObject({ code: 'PARQUET_ERROR', context: { file: 'f.parquet' } })
    expect((error as Error).message).toMatch(
      /too large to read into memory: 1,000 values in 1,000 rows need about 1 MiB of heap/,
    )
  })

  it('leaves files of ordinary size to the reader', async () => {
    const data = writeParquet(
      Array.from({ length: 1000 }, (_, i) => ({ flag: i % 2 === 0 })),
      SCHEMA,
    )
    expect(await readParquetRows(data, { schema: SCHEMA })).toHaveLength(1000)
  })

  it('refuses a file too large for a small heap instead of ending the process', async () => {
    const dir = await makeTempDir('decoded-size-')
    const file = path.join(dir, 'big.parquet')
    // 1.5 million booleans are 12 KB on disk and well over 100 MiB as rows.
    const rows = Array.from({ length: 1_500_000 }, (_, i) => ({ flag: i % 7 === 0 }))
    await fs.writeFile(file, writeParquet(rows, SCHEMA))
    expect((await fs.stat(file)).size).toBeLessThan(MiB)
    const child = path.join(here, 'read-rows.child.ts')
    const small = await run(['--max-old-space-size=48', '--import', 'tsx', child, file])
    expect(small.stderr).toBe('')
    expect(small.code).toBe(0)
    expect(small.stdout).toMatch(/^error PARQUET_ERROR .*too large to read into memory: 1,500,000/)
    // With the default heap the same file is read.
    const normal = await run(['--import', 'tsx', child, file])
    expect(normal.stdout).toBe('rows 1500000\n')
  }, 60_000)
})

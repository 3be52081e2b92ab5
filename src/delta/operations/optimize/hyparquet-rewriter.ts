/**
 * OPTIMIZE's in-process rewriter: the rows of a bin are read with the engine's Parquet reader
 * (hyparquet), z-ordered in JavaScript when asked, cut into the planned number of files and
 * written with the engine's writer, with statistics from `collectStats` (as every write does).
 * @module
 */
import { forEachBounded } from '../../concurrency.js'
import type { AddAction } from '../../actions/actions.js'
import { readParquetRows, writeParquet } from '../../parquet/index.js'
import { collectStats, serializeStats } from '../../stats/collect-stats.js'
import { readDataFile } from '../../table/scan.js'
import { PARQUET_CREATED_BY } from '../write-files.js'
import type { OptimizeBin } from './plan.js'
import { nextOutputKey, type RewriteContext } from './rewriter.js'
import { sortByZOrder } from './z-order.js'

/** Files read (and written) concurrently. */
const IO_CONCURRENCY = 16

/**
 * Reads one data file's rows (data columns only).
 * @param context - the rewrite
 * @param add - the file
 * @returns its rows (timestamps keep their microseconds, see `schema/timestamps.ts`)
 * @throws DeltaError `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`, `SCHEMA_MISMATCH`
 */
async function readFile(
  context: RewriteContext,
  add: AddAction,
): Promise<Record<string, unknown>[]> {
  const { store, snapshot } = context
  const { key, data } = await readDataFile(store, snapshot, add, 'optimize')
  return readParquetRows(data, { schema: context.dataSchema, fileName: key })
}

/**
 * Rewrites one bin in process.
 * @param context - the rewrite
 * @param bin - the files to rewrite together
 * @returns the adds of the new files (none when the bin holds no rows)
 * @throws DeltaError `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`, `STORAGE_ERROR`
 */
export async function rewriteBinWithHyparquet(
  context: RewriteContext,
  bin: OptimizeBin,
): Promise<AddAction[]> {
  const perFile: Record<string, unknown>[][] = new Array<Record<string, unknown>[]>(
    bin.files.length,
  )
  await forEachBounded(bin.files, IO_CONCURRENCY, async (add, i) => {
    perFile[i] = await readFile(context, add)
  })
  let rows = perFile.flat()
  if (rows.length === 0) return []
  if (context.plan.zOrderBy.length > 0) rows = sortByZOrder(rows, context.plan.zOrderBy)
  const count = Math.min(bin.outputFiles, rows.length)
  const chunks: Record<string, unknown>[][] = []
  for (let i = 0; i < count; i++) {
    chunks.push(
      rows.slice(
        Math.floor((i * rows.length) / count),
        Math.floor(((i + 1) * rows.length) / count),
      ),
    )
  }
  const adds = new Array<AddAction>(chunks.length)
  const { snapshot, store } = context
  await forEachBounded(chunks, IO_CONCURRENCY, async (chunk, i) => {
    const { key, path } = nextOutputKey(context, bin.partitionValues)
    const bytes = writeParquet(chunk, context.dataSchema, { createdBy: PARQUET_CREATED_BY })
    context.written.push(key)
    await store.put(key, bytes)
    adds[i] = {
      kind: 'add',
      path,
      partitionValues: bin.partitionValues,
      size: bytes.byteLength,
      modificationTime: context.now,
      dataChange: false,
      stats: serializeStats(collectStats(chunk, snapshot.schema, context.statsColumns)),
    }
  })
  return adds
}

/**
 * OPTIMIZE's DuckDB rewriter: DuckDB reads a bin's files straight from the table directory and
 * writes the result to a private temporary directory (z-ordered and cut into the planned number
 * of files, through the Parquet adapter's `rewriteWithDuckDb`); each output file is then stored
 * through the table's store like any data file.
 *
 * Statistics come from exact aggregates over each output file (row count, and per stats column
 * null count, NaN count, min and max), turned into `add.stats` by `collectStats` itself: the
 * statistics of a set of values depend only on those aggregates, so running `collectStats` over
 * the minimum and maximum (plus a NaN when the file has one) and then setting the exact counts
 * gives byte for byte what `collectStats` writes for the full rows.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import type { AddAction, FileStats } from '../../actions/actions.js'
import { DeltaError, isDeltaError } from '../../errors.js'
import {
  duckDbReadsLiterally,
  rewriteWithDuckDb,
  type DuckDbRewrittenFile,
} from '../../parquet/index.js'
import { rewriteBinWithHyparquet } from './hyparquet-rewriter.js'
import type { StructType } from '../../schema/data-type.js'
import { collectStats, serializeStats } from '../../stats/collect-stats.js'
import { dataFileKey } from '../../table/scan.js'
import type { OptimizeBin } from './plan.js'
import { nextOutputKey, type RewriteContext } from './rewriter.js'
import { zOrderLayout } from './z-order.js'

/**
 * `add.stats` of a file from its aggregates: exactly what `collectStats` gives for its rows.
 * @param file - the written file and its aggregates
 * @param schema - the table schema
 * @param statsColumns - the stats columns (top-level paths: DuckDB rewrites flat schemas only)
 * @returns the statistics
 * @throws DeltaError `INVALID_ARGUMENT` when a stats column has no aggregate
 */
export function statsFromSummary(
  file: Pick<DuckDbRewrittenFile, 'numRecords' | 'columns'>,
  schema: StructType,
  statsColumns: readonly (readonly string[])[],
): FileStats {
  if (statsColumns.length === 0) return { numRecords: file.numRecords }
  const minRow: Record<string, unknown> = {}
  const maxRow: Record<string, unknown> = {}
  const nanRow: Record<string, unknown> = {}
  const nullCount: Record<string, number> = {}
  let sawNaN = false
  for (const p of statsColumns) {
    const name = p[0] as string
    const summary = file.columns.get(name)
    if (p.length !== 1 || summary === undefined) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta optimize: no aggregate for stats column ${JSON.stringify(p.join('.'))}`,
      )
    }
    minRow[name] = summary.min
    maxRow[name] = summary.max
    nanRow[name] = summary.nanCount > 0 ? Number.NaN : null
    if (summary.nanCount > 0) sawNaN = true
    nullCount[name] = summary.nullCount
  }
  const bounds = collectStats(
    sawNaN ? [minRow, maxRow, nanRow] : [minRow, maxRow],
    schema,
    statsColumns,
  )
  return {
    numRecords: file.numRecords,
    minValues: bounds.minValues,
    maxValues: bounds.maxValues,
    nullCount,
  }
}

function localPath(root: string, key: string): string {
  return path.join(root, ...key.split('/'))
}

/** After a DuckDB failure: a missing input file is reported as such. */
async function missingInput(
  context: RewriteContext,
  keys: readonly string[],
): Promise<string | undefined> {
  for (const key of keys) if (!(await context.store.head(key))) return key
  return undefined
}

/**
 * Rewrites one bin with DuckDB (in process when an input path holds glob characters).
 * @param context - the rewrite (its store is a `LocalFsStore`)
 * @param bin - the files to rewrite together
 * @returns the adds of the new files (none when the bin holds no rows)
 * @throws DeltaError `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`, `STORAGE_ERROR`
 */
export async function rewriteBinWithDuckDb(
  context: RewriteContext,
  bin: OptimizeBin,
): Promise<AddAction[]> {
  const { store, snapshot, plan } = context
  const root = store.location
  const keys = bin.files.map((f) => dataFileKey(snapshot, store, f.path))
  const inputs = keys.map((k) => localPath(root, k))
  // DuckDB would expand glob characters in a path; such (rare) bins are rewritten in process.
  if (!inputs.every(duckDbReadsLiterally)) return rewriteBinWithHyparquet(context, bin)
  const outputDir = await fs.mkdtemp(path.join(os.tmpdir(), 'polarway-optimize-'))
  try {
    let files: DuckDbRewrittenFile[]
    try {
      const layout = plan.zOrderBy.length > 0 ? zOrderLayout(plan.zOrderBy.length) : undefined
      files = await rewriteWithDuckDb({
        inputs,
        schema: context.dataSchema,
        outputDir,
        statsColumns: context.statsColumns.map((p) => p[0] as string),
        expectedRows: bin.numRecords,
        zOrder: layout && {
          columns: plan.zOrderBy.map((c) => c.name),
          bitsPerColumn: layout.bitsPerColumn,
          positions: layout.positions,
          outputFiles: bin.outputFiles,
        },
      })
    } catch (cause) {
      const missing = isDeltaError(cause, 'PARQUET_ERROR')
        ? await missingInput(context, keys)
        : undefined
      if (missing === undefined) throw cause
      throw new DeltaError(
        'DATA_FILE_NOT_FOUND',
        `delta optimize: data file ${missing} of table ${snapshot.location} at version ` +
          `${snapshot.version} is missing`,
        { cause, context: { table: snapshot.location, version: snapshot.version, file: missing } },
      )
    }
    const adds: AddAction[] = []
    for (const file of files) {
      const bytes = await fs.readFile(file.path)
      const { key, path: addPath } = nextOutputKey(context, bin.partitionValues)
      context.written.push(key)
      await store.put(key, bytes)
      adds.push({
        kind: 'add',
        path: addPath,
        partitionValues: bin.partitionValues,
        size: bytes.byteLength,
        modificationTime: context.now,
        dataChange: false,
        stats: serializeStats(statsFromSummary(file, snapshot.schema, context.statsColumns)),
      })
    }
    return adds
  } finally {
    await fs.rm(outputDir, { recursive: true, force: true })
  }
}

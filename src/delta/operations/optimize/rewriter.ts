/**
 * What OPTIMIZE's two rewriters share: the context of one rewrite, output file naming, the data
 * schema and statistics columns, and the choice between the engines.
 *
 * - `hyparquet`: rows are read into the engine's value representation and written with the
 *   engine's own Parquet writer. No start-up cost, works on every store and schema; timestamps
 *   keep their microseconds (`schema/timestamps.ts`).
 * - `duckdb`: DuckDB reads the input files and writes the output with `COPY` (much faster on
 *   large inputs). Needs files on the local file system and a flat schema, and pays DuckDB's
 *   start-up once per process.
 *
 * `auto` takes DuckDB when it can run and the rewrite holds many rows for its number of files
 * (see {@link prefersDuckDb}), and hyparquet otherwise. The cost model comes from the
 * measurements in `bench/RESULTS.md` (`optimize` and `zorder` benchmarks): in process, a file
 * costs little to open but every row is decoded into an object and encoded again; DuckDB pays a
 * fixed cost and more per file, but almost nothing per row.
 * @module
 */
import type { PartitionValues } from '../../actions/actions.js'
import { DeltaError } from '../../errors.js'
import { duckDbAvailable, duckDbSupportsSchema } from '../../parquet/index.js'
import type { StructType } from '../../schema/data-type.js'
import { encodeAddPath, partitionDirectory } from '../../schema/paths.js'
import type { Snapshot } from '../../snapshot/snapshot.js'
import { statsColumnsFor } from '../../stats/collect-stats.js'
import { LocalFsStore } from '../../storage/local-fs-store.js'
import type { ObjectStore } from '../../storage/object-store.js'
import type { OptimizePlan } from './plan.js'

/** The rewrite engines. */
export type RewriteEngine = 'hyparquet' | 'duckdb'

/** Engine selection: an engine, or `auto` (see the module documentation). */
export type RewriteEngineChoice = RewriteEngine | 'auto'

/** Rows from which `auto` prefers DuckDB, on top of {@link DUCKDB_ROWS_PER_FILE} per file. */
export const DUCKDB_MIN_ROWS = 10_000

/** Rows per input file that make up for DuckDB's higher per-file cost. */
export const DUCKDB_ROWS_PER_FILE = 50

/** Rough bytes per row, for files whose statistics have no row count. */
const BYTES_PER_ROW_GUESS = 64

/**
 * Whether DuckDB is expected to rewrite these bins faster than the in-process engine: when
 * they hold more than `DUCKDB_MIN_ROWS + DUCKDB_ROWS_PER_FILE * files` rows.
 * @param plan - the plan
 * @returns true when DuckDB is the faster engine
 */
export function prefersDuckDb(plan: OptimizePlan): boolean {
  let files = 0
  let rows = 0
  for (const bin of plan.bins) {
    files += bin.files.length
    rows += bin.numRecords ?? Math.ceil(bin.totalBytes / BYTES_PER_ROW_GUESS)
  }
  return rows > DUCKDB_MIN_ROWS + DUCKDB_ROWS_PER_FILE * files
}

/** Everything a rewriter needs for the bins of one OPTIMIZE. */
export interface RewriteContext {
  readonly store: ObjectStore
  readonly snapshot: Snapshot
  readonly plan: OptimizePlan
  /** The table schema without partition columns: what data files hold. */
  readonly dataSchema: StructType
  /** Leaf paths that get statistics (`statsColumnsFor`). */
  readonly statsColumns: readonly (readonly string[])[]
  /** `modificationTime` of the new files. */
  readonly now: number
  /** Unique id shared by this operation's file names. */
  readonly writeId: string
  /** Store keys of every file written so far (deleted again if the operation fails). */
  readonly written: string[]
  /** Next file number (unique within the operation). */
  nextFile: number
}

/**
 * The data schema and statistics columns of a snapshot.
 * @param snapshot - the snapshot
 * @returns the schema of the data files and the stats column paths
 * @throws DeltaError `INVALID_ARGUMENT` for malformed stats table properties
 */
export function dataLayout(snapshot: Snapshot): {
  dataSchema: StructType
  statsColumns: string[][]
} {
  const partitions = new Set(snapshot.partitionColumns)
  return {
    dataSchema: {
      type: 'struct',
      fields: snapshot.schema.fields.filter((f) => !partitions.has(f.name)),
    },
    statsColumns: statsColumnsFor(
      snapshot.schema,
      snapshot.metadata.configuration,
      snapshot.partitionColumns,
    ),
  }
}

/**
 * Reserves the store key of a new data file in a partition.
 * @param context - the rewrite (its file counter advances)
 * @param partitionValues - the partition of the file
 * @returns the store key (decoded) and the `add.path` (encoded)
 */
export function nextOutputKey(
  context: RewriteContext,
  partitionValues: PartitionValues,
): { key: string; path: string } {
  const partitions = context.snapshot.partitionColumns
  const dir = partitions.length > 0 ? `${partitionDirectory(partitions, partitionValues)}/` : ''
  const n = context.nextFile++
  const key = `${dir}part-${String(n).padStart(5, '0')}-${context.writeId}-c000.snappy.parquet`
  return { key, path: encodeAddPath(key) }
}

/**
 * Why DuckDB cannot rewrite this table, or undefined when it can.
 * @param store - the table's store
 * @param dataSchema - the data schema
 * @returns the reason, for messages
 */
function duckDbObstacle(store: ObjectStore, dataSchema: StructType): string | undefined {
  if (!(store instanceof LocalFsStore)) return 'the table is not on the local file system'
  if (!duckDbSupportsSchema(dataSchema)) return 'the table has nested columns'
  return undefined
}

/** How the bins of one OPTIMIZE are rewritten. */
export interface RewriteStrategy {
  /** The engine that rewrites the bins. */
  readonly engine: RewriteEngine
}

/**
 * Chooses how to rewrite (see the module documentation).
 * @param choice - an engine, or `auto`
 * @param store - the table's store
 * @param plan - the plan (its files and rows count)
 * @param dataSchema - the data schema
 * @returns the strategy
 * @throws DeltaError `INVALID_ARGUMENT` when `duckdb` is demanded but cannot run here
 */
export async function chooseRewriteStrategy(
  choice: RewriteEngineChoice,
  store: ObjectStore,
  plan: OptimizePlan,
  dataSchema: StructType,
): Promise<RewriteStrategy> {
  if (choice === 'hyparquet') return { engine: 'hyparquet' }
  const obstacle = duckDbObstacle(store, dataSchema)
  if (choice === 'duckdb') {
    const reason = obstacle ?? ((await duckDbAvailable()) ? undefined : 'DuckDB cannot be loaded')
    if (reason !== undefined) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `delta optimize: cannot rewrite with DuckDB: ${reason}`,
      )
    }
    return { engine: 'duckdb' }
  }
  if (obstacle !== undefined) return { engine: 'hyparquet' }
  if (prefersDuckDb(plan) && (await duckDbAvailable())) return { engine: 'duckdb' }
  return { engine: 'hyparquet' }
}

/**
 * The DuckDB side of the Parquet adapter: bulk rewrites of local Parquet files (OPTIMIZE's
 * compaction and Z-order) run entirely inside DuckDB (`@duckdb/node-api`), which reads the
 * inputs and writes the outputs with `COPY` without materializing rows as JavaScript objects.
 *
 * The library is loaded lazily, with a dynamic import on first use, so that plain reads and
 * writes (hyparquet) never pay its start-up; one in-memory instance serves the process.
 *
 * Written files follow the Delta type mapping of `write-parquet.ts` (every column is CAST to the
 * DuckDB type of its Delta type, whatever the input file holds): string → BYTE_ARRAY UTF8,
 * long → INT64, integer → INT32, short/byte → INT32 (INT_16/INT_8), float/double, boolean,
 * binary → BYTE_ARRAY, date → INT32 DATE, timestamp → INT64 TIMESTAMP(MICROS, UTC) (TIMESTAMPTZ),
 * timestamp_ntz → INT64 TIMESTAMP(MICROS, local), decimal(p,s) → INT32/INT64/FIXED_LEN_BYTE_ARRAY
 * DECIMAL(p,s); snappy-compressed, every column OPTIONAL (as Spark writes). Only flat schemas
 * (primitive columns) are handled here ({@link duckDbSupportsSchema}).
 *
 * Per output file the module reports exact aggregates of the rows written (row count, and per
 * requested column the null count, NaN count, min and max in the engine's value representation),
 * from which the caller derives Delta statistics.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import { DeltaError, InternalError } from '../errors.js'
import { decimalParams, type PrimitiveType, type StructType } from '../schema/data-type.js'
import { errorMessage } from './parquet-error.js'
import { timestampFromMicros } from '../schema/timestamps.js'
import { formatEpochDays } from './value-conversions.js'

/** Z-order clustering of a rewrite (the key layout comes from the optimize planner). */
export interface DuckDbZOrder {
  /** The z-order columns (top-level names of `schema`). */
  readonly columns: readonly string[]
  /** Bits of each column's scaled rank. */
  readonly bitsPerColumn: number
  /** `positions[c][i]`: key bit (from the least significant) receiving rank bit `i` (from the most significant) of column `c`. */
  readonly positions: readonly (readonly number[])[]
  /** Number of files to cut the sorted rows into (equal row counts). */
  readonly outputFiles: number
}

/** A rewrite request. */
export interface DuckDbRewriteRequest {
  /** Absolute paths of the input Parquet files. */
  readonly inputs: readonly string[]
  /** The flat Delta schema of the output (columns missing from every input are written null). */
  readonly schema: StructType
  /** An empty directory for the output files. */
  readonly outputDir: string
  /** Top-level columns to aggregate for statistics. */
  readonly statsColumns: readonly string[]
  /** Without it, all rows go to one file in input order. */
  readonly zOrder?: DuckDbZOrder
  /**
   * The number of input rows when known (from statistics); the output is checked against it,
   * and against a count of the inputs when it differs or is unknown.
   */
  readonly expectedRows?: number
}

/** Exact aggregates of one column over the rows of one output file. */
export interface DuckDbColumnSummary {
  readonly nullCount: number
  /** NaN values (float and double columns only, else 0). */
  readonly nanCount: number
  /** Minimum non-null value in the engine's representation, null when all values are null or the type has no min/max. */
  readonly min: unknown
  /** Maximum, as `min`. */
  readonly max: unknown
}

/** One written file. */
export interface DuckDbRewrittenFile {
  /** Absolute path of the file. */
  readonly path: string
  /** Rows in the file. */
  readonly numRecords: number
  /** Aggregates per requested stats column. */
  readonly columns: ReadonlyMap<string, DuckDbColumnSummary>
}

/** Prefix of the helper columns of generated queries. */
const INTERNAL_PREFIX = '__polarway_'
/** The output-file column of a z-order rewrite (DuckDB's PARTITION_BY directory name). */
const FILE_COLUMN = `${INTERNAL_PREFIX}file`
const FILE_DIR_RE = new RegExp(`${FILE_COLUMN}=(\\d+)`)

let instancePromise: Promise<DuckDBInstance> | undefined

/**
 * Loads DuckDB and creates the process-wide instance (once).
 * @returns the instance
 * @throws DeltaError `PARQUET_ERROR` when the library cannot be loaded
 */
function loadInstance(): Promise<DuckDBInstance> {
  instancePromise ??= (async () => {
    try {
      const { DuckDBInstance } = await import('@duckdb/node-api')
      const tempDir = path.join(os.tmpdir(), `polarway-duckdb-${process.pid}`)
      // Spilling goes to the system temp directory, never to the caller's working directory.
      const db = await DuckDBInstance.create(':memory:', { temp_directory: tempDir })
      const connection = await db.connect()
      try {
        // Footers are read once per rewrite instead of once per statement.
        await connection.run('SET GLOBAL parquet_metadata_cache = true')
        // Rewrites never depend on row order (z-order assigns files explicitly): let DuckDB
        // write without re-sequencing its parallel pipelines.
        await connection.run('SET GLOBAL preserve_insertion_order = false')
      } finally {
        connection.closeSync()
      }
      return db
    } catch (cause) {
      throw new DeltaError('PARQUET_ERROR', `parquet: cannot load DuckDB: ${errorMessage(cause)}`, {
        cause,
      })
    }
  })()
  return instancePromise
}

/**
 * Whether DuckDB can be loaded in this process (it is a native module).
 * @returns true when rewrites can run in DuckDB
 */
export async function duckDbAvailable(): Promise<boolean> {
  try {
    await loadInstance()
    return true
  } catch {
    return false
  }
}

const DUCKDB_TYPES: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
}

function duckDbType(type: PrimitiveType): string | undefined {
  const decimal = decimalParams(type)
  if (decimal) return `DECIMAL(${decimal.precision},${decimal.scale})`
  return DUCKDB_TYPES[type]
}

/**
 * Whether a schema can be rewritten by DuckDB: flat, primitive columns only (void allowed).
 * @param schema - the data schema
 * @returns true when every column has a DuckDB mapping
 */
export function duckDbSupportsSchema(schema: StructType): boolean {
  return schema.fields.every(
    (f) => typeof f.type === 'string' && (f.type === 'void' || duckDbType(f.type) !== undefined),
  )
}

/**
 * Whether DuckDB reads a path literally: it expands glob patterns (`*`, `?`, `[...]`, `{...}`)
 * in every path it is given, so paths containing those characters are not handed to it.
 * @param filePath - an absolute path
 * @returns true when the path holds no glob character
 */
export function duckDbReadsLiterally(filePath: string): boolean {
  return !/[*?[\]{}]/.test(filePath)
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** Runs a query and returns its rows as JavaScript values. */
async function query(connection: DuckDBConnection, sql: string): Promise<unknown[][]> {
  const reader = await connection.runAndReadAll(sql)
  return reader.getRowsJS()
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort()
}

/** The columns the inputs hold (reading every footer). */
async function describe(connection: DuckDBConnection, source: string): Promise<string[]> {
  const described = await query(connection, `DESCRIBE SELECT * FROM ${source}`)
  return described.map((r) => String(r[0]))
}

/**
 * The projection casting every data column to its Delta type; a column that `present` (when
 * given) lacks is written as null.
 */
function projection(schema: StructType, present: readonly string[] | undefined): string {
  const items: string[] = []
  for (const field of schema.fields) {
    if (field.type === 'void') continue
    const type = duckDbType(field.type as PrimitiveType) as string
    const lower = field.name.toLowerCase()
    const name =
      present === undefined || present.includes(field.name)
        ? field.name
        : present.find((p) => p.toLowerCase() === lower)
    const value = name === undefined ? 'NULL' : ident(name)
    items.push(`CAST(${value} AS ${type}) AS ${ident(field.name)}`)
  }
  return items.join(', ')
}

/** SQL of the aggregates of one stats column; the summary is rebuilt by {@link summarize}. */
function aggregates(name: string, type: PrimitiveType): string[] {
  const c = ident(name)
  const out = [`count(*) - count(${c})`]
  out.push(type === 'float' || type === 'double' ? `count(*) FILTER (WHERE isnan(${c}))` : '0')
  switch (type) {
    case 'boolean':
    case 'binary':
    case 'void':
      out.push('NULL', 'NULL')
      break
    case 'date':
      out.push(`min(${c}) - DATE '1970-01-01'`, `max(${c}) - DATE '1970-01-01'`)
      break
    case 'timestamp':
    case 'timestamp_ntz':
      out.push(`epoch_us(min(${c}))`, `epoch_us(max(${c}))`)
      break
    case 'float':
    case 'double':
      out.push(`CAST(min(${c}) AS DOUBLE)`, `CAST(max(${c}) AS DOUBLE)`)
      break
    default:
      if (decimalParams(type)) {
        out.push(`CAST(min(${c}) AS VARCHAR)`, `CAST(max(${c}) AS VARCHAR)`)
      } else {
        out.push(`min(${c})`, `max(${c})`)
      }
  }
  return out
}

/** Converts a DuckDB min/max to the engine's representation of the Delta type. */
function engineValue(type: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (type) {
    case 'long':
      return BigInt(value as bigint | number)
    case 'integer':
    case 'short':
    case 'byte':
    case 'float':
    case 'double':
      return Number(value)
    case 'date':
      return formatEpochDays(Number(value))
    case 'timestamp':
    case 'timestamp_ntz':
      return timestampFromMicros(BigInt(value as bigint | number))
    default:
      return value
  }
}

async function summarize(
  connection: DuckDBConnection,
  files: readonly string[],
  schema: StructType,
  statsColumns: readonly string[],
): Promise<DuckDbRewrittenFile[]> {
  if (files.length === 0) return []
  const columns = statsColumns.map((name) => {
    const field = schema.fields.find((f) => f.name === name)
    if (!field || typeof field.type !== 'string') {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `parquet: stats column ${JSON.stringify(name)} is not a primitive column of the rewrite schema`,
      )
    }
    return { name, type: field.type }
  })
  const selects = columns.flatMap((c) => aggregates(c.name, c.type))
  const list = `[${files.map(literal).join(', ')}]`
  const rows = await query(
    connection,
    `SELECT filename, count(*)${selects.map((s) => `, ${s}`).join('')} ` +
      `FROM read_parquet(${list}, filename = true, hive_partitioning = false) GROUP BY filename`,
  )
  const byFile = new Map(rows.map((r) => [String(r[0]), r]))
  return files.map((file) => {
    const row = byFile.get(file)
    const summaries = new Map<string, DuckDbColumnSummary>()
    columns.forEach((c, i) => {
      const at = 2 + i * 4
      summaries.set(c.name, {
        nullCount: row ? Number(row[at]) : 0,
        nanCount: row ? Number(row[at + 1]) : 0,
        min: row ? engineValue(c.type, row[at + 2]) : null,
        max: row ? engineValue(c.type, row[at + 3]) : null,
      })
    })
    return { path: file, numRecords: row ? Number(row[1]) : 0, columns: summaries }
  })
}

/**
 * The Z-order rewrite as one query. Rows are never sorted themselves (sorting wide rows is the
 * expensive part): the distinct combinations of z-order values ("cells", with their row counts)
 * get their key from per-column rank tables, a running count over the cells in key order (then
 * column order, nulls first) gives each cell its output file, and one hash join hands every row
 * the file of its cell. Rows of one cell therefore share a file.
 */
function zOrderQuery(source: string, zOrder: DuckDbZOrder): string {
  const bits = zOrder.bitsPerColumn
  const columns = zOrder.columns.map(ident)
  // Internal column names cannot collide with the table's z-order columns in the same scope.
  const count = ident(`${INTERNAL_PREFIX}rows`)
  const key = ident(`${INTERNAL_PREFIX}key`)
  const file = ident(FILE_COLUMN)
  const files = Math.max(1, zOrder.outputFiles)
  const ranks = columns.map((column, c) => {
    const positions = zOrder.positions[c] ?? []
    const spread = positions.map((to, i) => `(((s >> ${bits - 1 - i}) & 1) << ${to})`).join(' | ')
    // Bucket of the rank (z-order.ts `scaleRank`); bits <= 32 and count < 2^32 keep it in UBIGINT.
    return (
      `z${c} AS (SELECT v, ${spread} AS k FROM (` +
      `SELECT v, CASE WHEN n <= ${2 ** bits} THEN r ELSE (r << ${bits}) // n END AS s FROM (` +
      `SELECT v, (row_number() OVER (ORDER BY v NULLS FIRST) - 1)::UBIGINT AS r, ` +
      `count(*) OVER ()::UBIGINT AS n FROM (SELECT DISTINCT ${column} AS v FROM cells))))`
    )
  })
  const spreadKeys = columns.map((_, c) => `z${c}.k`).join(' | ')
  const rankJoins = columns
    .map((column, c) => `JOIN z${c} ON cells.${column} IS NOT DISTINCT FROM z${c}.v`)
    .join(' ')
  const order = columns.map((column) => `${column} NULLS FIRST`).join(', ')
  const cellJoin = columns
    .map((column) => `src.${column} IS NOT DISTINCT FROM placed.${column}`)
    .join(' AND ')
  return (
    `WITH cells AS (SELECT ${columns.join(', ')}, count(*) AS ${count} FROM ${source} GROUP BY ALL), ` +
    `${ranks.join(', ')}, ` +
    `keyed AS (SELECT cells.*, ${spreadKeys} AS ${key} FROM cells ${rankJoins}), ` +
    `placed AS (SELECT ${columns.join(', ')}, ` +
    `((sum(${count}) OVER (ORDER BY ${key}, ${order}) - ${count}) * ${files}) // ` +
    `(sum(${count}) OVER ()) AS ${file} ` +
    `FROM keyed) ` +
    `SELECT src.*, placed.${file} FROM ${source} AS src JOIN placed ON ${cellJoin}`
  )
}

/**
 * Rewrites Parquet files with DuckDB: all input rows into one output file, or, with `zOrder`,
 * clustered by the Z-order key (then by the z-order columns, nulls first) and cut into about
 * `zOrder.outputFiles` files of equal row counts. Files with zero rows are not reported.
 * @param request - inputs, schema, output directory, statistics columns, z-order
 * @returns the written files with their aggregates, in output order
 * @throws DeltaError `PARQUET_ERROR` when DuckDB cannot be loaded or fails (unreadable input,
 *   incompatible column types, I/O)
 */
export async function rewriteWithDuckDb(
  request: DuckDbRewriteRequest,
): Promise<DuckDbRewrittenFile[]> {
  const db = await loadInstance()
  const connection = await db.connect()
  try {
    await connection.run(`SET TimeZone = 'UTC'`)
    const list = `[${request.inputs.map(literal).join(', ')}]`
    const options = 'FORMAT parquet, COMPRESSION snappy'
    const zOrder = request.zOrder
    const copy = async (unionByName: boolean): Promise<void> => {
      const source =
        `read_parquet(${list}, ${unionByName ? 'union_by_name = true, ' : ''}` +
        'hive_partitioning = false)'
      const present = unionByName ? await describe(connection, source) : undefined
      const select = `(SELECT ${projection(request.schema, present)} FROM ${source})`
      if (!zOrder) {
        const target = path.join(request.outputDir, 'part-0.parquet')
        await connection.run(`COPY ${select} TO ${literal(target)} (${options})`)
      } else {
        await connection.run(
          `COPY (${zOrderQuery(select, zOrder)}) TO ${literal(request.outputDir)} ` +
            `(${options}, PARTITION_BY (${ident(FILE_COLUMN)}), OVERWRITE_OR_IGNORE)`,
        )
      }
    }
    try {
      // Inputs normally share the table's columns: bind by name from the first footer. Files
      // written before a column was added make this fail (DuckDB never guesses); then every
      // footer is read to fill the missing columns with nulls.
      await copy(false)
    } catch {
      await fs.rm(request.outputDir, { recursive: true, force: true })
      await fs.mkdir(request.outputDir, { recursive: true })
      await copy(true)
    }
    const written = await listFiles(request.outputDir)
    const summaries = await summarize(connection, written, request.schema, request.statsColumns)
    const total = summaries.reduce((sum, f) => sum + f.numRecords, 0)
    if (total !== request.expectedRows) {
      // Statistics may lack or misstate counts: check against the inputs themselves.
      const source = `read_parquet(${list}, union_by_name = true, hive_partitioning = false)`
      const [count] = await query(connection, `SELECT count(*) FROM ${source}`)
      const rows = Number(count?.[0] ?? 0)
      if (total !== rows) {
        // Each row joins exactly one cell; anything else is a bug, and the files must not be
        // committed.
        throw new InternalError(
          `parquet: DuckDB rewrite wrote ${total} rows for ${rows} input rows (${request.outputDir})`,
        )
      }
    }
    // Output order: by the file index DuckDB put into the directory name (`<column>=<n>`).
    const index = (p: string): number => Number(FILE_DIR_RE.exec(p)?.[1] ?? 0)
    return summaries
      .filter((f) => f.numRecords > 0)
      .sort((a, b) => index(a.path) - index(b.path) || (a.path < b.path ? -1 : 1))
  } catch (cause) {
    if (cause instanceof DeltaError) throw cause
    throw new DeltaError(
      'PARQUET_ERROR',
      `parquet: DuckDB rewrite failed: ${errorMessage(cause)}`,
      {
        cause,
      },
    )
  } finally {
    connection.closeSync()
  }
}

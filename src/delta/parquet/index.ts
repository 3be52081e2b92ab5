/**
 * The one adapter over the Parquet libraries (hyparquet, hyparquet-writer) and the engine's own
 * writer (`write-direct.ts`): every other part of the engine reads and writes Parquet through
 * these exports only.
 * @module
 */
export { readParquetMetadata, readParquetRows } from './read-parquet.js'
export type {
  ParquetColumnChunkInfo,
  ParquetColumnInfo,
  ParquetRowGroupInfo,
  ReadParquetMetadataResult,
  ReadParquetRowsOptions,
} from './read-parquet.js'
export { openParquetColumns } from './read-columns.js'
export type { LeafColumn, LeafValue, ParquetColumns, ParquetSchemaNode } from './read-columns.js'
export { DEFAULT_CREATED_BY, writeParquet, writeParquetYielding } from './write-parquet.js'
export { replaceColumns } from './replace-columns.js'
export type { ReplaceColumnsOptions } from './replace-columns.js'
export type { WriteParquetOptions } from './write-parquet.js'
export {
  duckDbAvailable,
  duckDbReadsLiterally,
  duckDbSupportsSchema,
  rewriteWithDuckDb,
} from './duckdb.js'
export type {
  DuckDbColumnSummary,
  DuckDbRewriteRequest,
  DuckDbRewrittenFile,
  DuckDbZOrder,
} from './duckdb.js'

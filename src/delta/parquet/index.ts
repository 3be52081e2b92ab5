/**
 * The one adapter over the Parquet libraries (hyparquet, hyparquet-writer): every other part of
 * the engine reads and writes Parquet through these exports only.
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
export { DEFAULT_CREATED_BY, writeParquet } from './write-parquet.js'
export type { WriteParquetOptions } from './write-parquet.js'

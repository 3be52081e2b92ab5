/**
 * OPTIMIZE planning (digest sections 7.3 and 7.4): which files of which partitions are rewritten
 * together, as a plain {@link OptimizePlan} object that the executor applies and a dry run
 * returns. Planning reads only the snapshot (no data files) and validates every option first.
 *
 * - **Compaction** (bin-packing, as delta-rs): per partition, files larger than the target size
 *   are skipped; the others are packed first-fit-decreasing (largest first, each into the first
 *   bin whose total stays within the target, else a new bin); bins holding a single file are
 *   dropped, since rewriting one file alone changes nothing.
 * - **Z-order**: every file of each selected partition is rewritten as one unit (delta-rs does
 *   the same; Spark uses one unbounded bin per partition), cut into about
 *   `ceil(partition bytes / target size)` files.
 * @module
 */
import type { AddAction, PartitionValues } from '../../actions/actions.js'
import { DeltaError } from '../../errors.js'
import { bindExpression } from '../../expr/bind-expression.js'
import { describeExpression, type Expression } from '../../expr/expression.js'
import { fileMayMatch, parseStats } from '../../expr/skipping.js'
import { findField, isPrimitiveType, type PrimitiveType } from '../../schema/data-type.js'
import { previewValue } from '../../schema/values.js'
import type { Snapshot } from '../../snapshot/snapshot.js'

/** Target file size when neither the call nor `delta.targetFileSize` gives one (as delta-rs). */
export const DEFAULT_TARGET_FILE_SIZE = 100 * 1024 * 1024

/** Options of OPTIMIZE. */
export interface OptimizeOptions {
  /**
   * Target size of the written files in bytes (default: table property `delta.targetFileSize`,
   * else 100 MiB). Compaction skips files larger than this.
   */
  readonly targetFileSize?: number
  /** Only optimize partitions matching this predicate over partition columns. */
  readonly partitionFilter?: Expression
  /** Cluster rows along a Z-order curve over these (non-partition) columns. */
  readonly zOrder?: readonly string[]
  /** Plan only: return the plan and its metrics, write and commit nothing. */
  readonly dryRun?: boolean
  /** Maximum commit attempts. */
  readonly maxAttempts?: number
}

/** One unit of rewrite work: files of one partition rewritten together. */
export interface OptimizeBin {
  /** The partition (serialized values, as in the log). */
  readonly partitionValues: PartitionValues
  /** The files to rewrite, in a stable order. */
  readonly files: readonly AddAction[]
  /** Sum of the files' sizes in bytes. */
  readonly totalBytes: number
  /** Sum of the files' `numRecords`, undefined when a file has no statistics. */
  readonly numRecords: number | undefined
  /** How many files the rows are written to. */
  readonly outputFiles: number
}

/** A z-order column resolved against the schema. */
export interface PlannedZOrderColumn {
  /** The name as spelled in the schema. */
  readonly name: string
  readonly type: PrimitiveType
}

/** What an OPTIMIZE will do. */
export interface OptimizePlan {
  /** Compaction alone, or Z-order clustering. */
  readonly kind: 'compact' | 'zOrder'
  /** Version of the snapshot the plan was made from. */
  readonly readVersion: number
  /** Target file size in bytes. */
  readonly targetFileSize: number
  /** Z-order columns (empty for compaction). */
  readonly zOrderBy: readonly PlannedZOrderColumn[]
  /** The partition filter as text (empty when none), for `operationParameters.predicate`. */
  readonly predicate: readonly string[]
  /** The rewrite units, in a stable order (by partition, then bin). */
  readonly bins: readonly OptimizeBin[]
  /** Files in the selected partitions. */
  readonly totalConsideredFiles: number
  /** Considered files left alone (larger than the target, or alone in their bin). */
  readonly totalFilesSkipped: number
  /** Partitions with at least one bin. */
  readonly partitionsOptimized: number
}

/** Size distribution of a set of files (delta-rs's `MetricDetails`). */
export interface FileSizeMetrics {
  readonly min: number
  readonly max: number
  readonly avg: number
  readonly totalFiles: number
  readonly totalSize: number
}

/**
 * The size distribution of files; all zero for no files.
 * @param sizes - file sizes in bytes
 * @returns min, max, average, count and total
 */
export function fileSizeMetrics(sizes: readonly number[]): FileSizeMetrics {
  if (sizes.length === 0) return { min: 0, max: 0, avg: 0, totalFiles: 0, totalSize: 0 }
  let min = Number.POSITIVE_INFINITY
  let max = 0
  let total = 0
  for (const s of sizes) {
    if (s < min) min = s
    if (s > max) max = s
    total += s
  }
  return { min, max, avg: total / sizes.length, totalFiles: sizes.length, totalSize: total }
}

function invalid(message: string, context: Record<string, string | number> = {}): never {
  throw new DeltaError('INVALID_ARGUMENT', `delta optimize: ${message}`, { context })
}

function resolveTargetSize(snapshot: Snapshot, given: unknown): number {
  if (given !== undefined) {
    if (typeof given !== 'number' || !Number.isSafeInteger(given) || given <= 0) {
      invalid(
        `targetFileSize must be a positive integer number of bytes, got ${previewValue(given)}`,
        { targetFileSize: previewValue(given) },
      )
    }
    return given
  }
  const configured = snapshot.config.targetFileSize
  if (configured === undefined) return DEFAULT_TARGET_FILE_SIZE
  if (configured <= 0) {
    invalid(
      `table ${snapshot.location} has delta.targetFileSize=${configured}, which is not a positive size`,
      { property: 'delta.targetFileSize' },
    )
  }
  return configured
}

function resolveZOrder(snapshot: Snapshot, given: unknown): PlannedZOrderColumn[] {
  if (given === undefined) return []
  if (!Array.isArray(given) || given.length === 0) {
    invalid('zOrder must be a non-empty array of column names')
  }
  const partitions = new Set(snapshot.partitionColumns)
  const seen = new Set<string>()
  return (given as unknown[]).map((name) => {
    if (typeof name !== 'string' || name.length === 0) {
      invalid(`zOrder column names must be non-empty strings, got ${JSON.stringify(name)}`)
    }
    const field = findField(snapshot.schema, name)
    if (!field) {
      throw new DeltaError(
        'COLUMN_NOT_FOUND',
        `delta optimize: z-order column ${JSON.stringify(name)} does not exist in table ${snapshot.location}`,
        { context: { table: snapshot.location, column: name } },
      )
    }
    if (partitions.has(field.name)) {
      invalid(
        `z-order column ${JSON.stringify(field.name)} is a partition column of table ${snapshot.location}; ` +
          'rows of a partition all share its value',
        { column: field.name },
      )
    }
    const type = field.type
    if (!isPrimitiveType(type) || type === 'binary' || type === 'void') {
      const shown = typeof type === 'string' ? type : type.type
      invalid(
        `z-order column ${JSON.stringify(field.name)} has type ${shown}; z-order needs a ` +
          'string, number, boolean, date, timestamp or decimal column',
        { column: field.name },
      )
    }
    if (seen.has(field.name)) {
      invalid(`z-order column ${JSON.stringify(field.name)} is listed twice`, {
        column: field.name,
      })
    }
    seen.add(field.name)
    return { name: field.name, type }
  })
}

function selectFiles(
  snapshot: Snapshot,
  filter: Expression | undefined,
): { files: AddAction[]; predicate: string[] } {
  const files = snapshot.files()
  if (filter === undefined) return { files, predicate: [] }
  const bound = bindExpression(filter, snapshot.schema)
  const partitions = new Set(snapshot.partitionColumns)
  for (const column of bound.columns) {
    if (!partitions.has(column)) {
      invalid(
        `partitionFilter may only reference partition columns; ${JSON.stringify(column)} is not ` +
          `a partition column of table ${snapshot.location}`,
        { column },
      )
    }
  }
  const parts = snapshot.partitionColumns
  return {
    files: files.filter((f) =>
      fileMayMatch(bound, { partitionValues: f.partitionValues, stats: undefined }, parts),
    ),
    predicate: [describeExpression(filter)],
  }
}

function byPath(a: AddAction, b: AddAction): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0
}

function groupByPartition(
  files: readonly AddAction[],
  partitionColumns: readonly string[],
): { values: PartitionValues; files: AddAction[] }[] {
  const groups = new Map<string, { values: PartitionValues; files: AddAction[] }>()
  for (const f of files) {
    const key = JSON.stringify(partitionColumns.map((c) => f.partitionValues[c] ?? null))
    let group = groups.get(key)
    if (!group) {
      group = { values: f.partitionValues, files: [] }
      groups.set(key, group)
    }
    group.files.push(f)
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, g]) => g)
}

function makeBin(
  partitionValues: PartitionValues,
  files: AddAction[],
  outputFiles: number,
): OptimizeBin {
  let totalBytes = 0
  let numRecords: number | undefined = 0
  for (const f of files) {
    totalBytes += f.size
    const n = parseStats(f.stats)?.numRecords
    numRecords = typeof n === 'number' && numRecords !== undefined ? numRecords + n : undefined
  }
  return { partitionValues, files, totalBytes, numRecords, outputFiles }
}

/**
 * Packs files into bins of at most `target` bytes, first-fit-decreasing.
 * @param files - candidate files (each at most `target` bytes)
 * @param target - bin capacity
 * @returns the bins, each a list of files (largest first)
 */
export function packBins(files: readonly AddAction[], target: number): AddAction[][] {
  const sorted = [...files].sort((a, b) => b.size - a.size || byPath(a, b))
  const bins: { files: AddAction[]; bytes: number }[] = []
  for (const f of sorted) {
    const bin = bins.find((b) => b.bytes + f.size <= target)
    if (bin) {
      bin.files.push(f)
      bin.bytes += f.size
    } else {
      bins.push({ files: [f], bytes: f.size })
    }
  }
  return bins.map((b) => b.files)
}

/**
 * Plans an OPTIMIZE of a snapshot.
 * @param snapshot - the snapshot to optimize
 * @param options - target size, partition filter, z-order columns
 * @returns the plan (no bins when there is nothing to do)
 * @throws DeltaError `INVALID_ARGUMENT` (bad target size, a partition filter on a data column, a
 *   z-order column that is a partition column, nested, binary, or listed twice),
 *   `COLUMN_NOT_FOUND` (unknown column in the filter or the z-order list),
 *   `INVALID_EXPRESSION` (malformed filter)
 */
export function planOptimize(snapshot: Snapshot, options: OptimizeOptions = {}): OptimizePlan {
  const targetFileSize = resolveTargetSize(snapshot, options.targetFileSize)
  const zOrderBy = resolveZOrder(snapshot, options.zOrder)
  const { files, predicate } = selectFiles(snapshot, options.partitionFilter)
  const groups = groupByPartition(files, snapshot.partitionColumns)
  const bins: OptimizeBin[] = []
  let skipped = 0
  let partitionsOptimized = 0
  for (const group of groups) {
    if (zOrderBy.length > 0) {
      const bin = makeBin(group.values, [...group.files].sort(byPath), 1)
      const outputFiles = Math.max(1, Math.ceil(bin.totalBytes / targetFileSize))
      bins.push({ ...bin, outputFiles })
      partitionsOptimized++
      continue
    }
    const candidates = group.files.filter((f) => f.size <= targetFileSize)
    skipped += group.files.length - candidates.length
    let partitionBins = 0
    for (const packed of packBins(candidates, targetFileSize)) {
      if (packed.length < 2) {
        skipped += packed.length
        continue
      }
      bins.push(makeBin(group.values, packed, 1))
      partitionBins++
    }
    if (partitionBins > 0) partitionsOptimized++
  }
  return {
    kind: zOrderBy.length > 0 ? 'zOrder' : 'compact',
    readVersion: snapshot.version,
    targetFileSize,
    zOrderBy,
    predicate,
    bins,
    totalConsideredFiles: files.length,
    totalFilesSkipped: skipped,
    partitionsOptimized,
  }
}

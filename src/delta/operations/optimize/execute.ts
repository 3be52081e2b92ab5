/**
 * OPTIMIZE execution (digest sections 7.3 and 7.4): applies an {@link OptimizePlan} by
 * rewriting each bin into new files and committing, in one transaction, `remove`s of the inputs
 * and `add`s of the outputs, all with `dataChange=false` (operation `OPTIMIZE`).
 *
 * Because every file action rearranges data, the transaction runs at snapshot isolation:
 * concurrent appends never conflict with it, while a concurrent commit that removes one of the
 * files it compacted makes it fail with `CommitConflictError` (`concurrent-delete-read`). When it
 * fails before or without committing, the files it wrote are deleted again (files that cannot be
 * deleted, or whose commit outcome is unknown after an I/O error, are left to VACUUM: a file no
 * commit references is invisible).
 *
 * `commitInfo`: `operationParameters` `predicate` (JSON array of the partition filter),
 * `targetSize`, `zOrderBy` (JSON array); `operationMetrics` as delta-rs names them
 * (`numFilesAdded`, `numFilesRemoved`, `filesAdded`/`filesRemoved` as JSON objects
 * `{avg,max,min,totalFiles,totalSize}`, `partitionsOptimized`, `numBatches`,
 * `totalConsideredFiles`, `totalFilesSkipped`) plus Spark's `numAddedBytes`/`numRemovedBytes`,
 * written as strings like the engine's other operations.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { AddAction } from '../../actions/actions.js'
import { writeCheckpoint, type CheckpointResult } from '../../checkpoint/write-checkpoint.js'
import type { Clock } from '../../clock.js'
import { CommitConflictError, DeltaError, isDeltaError } from '../../errors.js'
import { lit } from '../../expr/expression.js'
import { previewValue } from '../../schema/values.js'
import type { Snapshot } from '../../snapshot/snapshot.js'
import { checkWriteSupported } from '../../snapshot/table-features.js'
import type { ObjectStore } from '../../storage/object-store.js'
import { Transaction } from '../../transaction/transaction.js'
import { checkpointDue, type Finished } from '../finish-commit.js'
import { removeFor } from '../write-files.js'
import { rewriteBinWithDuckDb } from './duckdb-rewriter.js'
import { rewriteBinWithHyparquet } from './hyparquet-rewriter.js'
import {
  fileSizeMetrics,
  planOptimize,
  type FileSizeMetrics,
  type OptimizeBin,
  type OptimizeOptions,
  type OptimizePlan,
} from './plan.js'
import {
  chooseRewriteStrategy,
  dataLayout,
  type RewriteContext,
  type RewriteEngine,
  type RewriteEngineChoice,
  type RewriteStrategy,
} from './rewriter.js'

export type { OptimizeOptions } from './plan.js'

/** Metrics of an OPTIMIZE (for a dry run: of the plan, with the added files estimated). */
export interface OptimizeMetrics {
  /** Files written (dry run: files the plan would write). */
  readonly numFilesAdded: number
  /** Files removed (compacted or z-ordered). */
  readonly numFilesRemoved: number
  /** Sizes of the files written (dry run: all zero but the count). */
  readonly filesAdded: FileSizeMetrics
  /** Sizes of the files removed. */
  readonly filesRemoved: FileSizeMetrics
  /** Partitions with at least one rewritten bin. */
  readonly partitionsOptimized: number
  /** Rewrite units (bins) processed. */
  readonly numBatches: number
  /** Files in the selected partitions. */
  readonly totalConsideredFiles: number
  /** Considered files left alone. */
  readonly totalFilesSkipped: number
  /** Bytes written. */
  readonly numAddedBytes: number
  /** Bytes removed. */
  readonly numRemovedBytes: number
}

/** Result of OPTIMIZE. */
export interface OptimizeResult {
  /** The committed version, or the version read when nothing was committed. */
  readonly version: number
  /** True when nothing was committed: nothing to do, or a dry run. */
  readonly skipped: boolean
  /** True for a dry run. */
  readonly dryRun: boolean
  /** The metrics (written to `commitInfo.operationMetrics` when committed). */
  readonly metrics: OptimizeMetrics
  /** The plan that was (or, in a dry run, would be) applied. */
  readonly plan: OptimizePlan
  /** The engines that rewrote the bins (none when nothing was rewritten). */
  readonly engines: readonly RewriteEngine[]
  /** The checkpoint written after the commit, if one was due. */
  readonly checkpoint?: CheckpointResult
  /** Why a due checkpoint could not be written (the commit itself succeeded). */
  readonly checkpointError?: DeltaError
}

/** Internal knobs of {@link executeOptimize} (tests and benchmarks). @internal */
export interface OptimizeInternals {
  /** Rewrite engine (default `auto`). */
  readonly engine?: RewriteEngineChoice
  /** Called after the files are written, right before the commit (concurrency tests). */
  readonly beforeCommit?: () => Promise<void>
}

function planMetrics(plan: OptimizePlan): OptimizeMetrics {
  const removed = plan.bins.flatMap((b) => b.files.map((f) => f.size))
  const filesRemoved = fileSizeMetrics(removed)
  const planned = plan.bins.reduce((n, b) => n + b.outputFiles, 0)
  return {
    numFilesAdded: planned,
    numFilesRemoved: removed.length,
    filesAdded: { ...fileSizeMetrics([]), totalFiles: planned },
    filesRemoved,
    partitionsOptimized: plan.partitionsOptimized,
    numBatches: plan.bins.length,
    totalConsideredFiles: plan.totalConsideredFiles,
    totalFilesSkipped: plan.totalFilesSkipped,
    numAddedBytes: 0,
    numRemovedBytes: filesRemoved.totalSize,
  }
}

function commitMetrics(metrics: OptimizeMetrics): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(metrics)) {
    out[k] = typeof v === 'number' ? String(v) : JSON.stringify(v)
  }
  return out
}

function checkMaxAttempts(value: unknown): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new DeltaError(
      'INVALID_ARGUMENT',
      `delta optimize: maxAttempts must be a positive integer, got ${previewValue(value)}`,
      { context: { maxAttempts: previewValue(value) } },
    )
  }
}

/** Errors after which the commit file was certainly not written. */
function commitCertainlyFailed(error: unknown): boolean {
  return (
    error instanceof CommitConflictError ||
    isDeltaError(error, 'MAX_COMMIT_ATTEMPTS') ||
    isDeltaError(error, 'APPEND_ONLY') ||
    isDeltaError(error, 'UNSUPPORTED_FEATURE')
  )
}

async function deleteWritten(store: ObjectStore, keys: readonly string[]): Promise<void> {
  // Best effort: a file that stays behind is referenced by no commit, hence invisible, and VACUUM
  // removes it; the error that made the operation fail is the one to report.
  await Promise.allSettled(keys.map((k) => store.delete(k)))
}

async function checkpointAfter(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
): Promise<{ checkpoint?: CheckpointResult; checkpointError?: DeltaError }> {
  if (!checkpointDue(snapshot)) return {}
  try {
    return { checkpoint: await writeCheckpoint(store, snapshot, clock.now()) }
  } catch (error) {
    return {
      checkpointError: isDeltaError(error)
        ? error
        : new DeltaError(
            'STORAGE_ERROR',
            `delta checkpoint: writing checkpoint ${snapshot.version} failed`,
            { cause: error },
          ),
    }
  }
}

/** Rewrites one bin with the strategy's engine, falling back to DuckDB when it must. */
async function rewriteBin(
  context: RewriteContext,
  bin: OptimizeBin,
  strategy: RewriteStrategy,
  engines: Set<RewriteEngine>,
): Promise<AddAction[]> {
  engines.add(strategy.engine)
  return strategy.engine === 'duckdb'
    ? rewriteBinWithDuckDb(context, bin)
    : rewriteBinWithHyparquet(context, bin)
}

/**
 * OPTIMIZE with internal knobs (engine choice, a hook before the commit).
 * @param store - the table's store
 * @param snapshot - the snapshot to optimize (normally the latest)
 * @param clock - time source
 * @param options - see {@link optimizeTable}
 * @param internals - engine and test hook
 * @returns the result and the snapshot after it
 * @throws like {@link optimizeTable}
 * @internal
 */
export async function executeOptimize(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  options: OptimizeOptions,
  internals: OptimizeInternals = {},
): Promise<Finished<OptimizeResult>> {
  checkMaxAttempts(options.maxAttempts)
  // Refuses tables with writer features we do not honour before any work, dry runs included.
  checkWriteSupported(snapshot.protocol, snapshot.metadata, snapshot.schema, snapshot.location)
  const plan = planOptimize(snapshot, options)
  const metrics = planMetrics(plan)
  const unchanged = (dryRun: boolean): Finished<OptimizeResult> => ({
    result: { version: snapshot.version, skipped: true, dryRun, metrics, plan, engines: [] },
    snapshot,
  })
  if (options.dryRun === true) return unchanged(true)
  if (plan.bins.length === 0) return unchanged(false)

  const { dataSchema, statsColumns } = dataLayout(snapshot)
  const strategy = await chooseRewriteStrategy(internals.engine ?? 'auto', store, plan, dataSchema)
  const now = clock.now()
  const context: RewriteContext = {
    store,
    snapshot,
    plan,
    dataSchema,
    statsColumns,
    now,
    writeId: randomUUID(),
    written: [],
    nextFile: 0,
  }
  let attempted = false
  try {
    const engines = new Set<RewriteEngine>()
    const adds: AddAction[] = []
    for (const bin of plan.bins) adds.push(...(await rewriteBin(context, bin, strategy, engines)))
    const inputs = plan.bins.flatMap((b) => b.files)
    const txn = new Transaction(store, snapshot, clock, {
      operation: 'OPTIMIZE',
      maxAttempts: options.maxAttempts,
      operationParameters: {
        predicate: plan.predicate,
        targetSize: plan.targetFileSize,
        zOrderBy: plan.zOrderBy.map((c) => c.name),
      },
    })
    txn.recordRead(options.partitionFilter ?? lit(true), inputs)
    txn.addActions(inputs.map((f) => removeFor(f, now, false)))
    txn.addActions(adds)
    const filesAdded = fileSizeMetrics(adds.map((a) => a.size))
    const final: OptimizeMetrics = {
      ...metrics,
      numFilesAdded: adds.length,
      filesAdded,
      numAddedBytes: filesAdded.totalSize,
    }
    txn.setOperationMetrics(commitMetrics(final))
    await internals.beforeCommit?.()
    attempted = true
    const committed = await txn.commit()
    const after = await checkpointAfter(store, committed.snapshot, clock)
    return {
      result: {
        version: committed.version,
        skipped: false,
        dryRun: false,
        metrics: final,
        plan,
        engines: [...engines],
        ...after,
      },
      snapshot: committed.snapshot,
    }
  } catch (error) {
    // Once a commit was attempted, only an error that proves it did not happen allows deleting
    // the new files (an I/O error may hide a commit that went through).
    if (!attempted || commitCertainlyFailed(error)) await deleteWritten(store, context.written)
    throw error
  }
}

/**
 * OPTIMIZE: compacts the small files of each partition into files near the target size, or with
 * `zOrder` rewrites every file of each selected partition clustered along a Z-order curve.
 * Commits nothing when there is nothing to do, or for a dry run (`skipped: true`).
 * @param store - the table's store
 * @param snapshot - the snapshot to optimize (normally the latest)
 * @param clock - time source
 * @param options - target size, partition filter, z-order columns, dry run, commit attempts
 * @returns the result and the snapshot after it
 * @throws DeltaError `INVALID_ARGUMENT` (bad option, filter on a data column, z-order on a
 *   partition/nested/binary column), `COLUMN_NOT_FOUND`, `INVALID_EXPRESSION`,
 *   `DATA_FILE_NOT_FOUND`, `PARQUET_ERROR`, `STORAGE_ERROR`, `MAX_COMMIT_ATTEMPTS`;
 *   CommitConflictError when a concurrent commit removed a file being compacted;
 *   UnsupportedProtocolError for writer features this engine does not honour
 * @internal
 */
export function optimizeTable(
  store: ObjectStore,
  snapshot: Snapshot,
  clock: Clock,
  options: OptimizeOptions,
): Promise<Finished<OptimizeResult>> {
  return executeOptimize(store, snapshot, clock, options)
}

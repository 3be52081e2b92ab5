/**
 * Conflict detection between a transaction and a commit that won the race for a version
 * (digest sections 6.3 and 6.4; Spark's ConflictChecker semantics).
 *
 * Checks run in this order, first failure wins:
 * 1. the winner changed the protocol → `protocol-changed`;
 * 2. the winner changed the metadata → `metadata-changed`;
 * 3. both wrote the same domain, or the same app id (`txn`) → `concurrent-transaction`;
 * 4. the winner added data (`dataChange=true`) that this transaction's reads should have seen
 *    (a read predicate may match the file, or the whole table was read) → `concurrent-append`,
 *    unless the transaction is downgraded to snapshot isolation because it only rearranges data
 *    (every file action has `dataChange=false`, as OPTIMIZE does);
 * 5. the winner removed a file this transaction read, or removed anything while this
 *    transaction read the whole table → `concurrent-delete-read` (compaction removes count
 *    too: the rows this transaction matched now live in another file);
 * 6. both removed the same file → `concurrent-delete-delete`.
 *
 * A protocol change by a winner always conflicts here (Spark lets compatible upgrades pass);
 * this is stricter, never weaker, and keeps feature obligations from changing under a writer.
 * @module
 */
import type { Action, AddAction, PartitionValues } from '../actions/actions.js'
import type { ConflictKind } from '../errors.js'
import type { BoundExpression } from '../expr/bind-expression.js'
import { fileMayMatch, parseStats } from '../expr/skipping.js'

/** What a transaction read and wrote, as far as conflict detection is concerned. */
export interface TransactionFootprint {
  /** Predicates of the reads (bound to the read snapshot's schema). */
  readonly readPredicates: readonly BoundExpression[]
  /** True when the transaction read every row of the table (no predicate). */
  readonly readWholeTable: boolean
  /** Paths (as in the log) of the files the transaction read. */
  readonly readFiles: ReadonlySet<string>
  /** Paths the transaction removes. */
  readonly removedPaths: ReadonlySet<string>
  /** App ids of `txn` actions the transaction writes. */
  readonly appIds: ReadonlySet<string>
  /** Domains of `domainMetadata` actions the transaction writes. */
  readonly domains: ReadonlySet<string>
  /** True when the transaction writes `metaData`. */
  readonly changesMetadata: boolean
  /** True when the transaction writes `protocol`. */
  readonly changesProtocol: boolean
  /**
   * True when the transaction only rearranges data (all file actions `dataChange=false`),
   * which downgrades it to snapshot isolation: concurrent appends cannot invalidate it.
   */
  readonly onlyRearrangesData: boolean
  /** Partition columns of the read snapshot. */
  readonly partitionColumns: readonly string[]
  /**
   * `delta.isolationLevel` of the read snapshot. Under `WriteSerializable`, a transaction that
   * does not change the metadata is not invalidated by a concurrent blind append (digest 6.4).
   */
  readonly isolationLevel?: 'Serializable' | 'WriteSerializable'
}

/** A detected conflict. */
export interface Conflict {
  readonly kind: ConflictKind
  /** What exactly conflicted (a path, an app id, a domain), for the error message. */
  readonly detail: string
}

/**
 * Checks one winning commit against a transaction.
 * @param txn - the transaction's footprint
 * @param winner - actions of the winning commit
 * @returns the first conflict found, or undefined when the transaction may commit after it
 */
export function checkConflict(
  txn: TransactionFootprint,
  winner: readonly Action[],
): Conflict | undefined {
  const adds: AddAction[] = []
  const removed: string[] = []
  let blindAppend = false
  for (const a of winner) {
    switch (a.kind) {
      case 'commitInfo':
        blindAppend = a.info.isBlindAppend === true
        break
      case 'protocol':
        return {
          kind: 'protocol-changed',
          detail: `protocol ${a.minReaderVersion}/${a.minWriterVersion}`,
        }
      case 'metaData':
        return { kind: 'metadata-changed', detail: 'metaData' }
      case 'domainMetadata':
        if (txn.domains.has(a.domain))
          return { kind: 'concurrent-transaction', detail: `domain ${a.domain}` }
        break
      case 'txn':
        if (txn.appIds.has(a.appId))
          return { kind: 'concurrent-transaction', detail: `app id ${a.appId}` }
        break
      case 'add':
        if (a.dataChange) adds.push(a)
        break
      case 'remove':
        removed.push(a.path)
        break
      default:
        break
    }
  }
  const appendsChecked =
    !txn.onlyRearrangesData &&
    !(txn.isolationLevel === 'WriteSerializable' && !txn.changesMetadata && blindAppend)
  if (appendsChecked && adds.length > 0) {
    for (const add of adds) {
      if (txn.readWholeTable || mayMatchAnyRead(txn, add.partitionValues, add.stats)) {
        return { kind: 'concurrent-append', detail: add.path }
      }
    }
  }
  for (const path of removed) {
    if (txn.readFiles.has(path) || txn.readWholeTable) {
      return { kind: 'concurrent-delete-read', detail: path }
    }
  }
  for (const path of removed) {
    if (txn.removedPaths.has(path)) return { kind: 'concurrent-delete-delete', detail: path }
  }
  return undefined
}

function mayMatchAnyRead(
  txn: TransactionFootprint,
  partitionValues: PartitionValues,
  stats: string | null | undefined,
): boolean {
  if (txn.readPredicates.length === 0) return false
  const file = { partitionValues, stats: parseStats(stats) }
  return txn.readPredicates.some((p) => fileMayMatch(p, file, txn.partitionColumns))
}

/**
 * Log replay: reconciles checkpoint and commit actions into the state of one version
 * ("Action Reconciliation" in PROTOCOL.md; digest section 4).
 *
 * Rules: the latest `protocol` and `metaData` win; the latest `txn` per appId wins; the latest
 * `domainMetadata` per domain wins and a `removed` one deletes it; an `add` inserts or replaces
 * the live file with its key (path + deletion-vector id) and clears its tombstone; a `remove`
 * deletes the live file and records a tombstone. `commitInfo` and `cdc` are not table state.
 * @module
 */
import {
  fileActionKey,
  type Action,
  type AddAction,
  type DomainMetadataAction,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from '../actions/actions.js'
import { LayeredMap } from './layered-map.js'

/** The mutable reconciliation state used while replaying; frozen into a snapshot afterwards. */
export class ReplayState {
  protocol: ProtocolAction | undefined
  metadata: MetadataAction | undefined
  /** Live files; copies share most entries (a commit's snapshot costs O(its actions)). */
  readonly files: LayeredMap<string, AddAction>
  readonly tombstones: LayeredMap<string, RemoveAction>
  readonly txns: Map<string, TxnAction>
  readonly domains: Map<string, DomainMetadataAction>

  /**
   * @param from - a state to copy (the copy shares no mutable containers with it)
   */
  constructor(from?: ReplayState) {
    this.protocol = from?.protocol
    this.metadata = from?.metadata
    this.files = new LayeredMap(from?.files)
    this.tombstones = new LayeredMap(from?.tombstones)
    this.txns = new Map(from?.txns)
    this.domains = new Map(from?.domains)
  }

  /**
   * Applies the actions of one commit (or a batch of checkpoint rows).
   * @param actions - actions of one version, in any order
   */
  apply(actions: Iterable<Action>): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'protocol':
          this.protocol = a
          break
        case 'metaData':
          this.metadata = a
          break
        case 'add': {
          const key = fileActionKey(a)
          this.files.set(key, a)
          this.tombstones.delete(key)
          break
        }
        case 'remove': {
          const key = fileActionKey(a)
          this.files.delete(key)
          this.tombstones.set(key, a)
          break
        }
        case 'txn':
          this.txns.set(a.appId, a)
          break
        case 'domainMetadata':
          if (a.removed) this.domains.delete(a.domain)
          else this.domains.set(a.domain, a)
          break
        default:
          break
      }
    }
  }
}

/**
 * An immutable snapshot of a table at one version ("Snapshot" in delta-kernel terms): the
 * reconciled protocol, metadata, live files, tombstones, app transactions and domain metadata.
 * @module
 */
import { forEachBounded } from '../concurrency.js'
import type {
  Action,
  AddAction,
  CommitInfoAction,
  DomainMetadataAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from '../actions/actions.js'
import { parseCommitFile } from '../actions/parse-action.js'
import { readCheckpoint } from '../checkpoint/read-checkpoint.js'
import { DeltaError, isDeltaError } from '../errors.js'
import {
  buildLogSegment,
  listKeysWithoutRaceGaps,
  type CommitRef,
  type LogSegment,
} from '../log/log-segment.js'
import { commitKey, LOG_DIR, padVersion, parseLogKey } from '../log/log-path.js'
import { ReplayState } from '../log/replay.js'
import { parseSchemaString, type StructType } from '../schema/data-type.js'
import { compareKeys } from '../storage/object-key.js'
import type { ObjectStore } from '../storage/object-store.js'
import { checkReadSupported } from './table-features.js'
import { tableConfig, type TableConfig } from './table-config.js'

/** How many commit files are fetched concurrently during replay. */
const READ_CONCURRENCY = 16

/**
 * Reads and parses one commit file.
 * @param store - the table's store
 * @param location - table location for messages
 * @param commit - the commit to read
 * @returns its actions in file order
 * @throws DeltaError `VERSION_NOT_FOUND` if the file vanished, `MALFORMED_LOG`/`MALFORMED_ACTION`
 * @internal
 */
export async function readCommit(
  store: ObjectStore,
  location: string,
  commit: CommitRef,
): Promise<Action[]> {
  let data: Uint8Array
  try {
    data = await store.get(commit.key)
  } catch (cause) {
    if (isDeltaError(cause, 'OBJECT_NOT_FOUND')) {
      throw new DeltaError(
        'VERSION_NOT_FOUND',
        `delta log: commit ${commit.version} of table ${location} disappeared while reading (log cleanup?)`,
        { cause, context: { table: location, version: commit.version } },
      )
    }
    throw cause
  }
  return parseCommitFile(new TextDecoder().decode(data), `${location}/${commit.key}`)
}

/** How many new commits {@link findNewCommits} probes for before listing the log instead. */
const MAX_COMMIT_PROBES = 16

/**
 * The commits after `afterVersion` (through `throughVersion` when given), in order. Commits
 * are contiguous, so their names are probed one by one (one HEAD on a quiet table) instead of
 * listing the log, whose cost grows with its length; past a few new commits, a listing is
 * cheaper.
 * @param store - the table's store
 * @param afterVersion - the last version known
 * @param throughVersion - the last version wanted, if any
 * @param options - `list`: list the log instead of probing (a missing next commit is then told
 *   apart from one that log cleanup removed)
 * @returns the commits (none on a quiet table), or undefined when the listing shows that some
 *   of them are gone (log cleanup)
 * @internal
 */
export async function findNewCommits(
  store: ObjectStore,
  afterVersion: number,
  throughVersion?: number,
  options: { list?: boolean } = {},
): Promise<CommitRef[] | undefined> {
  if (options.list) return listNewCommits(store, afterVersion, throughVersion)
  const refs: CommitRef[] = []
  for (let v = afterVersion + 1; throughVersion === undefined || v <= throughVersion; v++) {
    if (refs.length >= MAX_COMMIT_PROBES) return listNewCommits(store, afterVersion, throughVersion)
    const key = commitKey(v)
    if (!(await store.head(key))) break
    refs.push({ version: v, key })
  }
  return refs
}

async function listNewCommits(
  store: ObjectStore,
  afterVersion: number,
  throughVersion: number | undefined,
): Promise<CommitRef[] | undefined> {
  const keys = await listKeysWithoutRaceGaps(
    store,
    { startAfter: `${LOG_DIR}${padVersion(afterVersion)}.json` },
    afterVersion + 1,
  )
  keys.sort(compareKeys)
  const refs: CommitRef[] = []
  for (const key of keys) {
    const f = parseLogKey(key)
    if (f?.type !== 'commit' || f.version <= afterVersion) continue
    if (throughVersion !== undefined && f.version > throughVersion) break
    if (f.version !== afterVersion + 1 + refs.length) return undefined
    refs.push({ version: f.version, key })
  }
  return refs
}

/**
 * Reads several commits with bounded concurrency, preserving order.
 * @internal
 */
export async function readCommits(
  store: ObjectStore,
  location: string,
  commits: readonly CommitRef[],
): Promise<Action[][]> {
  const out: Action[][] = new Array<Action[]>(commits.length)
  await forEachBounded(commits, READ_CONCURRENCY, async (commit, i) => {
    out[i] = await readCommit(store, location, commit)
  })
  return out
}

/** An immutable view of a table at one version. */
export class Snapshot {
  /** The version of this snapshot. */
  readonly version: number
  /** The protocol in effect. */
  readonly protocol: ProtocolAction
  /** The metadata in effect. */
  readonly metadata: MetadataAction
  /** The parsed table schema. */
  readonly schema: StructType
  /** Typed table properties. */
  readonly config: TableConfig
  /** Location of the table, for messages. */
  readonly location: string
  /** The commitInfo of this version's commit, when it was read. */
  readonly commitInfo: CommitInfoAction | undefined
  readonly #state: ReplayState
  /**
   * Wall-clock time (epoch ms) at which this version was known to be the table's latest, if it
   * was: no later commit existed then, so any later commit is younger, and log cleanup cannot
   * have removed it before that time plus the log retention. Until then, a missing next commit
   * file means that there is none; after it, the log must be listed. Refreshed by
   * {@link Snapshot.update}; it changes no content.
   */
  #latestAt: number | undefined
  /** The `add` actions of the one commit applied to make this snapshot, if it was one. */
  #lastCommitAdds: readonly AddAction[] | undefined

  private constructor(
    location: string,
    version: number,
    state: ReplayState,
    commitInfo: CommitInfoAction | undefined,
  ) {
    const { protocol, metadata } = state
    if (!protocol) {
      throw new DeltaError(
        'MISSING_PROTOCOL',
        `delta snapshot: table ${location} at version ${version} has no protocol action in its log segment`,
        { context: { table: location, version } },
      )
    }
    if (!metadata) {
      throw new DeltaError(
        'MISSING_METADATA',
        `delta snapshot: table ${location} at version ${version} has no metaData action in its log segment`,
        { context: { table: location, version } },
      )
    }
    checkReadSupported(protocol, metadata, location)
    this.location = location
    this.version = version
    this.protocol = protocol
    this.metadata = metadata
    const derived = derivedFromMetadata(metadata, location)
    this.schema = derived.schema
    this.config = derived.config
    this.commitInfo = commitInfo
    this.#state = state
  }

  /**
   * Loads the snapshot of a version (latest when omitted).
   *
   * A checkpoint whose file cannot be read (`CORRUPT_CHECKPOINT`: truncated, not Parquet) is
   * passed over for an older checkpoint, else commit 0, when the commits from there on are all
   * present: they describe the same state. Other defects of a checkpoint (a missing protocol or
   * metaData, a malformed action) are not: they fail the load, as in Spark.
   * @param store - the table's store
   * @param options - target version
   * @returns the snapshot
   * @throws DeltaError `TABLE_NOT_FOUND`, `VERSIONS_NOT_CONTIGUOUS`, `MALFORMED_LOG`,
   *   `MALFORMED_ACTION`, `CORRUPT_CHECKPOINT` (when no older start is usable),
   *   `MISSING_PROTOCOL`, `MISSING_METADATA`, `INVALID_VERSION`; VersionNotFoundError;
   *   UnsupportedProtocolError
   */
  static async load(store: ObjectStore, options: { version?: number } = {}): Promise<Snapshot> {
    const startedAt = Date.now()
    let segment = await buildLogSegment(store, store.location, options)
    let snapshot: Snapshot
    for (;;) {
      try {
        snapshot = await Snapshot.fromSegment(store, segment)
        break
      } catch (error) {
        const unreadable = segment.checkpoint?.version
        if (unreadable === undefined || !isDeltaError(error, 'CORRUPT_CHECKPOINT')) throw error
        segment = await buildLogSegment(store, store.location, {
          version: segment.version,
          checkpointBelow: unreadable,
        }).catch((fallback: unknown) => {
          // No older start (log cleanup removed the commits before it, a gap): the unreadable
          // checkpoint remains the failure.
          if (!isDeltaError(fallback)) throw fallback
          throw new DeltaError(
            'CORRUPT_CHECKPOINT',
            `${error.message}; no older checkpoint or commit 0 to replay from instead (${fallback.message})`,
            { cause: error, context: error.context },
          )
        })
      }
    }
    if (options.version === undefined) snapshot.#latestAt = startedAt
    return snapshot
  }

  /**
   * Replays a log segment.
   * @internal
   */
  static async fromSegment(store: ObjectStore, segment: LogSegment): Promise<Snapshot> {
    const location = store.location
    const [checkpointActions, commits] = await Promise.all([
      segment.checkpoint
        ? readCheckpoint(store, location, segment.checkpoint)
        : Promise.resolve([]),
      readCommits(store, location, segment.commits),
    ])
    const state = new ReplayState()
    if (segment.checkpoint) {
      if (checkpointActions.some((a) => a.kind === 'sidecar' || a.kind === 'checkpointMetadata')) {
        // A V2 checkpoint: only its protocol is trustworthy without sidecar support; take the
        // protocol so the feature check below refuses the table with a precise message.
        const protocol = checkpointActions.find((a): a is ProtocolAction => a.kind === 'protocol')
        const metadata = checkpointActions.find((a): a is MetadataAction => a.kind === 'metaData')
        if (protocol) checkReadSupported(protocol, metadata, location)
        throw new DeltaError(
          'UNSUPPORTED_FEATURE',
          `delta checkpoint: table ${location} uses a V2 checkpoint (v2Checkpoint), which this engine does not read`,
          { context: { table: location, version: segment.checkpoint.version } },
        )
      }
      state.apply(checkpointActions)
      if (!state.protocol || !state.metadata) {
        throw new DeltaError(
          state.protocol ? 'MISSING_METADATA' : 'MISSING_PROTOCOL',
          `delta checkpoint: checkpoint ${segment.checkpoint.version} of table ${location} has no ` +
            `${state.protocol ? 'metaData' : 'protocol'} action (corrupt checkpoint)`,
          { context: { table: location, version: segment.checkpoint.version } },
        )
      }
    }
    for (const actions of commits) state.apply(actions)
    const last = commits.at(-1)
    const commitInfo = last?.find((a): a is CommitInfoAction => a.kind === 'commitInfo')
    return new Snapshot(location, segment.version, state, commitInfo)
  }

  /**
   * Whether log cleanup may have removed the commit after this version without this snapshot
   * noticing: this version was last known to be the latest half the log retention ago or more
   * (or never), so the next commit file may be missing because a newer checkpoint covers it.
   * @param now - wall-clock epoch milliseconds
   * @returns true when only a listing of the log can tell
   */
  mayBeBehindLogCleanup(now: number): boolean {
    return this.#latestAt === undefined || now - this.#latestAt >= this.config.logRetentionMs / 2
  }

  /**
   * Applies newer commits to this snapshot and returns the snapshot at the latest version (or
   * this snapshot when nothing changed). Falls back to a full load when the commits after this
   * version are no longer all present.
   * @param store - the table's store
   * @param options - stop at this version instead of the latest
   * @returns the newer snapshot
   * @throws like {@link Snapshot.load}
   */
  async update(store: ObjectStore, options: { version?: number } = {}): Promise<Snapshot> {
    if (options.version === this.version) return this
    const startedAt = Date.now()
    // Past half the log retention since this version was known to be the latest, the next
    // commit file may be missing because log cleanup removed it (a checkpoint covers it): list.
    const list = this.mayBeBehindLogCleanup(startedAt)
    const commits = await findNewCommits(store, this.version, options.version, { list })
    // Commits that are no longer all there (log cleanup): read the log afresh.
    if (!commits) return Snapshot.load(store, options)
    const latestAt = options.version === undefined ? startedAt : undefined
    if (commits.length === 0) {
      if (latestAt !== undefined) this.#latestAt = latestAt
      return this
    }
    return this.applyCommits(
      await readCommits(store, this.location, commits),
      this.version + commits.length,
      latestAt,
    )
  }

  /**
   * A new snapshot with the actions of the following versions applied (used by writers that
   * know the content of commits they just made).
   * @param commits - actions of versions `this.version + 1 ..= toVersion`, in order
   * @param toVersion - the version after applying them
   * @param latestAt - a wall-clock time (epoch ms) at which `toVersion + 1` did not exist yet,
   *   if known (a writer: just before its commit file was put)
   * @returns the new snapshot
   * @internal
   */
  applyCommits(
    commits: readonly (readonly Action[])[],
    toVersion: number,
    latestAt?: number,
  ): Snapshot {
    if (toVersion !== this.version + commits.length) {
      throw new DeltaError('INTERNAL', 'delta snapshot: applyCommits given a non-contiguous range')
    }
    const state = new ReplayState(this.#state)
    for (const actions of commits) state.apply(actions)
    const commitInfo = commits.at(-1)?.find((a): a is CommitInfoAction => a.kind === 'commitInfo')
    const snapshot = new Snapshot(this.location, toVersion, state, commitInfo)
    snapshot.#latestAt = latestAt
    const only = commits.length === 1 ? commits[0] : undefined
    snapshot.#lastCommitAdds = only?.filter((a): a is AddAction => a.kind === 'add')
    return snapshot
  }

  /**
   * The `add` actions of the commit that made this snapshot from the previous version, when it
   * was made by applying exactly that one commit (after a writer's commit, or an update by one
   * version); undefined otherwise. Lets a caller that knows the previous version's files
   * advance without comparing every live file.
   * @internal
   */
  get lastCommitAdds(): readonly AddAction[] | undefined {
    return this.#lastCommitAdds
  }

  /** Partition columns, in table order. */
  get partitionColumns(): readonly string[] {
    return this.metadata.partitionColumns
  }

  /** Number of live data files. */
  get numFiles(): number {
    return this.#state.files.size
  }

  /**
   * The live data files (`add` actions).
   * @returns a new array of the live files
   */
  files(): AddAction[] {
    return [...this.#state.files.values()]
  }

  /**
   * Tombstones (`remove` actions) still present in the state, expired or not.
   * @returns a new array of tombstones
   */
  tombstones(): RemoveAction[] {
    return [...this.#state.tombstones.values()]
  }

  /**
   * The live add of a path (without deletion vector), if any.
   * @param path - the path as written in the log
   * @returns the add action or undefined
   */
  file(path: string): AddAction | undefined {
    return this.#state.files.get(path)
  }

  /**
   * The latest committed version of an application id (`txn`), for idempotent writes.
   * @param appId - the application id
   * @returns its version, or undefined when the app never committed (or it expired)
   */
  txnVersion(appId: string, now = Date.now()): number | undefined {
    const txn: TxnAction | undefined = this.#state.txns.get(appId)
    if (!txn) return undefined
    const retention = this.config.setTransactionRetentionMs
    if (
      retention !== undefined &&
      typeof txn.lastUpdated === 'number' &&
      txn.lastUpdated <= now - retention
    ) {
      return undefined
    }
    return txn.version
  }

  /**
   * All live app transactions.
   * @returns txn actions
   */
  txns(): TxnAction[] {
    return [...this.#state.txns.values()]
  }

  /**
   * Live (non-removed) domain metadata.
   * @returns domain metadata actions
   */
  domainMetadata(): DomainMetadataAction[] {
    return [...this.#state.domains.values()]
  }

  /**
   * The key of the commit file of this snapshot's version.
   * @returns the store key
   */
  commitKey(): string {
    return commitKey(this.version)
  }
}

/**
 * The schema and settings of a metaData action, derived once per action object: the snapshots
 * that follow appends share their predecessor's metaData action, and parsing its schema for
 * each commit would cost every writer as much as encoding a small data file's footer.
 */
const derivedMetadata = new WeakMap<MetadataAction, { schema: StructType; config: TableConfig }>()

function derivedFromMetadata(
  metadata: MetadataAction,
  location: string,
): { schema: StructType; config: TableConfig } {
  const known = derivedMetadata.get(metadata)
  if (known) return known
  const schema = parseSchemaString(metadata.schemaString)
  for (const p of metadata.partitionColumns) {
    if (!schema.fields.some((f) => f.name === p)) {
      throw new DeltaError(
        'INVALID_SCHEMA',
        `delta snapshot: partition column ${JSON.stringify(p)} of table ${location} is not in the schema`,
        { context: { table: location, column: p } },
      )
    }
  }
  const derived = { schema, config: tableConfig(metadata) }
  derivedMetadata.set(metadata, derived)
  return derived
}

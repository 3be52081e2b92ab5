/**
 * Shared setup of the OPTIMIZE tests: tables on the local file system (both rewrite engines can
 * run there), hand-written logs for planning tests, and helpers to look at commits and files.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type { Action, AddAction, CommitInfoAction } from '../../../../src/delta/actions/actions.js'
import { commitKey } from '../../../../src/delta/log/log-path.js'
import type { StructType } from '../../../../src/delta/schema/data-type.js'
import { createWithBatches, SCHEMA, T0 } from '../dml-support.js'
import { readCommit, Snapshot } from '../../../../src/delta/snapshot/snapshot.js'
import { MemoryStore } from '../../../../src/delta/storage/memory-store.js'
import type { ObjectStore } from '../../../../src/delta/storage/object-store.js'
import { DeltaTable } from '../../../../src/delta/table/delta-table.js'
import { canonicalRows } from '../../../support/canonical.js'

export { SCHEMA, steppingClock, T0 } from '../dml-support.js'

/** Options of {@link makeTable}. */
export interface MakeTableOptions {
  readonly schema?: StructType
  readonly partitionColumns?: readonly string[]
  readonly properties?: Readonly<Record<string, string>>
}

/**
 * Creates a table in a temporary directory and appends each batch as one commit.
 * @param batches - rows of each append
 * @param options - schema (default {@link SCHEMA}), partitioning, properties
 * @returns the table handle at the last version
 */
export async function makeTable(
  batches: readonly (readonly Record<string, unknown>[])[],
  options: MakeTableOptions = {},
): Promise<DeltaTable> {
  return createWithBatches('optimize-', batches, {
    schema: options.schema ?? SCHEMA,
    partitionColumns: options.partitionColumns ?? [],
    properties: options.properties ?? {},
  })
}

/**
 * Rows `{ id, p, n, s }`.
 * @param ids - the ids
 * @param parts - `p` cycles through these
 * @returns rows
 */
export function rowsFor(
  ids: readonly number[],
  parts: readonly (string | null)[] = ['a'],
): Record<string, unknown>[] {
  return ids.map((id, i) => ({
    id: BigInt(id),
    p: parts[i % parts.length] ?? null,
    n: id % 7 === 3 ? null : id * 10,
    s: id % 5 === 1 ? null : `s-${id}`,
  }))
}

/**
 * The canonical rows of a table at a version (or the handle's snapshot).
 * @param table - the table
 * @param version - optional version to open
 * @returns sorted canonical JSON rows
 */
export async function contents(table: DeltaTable, version?: number): Promise<string[]> {
  const t = version === undefined ? table : await DeltaTable.open(table.store, { version })
  return canonicalRows(await t.toRows(), t.schema)
}

/**
 * The actions of one commit.
 * @param store - the table's store
 * @param version - the commit version
 * @returns its actions
 */
export function commitActions(store: ObjectStore, version: number): Promise<Action[]> {
  return readCommit(store, store.location, { version, key: commitKey(version) })
}

/**
 * The commitInfo of one commit.
 * @param store - the table's store
 * @param version - the commit version
 * @returns the commitInfo object
 */
export async function commitInfo(
  store: ObjectStore,
  version: number,
): Promise<Readonly<Record<string, unknown>>> {
  const info = (await commitActions(store, version)).find(
    (a): a is CommitInfoAction => a.kind === 'commitInfo',
  )
  if (!info) throw new Error(`no commitInfo in version ${version}`)
  return info.info
}

/**
 * Every Parquet data file under the table directory (relative keys).
 * @param table - a table on the local file system
 * @returns sorted keys
 */
export async function dataFilesOnDisk(table: DeltaTable): Promise<string[]> {
  const root = table.store.location
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true })
  return entries
    .filter(
      (e) => e.isFile() && e.name.endsWith('.parquet') && !e.parentPath.includes('_delta_log'),
    )
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}

/** A file of a hand-written log. */
export interface FakeFile {
  readonly path: string
  readonly size: number
  readonly partitionValues?: Record<string, string | null>
  readonly numRecords?: number
}

/** Options of {@link fakeSnapshot}. */
export interface FakeSnapshotOptions {
  readonly schema?: StructType
  readonly partitionColumns?: readonly string[]
  readonly configuration?: Readonly<Record<string, string>>
  readonly protocol?: Readonly<Record<string, unknown>>
}

/**
 * A snapshot of a hand-written log in memory (the data files do not exist): for planning.
 * @param files - the live files
 * @param options - schema, partitioning, configuration, protocol
 * @returns the snapshot at version 0 and its store
 */
export async function fakeSnapshot(
  files: readonly FakeFile[],
  options: FakeSnapshotOptions = {},
): Promise<{ snapshot: Snapshot; store: MemoryStore }> {
  const store = new MemoryStore({ location: 'memory://plan' })
  const lines = [
    { commitInfo: { timestamp: T0, operation: 'CREATE TABLE' } },
    { protocol: options.protocol ?? { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: 'test-table',
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify(options.schema ?? SCHEMA),
        partitionColumns: options.partitionColumns ?? [],
        configuration: options.configuration ?? {},
        createdTime: T0,
      },
    },
    ...files.map((f) => ({
      add: {
        path: f.path,
        partitionValues: f.partitionValues ?? {},
        size: f.size,
        modificationTime: T0,
        dataChange: true,
        stats:
          f.numRecords === undefined ? undefined : JSON.stringify({ numRecords: f.numRecords }),
      },
    })),
  ]
  await store.put(
    commitKey(0),
    new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'),
  )
  return { snapshot: await Snapshot.load(store), store }
}

/**
 * The paths of add actions.
 * @param adds - adds
 * @returns their paths
 */
export function pathsOf(adds: readonly Pick<AddAction, 'path'>[]): string[] {
  return adds.map((a) => a.path)
}

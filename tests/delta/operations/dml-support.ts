/**
 * Shared setup of the DML tests: small local tables, a deterministic clock, and helpers to look
 * at what a commit did (its actions) and at the data files on disk.
 * @module
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {
  Action,
  AddAction,
  CommitInfoAction,
  RemoveAction,
} from '../../../src/delta/actions/actions.js'
import type { Clock } from '../../../src/delta/clock.js'
import { commitKey } from '../../../src/delta/log/log-path.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { readCommit } from '../../../src/delta/snapshot/snapshot.js'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import { makeTempDir } from '../../support/temp.js'

/** 2026-11-25T00:00:00Z. */
export const T0 = Date.UTC(2026, 10, 25)

/**
 * A clock that advances one second per reading.
 * @returns the clock
 */
export function steppingClock(): Clock {
  let t = T0
  return { now: () => (t += 1000) }
}

/** `id long NOT NULL, p string (partition when partitioned), n integer, s string`. */
export const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
    { name: 'n', type: 'integer', nullable: true, metadata: {} },
    { name: 's', type: 'string', nullable: true, metadata: {} },
  ],
}

/** Options of {@link makeTable}. */
export interface MakeTableOptions {
  readonly partitioned?: boolean
  readonly appendOnly?: boolean
}

/**
 * Creates a table and appends each batch as one commit (one file per partition and batch).
 * @param batches - rows of each append
 * @param options - partitioning by `p`, append-only
 * @returns the table handle, at the version of the last append
 */
export async function makeTable(
  batches: readonly (readonly Record<string, unknown>[])[],
  options: MakeTableOptions = {},
): Promise<DeltaTable> {
  return createWithBatches('dml-', batches, {
    schema: SCHEMA,
    partitionColumns: options.partitioned ? ['p'] : [],
    properties: options.appendOnly ? { 'delta.appendOnly': 'true' } : {},
  })
}

/**
 * Creates a table in a new temporary directory (stepping clock) and appends each batch as one
 * commit.
 * @param prefix - temporary directory prefix
 * @param batches - rows of each append
 * @param options - schema, partition columns, properties
 * @returns the table handle, at the version of the last append
 */
export async function createWithBatches(
  prefix: string,
  batches: readonly (readonly Record<string, unknown>[])[],
  options: {
    readonly schema: StructType
    readonly partitionColumns: readonly string[]
    readonly properties: Readonly<Record<string, string>>
  },
): Promise<DeltaTable> {
  const table = await DeltaTable.create(await makeTempDir(prefix), {
    ...options,
    clock: steppingClock(),
  })
  for (const rows of batches) await table.append(rows)
  return table
}

/**
 * Rows `{ id, p, n, s }` for the ids given, with `p` cycling through `parts`.
 * @param ids - the ids
 * @param parts - partition values
 * @returns rows
 */
export function rowsFor(
  ids: readonly number[],
  parts: readonly (string | null)[] = ['a'],
): Record<string, unknown>[] {
  return ids.map((id, i) => ({
    id: BigInt(id),
    p: parts[i % parts.length] ?? null,
    n: id * 10,
    s: id % 4 === 0 ? null : `s${id}`,
  }))
}

/** What one commit did. */
export interface CommitView {
  readonly info: Record<string, unknown>
  readonly adds: AddAction[]
  readonly removes: RemoveAction[]
  readonly actions: Action[]
}

/**
 * Reads the actions of one commit of a table.
 * @param table - the table
 * @param version - the version
 * @returns commitInfo, adds and removes
 */
export async function commitAt(table: DeltaTable, version: number): Promise<CommitView> {
  const actions = await readCommit(table.store, table.store.location, {
    version,
    key: commitKey(version),
  })
  const info = actions.find((a): a is CommitInfoAction => a.kind === 'commitInfo')?.info ?? {}
  return {
    info,
    adds: actions.filter((a): a is AddAction => a.kind === 'add'),
    removes: actions.filter((a): a is RemoveAction => a.kind === 'remove'),
    actions,
  }
}

/**
 * Rows sorted by id, for order-independent comparisons.
 * @param rows - rows with a bigint `id`
 * @returns a sorted copy
 */
export function byId(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1))
}

/**
 * Every Parquet file under the table directory (referenced by the log or not).
 * @param table - the table
 * @returns relative paths, sorted
 */
export async function parquetFiles(table: DeltaTable): Promise<string[]> {
  const root = table.store.location
  const entries = await fs.readdir(root, { recursive: true })
  return entries
    .filter((e) => e.endsWith('.parquet') && !e.startsWith('_delta_log'))
    .map((e) => e.split(path.sep).join('/'))
    .sort()
}

/**
 * The live file paths of the table at its current snapshot.
 * @param table - the table
 * @returns add paths, sorted
 */
export function livePaths(table: DeltaTable): string[] {
  return table.snapshot
    .files()
    .map((f) => f.path)
    .sort()
}

/**
 * The first live file whose `id` stats range contains `id` (and starts at `min` when given).
 * @param table - the table
 * @param id - an id
 * @param min - the file's minimum id, to pick among overlapping files
 * @returns the file's add path
 */
export function fileWithId(table: DeltaTable, id: number, min?: number): string {
  const f = table.snapshot.files().find((a) => {
    const stats = JSON.parse(a.stats ?? '{}') as {
      minValues?: { id?: number }
      maxValues?: { id?: number }
    }
    const lo = stats.minValues?.id ?? Infinity
    return lo <= id && id <= (stats.maxValues?.id ?? -Infinity) && (min === undefined || lo === min)
  })
  if (!f) throw new Error(`no live file holds id ${id}`)
  return f.path
}

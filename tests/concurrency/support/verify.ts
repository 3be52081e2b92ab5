/**
 * Checks shared by the concurrency suites: what a killed writer leaves behind, reading a table
 * at every version (each data file is read once and cached, so checking hundreds of versions
 * stays cheap), and comparing our reads with delta-rs (`tests/support/py/read_table.py`).
 * @module
 */
import { createHash } from 'node:crypto'
import { expect } from 'vitest'
import { readLastCheckpoint } from '../../../src/delta/checkpoint/last-checkpoint.js'
import { parseLogKey } from '../../../src/delta/log/log-path.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { DeltaTable } from '../../../src/delta/table/delta-table.js'
import { dataFileKey } from '../../../src/delta/table/scan.js'
import { canonicalRows } from '../../support/canonical.js'
import type { Oracle } from '../../support/oracle.js'

/**
 * Checks the versions a killed writer may have added after `after`: each opens and references
 * only data files that exist (then `eachVersion` checks it further), every checkpoint under
 * its final name is complete (its version opens through it), and `_last_checkpoint` names a
 * checkpoint that exists.
 * @param table - the table at its latest version
 * @param after - the last version checked before
 * @param eachVersion - further checks of each new version, if any
 */
export async function expectIntactAfter(
  table: DeltaTable,
  after: number,
  eachVersion?: (t: DeltaTable) => Promise<void>,
): Promise<void> {
  const location = table.store.location
  for (let v = after + 1; v <= table.version; v++) {
    const t = await DeltaTable.open(table.store, { version: v })
    for (const add of await t.files()) {
      expect(await t.store.head(dataFileKey(t.snapshot, t.store, add.path)), add.path).toBeDefined()
    }
    await eachVersion?.(t)
  }
  const logKeys = await table.store.listKeys('_delta_log/')
  for (const key of logKeys) {
    const f = parseLogKey(key)
    if (f?.type === 'checkpoint' && f.version > after) {
      await expect(
        DeltaTable.open(table.store, { version: f.version }),
        location,
      ).resolves.toBeDefined()
    }
  }
  const hint = await readLastCheckpoint(table.store)
  if (hint) {
    expect(logKeys).toContain(
      `_delta_log/${String(hint.version).padStart(20, '0')}.checkpoint.parquet`,
    )
  }
}

/** Rows of one version, as we read them. */
export type VersionRows = Map<number, Record<string, unknown>[]>

/** What we read at every version: rows and the number of live files. */
export interface EveryVersion {
  readonly latest: number
  readonly rows: VersionRows
  readonly files: Map<number, number>
  readonly schema: StructType
}

/**
 * Opens the table at every version `0..latest` and reads its rows. Every data file is read once
 * (through the version that first references it); a version's rows are the rows of its live
 * files. The latest version is also read through the regular scan and must agree.
 * @param location - table directory
 * @returns latest version, rows per version and the schema
 */
export async function readEveryVersion(location: string): Promise<EveryVersion> {
  const latestTable = await DeltaTable.open(location)
  const latest = latestTable.version
  const cache = new Map<string, Record<string, unknown>[]>()
  const rows: VersionRows = new Map()
  const files = new Map<number, number>()
  for (let v = 0; v <= latest; v++) {
    const t = await DeltaTable.open(location, { version: v })
    const out: Record<string, unknown>[] = []
    const live = await t.files()
    files.set(v, live.length)
    for (const add of live) {
      let fileRows = cache.get(add.path)
      if (!fileRows) {
        fileRows = await t.fileRows(add)
        cache.set(add.path, fileRows)
      }
      out.push(...fileRows)
    }
    rows.set(v, out)
  }
  const scanned = await latestTable.toRows()
  expect(canonicalRows(scanned, latestTable.schema)).toEqual(
    canonicalRows(rows.get(latest) ?? [], latestTable.schema),
  )
  return { latest, rows, files, schema: latestTable.schema }
}

/** Output of py/read_versions_by_file.py. */
interface ReplayOutput {
  readonly latest: number
  readonly versions: Record<string, { files: number; rows: number; digest: string }>
}

/**
 * Expects delta-rs to replay the log to the same live files at every version, holding the same
 * rows (py/read_versions_by_file.py: delta-rs lists each version's files, pyarrow reads each
 * file once). Complements {@link expectDeltaRsReadsTheSame}, which goes through delta-rs's own
 * scan but costs a read of every live file per version.
 * @param oracle - the Python oracle
 * @param ours - what we read at every version
 * @param location - table directory
 */
export async function expectDeltaRsReplaysTheSame(
  oracle: Oracle,
  location: string,
  ours: EveryVersion,
): Promise<void> {
  const out = await oracle.runJson<ReplayOutput>(
    'tests/concurrency/py/read_versions_by_file.py',
    [location],
    { timeoutMs: 3_000_000 },
  )
  expect(out.latest).toBe(ours.latest)
  for (let v = 0; v <= ours.latest; v++) {
    const theirs = out.versions[String(v)]
    const rows = canonicalRows(ours.rows.get(v) ?? [], ours.schema)
    const digest = createHash('sha256').update(rows.join('\n'), 'utf8').digest('hex')
    expect(theirs, `delta-rs replay of version ${v}`).toEqual({
      files: ours.files.get(v),
      rows: rows.length,
      digest,
    })
  }
}

/** How delta-rs fails on a version without data files. */
const EMPTY_TABLE_ERROR = /Must pass at least one array/

/** Output of read_table.py. */
interface ReadTableOutput {
  readonly latest: number
  readonly versions: Record<string, { schema: string; rows: string[] } | { error: string }>
}

/**
 * Reads the given versions with delta-rs and expects exactly our rows at each.
 * @param oracle - the Python oracle
 * @param location - table directory
 * @param versions - versions to compare
 * @param ours - our rows per version
 * @param schema - the table schema
 */
export async function expectDeltaRsReadsTheSame(
  oracle: Oracle,
  location: string,
  versions: readonly number[],
  ours: VersionRows,
  schema: StructType,
): Promise<void> {
  const out = await oracle.runJson<ReadTableOutput>(
    'tests/support/py/read_table.py',
    [location, '--versions', versions.join(',')],
    { timeoutMs: 3_000_000 },
  )
  for (const v of versions) {
    const theirs = out.versions[String(v)]
    expect(theirs, `delta-rs at version ${v}`).toBeDefined()
    const mine = ours.get(v) ?? []
    // deltalake 1.6 cannot materialize a version without data files ("Must pass at least one
    // array" from pyarrow); only an empty version is allowed to fail that way.
    if (theirs && 'error' in theirs && EMPTY_TABLE_ERROR.test(theirs.error) && mine.length === 0) {
      continue
    }
    if (theirs === undefined || 'error' in theirs) {
      throw new Error(`delta-rs cannot read version ${v}: ${theirs?.error ?? 'missing'}`)
    }
    expect(theirs.rows, `rows at version ${v}`).toEqual(canonicalRows(mine, schema))
  }
}

/**
 * The versions to compare with delta-rs: all of them in a full run, otherwise at most `max`
 * spread evenly (always including the first and the last).
 * @param latest - latest version
 * @param full - compare every version
 * @param max - bound of the sample
 * @returns sorted versions
 */
export function versionsToCompare(
  latest: number,
  full: boolean,
  max = Number(process.env.POLARWAY_COMPARE_MAX ?? 60),
): number[] {
  if (full || latest + 1 <= max) return Array.from({ length: latest + 1 }, (_, v) => v)
  const picked = new Set<number>([0, latest])
  for (let i = 1; i < max - 1; i++) picked.add(Math.round((i * latest) / (max - 1)))
  return [...picked].sort((a, b) => a - b)
}

/**
 * Comparing what we read of a table, version by version, with what delta-rs read of it
 * (`tests/support/py/read_table.py`).
 */
import { expect } from 'vitest'
import { DeltaTable } from '../../src/delta/index.js'
import { canonicalRows } from './canonical.js'

/** The output of `read_table.py`. */
export interface VersionsRead {
  latest: number
  versions: Record<string, { schema: string; rows: string[] } | { error: string }>
}

/** What delta-rs 1.6's `to_pyarrow_table()` raises for a version without data files. */
const EMPTY_TABLE_ERROR = /^ArrowInvalid: Must pass at least one array/

/**
 * Asserts that we read, at every version delta-rs read, the rows it read.
 * @param dir - the table
 * @param read - what delta-rs read
 * @returns how many versions were compared row by row (all but those without data files)
 */
export async function expectSameAtEveryVersion(dir: string, read: VersionsRead): Promise<number> {
  const latest = await DeltaTable.open(dir)
  expect(latest.version).toBe(read.latest)
  let compared = 0
  for (const [v, want] of Object.entries(read.versions)) {
    const t = await DeltaTable.open(dir, { version: Number(v) })
    const ours = canonicalRows(await t.toRows(), t.schema)
    if ('error' in want) {
      // delta-rs 1.6 cannot turn a table without data files into a pyarrow table.
      expect(want.error, `version ${v}`).toMatch(EMPTY_TABLE_ERROR)
      expect(t.snapshot.numFiles, `version ${v}`).toBe(0)
      continue
    }
    expect(ours, `version ${v}`).toEqual(want.rows)
    compared++
  }
  return compared
}

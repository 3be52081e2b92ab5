/**
 * UPDATE with constant values on tables Spark and delta-rs wrote: the set column is written
 * anew and the other columns' chunks are copied from the other engine's file byte for byte;
 * delta-rs then reads the table exactly as we do.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { afterAll, expect, it } from 'vitest'
import { col, DeltaTable, type Expression } from '../../src/delta/index.js'
import { chunkRange } from '../../src/delta/parquet/check-pages.js'
import { readParquetRows } from '../../src/delta/parquet/index.js'
import { canonicalRows } from '../support/canonical.js'
import { copyFixture, describeWithFixtures } from '../support/fixtures.js'
import { describeWithOracle } from '../support/oracle.js'
import { cleanupTempDirs } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

afterAll(cleanupTempDirs)

/** Each column chunk's bytes, by column path, over all row groups of a data file. */
async function chunkBytes(table: string, file: string): Promise<Map<string, Uint8Array[]>> {
  const data = new Uint8Array(await fs.readFile(path.join(table, decodeURIComponent(file))))
  const out = new Map<string, Uint8Array[]>()
  for (const group of parquetMetadata(data).row_groups) {
    for (const c of group.columns) {
      const meta = c.meta_data!
      const { start, end } = chunkRange(meta)
      const key = meta.path_in_schema.join('.')
      out.set(key, [...(out.get(key) ?? []), data.subarray(start, end)])
    }
  }
  return out
}

const CASES: readonly {
  readonly fixture: string
  readonly writer: string
  readonly filter: Expression
  /** The filter in JavaScript. */
  readonly matches: (row: Readonly<Record<string, unknown>>) => boolean
  readonly set: Readonly<Record<string, unknown>>
  /** delta-rs 1.6 reads the table (it refuses the vacuumProtocolCheck reader feature). */
  readonly deltaRsReads: boolean
}[] = [
  {
    fixture: 'basic-with-vacuum-protocol-check-feature',
    writer: 'Spark 3.5',
    filter: col('id').eq(7),
    matches: (row) => row.id === 7,
    set: { str: 'updated' },
    deltaRsReads: false,
  },
  {
    fixture: 'table_failed_last_checkpoint_update',
    writer: 'delta-rs 0.17',
    filter: col('sold').gt(1),
    matches: (row) => (row.sold as number | null) !== null && (row.sold as number) > 1,
    set: { price: 0n, deleted: true },
    deltaRsReads: true,
  },
]

describeWithFixtures('UPDATE of constants on other engines’ files', () => {
  describeWithOracle('read back by delta-rs', (oracle) => {
    it.each(CASES)(
      'copies the untouched chunks of $writer files ($fixture)',
      async ({ fixture, filter, matches, set, deltaRsReads }) => {
        const dir = await copyFixture(fixture)
        const table = await DeltaTable.open(dir)
        const before = await table.toRows()
        const live = new Set(table.snapshot.files().map((f) => f.path))
        const result = await table.update(filter, set)
        expect(result.skipped).toBe(false)

        // Every rewritten file keeps the chunks of the columns not set.
        const after = table.snapshot.files()
        const added = after.filter((f) => !live.has(f.path))
        const removed = [...live].filter((p) => !after.some((f) => f.path === p))
        expect(added.length).toBe(removed.length)
        expect(added.length).toBeGreaterThan(0)
        const copied = table.schema.fields.map((f) => f.name).filter((n) => !(n in set))
        const sources = await Promise.all(removed.map((p) => chunkBytes(dir, p)))
        for (const add of added) {
          const chunks = await chunkBytes(dir, add.path)
          // The source is the removed file with the same bytes for the first copied column.
          const source = sources.find(
            (s) =>
              JSON.stringify(s.get(copied[0]!)?.map((b) => [...b])) ===
              JSON.stringify(chunks.get(copied[0]!)?.map((b) => [...b])),
          )
          expect(source, add.path).toBeDefined()
          for (const name of copied) expect(chunks.get(name)).toEqual(source!.get(name))
        }

        // The rows are the old ones with the assignments applied where the filter matched.
        const key = (r: Readonly<Record<string, unknown>>): string =>
          JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
        const expected = before
          .map((r) => (matches(r) ? { ...r, ...set } : r))
          .map(key)
          .sort()
        expect((await table.toRows()).map(key).sort()).toEqual(expected)
        expect(before.some(matches)).toBe(true)
        // pyarrow reads each new file as we do.
        const files = added.map((a) => path.join(dir, decodeURIComponent(a.path)))
        const byPyarrow = await oracle.runJson<Record<string, { rows: string[] }>>(
          'tests/delta/parquet/py/read_files.py',
          files,
        )
        for (const file of files) {
          const data = new Uint8Array(await fs.readFile(file))
          const ours = await readParquetRows(data, { schema: table.schema })
          expect(byPyarrow[file]?.rows).toEqual(canonicalRows(ours, table.schema))
        }
        if (deltaRsReads) {
          const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [
            dir,
            '--versions',
            `${result.version - 1},${result.version}`,
          ])
          expect(await expectSameAtEveryVersion(dir, read)).toBe(2)
        }
      },
      120_000,
    )
  })
})

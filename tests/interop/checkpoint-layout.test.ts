/**
 * delta-rs reads a checkpoint in the layout of large checkpoints (pages, row groups,
 * dictionaries), which the engine uses above 1,024 actions (smaller pages and row groups here).
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { afterAll, expect, it } from 'vitest'
import { writeCheckpoint } from '../../src/delta/checkpoint/write-checkpoint.js'
import { checkpointKey, commitKey } from '../../src/delta/log/log-path.js'
import { DeltaTable } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { cleanupTempDirs, makeTempDir } from '../support/temp.js'
import { expectSameAtEveryVersion, type VersionsRead } from '../support/versions.js'

afterAll(cleanupTempDirs)

describeWithOracle('a checkpoint with pages, row groups and dictionaries', (oracle) => {
  it('is read by delta-rs as we read it', async () => {
    const dir = await makeTempDir('checkpoint-layout-')
    const table = await DeltaTable.create(dir, {
      schema: {
        type: 'struct',
        fields: [
          { name: 'id', type: 'long', nullable: false, metadata: {} },
          { name: 'p', type: 'string', nullable: true, metadata: {} },
        ],
      },
      partitionColumns: ['p'],
      // No automatic checkpoint: the one under test is the only one.
      properties: { 'delta.checkpointInterval': '1000' },
    })
    for (let i = 0; i < 150; i++) {
      await table.append([{ id: BigInt(i), p: i % 7 === 0 ? null : `part-${i % 3}` }])
    }
    await table.delete(undefined)
    await table.append([
      { id: 1000n, p: 'part-0' },
      { id: 1001n, p: null },
    ])
    const version = table.version
    await writeCheckpoint(table.store, table.snapshot, Date.now(), {
      singlePageMaxRows: 0,
      pageMaxRows: 40,
      rowGroupSize: 100,
    })
    const bytes = await table.store.get(checkpointKey(version))
    const metadata = parquetMetadata(bytes)
    expect(metadata.row_groups.length).toBeGreaterThan(1)
    const encodings = metadata.row_groups.flatMap((g) =>
      g.columns.flatMap((c) => c.meta_data!.encodings),
    )
    expect(encodings).toContain('RLE_DICTIONARY')
    // Without the commits before it, readers must take the state from the checkpoint.
    for (let v = 0; v <= version; v++) {
      await fs.rm(path.join(dir, commitKey(v)))
    }
    await table.append([{ id: 2000n, p: 'part-1' }])
    const read = await oracle.runJson<VersionsRead>('tests/support/py/read_table.py', [
      dir,
      '--versions',
      `${version},${version + 1}`,
    ])
    expect(await expectSameAtEveryVersion(dir, read)).toBe(2)
    const rows = await (await DeltaTable.open(dir)).toRows()
    expect(rows.map((r) => r.id).sort()).toEqual([1000n, 1001n, 2000n])
  }, 120_000)
})

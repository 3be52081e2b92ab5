import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithOracle } from './oracle.js'
import { cleanupTempDirs, makeTempDir } from './temp.js'

interface ReadTableOutput {
  latest: number
  versions: Record<string, { schema: string; rows: string[] } | { error: string }>
}

const TABLES = [
  'plain',
  'part_string',
  'part_int',
  'part_date',
  'checkpointed',
  'compacted',
  'vacuumed',
] as const

afterAll(cleanupTempDirs)

describeWithOracle('python oracle', (oracle) => {
  let out = ''

  beforeAll(async () => {
    out = await makeTempDir('reader-tables-')
    await oracle.run('tests/support/py/make_reader_tables.py', [out], { timeoutMs: 180_000 })
  }, 200_000)

  it.each(TABLES)('builds %s with an expected.json for every version', async (name) => {
    expect(existsSync(path.join(out, name, 'table', '_delta_log'))).toBe(true)
    const expected = JSON.parse(
      await readFile(path.join(out, name, 'expected.json'), 'utf8'),
    ) as ReadTableOutput
    expect(Number.isInteger(expected.latest)).toBe(true)
    expect(Object.keys(expected.versions)).toHaveLength(expected.latest + 1)
    const latest = expected.versions[String(expected.latest)]
    expect(latest).toHaveProperty('rows')
    expect((latest as { rows: string[] }).rows.length).toBeGreaterThan(0)
    for (const entry of Object.values(expected.versions)) {
      if ('rows' in entry) {
        expect(() => JSON.parse(entry.schema) as unknown).not.toThrow()
        for (const row of entry.rows) expect(typeof JSON.parse(row)).toBe('object')
      }
    }
  })

  it('records the versions whose files vacuum removed as errors', async () => {
    const expected = JSON.parse(
      await readFile(path.join(out, 'vacuumed', 'expected.json'), 'utf8'),
    ) as ReadTableOutput
    expect(expected.versions['0']).toHaveProperty('error')
  })

  it('reads selected versions with read_table.py, reporting unknown versions as errors', async () => {
    const result = await oracle.runJson<ReadTableOutput>('tests/support/py/read_table.py', [
      path.join(out, 'checkpointed', 'table'),
      '--versions',
      '0,14,99',
    ])
    expect(result.latest).toBe(18)
    expect(Object.keys(result.versions)).toEqual(['0', '14', '99'])
    expect(result.versions['0']).toMatchObject({ rows: [expect.any(String), expect.any(String)] })
    expect((result.versions['14'] as { rows: string[] }).rows).toHaveLength(30)
    expect(result.versions['99']).toHaveProperty('error')
  })

  it('rejects with the script’s stderr when a script fails', async () => {
    await expect(
      oracle.run('tests/support/py/read_table.py', [path.join(out, 'no-such-table')]),
    ).rejects.toThrow(/read_table\.py: .*no-such-table/s)
  })
})

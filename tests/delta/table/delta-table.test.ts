import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeltaTable, type StructType } from '../../../src/delta/index.js'
import { makeTempDir } from '../../support/temp.js'

const schema: StructType = {
  type: 'struct',
  fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }],
}

describe('DeltaTable.changes', () => {
  it('returns the commits after a version, up to the latest or to a given one', async () => {
    const t = await DeltaTable.create(path.join(await makeTempDir('changes-'), 't'), { schema })
    for (let i = 1; i <= 4; i++) await t.append([{ id: BigInt(i) }])
    const all = await t.changes(1)
    expect(all.map((c) => c.version)).toEqual([2, 3, 4])
    // A known range is read by name: the same commits, without listing the log.
    expect(await t.changes(1, 4)).toEqual(all)
    expect((await t.changes(1, 2)).map((c) => c.version)).toEqual([2])
    expect(await t.changes(4)).toEqual([])
    expect(await t.changes(4, 4)).toEqual([])
    await expect(t.changes(3, 6)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' })
  })
})

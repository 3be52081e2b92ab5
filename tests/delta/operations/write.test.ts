import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { col, DeltaTable, isDeltaError, type StructType } from '../../../src/delta/index.js'
import { parseStats } from '../../../src/delta/expr/skipping.js'
import { makeTempDir } from '../../support/temp.js'
import { writeRawCommit } from './vacuum-support.js'

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'amount', type: 'decimal(10,2)', nullable: true, metadata: {} },
    { name: 'at', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'region', type: 'string', nullable: true, metadata: {} },
  ],
}

async function table(properties: Record<string, string> = {}): Promise<DeltaTable> {
  return DeltaTable.create(path.join(await makeTempDir('write-'), 't'), {
    schema,
    partitionColumns: ['region'],
    properties,
  })
}

describe('append', () => {
  it('writes one file per partition with stats and escaped partition directories', async () => {
    const t = await table()
    const result = await t.append([
      {
        id: 1n,
        name: 'a',
        amount: '1.50',
        at: new Date('2026-01-01T00:00:00Z'),
        region: 'US/East',
      },
      { id: 2, name: 'b', amount: 2, region: 'US/East' },
      { id: 3n, name: null, region: null },
    ])
    expect(result).toMatchObject({
      version: 1,
      skipped: false,
      metrics: { numFiles: 2, numOutputRows: 3 },
    })
    const files = await t.files()
    expect(files).toHaveLength(2)
    const east = files.find((f) => f.partitionValues.region === 'US/East')!
    expect(east.path.startsWith('region=US%252FEast/')).toBe(true)
    expect(parseStats(east.stats)).toMatchObject({
      numRecords: 2,
      minValues: { id: 1, name: 'a', amount: 1.5 },
      maxValues: { id: 2, name: 'b', amount: 2 },
      nullCount: { id: 0, name: 0, at: 1 },
    })
    expect(
      files
        .find((f) => f.partitionValues.region === null)
        ?.path.startsWith('region=__HIVE_DEFAULT_PARTITION__/'),
    ).toBe(true)
    expect(await readdir(path.join(t.store.location))).toContain('region=US%2FEast')
    const rows = await t.toRows({ filter: col('region').eq('US/East') })
    expect(rows.map((r) => [r.id, r.amount])).toEqual([
      [1n, '1.50'],
      [2n, '2.00'],
    ])
  })

  it('is a blind append: commitInfo says so, with readVersion and metrics', async () => {
    const t = await table()
    await t.append([{ id: 1n }])
    const [h] = await t.history({ limit: 1 })
    expect(h).toMatchObject({
      operation: 'WRITE',
      operationParameters: { mode: 'Append', partitionBy: '["region"]' },
      readVersion: 0,
      isBlindAppend: true,
      isolationLevel: 'Serializable',
    })
    expect(h?.engineInfo).toMatch(/^polarway-lakehouse\//)
  })

  it.each([
    ['an unknown column', [{ id: 1n, nope: 1 }]],
    ['a null in a non-nullable column', [{ id: null }]],
    ['a missing non-nullable column', [{ name: 'x' }]],
    ['a wrong type', [{ id: 'one' }]],
    ['a decimal with too many digits', [{ id: 1n, amount: '123456789.00' }]],
    ['a zone-less timestamp string', [{ id: 1n, at: '2026-01-01T00:00:00' }]],
    ['a non-object row', [42]],
  ])('rejects %s with SCHEMA_MISMATCH and commits nothing', async (_name, rows) => {
    const t = await table()
    const err = await t.append(rows as Record<string, unknown>[]).catch((e: unknown) => e)
    expect(isDeltaError(err, 'SCHEMA_MISMATCH')).toBe(true)
    expect((await DeltaTable.open(t.store)).version).toBe(0)
  })

  it('is idempotent with an app transaction', async () => {
    const t = await table()
    expect(
      (await t.append([{ id: 1n }], { appTransaction: { appId: 'loader', version: 7 } })).skipped,
    ).toBe(false)
    expect(
      (await t.append([{ id: 1n }], { appTransaction: { appId: 'loader', version: 7 } })).skipped,
    ).toBe(true)
    expect(
      (await t.append([{ id: 1n }], { appTransaction: { appId: 'loader', version: 6 } })).skipped,
    ).toBe(true)
    expect(
      (await t.append([{ id: 2n }], { appTransaction: { appId: 'loader', version: 8 } })).skipped,
    ).toBe(false)
    expect((await t.toRows()).length).toBe(2)
    expect(t.snapshot.txnVersion('loader')).toBe(8)
  })

  it('checkpoints every delta.checkpointInterval commits and reports it', async () => {
    const t = await table({ 'delta.checkpointInterval': '3' })
    const results = []
    for (let i = 0; i < 6; i++) results.push(await t.append([{ id: BigInt(i) }]))
    expect(results.map((r) => r.checkpoint?.version)).toEqual([
      undefined,
      undefined,
      3,
      undefined,
      undefined,
      6,
    ])
    expect(
      (await readdir(path.join(t.store.location, '_delta_log'))).filter((f) =>
        f.endsWith('.checkpoint.parquet'),
      ),
    ).toEqual([
      '00000000000000000003.checkpoint.parquet',
      '00000000000000000006.checkpoint.parquet',
    ])
    expect((await (await DeltaTable.open(t.store)).toRows()).length).toBe(6)
  })
})

describe('overwrite', () => {
  it('replaces every row in one commit with dataChange removes', async () => {
    const t = await table()
    await t.append([
      { id: 1n, region: 'a' },
      { id: 2n, region: 'b' },
    ])
    const r = await t.overwrite([{ id: 3n, region: 'c' }])
    expect(r.metrics).toMatchObject({ numFiles: 1, numOutputRows: 1, numRemovedFiles: 2 })
    expect((await t.toRows()).map((x) => x.id)).toEqual([3n])
    expect((await DeltaTable.open(t.store, { version: 1 }).then((v) => v.toRows())).length).toBe(2)
    expect(
      t.snapshot
        .tombstones()
        .every(
          (x) =>
            x.dataChange &&
            x.extendedFileMetadata === true &&
            typeof x.deletionTimestamp === 'number',
        ),
    ).toBe(true)
  })

  it('is refused on an append-only table', async () => {
    const t = await table({ 'delta.appendOnly': 'true' })
    await t.append([{ id: 1n }])
    expect(isDeltaError(await t.overwrite([]).catch((e: unknown) => e), 'APPEND_ONLY')).toBe(true)
    expect((await t.toRows()).length).toBe(1)
  })
})

describe('prepareAppend', () => {
  async function dataFiles(t: DeltaTable): Promise<string[]> {
    return (await t.store.listKeys('', { recursive: true }))
      .filter((k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'))
      .sort()
  }

  /** Temp files in `_delta_log` (a staged commit file). */
  async function logTemps(t: DeltaTable): Promise<string[]> {
    return (await readdir(path.join(t.store.location, '_delta_log'))).filter((f) =>
      f.startsWith('.'),
    )
  }

  it('writes the files now and publishes them only on commit', async () => {
    const t = await table()
    const prepared = t.prepareAppend([{ id: 1n, name: 'a', region: 'eu' }])
    // Files are written in the background; a reader never sees them before the commit.
    await new Promise((r) => setTimeout(r, 20))
    expect(await dataFiles(t)).toHaveLength(1)
    // So is the commit file, under a temp name: the commit only links it into place.
    expect(await logTemps(t)).toHaveLength(1)
    expect((await DeltaTable.open(t.store)).version).toBe(0)
    expect(await (await DeltaTable.open(t.store)).toRows()).toEqual([])
    const result = await prepared.commit()
    expect(result).toMatchObject({ version: 1, metrics: { numOutputRows: 1 } })
    expect(await logTemps(t)).toEqual([])
    expect((await (await DeltaTable.open(t.store)).toRows()).map((r) => r.id)).toEqual([1n])
    expect((await t.history({ limit: 1 }))[0]?.operation).toBe('WRITE')
  })

  it('deletes its files on discard and commits nothing', async () => {
    const t = await table()
    await t.append([{ id: 0n, region: 'eu' }])
    const before = await dataFiles(t)
    const prepared = t.prepareAppend([{ id: 1n, region: 'us' }])
    await prepared.discard()
    expect(await dataFiles(t)).toEqual(before)
    expect(await logTemps(t)).toEqual([])
    expect((await DeltaTable.open(t.store)).version).toBe(1)
  })

  it('commits after other writers at the next free version', async () => {
    const t = await table()
    const prepared = t.prepareAppend([{ id: 1n, region: 'eu' }])
    const other = await DeltaTable.open(t.store)
    await other.append([{ id: 2n, region: 'eu' }])
    await other.append([{ id: 3n, region: 'us' }])
    expect((await prepared.commit()).version).toBe(3)
    expect(await logTemps(t)).toEqual([])
    const rows = await (await DeltaTable.open(t.store)).toRows()
    expect(rows.map((r) => r.id).sort()).toEqual([1n, 2n, 3n])
  })

  it('encodes its rows again when another writer changed the metadata meanwhile', async () => {
    const t = await table()
    const prepared = t.prepareAppend([{ id: 1n, name: 'a', region: 'eu' }])
    // Another writer adds a column (a metaData action at version 1, which the prepared append
    // had staged its commit file for).
    const metadata = t.snapshot.metadata
    const wider = {
      ...schema,
      fields: [...schema.fields, { name: 'note', type: 'string', nullable: true, metadata: {} }],
    }
    await writeRawCommit(t.store, 1, [
      { kind: 'commitInfo', info: { timestamp: Date.now(), operation: 'SET TBLPROPERTIES' } },
      { ...metadata, schemaString: JSON.stringify(wider) },
    ])
    const result = await prepared.commit()
    expect(result.version).toBe(2)
    expect(await logTemps(t)).toEqual([])
    const latest = await DeltaTable.open(t.store)
    expect(latest.schema.fields.map((f) => f.name)).toContain('note')
    expect(await latest.toRows({ columns: ['id', 'note'] })).toEqual([{ id: 1n, note: null }])
    // The file of version 2 was written for the new schema.
    const [file] = await latest.files()
    expect(await latest.fileRows(file!, { columns: ['note'] })).toEqual([{ note: null }])
  })

  it('can be settled once, and refuses bad rows before writing anything', async () => {
    const t = await table()
    const prepared = t.prepareAppend([{ id: 1n, region: 'eu' }])
    await prepared.commit()
    await expect(prepared.commit()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(prepared.discard()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const before = await dataFiles(t)
    let code: string | undefined
    try {
      t.prepareAppend([{ id: 'not a long', region: 'eu' }])
    } catch (error) {
      code = isDeltaError(error) ? error.code : String(error)
    }
    expect(code).toBe('SCHEMA_MISMATCH')
    expect(await dataFiles(t)).toEqual(before)
  })

  it('writes due checkpoints in the background', async () => {
    const t = await table({ 'delta.checkpointInterval': '2' })
    for (let i = 0; i < 4; i++) await t.prepareAppend([{ id: BigInt(i), region: 'eu' }]).commit()
    await t.close()
    const log = await readdir(path.join(t.store.location, '_delta_log'))
    // Due checkpoints are written at the version current when the background writer runs, and
    // ones that fall due meanwhile are folded into a later one; close() writes the last one due.
    expect(log.filter((f) => f.endsWith('.checkpoint.parquet')).length).toBeGreaterThan(0)
    const hint = JSON.parse(
      new TextDecoder().decode(await t.store.get('_delta_log/_last_checkpoint')),
    ) as { version: number }
    expect(hint.version).toBe(4)
    expect((await (await DeltaTable.open(t.store)).toRows()).length).toBe(4)
  })
})

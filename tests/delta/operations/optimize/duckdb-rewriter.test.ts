import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import type { AddAction } from '../../../../src/delta/actions/actions.js'
import { parseStats } from '../../../../src/delta/expr/skipping.js'
import { statsFromSummary } from '../../../../src/delta/operations/optimize/duckdb-rewriter.js'
import { executeOptimize } from '../../../../src/delta/operations/optimize/execute.js'
import {
  chooseRewriteStrategy,
  dataLayout,
  DUCKDB_MIN_ROWS,
  DUCKDB_ROWS_PER_FILE,
} from '../../../../src/delta/operations/optimize/rewriter.js'
import { planOptimize } from '../../../../src/delta/operations/optimize/plan.js'
import { PARQUET_CREATED_BY } from '../../../../src/delta/operations/write-files.js'
import { readParquetRows, writeParquet } from '../../../../src/delta/parquet/index.js'
import type { StructType } from '../../../../src/delta/schema/data-type.js'
import { encodeAddPath } from '../../../../src/delta/schema/paths.js'
import { collectStats, serializeStats } from '../../../../src/delta/stats/collect-stats.js'
import { MemoryStore } from '../../../../src/delta/storage/memory-store.js'
import { DeltaTable } from '../../../../src/delta/table/delta-table.js'
import { makeTempDir } from '../../../support/temp.js'
import * as path from 'node:path'
import { Transaction } from '../../../../src/delta/transaction/transaction.js'
import { contents, fakeSnapshot, makeTable, steppingClock } from './support.js'

const f = (name: string, type: StructType['fields'][number]['type']) => ({
  name,
  type,
  nullable: true,
  metadata: {},
})

/** Every primitive type the DuckDB path writes. */
const ALL_TYPES: StructType = {
  type: 'struct',
  fields: [
    f('l', 'long'),
    f('i', 'integer'),
    f('sh', 'short'),
    f('by', 'byte'),
    f('fl', 'float'),
    f('db', 'double'),
    f('bo', 'boolean'),
    f('bi', 'binary'),
    f('d', 'date'),
    f('ts', 'timestamp'),
    f('tn', 'timestamp_ntz'),
    f('d1', 'decimal(5,2)'),
    f('d2', 'decimal(18,3)'),
    f('d3', 'decimal(30,5)'),
    f('s', 'string'),
  ],
}

const LONG_STRING = `${'x'.repeat(31)}😀 and more text after the prefix`

function typedRow(k: number): Record<string, unknown> {
  const pick = <T>(values: readonly T[]): T => values[k % values.length] as T
  return {
    l: pick([-(2n ** 63n), 2n ** 63n - 1n, 0n, BigInt(k), null]),
    i: pick([-2147483648, 2147483647, k, null]),
    sh: pick([-32768, 32767, k, null]),
    by: pick([-128, 127, k % 100, null]),
    fl: pick([1.5, -0, Number.POSITIVE_INFINITY, k / 3, null]),
    db: pick([-0, 0.1 + 0.2, Number.NEGATIVE_INFINITY, k * 1e300, null, 2 ** -1074]),
    bo: pick([true, false, null]),
    bi: pick([new Uint8Array([k, 0, 255]), null]),
    d: pick([
      '0001-01-01',
      '9999-12-31',
      '1969-12-31',
      `2024-02-${String((k % 28) + 1).padStart(2, '0')}`,
      null,
    ]),
    ts: pick([
      new Date(-1),
      new Date(Date.UTC(1900, 0, 1, 0, 0, 0, 7)),
      new Date(1700000000123 + k),
      null,
    ]),
    tn: pick([new Date(Date.UTC(2024, 0, 1, 12)), new Date(-62135596800000), null]),
    d1: pick(['-999.99', '0.05', '12.00', null]),
    d2: pick(['-1.500', '999999999999999.999', null]),
    d3: pick(['-1234567890123456789012345.12345', '0.00001', null]),
    s: pick(['', 'a', LONG_STRING, '\u{10FFFF}\u{10FFFF}', 'é', `s${k}`, null]),
  }
}

async function typedTable(properties: Record<string, string> = {}): Promise<DeltaTable> {
  const batches = Array.from({ length: 6 }, (_, b) =>
    Array.from({ length: 7 }, (_, i) => typedRow(b * 7 + i)),
  )
  // A NaN in one file only: the compacted file has a NaN, so its float bounds are omitted.
  batches[2]?.push({ ...typedRow(99), db: Number.NaN })
  return makeTable(batches, { schema: ALL_TYPES, properties })
}

/** Asserts that every live file's stats equal what collectStats gives for its rows. */
async function expectStatsFromRows(table: DeltaTable): Promise<void> {
  const { dataSchema, statsColumns } = dataLayout(table.snapshot)
  for (const add of await table.files()) {
    const rows = await readParquetRows(await table.store.get(add.path), { schema: dataSchema })
    expect(add.stats).toBe(serializeStats(collectStats(rows, table.schema, statsColumns)))
  }
}

describe('the DuckDB rewriter', () => {
  it.each<[string, Record<string, string>]>([
    ['default stats columns', {}],
    ['the first 5 columns', { 'delta.dataSkippingNumIndexedCols': '5' }],
    ['named stats columns', { 'delta.dataSkippingStatsColumns': 'ts,s,d3,bo' }],
    ['no stats columns', { 'delta.dataSkippingNumIndexedCols': '0' }],
  ])('writes the stats collectStats would write (%s)', async (_, properties) => {
    const table = await typedTable(properties)
    const before = await contents(table)
    const { result } = await executeOptimize(
      table.store,
      table.snapshot,
      table.clock,
      {},
      {
        engine: 'duckdb',
      },
    )
    await table.refresh()
    expect(result.engines).toEqual(['duckdb'])
    expect(await contents(table)).toEqual(before)
    await expectStatsFromRows(table)
    const stats = parseStats((await table.files())[0]?.stats)
    expect(stats?.numRecords).toBe(43)
  })

  it('writes the stats collectStats would write for z-ordered files', async () => {
    const table = await typedTable()
    const before = await contents(table)
    await executeOptimize(
      table.store,
      table.snapshot,
      table.clock,
      { zOrder: ['s', 'l'], targetFileSize: 4000 },
      { engine: 'duckdb' },
    )
    await table.refresh()
    expect((await table.files()).length).toBeGreaterThan(1)
    expect(await contents(table)).toEqual(before)
    await expectStatsFromRows(table)
  })

  it('keeps the sign of zero float bounds, as collectStats does', async () => {
    const zeros: StructType = {
      type: 'struct',
      fields: [f('p', 'string'), f('fl', 'float'), f('db', 'double')],
    }
    // Per partition, the zeros of its files in commit order (DuckDB's min and max keep the first
    // of equal zeros they meet; the bounds must not depend on it).
    const cases: Record<string, readonly number[]> = {
      'neg-then-pos': [-0, 0],
      'pos-then-neg': [0, -0],
      neg: [-0, -0],
      pos: [0, 0],
      'neg-and-one': [-0, 1, -0],
      'minus-one-and-pos': [0, -1, 0],
    }
    const batches = Object.values(cases)[0]!.map((_, i) =>
      Object.entries(cases).flatMap(([p, values]) =>
        values[i] === undefined ? [] : [{ p, fl: values[i], db: values[i] }],
      ),
    )
    batches.push([{ p: 'neg-and-one', fl: -0, db: -0 }])
    const table = await makeTable(batches, { schema: zeros, partitionColumns: ['p'] })
    await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine: 'duckdb' })
    await table.refresh()
    await expectStatsFromRows(table)
    const bounds = Object.fromEntries(
      (await table.files()).map((add) => {
        const text = add.stats ?? ''
        return [
          add.partitionValues.p,
          text.slice(text.indexOf('"minValues"'), text.indexOf(',"nullCount"')),
        ]
      }),
    )
    const both = (min: string, max: string): string =>
      `"minValues":{"fl":${min},"db":${min}},"maxValues":{"fl":${max},"db":${max}}`
    expect(bounds).toEqual({
      'neg-then-pos': both('-0.0', '0'),
      'pos-then-neg': both('-0.0', '0'),
      neg: both('-0.0', '0'),
      pos: both('-0.0', '0'),
      'neg-and-one': both('-0.0', '1'),
      'minus-one-and-pos': both('-1', '0'),
    })
  })

  it('writes the Parquet types of the Delta mapping', async () => {
    const table = await typedTable()
    await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine: 'duckdb' })
    await table.refresh()
    const add = (await table.files())[0] as AddAction
    const bytes = await table.store.get(add.path)
    const meta = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    )
    const leaf = (name: string) => meta.schema.find((e) => e.name === name)
    const expected: Record<string, Record<string, unknown>> = {
      l: { type: 'INT64' },
      i: { type: 'INT32' },
      sh: { type: 'INT32', converted_type: 'INT_16' },
      by: { type: 'INT32', converted_type: 'INT_8' },
      fl: { type: 'FLOAT' },
      db: { type: 'DOUBLE' },
      bo: { type: 'BOOLEAN' },
      bi: { type: 'BYTE_ARRAY' },
      d: { type: 'INT32', converted_type: 'DATE' },
      ts: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS' },
      d1: { type: 'INT32', converted_type: 'DECIMAL', precision: 5, scale: 2 },
      d2: { type: 'INT64', converted_type: 'DECIMAL', precision: 18, scale: 3 },
      d3: { type: 'FIXED_LEN_BYTE_ARRAY', converted_type: 'DECIMAL', precision: 30, scale: 5 },
      s: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    }
    for (const [name, want] of Object.entries(expected)) {
      expect(leaf(name), name).toMatchObject(want)
    }
    expect(leaf('ts')?.logical_type).toMatchObject({
      type: 'TIMESTAMP',
      isAdjustedToUTC: true,
      unit: 'MICROS',
    })
    expect(leaf('tn')?.logical_type).toMatchObject({
      type: 'TIMESTAMP',
      isAdjustedToUTC: false,
      unit: 'MICROS',
    })
    expect(leaf('bi')?.converted_type).toBeUndefined()
  })

  it('fills columns missing from the input files with nulls', async () => {
    const schema: StructType = { type: 'struct', fields: [f('id', 'long'), f('late', 'string')] }
    const table = await makeTable([], { schema })
    // Files written before `late` existed, and one that has it.
    const old: StructType = { type: 'struct', fields: [f('id', 'long')] }
    const write = async (name: string, rows: Record<string, unknown>[], fileSchema: StructType) => {
      const bytes = writeParquet(rows, fileSchema, { createdBy: PARQUET_CREATED_BY })
      await table.store.put(name, bytes)
      const stats = serializeStats(collectStats(rows, schema, [['id'], ['late']]))
      return {
        kind: 'add',
        path: encodeAddPath(name),
        partitionValues: {},
        size: bytes.byteLength,
        modificationTime: 1,
        dataChange: true,
        stats,
      } as AddAction
    }
    const txn = new Transaction(table.store, table.snapshot, steppingClock(), {
      operation: 'WRITE',
    })
    txn.addActions([
      await write('old-1.parquet', [{ id: 1n }], old),
      await write('old-2.parquet', [{ id: 2n }], old),
    ])
    await txn.commit()
    await table.refresh()
    await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine: 'duckdb' })
    await table.refresh()
    // Compaction does not promise an order of rows (DuckDB reads its inputs in parallel).
    const compacted = (await table.toRows()).sort((a, b) =>
      Number((a.id as bigint) - (b.id as bigint)),
    )
    expect(compacted).toEqual([
      { id: 1n, late: null },
      { id: 2n, late: null },
    ])
    await expectStatsFromRows(table)
    const txn2 = new Transaction(table.store, table.snapshot, steppingClock(), {
      operation: 'WRITE',
    })
    txn2.addActions([await write('new.parquet', [{ id: 3n, late: 'x' }], schema)])
    await txn2.commit()
    await table.refresh()
    await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine: 'duckdb' })
    await table.refresh()
    expect((await table.toRows()).map((r) => r.late).sort()).toEqual([null, null, 'x'])
    await expectStatsFromRows(table)
  })

  it('puts rows into the same files as the hyparquet engine when z-ordering', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => ({
      id: BigInt(i),
      p: 'a',
      n: (i * 37) % 600,
      s: `v${(i * 101) % 600}`,
    }))
    const batches = [rows.slice(0, 200), rows.slice(200, 400), rows.slice(400)]
    const membership = async (engine: 'duckdb' | 'hyparquet') => {
      const table = await makeTable(batches)
      await executeOptimize(
        table.store,
        table.snapshot,
        table.clock,
        { zOrder: ['n', 's'], targetFileSize: 2000 },
        { engine },
      )
      await table.refresh()
      const files = await table.files()
      const sets: string[] = []
      for (const add of files) {
        const fileRows = await readParquetRows(await table.store.get(add.path), {
          schema: table.schema,
          columns: ['id'],
        })
        sets.push(
          fileRows
            .map((r) => String(r.id))
            .sort()
            .join(','),
        )
      }
      return sets.sort()
    }
    const duck = await membership('duckdb')
    expect(duck.length).toBeGreaterThan(2)
    expect(duck).toEqual(await membership('hyparquet'))
  })

  it('rewrites in process when a path holds glob characters', async () => {
    const parent = await makeTempDir('glob-')
    const table = await DeltaTable.create(path.join(parent, 'a[1]*'), {
      schema: { type: 'struct', fields: [f('id', 'long')] },
      clock: steppingClock(),
    })
    await table.append([{ id: 1n }])
    await table.append([{ id: 2n }])
    await executeOptimize(table.store, table.snapshot, table.clock, {}, { engine: 'duckdb' })
    await table.refresh()
    expect((await table.toRows()).map((r) => r.id as bigint).sort()).toEqual([1n, 2n])
    expect(await table.files()).toHaveLength(1)
  })

  it("rewrites other writers' microsecond timestamps in process, keeping them", async () => {
    const schema: StructType = { type: 'struct', fields: [f('id', 'long'), f('ts', 'timestamp')] }
    const own = await makeTable(
      [[{ id: 1n, ts: new Date(1000) }], [{ id: 2n, ts: new Date(2000) }]],
      { schema },
    )
    const ownResult = await own.optimize()
    expect(ownResult.engines).toEqual(['hyparquet'])

    const table = await makeTable([[{ id: 1n, ts: new Date(1000) }]], { schema })
    // A file another engine wrote, with microseconds past the millisecond.
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const foreign = path.join(table.store.location, 'foreign.parquet')
    await connection.run(
      `COPY (SELECT 2::BIGINT AS id, make_timestamptz(1700000000123456) AS ts) TO '${foreign}' (FORMAT parquet)`,
    )
    const bytes = await table.store.get('foreign.parquet')
    const txn = new Transaction(table.store, table.snapshot, steppingClock(), {
      operation: 'WRITE',
    })
    txn.addActions([
      {
        kind: 'add',
        path: 'foreign.parquet',
        partitionValues: {},
        size: bytes.byteLength,
        modificationTime: 1,
        dataChange: true,
      },
    ])
    await txn.commit()
    const result = await table.optimize()
    expect(result.engines).toEqual(['hyparquet'])
    const [live] = await table.files()
    const reader = await connection.runAndReadAll(
      `SELECT epoch_us(ts) FROM read_parquet('${path.join(table.store.location, live!.path)}') ORDER BY id`,
    )
    expect(reader.getRowsJS().map((r) => r[0])).toEqual([1_000_000n, 1_700_000_000_123_456n])
    // The max is raised to the next millisecond so that it bounds the microseconds.
    expect(JSON.parse(live!.stats ?? '{}')).toMatchObject({
      minValues: { ts: '1970-01-01T00:00:01.000Z' },
      maxValues: { ts: '2023-11-14T22:13:20.124Z' },
    })
    connection.closeSync()
  })

  it('reports a missing input file as DATA_FILE_NOT_FOUND', async () => {
    const table = await makeTable([[{ id: 1n }], [{ id: 2n }]])
    const victim = (await table.files())[0] as AddAction
    await table.store.delete(victim.path)
    const error = await executeOptimize(
      table.store,
      table.snapshot,
      table.clock,
      {},
      {
        engine: 'duckdb',
      },
    ).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'DATA_FILE_NOT_FOUND' })
  })
})

describe('statsFromSummary', () => {
  const schema: StructType = {
    type: 'struct',
    fields: [f('x', 'double'), f('s', 'string'), f('n', 'long')],
  }
  it('omits NaN-tainted and all-null bounds and keeps exact counts', () => {
    const stats = statsFromSummary(
      {
        numRecords: 10,
        columns: new Map([
          ['x', { nullCount: 1, nanCount: 2, min: 1, max: Number.NaN }],
          ['s', { nullCount: 0, nanCount: 0, min: 'a', max: LONG_STRING }],
          ['n', { nullCount: 10, nanCount: 0, min: null, max: null }],
        ]),
      },
      schema,
      [['x'], ['s'], ['n']],
    )
    expect(serializeStats(stats)).toBe(
      serializeStats({
        numRecords: 10,
        minValues: { s: 'a' },
        maxValues: { s: `${'x'.repeat(31)}😀\u{10FFFF}` },
        nullCount: { x: 1, s: 0, n: 10 },
      }),
    )
  })
})

describe('chooseRewriteStrategy', () => {
  const plain: StructType = { type: 'struct', fields: [f('id', 'long')] }
  const withTs: StructType = { type: 'struct', fields: [f('id', 'long'), f('ts', 'timestamp')] }
  const nested: StructType = {
    type: 'struct',
    fields: [f('id', 'long'), f('a', { type: 'array', elementType: 'long', containsNull: true })],
  }
  async function choose(schema: StructType, files: number, rowsPerFile: number, local = true) {
    const { snapshot } = await fakeSnapshot(
      Array.from({ length: files }, (_, i) => ({
        path: `f${i}.parquet`,
        size: 100,
        numRecords: rowsPerFile,
      })),
      { schema },
    )
    const plan = planOptimize(snapshot, { targetFileSize: 1_000_000 })
    const store = local ? (await makeTable([], { schema: plain })).store : new MemoryStore()
    return chooseRewriteStrategy('auto', store, plan, dataLayout(snapshot).dataSchema)
  }

  it('keeps many small files in process and moves many rows to DuckDB', async () => {
    const inProcess = { engine: 'hyparquet' }
    expect(await choose(plain, 1000, 1)).toEqual(inProcess)
    expect(await choose(plain, 2, 1000)).toEqual(inProcess)
    expect(await choose(plain, 2, DUCKDB_MIN_ROWS)).toEqual({ engine: 'duckdb' })
    expect(
      (await choose(plain, 1000, DUCKDB_ROWS_PER_FILE + DUCKDB_MIN_ROWS / 1000 + 1)).engine,
    ).toBe('duckdb')
  })

  it('keeps timestamp tables and nested schemas in process when the bins are small', async () => {
    expect(await choose(withTs, 2, 1)).toEqual({ engine: 'hyparquet' })
    expect(await choose(withTs, 2, 1, false)).toEqual({ engine: 'hyparquet' })
    expect((await choose(nested, 2, DUCKDB_MIN_ROWS)).engine).toBe('hyparquet')
  })
})

/**
 * Interop (microsecond timestamps): delta-rs writes a table whose timestamps, timestamp_ntz
 * values and timestamp partition values have microseconds. We read them exactly; our delete,
 * update, merge, compaction, Z-order and appends keep every other row's microseconds; delta-rs
 * reads every version exactly as we do; and delta-rs's DataFusion, pruning files by the stats we
 * wrote, answers comparisons at microsecond boundaries exactly.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { col, DeltaTable, timestampFromMicros, timestampMicros } from '../../src/delta/index.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'

const SCRIPT = 'tests/interop/py/rs_micros.py'

/** A row as `rs_micros.py read` prints it: id, ts, ntz, pts (epoch microseconds or null). */
type Row = [string, string | null, string | null, string | null]

interface Read {
  latest: number
  versions: Record<string, Row[]>
}

const COLUMNS = ['ts', 'ntz', 'pts'] as const
type Column = (typeof COLUMNS)[number]

const exact = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(timestampMicros(value as Date))

/** Our rows of one version, in the script's form. */
async function ourRows(dir: string, version: number): Promise<Row[]> {
  const table = await DeltaTable.open(dir, { version })
  return (await table.toRows())
    .map((r): Row => [String(r.id), exact(r.ts), exact(r.ntz), exact(r.pts)])
    .sort((a, b) => Number(BigInt(a[0]) - BigInt(b[0])))
}

const byId = (rows: readonly Row[]): Map<string, Row> => new Map(rows.map((r) => [r[0], r]))

describeWithOracle('microsecond timestamps with delta-rs', (oracle) => {
  it('keeps microseconds through our writes, read alike by delta-rs, and pruned exactly', async () => {
    const dir = path.join(await makeTempDir('micros-interop-'), 'table')
    await oracle.run(SCRIPT, ['write', dir])
    const written = await oracle.runJson<Read>(SCRIPT, ['read', dir])
    expect(written.latest).toBe(2)
    const original = written.versions['2'] ?? []
    expect(original).toHaveLength(45)
    // The data has microseconds to lose: most values are not whole milliseconds.
    expect(original.filter((r) => r[1] !== null && !r[1].endsWith('000')).length).toBeGreaterThan(
      30,
    )
    expect(await ourRows(dir, 2)).toEqual(original)

    const table = await DeltaTable.open(dir)
    const touched = new Set<string>()
    await table.delete(col('id').in([0n, 4n, 8n, 21n]))
    for (const id of ['0', '4', '8', '21']) touched.add(id)
    await table.update(col('id').eq(5n), { ntz: null })
    touched.add('5')
    await table.merge(
      [
        {
          id: 6n,
          ts: '2024-01-01T00:00:00.000001Z',
          ntz: '2024-01-01 00:00:00.000002',
          pts: '2024-01-01T00:00:00Z',
        },
        {
          id: 100n,
          ts: '2024-01-01T00:00:00.004999Z',
          ntz: null,
          pts: '2024-01-01T00:00:01.000001Z',
        },
      ],
      { on: 'id' },
    )
    touched.add('6')
    touched.add('100')
    await table.optimize()
    await table.optimize({ zOrder: ['ts', 'ntz'] })
    await table.append([
      { id: 101n, ts: timestampFromMicros(1_704_067_200_002_500n), ntz: null, pts: null },
    ])
    touched.add('101')

    const read = await oracle.runJson<Read>(SCRIPT, ['read', dir])
    expect(read.latest).toBe(table.version)
    for (let v = 0; v <= read.latest; v++) {
      expect(await ourRows(dir, v), `version ${v}`).toEqual(read.versions[String(v)])
    }
    const latest = read.versions[String(read.latest)] ?? []
    const before = byId(original)
    for (const row of latest) {
      if (!touched.has(row[0])) expect(row, `row ${row[0]}`).toEqual(before.get(row[0]))
    }
    expect(byId(latest).get('6')).toEqual([
      '6',
      '1704067200000001',
      '1704067200000002',
      '1704067200000000',
    ])

    // Comparisons at the rows' own values and one microsecond either side.
    const predicates: { column: Column; op: string; micros: string }[] = []
    for (const row of latest.filter((_, i) => i % 4 === 0)) {
      COLUMNS.forEach((column, c) => {
        const value = row[c + 1]
        if (value === null || value === undefined) return
        for (const delta of [-1n, 0n, 1n]) {
          for (const op of ['eq', 'lt', 'le', 'gt', 'ge']) {
            predicates.push({ column, op, micros: String(BigInt(value) + delta) })
          }
        }
      })
    }
    const file = path.join(path.dirname(dir), 'predicates.json')
    await writeFile(file, JSON.stringify(predicates))
    const answers = await oracle.runJson<string[][]>(SCRIPT, ['query', dir, file])
    expect(answers).toHaveLength(predicates.length)
    predicates.forEach((p, i) => {
      const x = BigInt(p.micros)
      const c = COLUMNS.indexOf(p.column) + 1
      const want = latest
        .filter((row) => {
          const raw = row[c]
          if (raw === null || raw === undefined) return false
          const v = BigInt(raw)
          return { eq: v === x, lt: v < x, le: v <= x, gt: v > x, ge: v >= x }[p.op]
        })
        .map((row) => row[0])
        .sort()
      expect([...(answers[i] ?? [])].sort(), `${p.column} ${p.op} ${p.micros}`).toEqual(want)
    })
  })

  it('reads a table we create with a timestamp_ntz column (its protocol declares timestampNtz)', async () => {
    const dir = path.join(await makeTempDir('ntz-create-'), 'table')
    const table = await DeltaTable.create(dir, {
      schema: {
        type: 'struct',
        fields: [
          { name: 'id', type: 'long', nullable: false, metadata: {} },
          { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
          { name: 'ntz', type: 'timestamp_ntz', nullable: true, metadata: {} },
          { name: 'pts', type: 'timestamp', nullable: true, metadata: {} },
        ],
      },
      partitionColumns: ['pts'],
    })
    expect(table.protocol.readerFeatures).toEqual(['timestampNtz'])
    await table.append([
      { id: 1n, ts: '2024-01-01T00:00:00.000001Z', ntz: '2024-01-01 00:00:00.000002', pts: null },
      { id: 2n, ts: null, ntz: '1969-12-31 23:59:59.999999', pts: '2024-01-01T00:00:00Z' },
    ])
    await table.update(col('id').eq(1n), { ntz: '2000-02-29 12:00:00.5' })
    const read = await oracle.runJson<Read>(SCRIPT, ['read', dir])
    expect(read.latest).toBe(2)
    for (let v = 0; v <= read.latest; v++) {
      expect(await ourRows(dir, v), `version ${v}`).toEqual(read.versions[String(v)])
    }
  })
})

/**
 * Conformance against the golden tables in ../shared/fixtures/delta (written by Spark,
 * Databricks and delta-rs). Every folder there is a test: tables listed in
 * tests/fixtures/golden-expectations.json are checked against those expectations; a new folder
 * without an entry is still opened, compared with its expected/ rows when it has them, and
 * must either read or fail with a typed DeltaError.
 */
import { readFileSync } from 'node:fs'
import { readdir, readFile, utimes } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  col,
  DeltaError,
  DeltaTable,
  isDeltaError,
  UnsupportedProtocolError,
} from '../../src/delta/index.js'
import { readParquetRows } from '../../src/delta/parquet/index.js'
import { copyFixture, fixturesAvailable, fixturesRoot } from '../support/fixtures.js'

interface FilterCase {
  column: string
  op: 'eq' | 'gt' | 'lt'
  value: string | number
  files?: number
  rows?: number
}

interface Expectation {
  outcome: 'read' | 'refuse' | 'error'
  error?: string
  features?: string[]
  latestVersion?: number
  compareExpected?: boolean
  expectedIgnoreColumns?: string[]
  column?: string
  versions?: Record<string, (number | string | [number, number])[]>
  rowCount?: number
  rowCounts?: Record<string, number>
  rows?: Record<string, unknown>[]
  noColumns?: string[]
  logOnly?: boolean
  livePaths?: string[]
  liveFiles?: number
  liveRecordsByStats?: number
  usesCheckpointAt?: Record<string, number | null>
  history?: { limit: number; count: number }
  versionErrors?: Record<string, string>
  openableVersions?: number[]
  timestampTravel?: {
    mtimes: Record<string, string>
    cases: { at: string; version?: number; error?: string }[]
  }
  schemaAt?: Record<string, string[]>
  partitionColumnsAt?: Record<string, string[]>
  derived?: Record<string, { column: string; of: string; mod: number }>
  protocolAt?: Record<string, [number, number]>
  nullCountAt?: Record<string, Record<string, number>>
  columnValues?: Record<string, (string | null)[]>
  valueCounts?: Record<string, Record<string, number>>
  txn?: Record<string, number>
  filters?: FilterCase[]
}

const expectations = (
  JSON.parse(
    readFileSync(new URL('../fixtures/golden-expectations.json', import.meta.url), 'utf8'),
  ) as { tables: Record<string, Expectation> }
).tables

const available = fixturesAvailable('golden tables')
const root = fixturesRoot()
const names = available
  ? (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()
  : []

function expand(spec: (number | string | [number, number])[]): (number | string)[] {
  const out: (number | string)[] = []
  for (const s of spec) {
    if (Array.isArray(s)) for (let i = s[0]; i <= s[1]; i++) out.push(i)
    else out.push(s)
  }
  return out
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Date) return v.toISOString()
  return v
}

function sortValues(values: unknown[]): unknown[] {
  return [...values].sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
  })
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${x}n`
    if (x instanceof Map) return [...(x as Map<unknown, unknown>).entries()]
    if (x instanceof Uint8Array) return Buffer.from(x).toString('base64')
    return x
  })
}

const tableDir = (name: string): string => path.join(root, name, 'delta')

async function expectedRows(name: string, table: DeltaTable): Promise<Record<string, unknown>[]> {
  const dir = path.join(root, name, 'expected')
  const files: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.name.endsWith('.parquet')) files.push(p)
    }
  }
  await walk(dir)
  const rows: Record<string, unknown>[] = []
  for (const f of files) {
    rows.push(
      ...(await readParquetRows(new Uint8Array(await readFile(f)), {
        schema: table.schema,
        fileName: f,
      })),
    )
  }
  return rows
}

function hasExpectedDir(name: string): boolean {
  try {
    readFileSync(path.join(root, name, 'expected'))
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EISDIR'
  }
}

async function checkpointVersionOf(table: DeltaTable): Promise<number | null> {
  const { buildLogSegment } = await import('../../src/delta/log/log-segment.js')
  const seg = await buildLogSegment(table.store, table.store.location, { version: table.version })
  return seg.checkpoint ? seg.checkpoint.version : null
}

describe.skipIf(!available)('golden tables', () => {
  it('covers every table listed in the expectations', () => {
    for (const name of Object.keys(expectations)) expect(names).toContain(name)
  })

  for (const name of names) {
    const exp = expectations[name]
    describe(name, () => {
      if (!exp) {
        it('opens, or fails with a typed DeltaError (no expectations recorded)', async () => {
          console.warn(
            `golden table ${name} has no entry in golden-expectations.json; checking generically`,
          )
          let table: DeltaTable
          try {
            table = await DeltaTable.open(tableDir(name))
          } catch (e) {
            expect(e).toBeInstanceOf(DeltaError)
            return
          }
          const rows = await table.toRows().catch((e: unknown) => {
            expect(e).toBeInstanceOf(DeltaError)
            return undefined
          })
          if (rows && hasExpectedDir(name)) {
            const want = (await expectedRows(name, table)).map(canonicalJson).sort()
            expect(rows.map(canonicalJson).sort()).toEqual(want)
          }
        })
        return
      }

      if (exp.outcome !== 'read') {
        it(`fails with ${exp.error}`, async () => {
          const err: unknown = await DeltaTable.open(tableDir(name)).then(
            async (t) => t.toRows(),
            (e: unknown) => e,
          )
          expect(err).toBeInstanceOf(DeltaError)
          expect((err as DeltaError).code).toBe(exp.error)
          if (exp.outcome === 'refuse') {
            expect(err).toBeInstanceOf(UnsupportedProtocolError)
            for (const f of exp.features ?? [])
              expect((err as UnsupportedProtocolError).features).toContain(f)
            expect((err as Error).message).toContain(name)
          }
        })
        return
      }

      it(`opens at latest version ${exp.latestVersion}`, async () => {
        const t = await DeltaTable.open(tableDir(name))
        expect(t.version).toBe(exp.latestVersion)
      })

      if (exp.versions && exp.column) {
        const column = exp.column
        it.each(Object.entries(exp.versions))(
          'reads the expected %s at version %s',
          async (v, spec) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            const rows = await t.toRows({ columns: [column] })
            expect(sortValues(rows.map((r) => plain(r[column])))).toEqual(sortValues(expand(spec)))
          },
        )
      }

      if (exp.rowCounts) {
        it.each(Object.entries(exp.rowCounts))(
          'has the expected row count at version %s',
          async (v, n) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            expect((await t.toRows()).length).toBe(n)
          },
        )
      }

      if (exp.rowCount !== undefined) {
        it(`has ${exp.rowCount} rows at the latest version`, async () => {
          const t = await DeltaTable.open(tableDir(name))
          expect((await t.toRows()).length).toBe(exp.rowCount)
        })
      }

      if (exp.compareExpected) {
        it('matches the expected/ rows written by Spark', async () => {
          const t = await DeltaTable.open(tableDir(name))
          const ignore = new Set(exp.expectedIgnoreColumns ?? [])
          const strip = (r: Record<string, unknown>): string =>
            canonicalJson(
              Object.fromEntries(
                Object.entries(r)
                  .filter(([k]) => !ignore.has(k))
                  .sort(([a], [b]) => (a < b ? -1 : 1)),
              ),
            )
          const ours = (await t.toRows()).map(strip).sort()
          const want = (await expectedRows(name, t)).map(strip).sort()
          expect(ours).toEqual(want)
        })
      }

      if (exp.rows) {
        const wantRows = exp.rows
        it('returns exactly the expected rows', async () => {
          const t = await DeltaTable.open(tableDir(name))
          const rows = (await t.toRows()).map((r) =>
            Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])),
          )
          expect(rows.map(canonicalJson).sort()).toEqual(
            wantRows
              .map((r) =>
                canonicalJson(Object.fromEntries(Object.keys(rows[0] ?? r).map((k) => [k, r[k]]))),
              )
              .sort(),
          )
          for (const c of exp.noColumns ?? []) expect(Object.keys(rows[0] ?? {})).not.toContain(c)
        })
      }

      if (exp.columnValues) {
        it.each(Object.entries(exp.columnValues))(
          'reads column %s as expected',
          async (c, values) => {
            const t = await DeltaTable.open(tableDir(name))
            const got = (await t.toRows({ columns: [c] })).map((r) => plain(r[c]))
            expect(sortValues(got)).toEqual(sortValues(values))
          },
        )
      }

      if (exp.valueCounts) {
        it.each(Object.entries(exp.valueCounts))(
          'has the expected value counts of %s',
          async (c, counts) => {
            const t = await DeltaTable.open(tableDir(name))
            const got = new Map<string, number>()
            for (const r of await t.toRows({ columns: [c] })) {
              const k = String(plain(r[c]))
              got.set(k, (got.get(k) ?? 0) + 1)
            }
            for (const [value, n] of Object.entries(counts)) expect(got.get(value)).toBe(n)
          },
        )
      }

      if (exp.livePaths || exp.liveFiles !== undefined || exp.liveRecordsByStats !== undefined) {
        it('lists the expected live files', async () => {
          const t = await DeltaTable.open(tableDir(name))
          const files = await t.files()
          if (exp.livePaths)
            expect(files.map((f) => decodeURIComponent(f.path)).sort()).toEqual(
              [...exp.livePaths].sort(),
            )
          if (exp.liveFiles !== undefined) expect(files.length).toBe(exp.liveFiles)
          if (exp.liveRecordsByStats !== undefined) {
            const n = files.reduce(
              (s, f) =>
                s + ((JSON.parse(f.stats ?? '{}') as { numRecords?: number }).numRecords ?? 0),
              0,
            )
            expect(n).toBe(exp.liveRecordsByStats)
          }
        })
      }

      if (exp.usesCheckpointAt) {
        it.each(Object.entries(exp.usesCheckpointAt))(
          'builds version %s from checkpoint %s',
          async (v, cp) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            expect(await checkpointVersionOf(t)).toBe(cp)
          },
        )
      }

      if (exp.history) {
        const { limit, count } = exp.history
        it(`returns ${count} history entries for limit ${limit}, newest first`, async () => {
          const t = await DeltaTable.open(tableDir(name))
          const h = await t.history({ limit })
          expect(h.length).toBe(count)
          expect(h[0]?.version).toBe(t.version)
          for (let i = 1; i < h.length; i++) expect(h[i]!.version).toBe(h[i - 1]!.version - 1)
        })
      }

      if (exp.versionErrors) {
        it.each(Object.entries(exp.versionErrors))(
          'refuses version %s with %s',
          async (v, code) => {
            const err = await DeltaTable.open(tableDir(name), { version: Number(v) }).catch(
              (e: unknown) => e,
            )
            expect(isDeltaError(err, code as DeltaError['code'])).toBe(true)
          },
        )
      }

      if (exp.openableVersions) {
        it.each(exp.openableVersions)('opens version %s', async (v) => {
          expect((await DeltaTable.open(tableDir(name), { version: v })).version).toBe(v)
        })
      }

      if (exp.schemaAt) {
        it.each(Object.entries(exp.schemaAt))(
          'has the expected schema at version %s',
          async (v, cols) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            expect(t.schema.fields.map((f) => f.name)).toEqual(cols)
            if (exp.partitionColumnsAt?.[v])
              expect(t.partitionColumns).toEqual(exp.partitionColumnsAt[v])
            const d = exp.derived?.[v]
            if (d) {
              for (const r of await t.toRows())
                expect(plain(r[d.column])).toBe(Number(plain(r[d.of])) % d.mod)
            }
          },
        )
      }

      if (exp.protocolAt) {
        it.each(Object.entries(exp.protocolAt))(
          'has the expected protocol at version %s',
          async (v, [rv, wv]) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            expect([t.protocol.minReaderVersion, t.protocol.minWriterVersion]).toEqual([rv, wv])
          },
        )
      }

      if (exp.nullCountAt) {
        it.each(Object.entries(exp.nullCountAt))(
          'reads missing columns as null at version %s',
          async (v, counts) => {
            const t = await DeltaTable.open(tableDir(name), { version: Number(v) })
            const rows = await t.toRows()
            for (const [c, n] of Object.entries(counts))
              expect(rows.filter((r) => r[c] === null).length).toBe(n)
          },
        )
      }

      if (exp.txn) {
        it('reconciles app transactions', async () => {
          const t = await DeltaTable.open(tableDir(name))
          for (const [app, v] of Object.entries(exp.txn!))
            expect(t.snapshot.txnVersion(app)).toBe(v)
        })
      }

      if (exp.filters) {
        it.each(exp.filters)('prunes and filters on $column $op $value', async (f) => {
          const t = await DeltaTable.open(tableDir(name))
          const c = col(f.column)
          const filter =
            f.op === 'eq' ? c.eq(f.value) : f.op === 'gt' ? c.gt(f.value) : c.lt(f.value)
          if (f.files !== undefined) expect((await t.files({ filter })).length).toBe(f.files)
          if (f.rows !== undefined) expect((await t.toRows({ filter })).length).toBe(f.rows)
        })
      }

      if (exp.timestampTravel) {
        const tt = exp.timestampTravel
        it('resolves timestamps to versions from commit times', async () => {
          const dir = await copyFixture(name)
          for (const [file, at] of Object.entries(tt.mtimes)) {
            const when = new Date(at)
            await utimes(path.join(dir, '_delta_log', file), when, when)
          }
          for (const c of tt.cases) {
            const result = await DeltaTable.open(dir, { timestamp: c.at }).then(
              (t) => t.version,
              (e: unknown) => e,
            )
            if (c.error) {
              expect(isDeltaError(result, c.error as DeltaError['code']), `${c.at}`).toBe(true)
            } else {
              expect(result, `${c.at}`).toBe(c.version)
            }
          }
          const future = await DeltaTable.open(dir, {
            timestamp: new Date(Date.now() + 86_400_000),
          }).catch((e: unknown) => e)
          expect(isDeltaError(future, 'TIMESTAMP_IN_FUTURE')).toBe(true)
        })
      }
    })
  }
})

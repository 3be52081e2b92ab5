/**
 * Interoperability of the Parquet adapter with pyarrow, DuckDB, Polars and delta-rs (the Python
 * oracle): they read our files; we read theirs under many writer settings, the crafted legacy
 * layouts, and every Parquet file of the golden tables (Spark and delta-rs data files and
 * checkpoints) exactly as pyarrow does.
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { READABLE_CODECS } from '../../../src/delta/parquet/decompressors.js'
import {
  readParquetMetadata,
  readParquetRows,
  writeParquet,
  type WriteParquetOptions,
} from '../../../src/delta/parquet/index.js'
import { parseStructType, serializeSchema } from '../../../src/delta/schema/data-type.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import { canonicalRows } from '../../support/canonical.js'
import { untypedFooterFlips } from './footer-flips.js'
import { describeWithFixtures } from '../../support/fixtures.js'
import { describeWithOracle } from '../../support/oracle.js'
import { cleanupTempDirs, makeTempDir } from '../../support/temp.js'
import { LEGACY_FILES } from './legacy-files.js'
import { ALL_TYPES_SCHEMA, EDGE_ROWS, asReadBack } from './sample-rows.js'

afterAll(cleanupTempDirs)

interface ReadOursOutput {
  readonly arrow_schema: readonly { name: string; type: string; nullable: boolean }[]
  readonly pyarrow_rows: readonly string[]
  readonly duckdb_rows: readonly string[]
  readonly delta_rows: readonly string[]
  readonly polars_rows: readonly string[]
  readonly polars_columns: readonly string[]
  readonly statistics: { readonly with_bounds: number; readonly problems: readonly string[] }
}

interface ReferenceFile {
  readonly name: string
  readonly path: string
  readonly columns: readonly string[]
  readonly rows: readonly string[]
}

/** The Arrow type pyarrow gives each column of {@link ALL_TYPES_SCHEMA} when reading our file. */
const ARROW_TYPES: Readonly<Record<string, string>> = {
  s: 'string',
  l: 'int64',
  i: 'int32',
  sh: 'int16',
  by: 'int8',
  fl: 'float',
  db: 'double',
  bo: 'bool',
  bi: 'binary',
  d: 'date32[day]',
  ts: 'timestamp[us, tz=UTC]',
  ntz: 'timestamp[us]',
  d9: 'decimal128(9, 2)',
  d18: 'decimal128(18, 4)',
  d38: 'decimal128(38, 18)',
  d380: 'decimal128(38, 0)',
  d10: 'decimal128(10, 3)',
  st: 'struct<x: int32, y: string not null, z: date32[day]>',
  arr: 'list<element: string>',
  arrl: 'list<element: int64 not null>',
  arrst: 'list<element: struct<p: int64, q: decimal128(5, 1)>>',
  nested: 'list<element: list<element: int32>>',
  mp: "map<string, int64 ('mp')>",
  mpi: "map<int32, timestamp[us, tz=UTC] ('mpi')>",
  mps: "map<string, struct<a: double, b: binary> ('mps')>",
}

/** EDGE_ROWS followed by rows with repeated values, so that dictionaries and pages are used. */
function manyRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [...EDGE_ROWS]
  for (let i = 1; i < 3000; i++) {
    rows.push({
      s: `value ${i % 41}`,
      l: BigInt(i) * 1_000_003n - 2n ** 40n,
      i: i % 2 ? i : null,
      sh: (i % 600) - 300,
      by: (i % 250) - 125,
      fl: i / 4,
      db: i * 0.3,
      bo: i % 3 === 0,
      bi: Uint8Array.from([i % 256, (i * 3) % 256]),
      d: new Date(Date.UTC(1940, 0, 1 + i * 13)).toISOString().slice(0, 10),
      ts: new Date(Date.UTC(1960, 0, 1) + i * 86_400_123),
      ntz: i % 5 ? new Date(Date.UTC(2030, 5, 1) - i * 1_234_567) : null,
      d9: ((i * 7 - 5000) / 100).toFixed(2),
      d18: `${BigInt(i) * 12_345_679n}.${String(i % 10_000).padStart(4, '0')}`,
      d38: `-${i}.${String(i).padStart(18, '0')}`,
      d380: `${BigInt(i) ** 9n}`,
      d10: null,
      st: i % 7 ? { x: i, y: `y${i % 4}`, z: null } : null,
      arr: i % 9 ? Array.from({ length: i % 4 }, (_, j) => (j % 3 ? `e${j}` : null)) : null,
      arrl: [BigInt(i), BigInt(-i)],
      arrst: i % 2 ? [{ p: BigInt(i), q: `${i % 100}.5` }] : [],
      nested: i % 4 ? [[i, null], []] : null,
      mp: i % 6 ? new Map([[`k${i % 3}`, BigInt(i)]]) : null,
      mpi: new Map([[i, new Date(Date.UTC(2000, 0, 1) + i * 1000)]]),
      mps: i % 2 ? new Map([['a', { a: i / 3, b: null }]]) : new Map(),
    })
  }
  return rows
}

function subSchema(schema: StructType, names: readonly string[]): StructType {
  return { type: 'struct', fields: schema.fields.filter((f) => names.includes(f.name)) }
}

function pick(row: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((n) => [n, row[n]]))
}

/** A one-file Delta table around `file` (protocol with the timestampNtz feature). */
async function makeDeltaTable(dir: string, file: Uint8Array, schema: StructType): Promise<void> {
  const name = `part-00000-${randomUUID()}-c000.snappy.parquet`
  await fs.mkdir(path.join(dir, '_delta_log'), { recursive: true })
  await fs.writeFile(path.join(dir, name), file)
  const actions = [
    {
      protocol: {
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: ['timestampNtz'],
        writerFeatures: ['timestampNtz'],
      },
    },
    {
      metaData: {
        id: randomUUID(),
        format: { provider: 'parquet', options: {} },
        schemaString: serializeSchema(schema),
        partitionColumns: [],
        configuration: {},
        createdTime: 0,
      },
    },
    {
      add: {
        path: name,
        partitionValues: {},
        size: file.byteLength,
        modificationTime: 0,
        dataChange: true,
      },
    },
  ]
  await fs.writeFile(
    path.join(dir, '_delta_log', '00000000000000000000.json'),
    actions.map((a) => JSON.stringify(a)).join('\n') + '\n',
  )
}

/** The primitive columns of ALL_TYPES_SCHEMA: files of few rows go to the single-page writer. */
const FLAT_SCHEMA = subSchema(
  ALL_TYPES_SCHEMA,
  ALL_TYPES_SCHEMA.fields.filter((f) => typeof f.type === 'string').map((f) => f.name),
)

describeWithOracle('Parquet files written by writeParquet', (oracle) => {
  const NO_LISTS_OF_LISTS = ALL_TYPES_SCHEMA.fields.map((f) => f.name).filter((n) => n !== 'nested')
  it.each([
    ['with every type, edge values and several row groups', ALL_TYPES_SCHEMA, manyRows()],
    ['with zero rows', ALL_TYPES_SCHEMA, []],
    [
      "with every type but lists of lists, in the engine's paged layout (dictionaries, pages)",
      subSchema(ALL_TYPES_SCHEMA, NO_LISTS_OF_LISTS),
      manyRows().map((r) => pick(r, NO_LISTS_OF_LISTS)),
      { pageMaxRows: 300 },
    ],
    [
      'with every type but lists of lists, one page per column',
      subSchema(
        ALL_TYPES_SCHEMA,
        ALL_TYPES_SCHEMA.fields.map((f) => f.name).filter((n) => n !== 'nested'),
      ),
      manyRows()
        .slice(0, 60)
        .map((r) =>
          pick(
            r,
            ALL_TYPES_SCHEMA.fields.map((f) => f.name).filter((n) => n !== 'nested'),
          ),
        ),
    ],
    [
      'with the primitive types in one small file',
      FLAT_SCHEMA,
      manyRows()
        .slice(0, 60)
        .map((r) =>
          pick(
            r,
            FLAT_SCHEMA.fields.map((f) => f.name),
          ),
        ),
    ],
  ])(
    'are read identically by pyarrow, DuckDB, Polars and delta-rs (%s)',
    async (_, schema, rows, options?: WriteParquetOptions) => {
      const dir = await makeTempDir('parquet-ours-')
      const file = writeParquet(rows, schema, { rowGroupSize: 1000, ...options })
      const filePath = path.join(dir, 'ours.parquet')
      await fs.writeFile(filePath, file)
      const tableDir = path.join(dir, 'table')
      await makeDeltaTable(tableDir, file, schema)

      const out = await oracle.runJson<ReadOursOutput>('tests/delta/parquet/py/read_ours.py', [
        filePath,
        tableDir,
      ])

      expect(Object.fromEntries(out.arrow_schema.map((f) => [f.name, f.type]))).toEqual(
        Object.fromEntries(schema.fields.map((f) => [f.name, ARROW_TYPES[f.name]])),
      )
      expect(out.arrow_schema.filter((f) => !f.nullable).map((f) => f.name)).toEqual(['l'])
      const expected = canonicalRows(asReadBack(rows), schema)
      expect(out.pyarrow_rows).toEqual(expected)
      expect(out.duckdb_rows).toEqual(expected)
      expect(out.delta_rows).toEqual(expected)
      const polarsSchema = subSchema(schema, out.polars_columns)
      expect(out.polars_rows).toEqual(
        canonicalRows(
          asReadBack(rows).map((r) => pick(r, out.polars_columns)),
          polarsSchema,
        ),
      )
      expect(out.statistics.problems).toEqual([])
      if (rows.length > 0) expect(out.statistics.with_bounds).toBeGreaterThanOrEqual(10)
    },
  )
})

describeWithOracle(
  'readParquetRows on files written by pyarrow, DuckDB and Polars',
  async (oracle) => {
    const dir = await makeTempDir('parquet-reference-')
    const reference = await oracle.runJson<{ schema: unknown; files: ReferenceFile[] }>(
      'tests/delta/parquet/py/write_reference.py',
      [dir],
    )
    const schema = parseStructType(reference.schema)

    it.each(reference.files.map((f) => [f.name, f] as const))(
      'returns what pyarrow reads from %s',
      async (_, file) => {
        const fileSchema = subSchema(schema, file.columns)
        const data = new Uint8Array(await fs.readFile(file.path))
        const read = readParquetRows(data, { schema: fileSchema, fileName: file.name })
        const codec = readParquetMetadata(data).rowGroups[0]?.columns[0]?.codec ?? 'UNCOMPRESSED'
        if (!READABLE_CODECS.has(codec)) {
          const error: unknown = await read.then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(error).toBeInstanceOf(DeltaError)
          expect(error).toMatchObject({ code: 'PARQUET_ERROR' })
          expect((error as Error).message).toContain(codec)
          return
        }
        expect(canonicalRows(await read, fileSchema)).toEqual(file.rows)
      },
    )
  },
)

describeWithOracle('crafted legacy list and map layouts', (oracle) => {
  it('are read by pyarrow as the read-parquet tests expect', async () => {
    const dir = await makeTempDir('parquet-legacy-')
    const paths = await Promise.all(
      LEGACY_FILES.map(async (legacy, i) => {
        const file = path.join(dir, `legacy-${i}.parquet`)
        await fs.writeFile(file, legacy.file)
        return file
      }),
    )
    const out = await oracle.runJson<Record<string, { rows?: string[]; error?: string }>>(
      'tests/delta/parquet/py/read_files.py',
      paths,
    )
    LEGACY_FILES.forEach((legacy, i) => {
      const expected = legacy.pyarrow ?? legacy
      expect({ name: legacy.name, ...out[paths[i]!] }).toEqual({
        name: legacy.name,
        rows: canonicalRows(expected.rows, expected.schema),
      })
    })
  })
})

describeWithOracle("random files in the engine's paged layout", (oracle) => {
  it('are read by pyarrow as we write them', async () => {
    const schema = subSchema(
      ALL_TYPES_SCHEMA,
      ALL_TYPES_SCHEMA.fields.map((f) => f.name).filter((n) => n !== 'nested'),
    )
    const names = schema.fields.map((f) => f.name)
    const pool = manyRows().map((r) => pick(r, names))
    const dir = await makeTempDir('parquet-paged-')
    // Deterministic draws: rows picked from the pool (repeats make dictionaries), some columns
    // nulled, and small pages and row groups.
    let seed = 20261126
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const cases = Array.from({ length: 6 }, (_, k) => {
      const count = 200 + next(1800)
      const nulled = new Set(names.filter(() => next(5) === 0 && k > 0))
      const rows = Array.from({ length: count }, () => {
        const row = { ...pool[next(40 + k * 400)]! }
        for (const n of nulled) if (schema.fields.find((f) => f.name === n)!.nullable) row[n] = null
        return row
      })
      const options = {
        singlePageMaxRows: 0,
        pageMaxRows: 1 + next(300),
        rowGroupSize: 50 + next(1000),
      }
      return { rows, options, file: path.join(dir, `paged-${k}.parquet`) }
    })
    for (const c of cases) await fs.writeFile(c.file, writeParquet(c.rows, schema, c.options))
    const out = await oracle.runJson<Record<string, { rows?: string[]; error?: string }>>(
      'tests/delta/parquet/py/read_files.py',
      cases.map((c) => c.file),
    )
    for (const c of cases) {
      expect(out[c.file], JSON.stringify(c.options)).toEqual({
        rows: canonicalRows(asReadBack(c.rows), schema),
      })
    }
  }, 120_000)
})

describeWithFixtures('Parquet files of the golden tables (Spark, delta-rs)', (root) => {
  describeWithOracle('readParquetRows', async (oracle) => {
    const entries = await fs.readdir(root, { recursive: true, withFileTypes: true })
    const files = entries
      .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
      .map((e) => path.join(e.parentPath, e.name))
      .sort()
    const described = await oracle.runJson<
      Record<string, { schema?: unknown; rows?: string[]; error?: string }>
    >('tests/delta/parquet/py/describe_files.py', files)

    it('finds the data files and checkpoints', () => {
      expect(files.length).toBeGreaterThan(100)
      expect(Object.values(described).filter((d) => d.error !== undefined)).toEqual([])
    })

    it.each(files.map((f) => [path.relative(root, f), f] as const))(
      'reads %s like pyarrow',
      async (_, file) => {
        const { schema, rows } = described[file]!
        const deltaSchema = parseStructType(schema)
        const read = await readParquetRows(new Uint8Array(await fs.readFile(file)), {
          schema: deltaSchema,
          fileName: file,
        })
        expect(canonicalRows(read, deltaSchema)).toEqual(rows)
      },
    )
  })
})

describeWithOracle('damaged footers of pyarrow files', (oracle) => {
  it('reads every single-bit flip of the footer or refuses it with a DeltaError', async () => {
    const file = path.join(await makeTempDir('parquet-footer-'), 'small.parquet')
    await oracle.runJson('tests/delta/parquet/py/write_small.py', [file])
    const data = new Uint8Array(await fs.readFile(file))
    const schema: StructType = {
      type: 'struct',
      fields: [
        { name: 'a', type: 'long', nullable: true, metadata: {} },
        { name: 's', type: 'string', nullable: true, metadata: {} },
      ],
    }
    expect(await untypedFooterFlips(data, schema)).toEqual([])
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { FileStats, PartitionValues } from '../../../src/delta/actions/actions.js'
import { DeltaError } from '../../../src/delta/errors.js'
import { bindExpression } from '../../../src/delta/expr/bind-expression.js'
import { evaluateOnRow } from '../../../src/delta/expr/evaluate.js'
import { and, col, lit, not, or, type Expression } from '../../../src/delta/expr/expression.js'
import { fileMayMatch, parseStats } from '../../../src/delta/expr/skipping.js'
import type { DataType, StructField, StructType } from '../../../src/delta/schema/data-type.js'
import {
  javaFloatToString,
  serializePartitionValue,
} from '../../../src/delta/schema/partition-values.js'
import { compareValues } from '../../../src/delta/schema/values.js'
import {
  collectStats,
  serializeStats,
  statsColumnsFor,
} from '../../../src/delta/stats/collect-stats.js'

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(DeltaError)
  expect((thrown as DeltaError).code).toBe(code)
}

const field = (name: string, type: DataType): StructField => ({
  name,
  type,
  nullable: true,
  metadata: {},
})

const schema: StructType = {
  type: 'struct',
  fields: [
    field('p', 'string'),
    field('pl', 'long'),
    field('pts', 'timestamp'),
    field('id', 'long'),
    field('s', 'string'),
    field('ts', 'timestamp'),
    field('dec', 'decimal(10,2)'),
    field('d', 'double'),
    field('f', 'float'),
    field('dt', 'date'),
    field('st', { type: 'struct', fields: [field('x', 'integer')] }),
  ],
}
const partitionColumns = ['p', 'pl', 'pts']
const defaultPartitions: PartitionValues = { p: 'US', pl: '3', pts: '2021-09-08 11:11:11' }

function mayMatch(
  expr: Expression,
  stats: string | undefined,
  partitionValues = defaultPartitions,
): boolean {
  return fileMayMatch(
    bindExpression(expr, schema),
    { partitionValues, stats: parseStats(stats) },
    partitionColumns,
  )
}

const stats = (body: Record<string, unknown>, numRecords = 10): string =>
  JSON.stringify({ numRecords, ...body })
const idStats = stats({ minValues: { id: 5 }, maxValues: { id: 5 }, nullCount: { id: 0 } })
const idStatsWithNulls = stats({ minValues: { id: 4 }, maxValues: { id: 6 }, nullCount: { id: 3 } })
const allNullIds = stats({ minValues: {}, maxValues: {}, nullCount: { id: 10 } })
const sparkTruncated = stats({
  minValues: { s: 'a'.repeat(32) },
  maxValues: { s: `${'a'.repeat(32)}\uFFFD` },
  nullCount: { s: 0 },
})

describe('fileMayMatch with data column stats', () => {
  it.each<[string, Expression, string | undefined, boolean]>([
    ['eq inside the bounds', col('id').eq(5), idStats, true],
    ['eq below the min', col('id').eq(4), idStats, false],
    ['eq above the max', col('id').gt(5), idStats, false],
    ['ne when every value equals', col('id').ne(5), idStats, false],
    ['NOT eq when every value equals', not(col('id').eq(5)), idStats, false],
    ['NOT eq when values differ', not(col('id').eq(5)), idStatsWithNulls, true],
    [
      'NOT eq when nulls are the only other values',
      not(col('id').eq(5)),
      stats({ minValues: { id: 5 }, maxValues: { id: 5 }, nullCount: { id: 4 } }),
      false,
    ],
    ['NOT NOT eq outside', not(not(col('id').eq(9))), idStats, false],
    ['IN without a value in range', col('id').in([1, 9]), idStats, false],
    ['IN with a value in range', col('id').in([1, 5]), idStats, true],
    ['NOT IN of the only value', col('id').notIn([5]), idStats, false],
    ['IS NULL without nulls', col('id').isNull(), idStats, false],
    ['IS NULL with nulls', col('id').isNull(), idStatsWithNulls, true],
    ['IS NOT NULL on an all-null column', col('id').isNotNull(), allNullIds, false],
    ['eq on an all-null column', col('id').eq(5), allNullIds, false],
    ['NOT eq on an all-null column', not(col('id').eq(5)), allNullIds, false],
    ['IS NULL on an all-null column', col('id').isNull(), allNullIds, true],
    ['anything on a file without stats', col('id').eq(-1), undefined, true],
    ['anything on malformed stats', col('id').eq(-1), '{"numRecords":', true],
    ['a column without stats', col('s').eq('x'), idStats, true],
    ['IS NULL on a column without stats', col('s').isNull(), idStats, true],
    ['a file with no records', lit(true), stats({}, 0), false],
    ['a literal false', lit(false), idStats, false],
    ['OR with one possible side', or(col('id').eq(1), col('id').eq(5)), idStats, true],
    ['AND with one impossible side', and(col('id').eq(5), col('id').lt(5)), idStats, false],
    [
      'nested struct field stats',
      col('st.x').gt(3),
      stats({ minValues: { st: { x: 1 } }, maxValues: { st: { x: 3 } } }),
      false,
    ],
    // Strings: Spark truncates the max to 32 chars and appends U+FFFD, which is below astral
    // characters in UTF-8 order, so values starting with the prefix stay possible.
    [
      'an astral value above a U+FFFD-truncated max',
      col('s').eq(`${'a'.repeat(32)}\u{1F600}`),
      sparkTruncated,
      true,
    ],
    ['gt beyond the truncated prefix', col('s').gt('b'), sparkTruncated, false],
    ['eq below the min', col('s').eq('a'), sparkTruncated, false],
    [
      'gt an exact short max',
      col('s').gt('m'),
      stats({ minValues: { s: 'a' }, maxValues: { s: 'm' } }),
      false,
    ],
    [
      'eq an astral string above an exact max',
      col('s').eq('\u{1F600}'),
      stats({ minValues: { s: 'a' }, maxValues: { s: '\uFFFD' } }),
      false,
    ],
    // Timestamps: stats are in ms, maxima may be truncated; values are widened by 1 ms.
    [
      'gt the max timestamp',
      col('ts').gt(new Date('2021-01-01T00:00:00.000Z')),
      stats({
        minValues: { ts: '2021-01-01T00:00:00.000Z' },
        maxValues: { ts: '2021-01-01T00:00:00.000Z' },
      }),
      true,
    ],
    [
      'gt the max timestamp + 1 ms',
      col('ts').gt(new Date('2021-01-01T00:00:00.001Z')),
      stats({
        minValues: { ts: '2021-01-01T00:00:00.000Z' },
        maxValues: { ts: '2021-01-01T00:00:00.000Z' },
      }),
      false,
    ],
    [
      'timestamp stats with an offset',
      col('ts').lt('2021-01-01T06:00:00Z'),
      stats({ minValues: { ts: '2021-01-01T00:00:00.000-07:00' } }),
      false,
    ],
    // Decimals arrive as JSON numbers: bounds are widened, never trusted to the last digit.
    [
      'a decimal equal to the max',
      col('dec').ge('12.50'),
      stats({ minValues: { dec: 1 }, maxValues: { dec: 12.5 } }),
      true,
    ],
    [
      'a decimal above the max',
      col('dec').ge('12.51'),
      stats({ minValues: { dec: 1 }, maxValues: { dec: 12.5 } }),
      false,
    ],
    [
      'a decimal below the min',
      col('dec').lt('0.99'),
      stats({ minValues: { dec: 1 }, maxValues: { dec: 12.5 } }),
      false,
    ],
    [
      'a decimal zero written as subnormals by an f64 computation',
      col('dec').eq('0.00'),
      stats({ minValues: { dec: 5e-324 }, maxValues: { dec: -5e-324 } }),
      true,
    ],
    // Longs beyond 2^53 lose precision in JSON.parse: widened.
    [
      'a long at a rounded max',
      col('id').eq(9007199254740993n),
      '{"numRecords":1,"minValues":{"id":9007199254740993},"maxValues":{"id":9007199254740993}}',
      true,
    ],
    [
      'a long far above a rounded max',
      col('id').gt(9007199254750000n),
      '{"numRecords":1,"minValues":{"id":9007199254740993},"maxValues":{"id":9007199254740993}}',
      false,
    ],
    // Floats: NaN may hide above the max (Parquet writers drop it from stats).
    [
      'double gt above the max',
      col('d').gt(100),
      stats({ minValues: { d: 1 }, maxValues: { d: 5 } }),
      true,
    ],
    [
      'double eq above the max',
      col('d').eq(100),
      stats({ minValues: { d: 1 }, maxValues: { d: 5 } }),
      false,
    ],
    [
      'double lt below the min',
      col('d').lt(1),
      stats({ minValues: { d: 1 }, maxValues: { d: 5 } }),
      false,
    ],
    ['double eq NaN', col('d').eq(NaN), stats({ minValues: { d: 1 }, maxValues: { d: 5 } }), true],
    [
      'double ne when min = max',
      col('d').ne(1),
      stats({ minValues: { d: 1 }, maxValues: { d: 1 }, nullCount: { d: 0 } }),
      true,
    ],
    [
      'double with a "NaN" max',
      col('d').gt(1e300),
      stats({ minValues: { d: 1 }, maxValues: { d: 'NaN' } }),
      true,
    ],
    [
      'float written as its shortest decimal',
      col('f').eq(Math.fround(1.1)),
      stats({ minValues: { f: 1.1 }, maxValues: { f: 1.1 } }),
      true,
    ],
    [
      'float below the min',
      col('f').lt(1),
      stats({ minValues: { f: 1.1 }, maxValues: { f: 1.1 } }),
      false,
    ],
    [
      'date above the max',
      col('dt').gt('2021-01-02'),
      stats({ minValues: { dt: '2021-01-01' }, maxValues: { dt: '2021-01-02' } }),
      false,
    ],
    [
      'stats of the wrong type are ignored',
      col('dt').gt('2021-01-02'),
      stats({ minValues: { dt: 1 }, maxValues: { dt: 2 } }),
      true,
    ],
  ])('%s -> %s', (_label, expr, statsJson, expected) => {
    expect(mayMatch(expr, statsJson)).toBe(expected)
  })
})

describe('fileMayMatch with signed zero bounds', () => {
  // collectStats writes zero bounds as min -0.0 and max 0.0 (for DataFusion, which prunes by a
  // total order), and our own comparisons hold -0 equal to 0: skipping agrees with evaluateOnRow.
  const cases = [-0, 0].flatMap((stored) =>
    ['d', 'f'].flatMap((column) =>
      [-0, 0].flatMap((literal) =>
        (['eq', 'le', 'ge', 'lt', 'in'] as const).map(
          (op): [string, number, string, number, Expression] => [
            `${column} ${op} ${Object.is(literal, -0) ? '-0' : '0'} on a file of ` +
              `${Object.is(stored, -0) ? '-0.0' : '0.0'}`,
            stored,
            column,
            literal,
            op === 'in' ? col(column).in([literal]) : col(column)[op](literal),
          ],
        ),
      ),
    ),
  )
  it.each(cases)('%s: skipped only when the row does not match', (_, stored, column, _l, expr) => {
    const statsText = serializeStats(collectStats([{ [column]: stored }], schema, [[column]]))
    expect(statsText).toContain(`"minValues":{"${column}":-0.0},"maxValues":{"${column}":0}`)
    const matches = evaluateOnRow(bindExpression(expr, schema), { [column]: stored }) === true
    // Float bounds are widened a little (shortest decimal forms), so only doubles skip exactly.
    if (matches || column === 'd') expect(mayMatch(expr, statsText)).toBe(matches)
  })
})

describe('fileMayMatch with partition values', () => {
  it.each<[string, Expression, PartitionValues, boolean]>([
    ['eq a different value', col('p').eq('EU'), defaultPartitions, false],
    ['eq the value (case-insensitive name)', col('P').eq('US'), defaultPartitions, true],
    ['gt on a long partition', col('pl').gt(5), defaultPartitions, false],
    ['IN on a long partition', col('pl').in([1, 3]), defaultPartitions, true],
    [
      'a zone-less timestamp read as UTC',
      col('pts').eq(new Date('2021-09-08T11:11:11Z')),
      defaultPartitions,
      true,
    ],
    [
      'an ISO timestamp partition',
      col('pts').lt('2021-09-08T11:11:11Z'),
      { ...defaultPartitions, pts: '2021-09-08T11:11:11.000000Z' },
      false,
    ],
    ['IS NULL on a null partition', col('p').isNull(), { ...defaultPartitions, p: null }, true],
    [
      'IS NULL on an empty-string partition',
      col('p').isNull(),
      { ...defaultPartitions, p: '' },
      true,
    ],
    ['eq on a null partition', col('p').eq('US'), { ...defaultPartitions, p: null }, false],
    [
      'NOT eq on a null partition',
      not(col('p').eq('US')),
      { ...defaultPartitions, p: null },
      false,
    ],
    [
      'NOT IN on a null partition',
      col('p').notIn(['US']),
      { ...defaultPartitions, p: null },
      false,
    ],
    [
      'OR of a false partition and unknown data',
      or(col('p').eq('EU'), col('id').eq(1)),
      defaultPartitions,
      true,
    ],
    [
      'AND of a false partition and unknown data',
      and(col('p').eq('EU'), col('id').eq(1)),
      defaultPartitions,
      false,
    ],
    [
      'NOT of (false partition AND unknown data)',
      not(and(col('p').eq('EU'), col('id').eq(1))),
      defaultPartitions,
      true,
    ],
  ])('%s -> %s', (_label, expr, partitionValues, expected) => {
    expect(mayMatch(expr, undefined, partitionValues)).toBe(expected)
  })

  it.each<[string, PartitionValues]>([
    ['missing', { p: 'US', pts: null }],
    ['malformed', { p: 'US', pl: 'three', pts: null }],
  ])(
    'throws MALFORMED_ACTION when a referenced partition value is %s',
    (_label, partitionValues) => {
      expectCode(() => mayMatch(col('pl').eq(3), undefined, partitionValues), 'MALFORMED_ACTION')
    },
  )
})

describe('parseStats', () => {
  it.each<[string | null | undefined, FileStats | undefined]>([
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['not json', undefined],
    ['[1]', undefined],
    [
      '{"numRecords":"5","minValues":[],"maxValues":{"a":1},"nullCount":null,"tightBounds":"yes"}',
      { maxValues: { a: 1 } },
    ],
    [
      '{"numRecords":5,"minValues":{"a":1},"maxValues":{"a":2},"nullCount":{"a":0},"tightBounds":true,"extra":1}',
      {
        numRecords: 5,
        minValues: { a: 1 },
        maxValues: { a: 2 },
        nullCount: { a: 0 },
        tightBounds: true,
      },
    ],
  ])('parses %j', (input, expected) => {
    expect(parseStats(input)).toEqual(expected)
  })
})

// ---------------------------------------------------------------------------------------------
// Property: a file is never skipped when one of its rows satisfies the predicate.

interface ColumnSpec {
  readonly name: string
  readonly type: DataType
  readonly values: fc.Arbitrary<unknown>
  /** Literals: the column's values, plus values a user could write that are not canonical. */
  readonly literals: fc.Arbitrary<unknown>
}

const longString = fc
  .string({
    unit: fc.constantFrom('a', 'b', '\uFFFD', '\uFFFF', '\uE000', '\u{1F600}', '\u{10FFFF}'),
    maxLength: 4,
  })
  .map((tail) => `${'a'.repeat(30)}${tail}`)
const shortString = fc.string({
  unit: fc.constantFrom('a', 'b', '\uFFFD', '\u{1F600}', '\u{10FFFF}'),
  maxLength: 3,
})
const strings = fc.oneof(longString, shortString)
const doubles = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1, 2.5, NaN, Infinity, -Infinity, 1e300),
  fc.double(),
)
const floats = fc.oneof(fc.constantFrom(0, -0, -2.5, Math.fround(1.1), NaN, -Infinity), fc.float())
const baseMs = Date.UTC(2021, 0, 1)
const timestamps = fc.integer({ min: -3, max: 3 }).map((d) => new Date(baseMs + d))
const decimals = fc.integer({ min: -300, max: 300 }).map((n) => {
  const digits = Math.abs(n).toString().padStart(3, '0')
  return `${n < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`
})
const longs = fc.oneof(
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constantFrom(2n ** 53n + 1n, 2n ** 53n + 3n, -(2n ** 63n), 2n ** 63n - 1n),
)

const DATA_COLUMNS: readonly ColumnSpec[] = [
  { name: 'n', type: 'long', values: longs, literals: longs },
  {
    name: 'i',
    type: 'integer',
    values: fc.integer({ min: -3, max: 3 }),
    literals: fc.integer({ min: -4, max: 4 }),
  },
  { name: 'd', type: 'double', values: doubles, literals: doubles },
  { name: 'f', type: 'float', values: floats.map(Math.fround), literals: floats },
  { name: 's', type: 'string', values: strings, literals: strings },
  { name: 'ts', type: 'timestamp', values: timestamps, literals: timestamps },
  { name: 'dec', type: 'decimal(5,2)', values: decimals, literals: decimals },
  {
    name: 'dt',
    type: 'date',
    values: fc.constantFrom('2021-01-01', '2021-01-02', '2021-12-31'),
    literals: fc.constantFrom('2020-12-31', '2021-01-01', '2021-01-02', '2022-01-01'),
  },
  { name: 'b', type: 'boolean', values: fc.boolean(), literals: fc.boolean() },
]
const PARTITION_COLUMNS: readonly ColumnSpec[] = [
  {
    name: 'pp',
    type: 'string',
    values: fc.constantFrom('US', 'EU', 'a b/c'),
    literals: fc.constantFrom('US', 'EU', 'x'),
  },
  {
    name: 'pq',
    type: 'long',
    values: fc.bigInt({ min: 0n, max: 2n }),
    literals: fc.bigInt({ min: -1n, max: 3n }),
  },
]
const ALL_COLUMNS = [...PARTITION_COLUMNS, ...DATA_COLUMNS]
const propertySchema: StructType = {
  type: 'struct',
  fields: ALL_COLUMNS.map((c) => field(c.name, c.type)),
}
const propertyPartitions = PARTITION_COLUMNS.map((c) => c.name)

const row: fc.Arbitrary<Record<string, unknown>> = fc.record(
  Object.fromEntries(ALL_COLUMNS.map((c) => [c.name, fc.option(c.values, { nil: null, freq: 4 })])),
)

/** Literals of a column: its literal domain, and often a value the rows actually hold. */
function literalsOf(
  c: ColumnSpec,
  rows: readonly Record<string, unknown>[],
): fc.Arbitrary<unknown> {
  const seen = rows.map((r) => r[c.name]).filter((v) => v !== null)
  return seen.length === 0 ? c.literals : fc.oneof(c.literals, fc.constantFrom(...seen))
}

function leafOver(
  columns: readonly ColumnSpec[],
  rows: readonly Record<string, unknown>[],
): fc.Arbitrary<Expression> {
  return fc.constantFrom(...columns).chain((c) => {
    const literals = literalsOf(c, rows)
    return fc.oneof(
      fc
        .tuple(fc.constantFrom('eq', 'ne', 'lt', 'le', 'gt', 'ge' as const), literals)
        .map(([op, v]) => col(c.name)[op](v)),
      fc
        .tuple(fc.array(literals, { maxLength: 3 }), fc.boolean())
        .map(([vs, negated]) => (negated ? col(c.name).notIn(vs) : col(c.name).in(vs))),
      fc.boolean().map((negated) => (negated ? col(c.name).isNotNull() : col(c.name).isNull())),
    )
  })
}

function expressionOver(
  columns: readonly ColumnSpec[],
  rows: readonly Record<string, unknown>[],
): fc.Arbitrary<Expression> {
  const leaf = leafOver(columns, rows)
  return fc.letrec<{ node: Expression }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.boolean().map(lit),
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((cs) => and(...cs)),
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((cs) => or(...cs)),
      tie('node').map(not),
    ),
  })).node
}

/** Rows, a file assignment, and a predicate whose literals often come from the rows. */
function scenario(
  columns: readonly ColumnSpec[],
  maxRows: number,
  maxFiles: number,
): fc.Arbitrary<[Record<string, unknown>[], number[], Expression]> {
  return fc.array(row, { minLength: 1, maxLength: maxRows }).chain((rows) =>
    fc.tuple(
      fc.constant(rows),
      fc.array(fc.integer({ min: 0, max: maxFiles - 1 }), {
        minLength: rows.length,
        maxLength: rows.length,
      }),
      expressionOver(columns, rows),
    ),
  )
}

/** Stats as other writers produce them: Spark string truncation, NaN left out of float bounds
 * (Parquet writers), floats as their shortest decimal, decimals through a double. */
function foreignStats(rows: readonly Record<string, unknown>[]): string {
  const min: string[] = []
  const max: string[] = []
  const nulls: string[] = []
  for (const c of DATA_COLUMNS) {
    const present = rows.map((r) => r[c.name]).filter((v) => v !== null && !Number.isNaN(v))
    nulls.push(`"${c.name}":${rows.filter((r) => r[c.name] === null).length}`)
    if (present.length === 0 || c.type === 'boolean') continue
    const sorted = [...present].sort((a, b) => compareValues(c.type, a, b))
    const lo = sorted[0]
    const hi = sorted[sorted.length - 1]
    const enc = (v: unknown, side: 'min' | 'max'): string | undefined => {
      switch (c.type) {
        case 'long':
          return String(v)
        case 'float':
          return Number.isFinite(v) ? javaFloatToString(v as number) : undefined
        case 'integer':
        case 'double':
          return Number.isFinite(v) ? JSON.stringify(v) : undefined
        case 'timestamp':
          return JSON.stringify((v as Date).toISOString())
        case 'string': {
          const s = v as string
          if (side === 'min') return JSON.stringify(Array.from(s).slice(0, 32).join(''))
          if (s.length <= 32) return JSON.stringify(s)
          let end = 32
          while (end < s.length && s.charCodeAt(end) >= 0xfffd) end++
          return JSON.stringify(`${s.slice(0, end)}\uFFFD`)
        }
        case 'decimal(5,2)':
          // A writer converting through f64 arithmetic may be off by an ulp, in either direction.
          return JSON.stringify(nudge(Number(v), side === 'min' ? 1 : -1))
        default:
          return JSON.stringify(v)
      }
    }
    const l = enc(lo, 'min')
    const h = enc(hi, 'max')
    if (l !== undefined) min.push(`"${c.name}":${l}`)
    if (h !== undefined) max.push(`"${c.name}":${h}`)
  }
  return `{"numRecords":${rows.length},"minValues":{${min.join(',')}},"maxValues":{${max.join(',')}},"nullCount":{${nulls.join(',')}}}`
}

/** The adjacent double towards +Infinity (direction 1) or -Infinity (-1). */
function nudge(x: number, direction: 1 | -1): number {
  if (x === 0) return direction * Number.MIN_VALUE
  const buffer = new DataView(new ArrayBuffer(8))
  buffer.setFloat64(0, x)
  const bits = buffer.getBigInt64(0)
  buffer.setBigInt64(0, x > 0 === direction > 0 ? bits + 1n : bits - 1n)
  return buffer.getFloat64(0)
}

type StatsMode = 'serialized' | 'in-memory' | 'foreign' | 'none'

function filesOf(
  rows: readonly Record<string, unknown>[],
  assignment: readonly number[],
): Record<string, unknown>[][] {
  // Files never mix partitions: group by partition values, then by the random assignment.
  const groups = new Map<string, Record<string, unknown>[]>()
  rows.forEach((r, i) => {
    const key = `${String(r.pp)}|${String(r.pq)}|${assignment[i] ?? 0}`
    const g = groups.get(key)
    if (g) g.push(r)
    else groups.set(key, [r])
  })
  return [...groups.values()]
}

function checkNoFalseSkip(
  rows: Record<string, unknown>[],
  assignment: number[],
  expr: Expression,
  mode: StatsMode,
): void {
  const bound = bindExpression(expr, propertySchema)
  const statsColumns = statsColumnsFor(propertySchema, {}, propertyPartitions)
  for (const fileRows of filesOf(rows, assignment)) {
    const first = fileRows[0]!
    const partitionValues: PartitionValues = Object.fromEntries(
      PARTITION_COLUMNS.map((c) => [c.name, serializePartitionValue(c.type, first[c.name])]),
    )
    let stats: FileStats | undefined
    if (mode === 'in-memory') stats = collectStats(fileRows, propertySchema, statsColumns)
    else if (mode === 'serialized')
      stats = parseStats(serializeStats(collectStats(fileRows, propertySchema, statsColumns)))
    else if (mode === 'foreign') stats = parseStats(foreignStats(fileRows))
    const matches = fileRows.some((r) => evaluateOnRow(bound, r) === true)
    if (matches) {
      expect(fileMayMatch(bound, { partitionValues, stats }, propertyPartitions)).toBe(true)
    }
  }
}

const MODES: readonly StatsMode[] = ['serialized', 'in-memory', 'foreign', 'none']
const FOCUSED = DATA_COLUMNS.flatMap((c) =>
  MODES.map((mode): [string, StatsMode, ColumnSpec] => [c.name, mode, c]),
)

describe('fileMayMatch soundness', () => {
  it.each(MODES)('never skips a file holding a matching row (any columns, %s stats)', (mode) => {
    fc.assert(
      fc.property(scenario(ALL_COLUMNS, 12, 3), ([rows, assignment, expr]) =>
        checkNoFalseSkip(rows, assignment, expr, mode),
      ),
      { numRuns: 300 },
    )
  })

  it.each(FOCUSED)(
    'never skips a file holding a matching row (column %s, %s stats)',
    (_name, mode, column) => {
      fc.assert(
        fc.property(scenario([column, ...PARTITION_COLUMNS], 8, 2), ([rows, assignment, expr]) =>
          checkNoFalseSkip(rows, assignment, expr, mode),
        ),
        { numRuns: 200 },
      )
    },
  )

  it('skips files on single-column predicates when the stats prove it', () => {
    // Guards against a vacuous soundness property: pruning must actually happen.
    let skipped = 0
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 6 }),
        leafOver(ALL_COLUMNS, []),
        (rows, expr) => {
          const bound = bindExpression(expr, propertySchema)
          const statsColumns = statsColumnsFor(propertySchema, {}, propertyPartitions)
          for (const fileRows of filesOf(rows, [])) {
            const stats = parseStats(
              serializeStats(collectStats(fileRows, propertySchema, statsColumns)),
            )
            const partitionValues = Object.fromEntries(
              PARTITION_COLUMNS.map((c) => [
                c.name,
                serializePartitionValue(c.type, fileRows[0]![c.name]),
              ]),
            )
            if (!fileMayMatch(bound, { partitionValues, stats }, propertyPartitions)) skipped++
          }
        },
      ),
      { numRuns: 300 },
    )
    expect(skipped).toBeGreaterThan(50)
  })
})

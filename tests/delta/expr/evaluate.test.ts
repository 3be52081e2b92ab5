import { describe, expect, it } from 'vitest'
import { bindExpression } from '../../../src/delta/expr/bind-expression.js'
import { evaluateOnRow } from '../../../src/delta/expr/evaluate.js'
import { and, col, lit, not, or, type Expression } from '../../../src/delta/expr/expression.js'
import type { DataType, StructField, StructType } from '../../../src/delta/schema/data-type.js'

const field = (name: string, type: DataType): StructField => ({
  name,
  type,
  nullable: true,
  metadata: {},
})
const schema: StructType = {
  type: 'struct',
  fields: [
    field('n', 'long'),
    field('d', 'double'),
    field('s', 'string'),
    field('ts', 'timestamp'),
    field('b', 'binary'),
    field('dec', 'decimal(10,2)'),
    field('st', { type: 'struct', fields: [field('x', 'integer')] }),
  ],
}

const row = {
  n: 5n,
  d: NaN,
  s: '\u{1F600}',
  ts: new Date('2021-01-01T00:00:00Z'),
  b: new Uint8Array([1, 2]),
  dec: '1.50',
  st: { x: 3 },
}

const run = (expr: Expression, r: Record<string, unknown> = row): boolean | null =>
  evaluateOnRow(bindExpression(expr, schema), r)

describe('evaluateOnRow', () => {
  it.each<[string, Expression, boolean | null]>([
    ['eq on long', col('n').eq(5), true],
    ['ne on long', col('n').ne(5), false],
    ['lt on long', col('n').lt(6), true],
    ['between', col('n').between(5, 5), true],
    ['NaN equals NaN', col('d').eq(NaN), true],
    ['NaN is greater than infinity', col('d').gt(Infinity), true],
    ['NaN is not below anything', col('d').lt(1), false],
    ['NaN in a list', col('d').in([1, NaN]), true],
    ['astral string above U+FFFD', col('s').gt('\uFFFD'), true],
    ['timestamp equal instant from a string', col('ts').eq('2021-01-01T01:00:00+01:00'), true],
    ['timestamp IN by instant', col('ts').in([new Date('2021-01-01T00:00:00Z')]), true],
    ['binary IN by bytes', col('b').in([new Uint8Array([1, 2])]), true],
    ['binary order', col('b').lt(new Uint8Array([1, 3])), true],
    ['decimal across scales', col('dec').eq('1.5'), true],
    ['decimal IN', col('dec').notIn(['1.5', '2']), false],
    ['nested field', col('st.x').ge(3), true],
    ['literal', lit(false), false],
    ['empty AND', and(), true],
    ['empty OR', or(), false],
  ])('evaluates %s', (_label, expr, expected) => {
    expect(run(expr)).toBe(expected)
  })

  const nulls = { n: null, st: null }
  it.each<[string, Expression, boolean | null]>([
    ['comparison with null', col('n').eq(1), null],
    ['ne with null', col('n').ne(1), null],
    ['IN with null', col('n').in([1]), null],
    ['NOT IN with null', col('n').notIn([1]), null],
    ['IS NULL', col('n').isNull(), true],
    ['IS NOT NULL', col('n').isNotNull(), false],
    ['a missing column is null', col('s').isNull(), true],
    ['a field of a null struct is null', col('st.x').isNull(), true],
    ['NOT null', not(col('n').eq(1)), null],
    ['null AND true', and(col('n').eq(1), lit(true)), null],
    ['null AND false', and(col('n').eq(1), lit(false)), false],
    ['null OR true', or(col('n').eq(1), lit(true)), true],
    ['null OR false', or(col('n').eq(1), lit(false)), null],
  ])('applies three-valued logic: %s', (_label, expr, expected) => {
    expect(run(expr, nulls)).toBe(expected)
  })
})

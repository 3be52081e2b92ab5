import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import {
  and,
  col,
  describeExpression,
  lit,
  not,
  or,
  type Expression,
} from '../../../src/delta/expr/expression.js'

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

describe('expression builders', () => {
  it('build readonly nodes keyed by kind', () => {
    expect(col('x').eq(5)).toEqual({ kind: 'compare', op: 'eq', column: 'x', value: 5 })
    expect(col('x').notIn([1, 2])).toEqual({
      kind: 'in',
      column: 'x',
      values: [1, 2],
      negated: true,
    })
    expect(col('x').isNotNull()).toEqual({ kind: 'isNull', column: 'x', negated: true })
    expect(col('x').between(1, 2)).toEqual({
      kind: 'and',
      children: [
        { kind: 'compare', op: 'ge', column: 'x', value: 1 },
        { kind: 'compare', op: 'le', column: 'x', value: 2 },
      ],
    })
    expect(not(lit(true))).toEqual({ kind: 'not', child: { kind: 'literal', value: true } })
    expect(Object.isFrozen(col('x').in([1]))).toBe(true)
  })

  it('copy IN lists so later mutation of the argument has no effect', () => {
    const values = [1]
    const e = col('x').in(values)
    values.push(2)
    expect(e.values).toEqual([1])
  })

  it.each<[string, () => unknown]>([
    ['an empty column name', () => col('')],
    ['a non-array IN list', () => col('x').in(5 as unknown as number[])],
    ['a non-expression AND operand', () => and(col('x').eq(1), 'x = 1' as unknown as Expression)],
    ['a non-expression NOT operand', () => not(null as unknown as Expression)],
    ['a non-boolean literal', () => lit(1 as unknown as boolean)],
  ])('reject %s with INVALID_EXPRESSION', (_label, build) => {
    expectCode(build, 'INVALID_EXPRESSION')
  })
})

describe('describeExpression', () => {
  it.each<[Expression, string]>([
    [col('region').eq('US/East'), 'region = "US/East"'],
    [col('n').ne(5n), 'n != 5'],
    [col('s.x').lt(1.5), 's.x < 1.5'],
    [col('a b').le(NaN), '`a b` <= "NaN"'],
    [col('ts').gt(new Date('2021-01-01T00:00:00Z')), 'ts > "2021-01-01T00:00:00.000Z"'],
    [col('b').ge(new Uint8Array([1, 171])), "b >= X'01ab'"],
    [col('x').in(['a', 'b"c']), 'x IN ("a", "b\\"c")'],
    [col('x').notIn([]), 'x NOT IN ()'],
    [col('x').isNull(), 'x IS NULL'],
    [col('x').isNotNull(), 'x IS NOT NULL'],
    [
      and(col('a').eq(1), or(col('b').eq(2), not(col('c').isNull()))),
      'a = 1 AND (b = 2 OR NOT (c IS NULL))',
    ],
    [or(and(col('a').eq(1), col('b').eq(2)), lit(false)), '(a = 1 AND b = 2) OR FALSE'],
    [and(), 'TRUE'],
    [or(), 'FALSE'],
    [and(col('a').eq(true)), 'a = true'],
  ])('renders $1', (expr, expected) => {
    expect(describeExpression(expr)).toBe(expected)
  })
})

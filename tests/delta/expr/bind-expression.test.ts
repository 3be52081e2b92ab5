import { describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import { bindExpression, type BoundCompare } from '../../../src/delta/expr/bind-expression.js'
import { and, col, not, or, type Expression } from '../../../src/delta/expr/expression.js'
import type { DataType, StructField, StructType } from '../../../src/delta/schema/data-type.js'

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
    field('id', 'long'),
    field('Name', 'string'),
    field('ts', 'timestamp'),
    field('amount', 'decimal(10,2)'),
    field('s', { type: 'struct', fields: [field('x', 'integer'), field('a.b', 'string')] }),
    field('q.r', 'boolean'),
    field('tags', { type: 'array', elementType: 'string', containsNull: true }),
    field('nothing', 'void'),
  ],
}

describe('bindExpression', () => {
  it.each<[string, string, string[], DataType]>([
    ['an exact top-level name', 'id', ['id'], 'long'],
    ['a case-insensitive name', 'name', ['Name'], 'string'],
    ['a top-level name containing a dot', 'Q.R', ['q.r'], 'boolean'],
    ['a nested path', 'S.X', ['s', 'x'], 'integer'],
    ['a nested path with backticks', 's.`a.b`', ['s', 'a.b'], 'string'],
    // The engine prints such a column as `q.r`; what it prints can be passed back in.
    ['a top-level name in backticks', '`q.r`', ['q.r'], 'boolean'],
  ])('resolves %s', (_label, name, path, type) => {
    const value = type === 'boolean' ? true : type === 'string' ? 'v' : 1
    const bound = bindExpression(col(name).eq(value), schema)
    const node = bound.bound as BoundCompare
    expect(node.column.path).toEqual(path)
    expect(node.column.type).toBe(type)
    expect(bound.columns).toEqual([path[0]])
  })

  it('coerces literals to the column type', () => {
    const bound = bindExpression(
      and(col('id').eq(5), col('ts').ge('2021-01-01T00:00:00Z'), col('amount').lt(1.5)),
      schema,
    )
    expect(bound.bound).toMatchObject({
      kind: 'and',
      children: [{ value: 5n }, { value: new Date('2021-01-01T00:00:00Z') }, { value: '1.50' }],
    })
  })

  it('lists each referenced top-level column once and keeps the source expression', () => {
    const expr = or(
      col('id').eq(1),
      not(col('id').isNull()),
      col('q.r').eq(true),
      col('s.`a.b`').eq('q'),
    )
    const bound = bindExpression(expr, schema)
    expect(bound.columns).toEqual(['id', 'q.r', 's'])
    expect(bound.expression).toBe(expr)
  })

  it('allows IS NULL on nested columns', () => {
    expect(bindExpression(col('tags').isNull(), schema).bound).toMatchObject({ kind: 'isNull' })
  })

  it.each<[string, Expression, string]>([
    ['a missing column', col('missing').eq(1), 'COLUMN_NOT_FOUND'],
    ['a missing nested field', col('s.y').eq(1), 'COLUMN_NOT_FOUND'],
    ['a path through a non-struct', col('id.x').eq(1), 'COLUMN_NOT_FOUND'],
    ['a literal that does not fit', col('id').eq('abc'), 'INVALID_EXPRESSION'],
    ['a decimal literal that needs rounding', col('amount').eq('1.234'), 'INVALID_EXPRESSION'],
    ['a zone-less timestamp literal', col('ts').eq('2021-01-01 00:00:00'), 'INVALID_EXPRESSION'],
    ['a null comparison literal', col('id').eq(null), 'INVALID_EXPRESSION'],
    ['a null IN value', col('id').in([1, null]), 'INVALID_EXPRESSION'],
    ['a comparison on an array', col('tags').eq(['a']), 'INVALID_EXPRESSION'],
    ['a comparison on a void column', col('nothing').eq(1), 'INVALID_EXPRESSION'],
    [
      'an unknown node kind',
      { kind: 'like', column: 'id' } as unknown as Expression,
      'INVALID_EXPRESSION',
    ],
    [
      'an unknown operator',
      { kind: 'compare', op: 'approx', column: 'id', value: 1 } as unknown as Expression,
      'INVALID_EXPRESSION',
    ],
  ])('rejects %s', (_label, expr, code) => {
    expectCode(() => bindExpression(expr, schema), code)
  })
})

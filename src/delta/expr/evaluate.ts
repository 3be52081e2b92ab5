/**
 * Row evaluation of bound expressions with SQL three-valued logic: a comparison involving null is
 * null, `AND`/`OR`/`NOT` follow Kleene logic, and a row matches a filter iff the result is `true`.
 * Floating-point comparisons follow Spark: NaN equals NaN and is greater than every other value.
 * @module
 */
import type { ComparisonOp } from './expression.js'
import type { BoundColumn, BoundExpression, BoundNode } from './bind-expression.js'
import { inListKey } from './bind-expression.js'
import { compareValues } from '../schema/values.js'

/**
 * Reads a (possibly nested) column of a row; a missing value or a null parent struct is null.
 * @param row - a row keyed by top-level column name
 * @param column - the bound column
 * @returns the value or null
 */
function readColumn(row: Readonly<Record<string, unknown>>, column: BoundColumn): unknown {
  const path = column.path
  let value: unknown = row[path[0] as string]
  for (let i = 1; i < path.length; i++) {
    if (typeof value !== 'object' || value === null) return null
    value = (value as Record<string, unknown>)[path[i] as string]
  }
  return value === undefined ? null : value
}

/**
 * Applies a comparison operator to the result of `compareValues`.
 * @param op - the operator
 * @param c - negative, zero or positive
 * @returns whether the comparison holds
 * @internal
 */
export function applyOp(op: ComparisonOp, c: number): boolean {
  switch (op) {
    case 'eq':
      return c === 0
    case 'ne':
      return c !== 0
    case 'lt':
      return c < 0
    case 'le':
      return c <= 0
    case 'gt':
      return c > 0
    case 'ge':
      return c >= 0
  }
}

function evaluateNode(node: BoundNode, row: Readonly<Record<string, unknown>>): boolean | null {
  switch (node.kind) {
    case 'compare': {
      const v = readColumn(row, node.column)
      if (v === null) return null
      return applyOp(node.op, compareValues(node.column.type, v, node.value))
    }
    case 'in': {
      const v = readColumn(row, node.column)
      if (v === null) return null
      return node.keys.has(inListKey(node.column.type, v)) !== node.negated
    }
    case 'isNull':
      return (readColumn(row, node.column) === null) !== node.negated
    case 'and': {
      let result: boolean | null = true
      for (const child of node.children) {
        const r = evaluateNode(child, row)
        if (r === false) return false
        if (r === null) result = null
      }
      return result
    }
    case 'or': {
      let result: boolean | null = false
      for (const child of node.children) {
        const r = evaluateNode(child, row)
        if (r === true) return true
        if (r === null) result = null
      }
      return result
    }
    case 'not': {
      const r = evaluateNode(node.child, row)
      return r === null ? null : !r
    }
    case 'literal':
      return node.value
  }
}

/**
 * Evaluates a bound expression on one row of canonical values.
 * @param expr - the bound expression
 * @param row - values keyed by top-level column name (missing columns read as null)
 * @returns true, false, or null (unknown); a row matches a filter only when this is `true`
 */
export function evaluateOnRow(
  expr: BoundExpression,
  row: Readonly<Record<string, unknown>>,
): boolean | null {
  return evaluateNode(expr.bound, row)
}

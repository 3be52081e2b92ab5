/**
 * Binding: resolves an expression's columns against a table schema and coerces its literals to
 * the column types, producing a tree that evaluation and file skipping can run without further
 * checks.
 * @module
 */
import { DeltaError, isDeltaError } from '../errors.js'
import { findField, type DataType, type StructField, type StructType } from '../schema/data-type.js'
import { coerceValue, previewValue } from '../schema/values.js'
import { timestampMicros } from '../schema/timestamps.js'
import { formatColumnPath, parseColumnPath } from './column-path.js'
import type { ComparisonOp, Expression } from './expression.js'

/** A resolved column: its path of schema field names and its type. */
export interface BoundColumn {
  /** Display name (the resolved path, quoted where needed). */
  readonly name: string
  /** Field names from the top-level column down, as spelled in the schema. */
  readonly path: readonly string[]
  /** The (primitive or nested) type of the column. */
  readonly type: DataType
}

/** Bound `column <op> value`; `value` is canonical for the column type and never null. */
export interface BoundCompare {
  readonly kind: 'compare'
  readonly op: ComparisonOp
  readonly column: BoundColumn
  readonly value: unknown
}

/** Bound `column [NOT] IN (…)`; values are canonical and non-null. */
export interface BoundIn {
  readonly kind: 'in'
  readonly column: BoundColumn
  readonly values: readonly unknown[]
  /** Lookup keys of `values` (see {@link inListKey}). */
  readonly keys: ReadonlySet<unknown>
  readonly negated: boolean
}

/** Bound `column IS [NOT] NULL` (any column type). */
export interface BoundIsNull {
  readonly kind: 'isNull'
  readonly column: BoundColumn
  readonly negated: boolean
}

/** Bound conjunction. */
export interface BoundAnd {
  readonly kind: 'and'
  readonly children: readonly BoundNode[]
}

/** Bound disjunction. */
export interface BoundOr {
  readonly kind: 'or'
  readonly children: readonly BoundNode[]
}

/** Bound negation. */
export interface BoundNot {
  readonly kind: 'not'
  readonly child: BoundNode
}

/** Constant predicate. */
export interface BoundLiteral {
  readonly kind: 'literal'
  readonly value: boolean
}

/** A node of a bound expression tree. */
export type BoundNode =
  BoundCompare | BoundIn | BoundIsNull | BoundAnd | BoundOr | BoundNot | BoundLiteral

/** An expression bound to a schema. */
export interface BoundExpression {
  /** The bound tree. */
  readonly bound: BoundNode
  /** Top-level columns the expression references, as spelled in the schema, without duplicates. */
  readonly columns: readonly string[]
  /** The expression as the caller built it. */
  readonly expression: Expression
}

/**
 * The identity key of a canonical primitive value for `IN` lookups: equal keys iff
 * `compareValues` says equal (timestamps by instant, binary by bytes; JavaScript's SameValueZero
 * already makes NaN equal NaN and -0 equal 0, as Spark does).
 * @param type - the column type
 * @param value - a canonical non-null value
 * @returns a key usable in a `Set`
 * @internal
 */
export function inListKey(type: DataType, value: unknown): unknown {
  if (type === 'timestamp' || type === 'timestamp_ntz') return timestampMicros(value as Date)
  if (type === 'binary') {
    return `b:${Array.from(value as Uint8Array, (b) => b.toString(16).padStart(2, '0')).join('')}`
  }
  return value
}

/** `Array.isArray` without narrowing: guards untrusted trees built without the helpers. */
function isArrayValue(value: unknown): boolean {
  return Array.isArray(value)
}

function invalid(message: string, cause?: unknown, context: Record<string, string> = {}): never {
  throw new DeltaError('INVALID_EXPRESSION', `delta expression: ${message}`, { cause, context })
}

function notFound(name: string): never {
  throw new DeltaError(
    'COLUMN_NOT_FOUND',
    `delta expression: column ${JSON.stringify(name)} does not exist`,
    {
      context: { column: name },
    },
  )
}

function resolveColumn(schema: StructType, name: string): BoundColumn {
  const top = findField(schema, name)
  if (top) return { name: formatColumnPath([top.name]), path: [top.name], type: top.type }
  const segments = parseColumnPath(name)
  if (segments === undefined || segments.length === 0) notFound(name)
  const path: string[] = []
  let type: DataType = schema
  for (const segment of segments) {
    if (typeof type === 'string' || type.type !== 'struct') notFound(name)
    const field: StructField | undefined = findField(type, segment)
    if (!field) notFound(name)
    path.push(field.name)
    type = field.type
  }
  return { name: formatColumnPath(path), path, type }
}

function bindLiteral(column: BoundColumn, value: unknown, what: string): unknown {
  if (value === null || value === undefined) {
    invalid(
      `${what} on column ${column.name} has a null literal; use isNull()/isNotNull()`,
      undefined,
      {
        column: column.name,
      },
    )
  }
  try {
    return coerceValue(column.type, value, column.name)
  } catch (cause) {
    if (isDeltaError(cause, 'SCHEMA_MISMATCH')) {
      const typeName = typeof column.type === 'string' ? column.type : column.type.type
      invalid(
        `literal ${previewValue(value)} does not fit column ${column.name} of type ${typeName}`,
        cause,
        { column: column.name },
      )
    }
    throw cause
  }
}

function requireComparable(column: BoundColumn, what: string): void {
  if (typeof column.type !== 'string' || column.type === 'void') {
    const typeName = typeof column.type === 'string' ? column.type : column.type.type
    invalid(`${what} is not supported on column ${column.name} of type ${typeName}`, undefined, {
      column: column.name,
    })
  }
}

function bindNode(expr: Expression, schema: StructType, columns: Set<string>): BoundNode {
  if (typeof expr !== 'object' || expr === null) invalid('not an expression')
  switch (expr.kind) {
    case 'compare': {
      const column = resolveColumn(schema, expr.column)
      columns.add(column.path[0] as string)
      requireComparable(column, 'comparison')
      const value = bindLiteral(column, expr.value, 'comparison')
      return { kind: 'compare', op: expr.op, column, value }
    }
    case 'in': {
      const column = resolveColumn(schema, expr.column)
      columns.add(column.path[0] as string)
      requireComparable(column, 'IN')
      if (!isArrayValue(expr.values)) invalid(`IN list of column ${column.name} is not an array`)
      const values = expr.values.map((v) => bindLiteral(column, v, 'IN'))
      const keys = new Set(values.map((v) => inListKey(column.type, v)))
      return { kind: 'in', column, values, keys, negated: expr.negated === true }
    }
    case 'isNull': {
      const column = resolveColumn(schema, expr.column)
      columns.add(column.path[0] as string)
      return { kind: 'isNull', column, negated: expr.negated === true }
    }
    case 'and':
    case 'or':
      if (!isArrayValue(expr.children)) invalid(`${expr.kind.toUpperCase()} without children array`)
      return { kind: expr.kind, children: expr.children.map((c) => bindNode(c, schema, columns)) }
    case 'not':
      return { kind: 'not', child: bindNode(expr.child, schema, columns) }
    case 'literal':
      if (typeof expr.value !== 'boolean') invalid('literal predicate must be true or false')
      return { kind: 'literal', value: expr.value }
    default:
      return invalid(`unknown expression kind ${JSON.stringify((expr as { kind?: unknown }).kind)}`)
  }
}

const VALID_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge'])

function checkOps(expr: Expression): void {
  switch (expr.kind) {
    case 'compare':
      if (!VALID_OPS.has(expr.op)) invalid(`unknown comparison operator ${JSON.stringify(expr.op)}`)
      return
    case 'and':
    case 'or':
      if (Array.isArray(expr.children)) expr.children.forEach(checkOps)
      return
    case 'not':
      if (typeof expr.child === 'object' && expr.child !== null) checkOps(expr.child)
      return
    default:
      return
  }
}

/**
 * Binds an expression to a schema: resolves each column (exact name, else case-insensitive; a
 * dotted path reaches into structs), rejects comparisons on nested and void columns, and coerces
 * literals to the column types with `coerceValue` (e.g. a number for a long column becomes a
 * bigint, an ISO string for a timestamp column a Date).
 * @param expr - the expression
 * @param schema - the table schema
 * @returns the bound expression
 * @throws DeltaError `COLUMN_NOT_FOUND` naming a missing column; `INVALID_EXPRESSION` for a
 *   literal that does not fit its column (naming column and value), a null literal in a
 *   comparison or IN list, a comparison on a nested column, or a malformed tree
 */
export function bindExpression(expr: Expression, schema: StructType): BoundExpression {
  if (typeof expr !== 'object' || expr === null) invalid('not an expression')
  checkOps(expr)
  const columns = new Set<string>()
  const bound = bindNode(expr, schema, columns)
  return { bound, columns: [...columns], expression: expr }
}

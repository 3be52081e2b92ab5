/**
 * Typed predicate expressions: the only way to filter a table (there are no string predicates).
 * Nodes are readonly objects discriminated by `kind`; build them with {@link col}, {@link and},
 * {@link or}, {@link not} and {@link lit}, then bind them to a schema (`bindExpression`) to
 * evaluate them on rows, partition values and file statistics.
 *
 * Column names: `col('name')` refers to a top-level column (matched exactly, else
 * case-insensitively). When no top-level column has that name, a dotted name refers to a nested
 * struct field: `col('s.x')` is field `x` of struct column `s`; backticks quote names containing
 * dots (`` col('`a.b`.c') ``).
 * @module
 */
import { DeltaError } from '../errors.js'

/** Comparison operators: `=`, `!=`, `<`, `<=`, `>`, `>=`. */
export type ComparisonOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'

/** `column <op> value`. A null value is not allowed; use {@link IsNullExpression}. */
export interface CompareExpression {
  readonly kind: 'compare'
  readonly op: ComparisonOp
  readonly column: string
  readonly value: unknown
}

/** `column IN (values…)`, or `NOT IN` when `negated`. */
export interface InExpression {
  readonly kind: 'in'
  readonly column: string
  readonly values: readonly unknown[]
  readonly negated: boolean
}

/** `column IS NULL`, or `IS NOT NULL` when `negated`. */
export interface IsNullExpression {
  readonly kind: 'isNull'
  readonly column: string
  readonly negated: boolean
}

/** Conjunction of any number of children (true when empty). */
export interface AndExpression {
  readonly kind: 'and'
  readonly children: readonly Expression[]
}

/** Disjunction of any number of children (false when empty). */
export interface OrExpression {
  readonly kind: 'or'
  readonly children: readonly Expression[]
}

/** Negation (SQL three-valued: `NOT null` is null). */
export interface NotExpression {
  readonly kind: 'not'
  readonly child: Expression
}

/** A constant predicate. */
export interface LiteralExpression {
  readonly kind: 'literal'
  readonly value: boolean
}

/** Any predicate expression. */
export type Expression =
  | CompareExpression
  | InExpression
  | IsNullExpression
  | AndExpression
  | OrExpression
  | NotExpression
  | LiteralExpression

function checkColumnName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DeltaError(
      'INVALID_EXPRESSION',
      `delta expression: column name must be a non-empty string, got ${typeof name === 'string' ? '""' : typeof name}`,
    )
  }
  return name
}

function checkExpression(e: unknown, where: string): Expression {
  if (typeof e !== 'object' || e === null || typeof (e as { kind?: unknown }).kind !== 'string') {
    throw new DeltaError('INVALID_EXPRESSION', `delta expression: ${where} is not an expression`)
  }
  return e as Expression
}

/** A column reference from which predicates are built: `col('age').ge(18)`. */
export class Column {
  /** The column name (or dotted path) as given. */
  readonly name: string

  /**
   * @param name - column name or dotted path (see the module documentation)
   * @throws DeltaError `INVALID_EXPRESSION` for an empty name
   */
  constructor(name: string) {
    this.name = checkColumnName(name)
  }

  private compare(op: ComparisonOp, value: unknown): CompareExpression {
    return Object.freeze({ kind: 'compare', op, column: this.name, value })
  }

  /**
   * `column = value`.
   * @param value - the literal (coerced to the column type when bound)
   * @returns the predicate
   */
  eq(value: unknown): CompareExpression {
    return this.compare('eq', value)
  }

  /**
   * `column != value` (null when the column is null).
   * @param value - the literal
   * @returns the predicate
   */
  ne(value: unknown): CompareExpression {
    return this.compare('ne', value)
  }

  /**
   * `column < value`.
   * @param value - the literal
   * @returns the predicate
   */
  lt(value: unknown): CompareExpression {
    return this.compare('lt', value)
  }

  /**
   * `column <= value`.
   * @param value - the literal
   * @returns the predicate
   */
  le(value: unknown): CompareExpression {
    return this.compare('le', value)
  }

  /**
   * `column > value`.
   * @param value - the literal
   * @returns the predicate
   */
  gt(value: unknown): CompareExpression {
    return this.compare('gt', value)
  }

  /**
   * `column >= value`.
   * @param value - the literal
   * @returns the predicate
   */
  ge(value: unknown): CompareExpression {
    return this.compare('ge', value)
  }

  /**
   * `column IN (values…)`; null values are not allowed in the list.
   * @param values - the literals
   * @returns the predicate
   * @throws DeltaError `INVALID_EXPRESSION` when `values` is not an array
   */
  in(values: readonly unknown[]): InExpression {
    return this.inList(values, false)
  }

  /**
   * `column NOT IN (values…)` (null when the column is null).
   * @param values - the literals
   * @returns the predicate
   * @throws DeltaError `INVALID_EXPRESSION` when `values` is not an array
   */
  notIn(values: readonly unknown[]): InExpression {
    return this.inList(values, true)
  }

  private inList(values: readonly unknown[], negated: boolean): InExpression {
    if (!Array.isArray(values)) {
      throw new DeltaError(
        'INVALID_EXPRESSION',
        `delta expression: IN list for column ${JSON.stringify(this.name)} must be an array`,
      )
    }
    return Object.freeze({
      kind: 'in',
      column: this.name,
      values: Object.freeze([...(values as unknown[])]),
      negated,
    })
  }

  /**
   * `column IS NULL`.
   * @returns the predicate
   */
  isNull(): IsNullExpression {
    return Object.freeze({ kind: 'isNull', column: this.name, negated: false })
  }

  /**
   * `column IS NOT NULL`.
   * @returns the predicate
   */
  isNotNull(): IsNullExpression {
    return Object.freeze({ kind: 'isNull', column: this.name, negated: true })
  }

  /**
   * `column >= lo AND column <= hi`.
   * @param lo - inclusive lower bound
   * @param hi - inclusive upper bound
   * @returns the predicate
   */
  between(lo: unknown, hi: unknown): AndExpression {
    return and(this.ge(lo), this.le(hi))
  }
}

/**
 * A column reference.
 * @example
 * ```ts
 * const filter = and(col('region').eq('EU'), or(col('age').ge(18), col('guardian').isNotNull()))
 * ```
 * @param name - column name, or a dotted path to a nested struct field
 * @returns the column builder
 * @throws DeltaError `INVALID_EXPRESSION` for an empty name
 */
export function col(name: string): Column {
  return new Column(name)
}

/**
 * Conjunction (SQL `AND`, three-valued).
 * @param children - the operands (none: always true)
 * @returns the predicate
 * @throws DeltaError `INVALID_EXPRESSION` when an operand is not an expression
 */
export function and(...children: Expression[]): AndExpression {
  children.forEach((c, i) => checkExpression(c, `AND operand ${i}`))
  return Object.freeze({ kind: 'and', children: Object.freeze([...children]) })
}

/**
 * Disjunction (SQL `OR`, three-valued).
 * @param children - the operands (none: always false)
 * @returns the predicate
 * @throws DeltaError `INVALID_EXPRESSION` when an operand is not an expression
 */
export function or(...children: Expression[]): OrExpression {
  children.forEach((c, i) => checkExpression(c, `OR operand ${i}`))
  return Object.freeze({ kind: 'or', children: Object.freeze([...children]) })
}

/**
 * Negation (SQL `NOT`, three-valued).
 * @param child - the operand
 * @returns the predicate
 * @throws DeltaError `INVALID_EXPRESSION` when the operand is not an expression
 */
export function not(child: Expression): NotExpression {
  return Object.freeze({ kind: 'not', child: checkExpression(child, 'NOT operand') })
}

/**
 * A constant predicate.
 * @param value - true or false
 * @returns the predicate
 * @throws DeltaError `INVALID_EXPRESSION` for a non-boolean
 */
export function lit(value: boolean): LiteralExpression {
  if (typeof value !== 'boolean') {
    throw new DeltaError(
      'INVALID_EXPRESSION',
      `delta expression: lit() takes a boolean, got ${typeof value}`,
    )
  }
  return Object.freeze({ kind: 'literal', value })
}

const OP_SYMBOLS: Readonly<Record<ComparisonOp, string>> = {
  eq: '=',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
}

const PLAIN_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/

function displayColumn(name: string): string {
  return PLAIN_NAME_RE.test(name) ? name : `\`${name.replaceAll('`', '``')}\``
}

/**
 * Renders a literal for display: strings and instants JSON-quoted, numbers and bigints as digits,
 * binary as `X'…'` hex.
 * @param value - any literal
 * @returns the display text
 */
function describeLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value))
    case 'bigint':
    case 'boolean':
      return String(value)
    default:
      if (value instanceof Date) {
        return JSON.stringify(Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString())
      }
      if (value instanceof Uint8Array) {
        return `X'${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}'`
      }
      try {
        return JSON.stringify(value) ?? typeof value
      } catch {
        return Object.prototype.toString.call(value)
      }
  }
}

function describe(expr: Expression, nested: boolean): string {
  switch (expr.kind) {
    case 'compare':
      return `${displayColumn(expr.column)} ${OP_SYMBOLS[expr.op]} ${describeLiteral(expr.value)}`
    case 'in':
      return `${displayColumn(expr.column)} ${expr.negated ? 'NOT IN' : 'IN'} (${expr.values.map(describeLiteral).join(', ')})`
    case 'isNull':
      return `${displayColumn(expr.column)} IS ${expr.negated ? 'NOT NULL' : 'NULL'}`
    case 'literal':
      return expr.value ? 'TRUE' : 'FALSE'
    case 'not':
      return `NOT (${describe(expr.child, false)})`
    case 'and':
    case 'or': {
      if (expr.children.length === 0) return expr.kind === 'and' ? 'TRUE' : 'FALSE'
      if (expr.children.length === 1) return describe(expr.children[0] as Expression, nested)
      const text = expr.children
        .map((c) => describe(c, true))
        .join(expr.kind === 'and' ? ' AND ' : ' OR ')
      return nested ? `(${text})` : text
    }
    default:
      return '<invalid expression>'
  }
}

/**
 * A readable SQL-like rendering of an expression, for `commitInfo` operation parameters and
 * error messages. Display only: it is never parsed back.
 * @param expr - the expression
 * @returns e.g. `region = "EU" AND (age >= 18 OR guardian IS NOT NULL)`
 */
export function describeExpression(expr: Expression): string {
  return describe(expr, false)
}

/**
 * A model of the engine's DML for property tests: random operation sequences (appends,
 * deletes, updates, merges, overwrites with and without `replaceWhere`, checkpoints,
 * compactions), applied both to a real table and to a plain array of rows with SQL's
 * three-valued logic, so that the two can be compared after every operation and at every
 * version.
 */
import fc from 'fast-check'
import {
  and,
  col,
  not,
  or,
  timestampMicros,
  type DeltaTable,
  type Expression,
  type StructType,
  type WriteResult,
} from '../../src/delta/index.js'

/** A row of the model table. */
export type ModelRow = {
  readonly id: bigint
  readonly p: string | null
  readonly n: number | null
  readonly s: string | null
  readonly ts: Date | null
}

const nullable = (name: string, type: 'string' | 'integer' | 'timestamp') => ({
  name,
  type,
  nullable: true,
  metadata: {},
})

/** The model table's schema. */
export const MODEL_SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    nullable('p', 'string'),
    nullable('n', 'integer'),
    nullable('s', 'string'),
    nullable('ts', 'timestamp'),
  ],
}

/**
 * Whether the long variant runs (`POLARWAY_FULL=1`): many more random sequences in-process and
 * against delta-rs.
 */
export const FULL_MODEL_RUN: boolean = process.env.POLARWAY_FULL === '1'

/** Partitionings the property runs choose from (by a string, by an integer, none). */
export const MODEL_PARTITIONINGS: readonly (readonly string[])[] = [[], ['p'], ['n']]

const T0 = Date.UTC(2026, 0, 1)

/** A predicate over the model's columns. */
export type Pred =
  | { readonly k: 'cmp'; readonly c: 'n'; readonly op: CmpOp; readonly v: number }
  | { readonly k: 'cmp'; readonly c: 's' | 'p'; readonly op: CmpOp; readonly v: string }
  | { readonly k: 'cmp'; readonly c: 'ts'; readonly op: CmpOp; readonly v: Date }
  | { readonly k: 'null'; readonly c: 'p' | 'n' | 's' | 'ts'; readonly negated: boolean }
  | { readonly k: 'in'; readonly vs: readonly number[] }
  | { readonly k: 'and' | 'or'; readonly a: Pred; readonly b: Pred }
  | { readonly k: 'not'; readonly a: Pred }

type CmpOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'

/** Column values of a generated row (its id is given when the operation runs). */
export type Values = Omit<ModelRow, 'id'>

/** One operation of a sequence. */
export type Op =
  | { readonly k: 'append'; readonly rows: readonly Values[] }
  | { readonly k: 'delete'; readonly pred: Pred | undefined }
  | {
      readonly k: 'update'
      readonly pred: Pred | undefined
      readonly set: Partial<Values>
      readonly incrementN: boolean
    }
  | {
      readonly k: 'merge'
      /** Source rows: an offset from the next fresh id (negative: existing ids). */
      readonly rows: readonly { readonly offset: number; readonly values: Values }[]
      /** Columns the source rows leave out (they stay as they are, or are null on insert). */
      readonly omit: readonly ('s' | 'ts')[]
      readonly whenMatched: 'update' | 'delete' | 'ignore'
      readonly whenNotMatched: 'insert' | 'ignore'
    }
  | { readonly k: 'replaceWhere'; readonly p: string; readonly rows: readonly Values[] }
  | { readonly k: 'overwrite'; readonly rows: readonly Values[] }
  | { readonly k: 'checkpoint' }
  | { readonly k: 'optimize' }

const smallInt = fc.integer({ min: -3, max: 3 })
const word = fc.constantFrom('a', 'b', 'c', 'ab', '')
const part = fc.constantFrom('x', 'y', 'z')
const time = fc.integer({ min: 0, max: 5 }).map((h) => new Date(T0 + h * 3_600_000))
const cmpOp = fc.constantFrom<CmpOp>('eq', 'ne', 'lt', 'le', 'gt', 'ge')
const orNull = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(a, { nil: null, freq: 4 })

const values: fc.Arbitrary<Values> = fc.record({
  p: orNull(part),
  n: orNull(smallInt),
  s: orNull(word),
  ts: orNull(time),
})

const leaf: fc.Arbitrary<Pred> = fc.oneof(
  fc.record({
    k: fc.constant('cmp' as const),
    c: fc.constant('n' as const),
    op: cmpOp,
    v: smallInt,
  }),
  fc.record({
    k: fc.constant('cmp' as const),
    c: fc.constantFrom('s' as const, 'p' as const),
    op: cmpOp,
    v: fc.oneof(word, part),
  }),
  fc.record({ k: fc.constant('cmp' as const), c: fc.constant('ts' as const), op: cmpOp, v: time }),
  fc.record({
    k: fc.constant('null' as const),
    c: fc.constantFrom('p' as const, 'n' as const, 's' as const, 'ts' as const),
    negated: fc.boolean(),
  }),
  fc.record({
    k: fc.constant('in' as const),
    vs: fc.array(smallInt, { minLength: 1, maxLength: 3 }),
  }),
)

/** Random predicates, up to three levels of and/or/not. */
export const predicate: fc.Arbitrary<Pred> = fc.letrec<{ node: Pred }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'pred' },
    leaf,
    fc.record({
      k: fc.constantFrom('and' as const, 'or' as const),
      a: tie('node'),
      b: tie('node'),
    }),
    fc.record({ k: fc.constant('not' as const), a: tie('node') }),
  ),
})).node

const rows = (max: number): fc.Arbitrary<Values[]> =>
  fc.array(values, { minLength: 1, maxLength: max })

/** Random operations, weighted towards the data changes. */
export const operation: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('append' as const), rows: rows(6) }), weight: 4 },
  {
    arbitrary: fc.record({
      k: fc.constant('delete' as const),
      pred: fc.option(predicate, { nil: undefined, freq: 8 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('update' as const),
      pred: fc.option(predicate, { nil: undefined, freq: 8 }),
      set: fc.record(
        { p: orNull(part), n: orNull(smallInt), s: orNull(word), ts: orNull(time) },
        { requiredKeys: [] },
      ),
      incrementN: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('merge' as const),
      rows: fc.uniqueArray(fc.record({ offset: fc.integer({ min: -12, max: 3 }), values }), {
        minLength: 1,
        maxLength: 5,
        selector: (r) => r.offset,
      }),
      omit: fc.subarray(['s', 'ts'] as ('s' | 'ts')[]),
      whenMatched: fc.constantFrom('update' as const, 'delete' as const, 'ignore' as const),
      whenNotMatched: fc.constantFrom('insert' as const, 'ignore' as const),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ k: fc.constant('replaceWhere' as const), p: part, rows: rows(3) }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('overwrite' as const), rows: rows(4) }), weight: 1 },
  { arbitrary: fc.constant({ k: 'checkpoint' as const }), weight: 1 },
  { arbitrary: fc.constant({ k: 'optimize' as const }), weight: 1 },
)

/** The engine expression of a predicate. */
export function toExpression(pred: Pred): Expression {
  switch (pred.k) {
    case 'cmp':
      return col(pred.c)[pred.op](pred.v)
    case 'null':
      return pred.negated ? col(pred.c).isNotNull() : col(pred.c).isNull()
    case 'in':
      return col('n').in(pred.vs)
    case 'and':
      return and(toExpression(pred.a), toExpression(pred.b))
    case 'or':
      return or(toExpression(pred.a), toExpression(pred.b))
    case 'not':
      return not(toExpression(pred.a))
  }
}

function compare(a: number | string | Date, b: number | string | Date): number {
  const x = a instanceof Date ? a.getTime() : a
  const y = b instanceof Date ? b.getTime() : b
  return x < y ? -1 : x > y ? 1 : 0
}

const OPS: Record<CmpOp, (c: number) => boolean> = {
  eq: (c) => c === 0,
  ne: (c) => c !== 0,
  lt: (c) => c < 0,
  le: (c) => c <= 0,
  gt: (c) => c > 0,
  ge: (c) => c >= 0,
}

/**
 * A predicate's value on a row in SQL's three-valued logic (`null` is UNKNOWN).
 * @param pred - the predicate
 * @param row - the row
 * @returns true, false or null
 */
export function evaluate(pred: Pred, row: ModelRow): boolean | null {
  switch (pred.k) {
    case 'cmp': {
      const value = row[pred.c]
      return value === null ? null : OPS[pred.op](compare(value, pred.v))
    }
    case 'null':
      return (row[pred.c] === null) !== pred.negated
    case 'in':
      return row.n === null ? null : pred.vs.includes(row.n)
    case 'and': {
      const a = evaluate(pred.a, row)
      const b = evaluate(pred.b, row)
      if (a === false || b === false) return false
      return a === null || b === null ? null : true
    }
    case 'or': {
      const a = evaluate(pred.a, row)
      const b = evaluate(pred.b, row)
      if (a === true || b === true) return true
      return a === null || b === null ? null : false
    }
    case 'not': {
      const a = evaluate(pred.a, row)
      return a === null ? null : !a
    }
  }
}

const matches = (pred: Pred | undefined, row: ModelRow): boolean =>
  pred === undefined || evaluate(pred, row) === true

/** The rows of a table in id order, as the model holds them. */
export function sortRows(list: readonly Readonly<Record<string, unknown>>[]): ModelRow[] {
  return list
    .map((r) => ({
      id: r.id as bigint,
      p: r.p as string | null,
      n: r.n as number | null,
      s: r.s as string | null,
      ts: r.ts as Date | null,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : compareTies(a, b)))
}

/** Orders rows with one id (ids need not be unique) by their other columns, nulls first. */
function compareTies(a: ModelRow, b: ModelRow): number {
  const key = (r: ModelRow): string =>
    JSON.stringify([r.p, r.n, r.s, r.ts === null ? null : timestampMicros(r.ts).toString()])
  const x = key(a)
  const y = key(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * An operation with its rows fixed (ids given): what it does to a table, and to the model's
 * rows.
 */
export interface Step {
  /** Runs the operation on a table handle; `undefined` when it is a no-op by construction. */
  readonly run: (table: DeltaTable) => Promise<WriteResult | undefined>
  /** The model's rows after the operation. */
  readonly model: (rows: readonly ModelRow[]) => ModelRow[]
}

const bump = (n: number | null): number | null => (n === null ? null : n + 1)

/** A table and its model, kept in step. */
export class ModelRun {
  readonly table: DeltaTable
  #rows: ModelRow[] = []
  #nextId = 0n
  /** The model's rows at each version the table reached. */
  readonly versions = new Map<number, ModelRow[]>()

  /**
   * @param table - the table (empty, or holding the model's rows given as `rows` later)
   * @param firstId - the first fresh id to hand out
   */
  constructor(table: DeltaTable, firstId = 0n) {
    this.table = table
    this.#nextId = firstId
    this.versions.set(table.version, [])
  }

  /** The next fresh id {@link ModelRun.prepare} will hand out. */
  get nextId(): bigint {
    return this.#nextId
  }

  /** The model's current rows, in id order. */
  get rows(): ModelRow[] {
    return sortRows(this.#rows)
  }

  /** Sets the model's rows (after operations run outside {@link ModelRun.apply}). */
  set rows(rows: readonly ModelRow[]) {
    this.#rows = [...rows]
  }

  #fresh(values: readonly Values[]): ModelRow[] {
    return values.map((v) => ({ id: this.#nextId++, ...v }))
  }

  /**
   * Fixes an operation's rows: fresh ids are taken now, so that steps prepared one after the
   * other never reuse an id, whatever order they run in.
   * @param op - the operation
   * @returns the step
   */
  prepare(op: Op): Step {
    switch (op.k) {
      case 'append': {
        const added = this.#fresh(op.rows)
        return { run: (t) => t.append(added), model: (rows) => [...rows, ...added] }
      }
      case 'delete':
        return {
          run: (t) => t.delete(op.pred && toExpression(op.pred)),
          model: (rows) => rows.filter((r) => !matches(op.pred, r)),
        }
      case 'update': {
        const set: Record<string, unknown> = { ...op.set }
        if (op.incrementN) {
          set.n = (row: Readonly<Record<string, unknown>>) => bump(row.n as number | null)
        }
        if (Object.keys(set).length === 0) {
          return { run: () => Promise.resolve(undefined), model: (rows) => [...rows] }
        }
        return {
          run: (t) => t.update(op.pred && toExpression(op.pred), set),
          model: (rows) =>
            rows.map((r) =>
              matches(op.pred, r)
                ? { ...r, ...op.set, ...(op.incrementN ? { n: bump(r.n) } : {}) }
                : r,
            ),
        }
      }
      case 'merge': {
        // Negative offsets name existing ids (or, below zero, ids that match nothing).
        const source = op.rows.map(({ offset, values: v }) => {
          const row: Record<string, unknown> = { id: this.#nextId + BigInt(offset), ...v }
          for (const c of op.omit) delete row[c]
          return row
        })
        const top = source.reduce((m, r) => ((r.id as bigint) > m ? (r.id as bigint) : m), -1n)
        if (top >= this.#nextId) this.#nextId = top + 1n
        return {
          run: (t) =>
            t.merge(source, {
              on: 'id',
              whenMatched: op.whenMatched,
              whenNotMatched: op.whenNotMatched,
            }),
          model: (rows) => {
            const out = [...rows]
            for (const s of source) {
              const i = out.findIndex((r) => r.id === s.id)
              if (i >= 0) {
                if (op.whenMatched === 'update') out[i] = { ...out[i], ...s } as ModelRow
                else if (op.whenMatched === 'delete') out.splice(i, 1)
              } else if (op.whenNotMatched === 'insert') {
                out.push({ p: null, n: null, s: null, ts: null, ...s } as ModelRow)
              }
            }
            return out
          },
        }
      }
      case 'replaceWhere': {
        const added = this.#fresh(op.rows.map((v) => ({ ...v, p: op.p })))
        return {
          run: (t) => t.overwrite(added, { replaceWhere: col('p').eq(op.p) }),
          // `p = x` is UNKNOWN for a null p: those rows stay.
          model: (rows) => [...rows.filter((r) => r.p !== op.p), ...added],
        }
      }
      case 'overwrite': {
        const added = this.#fresh(op.rows)
        return { run: (t) => t.overwrite(added), model: () => [...added] }
      }
      case 'checkpoint':
        return {
          run: async (t) => {
            await t.checkpoint()
            return undefined
          },
          model: (rows) => [...rows],
        }
      case 'optimize':
        return {
          run: async (t) => {
            await t.optimize()
            return undefined
          },
          model: (rows) => [...rows],
        }
    }
  }

  /**
   * Applies an operation to the table and to the model.
   * @param op - the operation
   * @returns when both are done
   */
  async apply(op: Op): Promise<void> {
    const step = this.prepare(op)
    await step.run(this.table)
    this.#rows = step.model(this.#rows)
    this.versions.set(this.table.version, this.rows)
  }
}

/**
 * An operation as one line of JSON (timestamps as `{"$date": ms}`), for logs shared between
 * processes.
 * @param op - the operation
 * @returns the line (no newline)
 */
export function opToJson(op: Op): string {
  return JSON.stringify(op, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key]
    return raw instanceof Date ? { $date: raw.getTime() } : value
  })
}

/**
 * The operation of a line written by {@link opToJson}.
 * @param line - the line
 * @returns the operation
 */
export function opFromJson(line: string): Op {
  return JSON.parse(line, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && '$date' in value
      ? new Date((value as { $date: number }).$date)
      : value,
  ) as Op
}

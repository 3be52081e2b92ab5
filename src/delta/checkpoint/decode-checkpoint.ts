/**
 * Column-wise decoding of a V1 checkpoint Parquet file ("Checkpoint Schema" in PROTOCOL.md)
 * into actions, without assembling generic nested rows: `add` and `remove` actions are built
 * straight from the definition levels and values of their leaf columns; the rare other actions
 * (protocol, metaData, txn, domainMetadata, V2 markers) are assembled as objects and handed to
 * `parseAction`. Columns of actions no row uses are never decoded.
 *
 * The result is exactly that of reading the file with `readParquetRows` and `parseAction` row
 * by row. Only the layouts that readers agree on are decoded here (exact column names, struct
 * groups, standard maps, 2- and 3-level lists, unannotated integers, string byte arrays); for
 * anything else {@link decodeCheckpoint} throws, and the caller falls back to the row reader,
 * which also produces the precise error for a corrupt file.
 * @module
 */
import type {
  Action,
  AddAction,
  DeletionVectorDescriptor,
  PartitionValues,
  RemoveAction,
} from '../actions/actions.js'
import { parseAction } from '../actions/parse-action.js'
import { DeltaError } from '../errors.js'
import {
  openParquetColumns,
  type LeafColumn,
  type LeafValue,
  type ParquetColumns,
  type ParquetSchemaNode,
} from '../parquet/index.js'
import type { DataType, StructType } from '../schema/data-type.js'
import { CHECKPOINT_SCHEMA } from './checkpoint-schema.js'

/** Actions of one checkpoint file. @internal */
export interface CheckpointFileContent {
  readonly actions: Action[]
  /** The first malformed row, if any (rows after it are still parsed). */
  readonly malformed: DeltaError | undefined
}

/** A value of one row of a materialized column. */
type Value = LeafValue | StringMap | (string | null)[] | Struct | null
type StringMap = Record<string, string | null>
type Struct = { [field: string]: Value }
/** One value per row. */
type Column<T = Value> = (T | null)[]

/** A schema node with its definition level (the level at which it is non-null). */
interface Located {
  readonly node: ParquetSchemaNode
  readonly path: readonly string[]
  readonly definition: number
}

/** Signals a layout this decoder does not handle; the caller falls back to the row reader. */
class UnsupportedLayout extends Error {
  override readonly name = 'UnsupportedLayout'
}

function unsupported(path: readonly string[], what: string): never {
  throw new UnsupportedLayout(`checkpoint column ${path.join('.')}: ${what}`)
}

const STRING_ANNOTATIONS = new Set(['STRING', 'UTF8', 'ENUM', 'JSON'])

/** A byte-array leaf the row reader decodes as a UTF-8 string. */
function isStringLeaf(node: ParquetSchemaNode): boolean {
  return (
    node.children.length === 0 &&
    node.physicalType === 'BYTE_ARRAY' &&
    (node.annotation === undefined || STRING_ANNOTATIONS.has(node.annotation))
  )
}

function checkStructGroup(at: Located): void {
  const { node } = at
  if (node.children.length === 0 || node.annotation === 'LIST' || node.annotation === 'MAP') {
    unsupported(at.path, 'not a struct group')
  }
}

/** Decodes leaf columns on demand (each at most once) and materializes per-row columns. */
class Decoder {
  readonly #file: ParquetColumns
  readonly #leaves = new Map<string, LeafColumn>()
  #nulls: Column | undefined
  readonly numRows: number

  constructor(file: ParquetColumns) {
    this.#file = file
    this.numRows = file.numRows
  }

  leaf(located: Located): LeafColumn {
    const key = located.path.join('\u0000')
    let leaf = this.#leaves.get(key)
    if (leaf === undefined) {
      leaf = this.#file.readLeaf(located.path)
      this.#leaves.set(key, leaf)
    }
    return leaf
  }

  /** The child named exactly `name`; undefined when absent (the column reads as null). */
  child(parent: Located, name: string): Located | undefined {
    const node = parent.node.children.find((c) => c.name === name)
    if (node === undefined) {
      const lower = name.toLowerCase()
      // The row reader matches names case-insensitively as a fallback: leave that to it.
      if (parent.node.children.some((c) => c.name.toLowerCase() === lower)) {
        unsupported([...parent.path, name], 'matches only case-insensitively')
      }
      return undefined
    }
    return {
      node,
      path: [...parent.path, name],
      definition: parent.definition + (node.repetition === 'REQUIRED' ? 0 : 1),
    }
  }

  /** Whether each row has the (non-repeated) group `at` non-null. */
  presence(at: Located): Uint8Array {
    const present = new Uint8Array(this.numRows)
    let node = at
    // Any leaf below the group carries its presence in its definition levels: take the first
    // (below a repeated field, the first slot of each row).
    while (node.node.children.length > 0) {
      const first = node.node.children[0] as ParquetSchemaNode
      const next = this.child(node, first.name) as Located
      node = next
    }
    const leaf = this.leaf(node)
    const defs = leaf.definitionLevels
    const reps = leaf.repetitionLevels
    if (reps.length === 0) {
      if (leaf.numSlots !== this.numRows) unsupported(node.path, 'slot count differs from rows')
      for (let r = 0; r < this.numRows; r++)
        present[r] = (defs[r] as number) >= at.definition ? 1 : 0
      return present
    }
    let row = -1
    for (let s = 0; s < leaf.numSlots; s++) {
      if (reps[s] === 0) {
        row++
        if (row >= this.numRows) unsupported(node.path, 'more rows than the file has')
        present[row] = (defs[s] as number) >= at.definition ? 1 : 0
      }
    }
    if (row !== this.numRows - 1) unsupported(node.path, 'fewer rows than the file has')
    return present
  }

  /** A column of nulls (shared: columns are never written to after materialization). */
  nulls(): Column {
    this.#nulls ??= new Array<Value>(this.numRows).fill(null)
    return this.#nulls
  }

  /** Materializes a non-repeated field of the given Delta type, one value per row. */
  column(type: DataType, at: Located | undefined): Column {
    if (at === undefined) return this.nulls()
    if (at.node.repetition === 'REPEATED') unsupported(at.path, 'repeated field')
    if (typeof type === 'string') return this.primitive(type, at)
    switch (type.type) {
      case 'struct':
        return this.struct(type, at, this.presence(at))
      case 'map':
        if (type.keyType !== 'string' || type.valueType !== 'string') {
          unsupported(at.path, 'map of non-strings')
        }
        return this.stringMap(at)
      case 'array':
        if (type.elementType !== 'string') unsupported(at.path, 'list of non-strings')
        return this.stringList(at)
      default:
        return unsupported(at.path, 'unsupported type')
    }
  }

  /** Throws unless the leaf's physical type and annotation read as `type` here. */
  checkPrimitive(type: string, at: Located): void {
    const { node } = at
    if (node.children.length > 0) unsupported(at.path, 'group where a primitive is expected')
    const physical = node.physicalType
    const annotation = node.annotation
    const fits =
      type === 'string'
        ? isStringLeaf(node)
        : type === 'long'
          ? (physical === 'INT64' || physical === 'INT32') && annotation === undefined
          : type === 'integer'
            ? physical === 'INT32' && annotation === undefined
            : type === 'boolean'
              ? physical === 'BOOLEAN'
              : false
    if (!fits) unsupported(at.path, `${physical ?? 'group'} (${annotation ?? '-'}) for ${type}`)
  }

  primitive(type: string, at: Located): Column {
    this.checkPrimitive(type, at)
    const leaf = this.leaf(at)
    if (leaf.repetitionLevels.length > 0 || leaf.numSlots !== this.numRows) {
      unsupported(at.path, 'slot count differs from rows')
    }
    if (leaf.values.length === 0) return this.nulls()
    const out: Column = new Array<Value>(this.numRows)
    const defs = leaf.definitionLevels
    const values = leaf.values
    const max = at.definition
    let v = 0
    for (let r = 0; r < this.numRows; r++) {
      out[r] = defs[r] === max ? (values[v++] as LeafValue) : null
    }
    if (v !== values.length) unsupported(at.path, 'levels and values disagree')
    return out
  }

  /**
   * Throws unless every field of the Delta type has a layout this decoder reads, also for
   * columns no row uses: the row reader rejects a mistyped column even when it is all null.
   */
  check(type: DataType, at: Located | undefined): void {
    if (at === undefined) return
    if (at.node.repetition === 'REPEATED') unsupported(at.path, 'repeated field')
    if (typeof type === 'string') {
      this.checkPrimitive(type, at)
    } else if (type.type === 'struct') {
      checkStructGroup(at)
      for (const field of type.fields) this.check(field.type, this.child(at, field.name))
    } else if (type.type === 'map') {
      if (type.keyType !== 'string' || type.valueType !== 'string') {
        unsupported(at.path, 'map of non-strings')
      }
      this.planMap(at)
    } else if (type.type === 'array') {
      if (type.elementType !== 'string') unsupported(at.path, 'list of non-strings')
      this.planList(at)
    } else {
      unsupported(at.path, 'unsupported type')
    }
  }

  struct(type: StructType, at: Located, present: Uint8Array): Column {
    checkStructGroup(at)
    if (!present.includes(1)) return this.nulls()
    const out: Column = new Array<Value>(this.numRows).fill(null)
    const names = type.fields.map((f) => f.name)
    const columns = type.fields.map((f) => this.column(f.type, this.child(at, f.name)))
    for (let r = 0; r < this.numRows; r++) {
      if (present[r] === 0) continue
      const object: Struct = {}
      for (let i = 0; i < names.length; i++) {
        object[names[i] as string] = (columns[i] as Column)[r] ?? null
      }
      out[r] = object
    }
    return out
  }

  /** Slot ranges of rows: rows start where the repetition level is 0. */
  rowStarts(leaf: LeafColumn, at: Located): Uint32Array {
    const starts = new Uint32Array(this.numRows + 1)
    const reps = leaf.repetitionLevels
    if (reps.length !== leaf.numSlots) unsupported(at.path, 'missing repetition levels')
    let row = 0
    for (let s = 0; s < leaf.numSlots; s++) {
      if (reps[s] === 0) {
        if (row >= this.numRows) unsupported(at.path, 'more rows than the file has')
        starts[row++] = s
      }
    }
    if (row !== this.numRows) unsupported(at.path, 'fewer rows than the file has')
    starts[this.numRows] = leaf.numSlots
    return starts
  }

  /** The entries group, key and value of a standard map of strings; throws for other layouts. */
  planMap(at: Located): { kv: Located; keyAt: Located; valueAt: Located } {
    const { node } = at
    const entries = node.children[0]
    if (
      node.children.length !== 1 ||
      entries === undefined ||
      entries.repetition !== 'REPEATED' ||
      entries.children.length !== 2 ||
      node.annotation === 'LIST'
    ) {
      unsupported(at.path, 'not a standard map')
    }
    const kv = this.child(at, entries.name) as Located
    const keyNode = entries.children.find((c) => c.name === 'key') ?? entries.children[0]
    const valueNode =
      entries.children.find((c) => c.name === 'value') ??
      entries.children.find((c) => c !== keyNode)
    if (keyNode === undefined || valueNode === undefined || keyNode === valueNode) {
      unsupported(at.path, 'map without key and value')
    }
    const keyAt = this.child(kv, keyNode.name) as Located
    const valueAt = this.child(kv, valueNode.name) as Located
    for (const leafAt of [keyAt, valueAt]) {
      if (leafAt.node.repetition === 'REPEATED' || !isStringLeaf(leafAt.node)) {
        unsupported(leafAt.path, 'map key or value is not a string')
      }
    }
    return { kv, keyAt, valueAt }
  }

  stringMap(at: Located): Column {
    const { kv, keyAt, valueAt } = this.planMap(at)
    const keys = this.leaf(keyAt)
    const starts = this.rowStarts(keys, keyAt)
    const out: Column = new Array<Value>(this.numRows).fill(null)
    const keyDefs = keys.definitionLevels
    let hasEntries = false
    for (let s = 0; s < keys.numSlots; s++) {
      if ((keyDefs[s] as number) >= kv.definition) {
        hasEntries = true
        break
      }
    }
    const values = hasEntries ? this.leaf(valueAt) : undefined
    if (values !== undefined && values.numSlots !== keys.numSlots) {
      unsupported(valueAt.path, 'key and value slot counts differ')
    }
    let k = 0
    let v = 0
    for (let r = 0; r < this.numRows; r++) {
      const from = starts[r] as number
      const to = starts[r + 1] as number
      const first = keyDefs[from] as number
      if (first < at.definition) continue
      const map: StringMap = {}
      out[r] = map
      if (first < kv.definition) continue
      for (let s = from; s < to; s++) {
        if ((keyDefs[s] as number) < keyAt.definition) unsupported(keyAt.path, 'null map key')
        const key = keys.values[k++] as string
        const valueDef = (values as LeafColumn).definitionLevels[s]
        map[key] =
          valueDef === valueAt.definition ? ((values as LeafColumn).values[v++] as string) : null
      }
    }
    if (k !== keys.values.length || v !== (values?.values.length ?? 0)) {
      unsupported(at.path, 'levels and values disagree')
    }
    return out
  }

  /** The repeated field and element of a 2- or 3-level list of strings; throws otherwise. */
  planList(at: Located): { repeatedAt: Located; elementAt: Located } {
    const { node } = at
    const repeated = node.children[0]
    if (
      node.children.length !== 1 ||
      repeated === undefined ||
      repeated.repetition !== 'REPEATED' ||
      node.annotation === 'MAP'
    ) {
      unsupported(at.path, 'not a list')
    }
    const repeatedAt = this.child(at, repeated.name) as Located
    let elementAt: Located
    if (repeated.children.length === 0) {
      elementAt = repeatedAt
    } else if (
      repeated.children.length === 1 &&
      repeated.name !== 'array' &&
      repeated.name !== `${node.name}_tuple`
    ) {
      elementAt = this.child(
        repeatedAt,
        (repeated.children[0] as ParquetSchemaNode).name,
      ) as Located
    } else {
      return unsupported(at.path, 'legacy list layout')
    }
    const element = elementAt.node
    if ((element !== repeated && element.repetition === 'REPEATED') || !isStringLeaf(element)) {
      unsupported(elementAt.path, 'list element is not a string')
    }
    return { repeatedAt, elementAt }
  }

  stringList(at: Located): Column {
    const { repeatedAt, elementAt } = this.planList(at)
    const leaf = this.leaf(elementAt)
    const starts = this.rowStarts(leaf, elementAt)
    const defs = leaf.definitionLevels
    const out: Column = new Array<Value>(this.numRows).fill(null)
    let v = 0
    for (let r = 0; r < this.numRows; r++) {
      const from = starts[r] as number
      const to = starts[r + 1] as number
      const first = defs[from] as number
      if (first < at.definition) continue
      const list: (string | null)[] = []
      out[r] = list
      if (first < repeatedAt.definition) continue
      for (let s = from; s < to; s++) {
        list.push(defs[s] === elementAt.definition ? (leaf.values[v++] as string) : null)
      }
    }
    if (v !== leaf.values.length) unsupported(at.path, 'levels and values disagree')
    return out
  }
}

/** Builds MALFORMED_ACTION errors worded like `parseAction`'s. */
function malformedField(
  where: string,
  action: string,
  field: string,
  expected: string,
): DeltaError {
  return new DeltaError(
    'MALFORMED_ACTION',
    `delta log: ${where}: ${action}.${field} must be ${expected}`,
    {
      context: { where, action, field },
    },
  )
}

/**
 * Typed reads of one field value, throwing like `parseAction`'s field reader. `where` and
 * `action` name the row and the action in messages.
 */
const read = {
  str(v: Value, where: string, action: string, field: string): string {
    if (typeof v !== 'string') throw malformedField(where, action, field, 'a string')
    return v
  },
  optStr(v: Value, where: string, action: string, field: string): string | null {
    if (v !== null && typeof v !== 'string') throw malformedField(where, action, field, 'a string')
    return v
  },
  num(v: Value, where: string, action: string, field: string): number {
    if (typeof v !== 'number') throw malformedField(where, action, field, 'a number')
    return v
  },
  optNum(v: Value, where: string, action: string, field: string): number | null {
    if (v !== null && typeof v !== 'number') throw malformedField(where, action, field, 'a number')
    return v
  },
  bool(v: Value, where: string, action: string, field: string): boolean {
    if (typeof v !== 'boolean') throw malformedField(where, action, field, 'a boolean')
    return v
  },
  optBool(v: Value, where: string, action: string, field: string): boolean | null {
    if (v !== null && typeof v !== 'boolean') {
      throw malformedField(where, action, field, 'a boolean')
    }
    return v
  },
  /** Map columns hold a fresh object per row, never shared, so it is returned as is. */
  stringMap(
    v: Value,
    required: boolean,
    where: string,
    action: string,
    field: string,
  ): StringMap | null {
    if (v === null && required) throw malformedField(where, action, field, 'an object')
    return v as StringMap | null
  },
  deletionVector(
    v: Value,
    where: string,
    parent: string,
    field: string,
  ): DeletionVectorDescriptor | null {
    if (v === null) return null
    const dv = v as Struct
    const action = `${parent}.${field}`
    const get = (name: string): Value => dv[name] ?? null
    return {
      storageType: read.str(get('storageType'), where, action, 'storageType'),
      pathOrInlineDv: read.str(get('pathOrInlineDv'), where, action, 'pathOrInlineDv'),
      offset: read.optNum(get('offset'), where, action, 'offset'),
      sizeInBytes: read.num(get('sizeInBytes'), where, action, 'sizeInBytes'),
      cardinality: read.num(get('cardinality'), where, action, 'cardinality'),
    }
  },
}

/** Builds the action of a row from the materialized columns of its struct. */
type Build = (row: number, where: string) => Action

function addBuilder(col: (field: string) => Column): Build {
  const path = col('path')
  const partitionValues = col('partitionValues')
  const size = col('size')
  const modificationTime = col('modificationTime')
  const dataChange = col('dataChange')
  const stats = col('stats')
  const tags = col('tags')
  const deletionVector = col('deletionVector')
  const baseRowId = col('baseRowId')
  const defaultRowCommitVersion = col('defaultRowCommitVersion')
  const clusteringProvider = col('clusteringProvider')
  const a = 'add'
  return (r, w): AddAction => ({
    kind: 'add',
    path: read.str(path[r] ?? null, w, a, 'path'),
    partitionValues: read.stringMap(
      partitionValues[r] ?? null,
      true,
      w,
      a,
      'partitionValues',
    ) as PartitionValues,
    size: read.num(size[r] ?? null, w, a, 'size'),
    modificationTime: read.num(modificationTime[r] ?? null, w, a, 'modificationTime'),
    dataChange: read.bool(dataChange[r] ?? null, w, a, 'dataChange'),
    stats: read.optStr(stats[r] ?? null, w, a, 'stats'),
    tags: read.stringMap(tags[r] ?? null, false, w, a, 'tags'),
    deletionVector: read.deletionVector(deletionVector[r] ?? null, w, a, 'deletionVector'),
    baseRowId: read.optNum(baseRowId[r] ?? null, w, a, 'baseRowId'),
    defaultRowCommitVersion: read.optNum(
      defaultRowCommitVersion[r] ?? null,
      w,
      a,
      'defaultRowCommitVersion',
    ),
    clusteringProvider: read.optStr(clusteringProvider[r] ?? null, w, a, 'clusteringProvider'),
  })
}

function removeBuilder(col: (field: string) => Column): Build {
  const path = col('path')
  const dataChange = col('dataChange')
  const deletionTimestamp = col('deletionTimestamp')
  const extendedFileMetadata = col('extendedFileMetadata')
  const partitionValues = col('partitionValues')
  const size = col('size')
  const deletionVector = col('deletionVector')
  const baseRowId = col('baseRowId')
  const defaultRowCommitVersion = col('defaultRowCommitVersion')
  const a = 'remove'
  return (r, w): RemoveAction => ({
    kind: 'remove',
    path: read.str(path[r] ?? null, w, a, 'path'),
    dataChange: read.bool(dataChange[r] ?? null, w, a, 'dataChange'),
    deletionTimestamp: read.optNum(deletionTimestamp[r] ?? null, w, a, 'deletionTimestamp'),
    extendedFileMetadata: read.optBool(
      extendedFileMetadata[r] ?? null,
      w,
      a,
      'extendedFileMetadata',
    ),
    partitionValues: read.stringMap(partitionValues[r] ?? null, false, w, a, 'partitionValues'),
    size: read.optNum(size[r] ?? null, w, a, 'size'),
    // The checkpoint schema has no remove.stats or remove.tags: they read as absent.
    stats: undefined,
    tags: undefined,
    deletionVector: read.deletionVector(deletionVector[r] ?? null, w, a, 'deletionVector'),
    baseRowId: read.optNum(baseRowId[r] ?? null, w, a, 'baseRowId'),
    defaultRowCommitVersion: read.optNum(
      defaultRowCommitVersion[r] ?? null,
      w,
      a,
      'defaultRowCommitVersion',
    ),
  })
}

/** One top-level action column of the checkpoint. */
interface ActionColumn {
  readonly name: string
  readonly present: Uint8Array
  /** Builds the action of a row where the column is non-null. */
  readonly build: (row: number, where: string) => Action | undefined
}

function fileActionColumn(
  decoder: Decoder,
  type: StructType,
  at: Located,
  builder: (col: (field: string) => Column) => Build,
): Build {
  const columns = new Map<string, Column>()
  for (const field of type.fields) {
    columns.set(field.name, decoder.column(field.type, decoder.child(at, field.name)))
  }
  const none = decoder.nulls()
  return builder((field) => columns.get(field) ?? none)
}

/**
 * Decodes a V1 checkpoint Parquet file into actions, column-wise.
 * @param data - the whole file
 * @param key - the file's key, for messages (`<key>#row<i>`)
 * @returns the actions in row order, and the first malformed row's error
 * @throws Error when the file's layout is not handled here (use the row reader instead)
 * @internal
 */
export function decodeCheckpoint(data: Uint8Array, key: string): CheckpointFileContent {
  const file = openParquetColumns(data, key)
  const decoder = new Decoder(file)
  const root: Located = { node: file.schema, path: [], definition: 0 }
  const columns: ActionColumn[] = []
  for (const field of CHECKPOINT_SCHEMA.fields) {
    const at = decoder.child(root, field.name)
    if (at === undefined) continue
    const type = field.type
    if (typeof type !== 'object' || type.type !== 'struct') {
      throw new UnsupportedLayout(`checkpoint schema field ${field.name} is not a struct`)
    }
    decoder.check(type, at)
    const present = decoder.presence(at)
    if (!present.includes(1)) continue
    let build: ActionColumn['build']
    if (field.name === 'add') {
      build = fileActionColumn(decoder, type, at, addBuilder)
    } else if (field.name === 'remove') {
      build = fileActionColumn(decoder, type, at, removeBuilder)
    } else {
      const values = decoder.struct(type, at, present)
      const name = field.name
      build = (row, where) => parseAction({ [name]: values[row] }, where)
    }
    columns.push({ name: field.name, present, build })
  }
  const actions: Action[] = []
  let malformed: DeltaError | undefined
  for (let row = 0; row < decoder.numRows; row++) {
    // The first non-null column of a row wins, in checkpoint schema order (as parseAction does).
    const column = columns.find((c) => c.present[row] === 1)
    if (column === undefined) continue
    try {
      const action = column.build(row, `${key}#row${row}`)
      if (action) actions.push(action)
    } catch (error) {
      if (!(error instanceof DeltaError) || error.code !== 'MALFORMED_ACTION') throw error
      malformed ??= error
    }
  }
  return { actions, malformed }
}

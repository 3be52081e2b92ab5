/**
 * A copy of a Parquet file in which some top-level columns take new values and every other
 * column chunk is copied byte for byte: what an UPDATE of a few columns needs, without decoding
 * and encoding the columns it does not change.
 *
 * Only a file laid out as the engine's writer would lay it out for the table schema qualifies:
 * the same schema elements (names, physical and logical types, repetition), one chunk per leaf
 * in every row group, in schema order, inside the file. The new columns are written by the
 * engine's writer, one chunk per leaf per row group of the source file, so row groups keep their
 * rows. A copied chunk keeps its encodings, codec and pages; its footer statistics keep their
 * null count, and their min/max only when the source file declared the type-defined order for
 * that column (older writers compared byte arrays as signed, and readers must not take such
 * bounds for ordered ones). Page indexes and bloom filters, which point into the source file,
 * are not carried over.
 * @module
 */
import type { ColumnChunk, FileMetaData, SchemaElement as ReadElement } from 'hyparquet'
import type { SchemaElement } from 'hyparquet-writer'
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js'
import { runStepsNow } from '../concurrency.js'
import { DeltaError } from '../errors.js'
import type { StructType } from '../schema/data-type.js'
import { checkColumnChunks, chunkRange } from './check-pages.js'
import { errorMessage, parquetError } from './parquet-error.js'
import { parseMetadata, schemaTreeOf } from './read-parquet.js'
import {
  PAGE_MAX_ROWS,
  writeDirectGroups,
  type CopiedChunk,
  type DirectGroup,
  type ThriftFields,
} from './write-direct.js'
import { DEFAULT_CREATED_BY, directWritePlan } from './write-parquet.js'

/** Options of {@link replaceColumns}. */
export interface ReplaceColumnsOptions {
  /** The footer's `created_by` (default as `writeParquet`). */
  readonly createdBy?: string
  /** File name or path, for error messages. */
  readonly fileName?: string
}

/**
 * Writes a copy of `data` with new values for some top-level columns.
 * @param data - the source file
 * @param schema - the Delta schema of its columns (the table's data columns)
 * @param replaced - top-level column name to its new values, one per row of the file, in the
 *   engine's value representation
 * @param options - `created_by` and the file name for messages
 * @returns the new file, or `undefined` when the source's layout does not allow copying its
 *   chunks (the caller then rewrites the file whole)
 * @throws DeltaError `PARQUET_ERROR` for a damaged source file, `SCHEMA_MISMATCH` for a new
 *   value that does not fit its column, `COLUMN_NOT_FOUND` for an unknown column,
 *   `INVALID_ARGUMENT` for a wrong number of values
 */
export function replaceColumns(
  data: Uint8Array,
  schema: StructType,
  replaced: ReadonlyMap<string, readonly unknown[]>,
  options: ReplaceColumnsOptions = {},
): Uint8Array | undefined {
  const { fileName } = options
  const plan = directWritePlan(schema)
  if (plan === undefined) return undefined
  for (const name of replaced.keys()) {
    if (!plan.fields.some((f) => f.name === name)) {
      throw parquetError('COLUMN_NOT_FOUND', `replaceColumns: no data column ${name}`, {
        fileName,
        column: name,
      })
    }
  }
  const metadata = parseMetadata(data, fileName)
  if (!sameElements(metadata.schema, plan.elements, plan.fields.length)) return undefined
  const numRows = Number(metadata.num_rows)
  const copiedNames = new Set(plan.fields.filter((f) => !replaced.has(f.name)).map((f) => f.name))
  checkColumnChunks(data, metadata, schemaTreeOf(metadata, fileName), copiedNames, fileName)
  const raw = rawFooter(data, metadata, fileName)
  const leafCount = plan.direct.fields.reduce((n, leaves) => n + leaves.length, 0)
  const orders = raw.field_7 as readonly ThriftFields[] | undefined

  const encoded = new Map<string, unknown[]>()
  for (const field of plan.fields) {
    const values = replaced.get(field.name)
    if (values === undefined) continue
    if (values.length !== numRows) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `parquet: replaceColumns: ${values.length} values for column ${field.name} of a file of ${numRows} rows`,
        { context: { file: fileName, column: field.name } },
      )
    }
    encoded.set(field.name, field.encode(values))
  }

  const rawGroups = raw.field_4 as readonly ThriftFields[]
  const groups: DirectGroup[] = []
  let rowStart = 0
  for (const [g, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows)
    const rawChunks = rawGroups[g]?.field_1 as readonly ThriftFields[] | undefined
    // An empty row group (some writers leave them) would need chunks without pages: declined.
    if (rows === 0 || rawChunks === undefined || rawChunks.length !== leafCount) return undefined
    const fields: DirectGroup['fields'][number][] = []
    let leafIndex = 0
    for (const [i, field] of plan.fields.entries()) {
      const leaves = plan.direct.fields[i] ?? []
      const values = encoded.get(field.name)
      if (values !== undefined) {
        fields.push({ values: values.slice(rowStart, rowStart + rows) })
        leafIndex += leaves.length
        continue
      }
      const copies: CopiedChunk[] = []
      for (const leaf of leaves) {
        const copy = copiedChunk(
          data,
          group.columns[leafIndex],
          rawChunks[leafIndex],
          leaf.path,
          orders?.[leafIndex],
        )
        if (copy === undefined) return undefined
        copies.push(copy)
        leafIndex++
      }
      fields.push({ copies })
    }
    groups.push({ rowCount: rows, fields })
    rowStart += rows
  }

  try {
    return runStepsNow(
      writeDirectGroups(plan.direct, groups, {
        createdBy: options.createdBy ?? DEFAULT_CREATED_BY,
        paged: true,
        rowGroupSize: Math.max(1, numRows),
        pageMaxRows: PAGE_MAX_ROWS,
      }),
    )
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `cannot write: ${errorMessage(cause)}`, {
      fileName,
      cause,
    })
  }
}

/** Whether the file's schema elements are the ones the engine's writer writes for the schema. */
function sameElements(
  file: readonly ReadElement[],
  ours: readonly SchemaElement[],
  topLevel: number,
): boolean {
  if (file.length !== ours.length + 1 || file[0]?.num_children !== topLevel) return false
  return ours.every((o, i) => {
    const f = file[i + 1] as ReadElement
    return (
      f.name === o.name &&
      f.type === o.type &&
      (f.type_length ?? undefined) === (o.type_length ?? undefined) &&
      (f.repetition_type ?? 'REQUIRED') === (o.repetition_type ?? 'REQUIRED') &&
      (f.num_children ?? undefined) === (o.num_children ?? undefined) &&
      (f.converted_type ?? undefined) === (o.converted_type ?? undefined) &&
      (f.scale ?? undefined) === (o.scale ?? undefined) &&
      (f.precision ?? undefined) === (o.precision ?? undefined) &&
      sameLogicalType(f.logical_type, o.logical_type)
    )
  })
}

function sameLogicalType(file: unknown, ours: SchemaElement['logical_type']): boolean {
  if (ours === undefined) return file === undefined
  if (typeof file !== 'object' || file === null) return false
  return Object.entries(ours).every(
    ([key, value]) => (file as Record<string, unknown>)[key] === value,
  )
}

/** The footer as Thrift fields (hyparquet's parsed form has no raw statistics bytes). */
function rawFooter(
  data: Uint8Array,
  metadata: FileMetaData,
  fileName: string | undefined,
): ThriftFields {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const length = view.getUint32(data.byteLength - 8, true)
  const reader = { view, offset: data.byteLength - 8 - length }
  try {
    const raw = deserializeTCompactProtocol(reader) as ThriftFields
    const groups = raw.field_4
    if (!Array.isArray(groups) || groups.length !== metadata.row_groups.length) {
      throw new Error('row groups differ from the parsed footer')
    }
    return raw
  } catch (cause) {
    throw parquetError('PARQUET_ERROR', `unreadable footer: ${errorMessage(cause)}`, {
      fileName,
      cause,
    })
  }
}

/**
 * The bytes and metadata of one column chunk to copy, or `undefined` when it cannot be copied
 * (kept in another file, or not the leaf expected at its place).
 * @param data - the file
 * @param parsed - the chunk as hyparquet parsed it (its place and path)
 * @param raw - the same chunk as Thrift fields (its metadata, copied as written)
 * @param path - the leaf expected at its place
 * @param order - the file's column order for it, if any
 */
function copiedChunk(
  data: Uint8Array,
  parsed: ColumnChunk | undefined,
  raw: ThriftFields | undefined,
  path: readonly string[],
  order: ThriftFields | undefined,
): CopiedChunk | undefined {
  const meta = parsed?.meta_data
  const rawMeta = raw?.field_3 as ThriftFields | undefined
  if (meta === undefined || rawMeta === undefined || parsed?.file_path !== undefined) {
    return undefined
  }
  const names = meta.path_in_schema
  if (names.length !== path.length || names.some((n, i) => n !== path[i])) return undefined
  // The page checks above ran on the same bounds.
  const { start, end } = chunkRange(meta)
  return {
    bytes: data.subarray(start, end),
    start,
    meta: rawMeta,
    keepBounds: typeof order === 'object' && order !== null && order.field_1 !== undefined,
  }
}

/**
 * Crafts Parquet files with legacy schema shapes (2-level lists, 1-level repeated fields, Spark's
 * legacy map naming) that no available writer produces, by rewriting the footer of a file whose
 * column data already has the right repetition/definition levels: a 3-level list with required
 * elements has exactly the levels of the equivalent 2-level list.
 * @module
 */
import { parquetMetadata } from 'hyparquet'
import type { FileMetaData, SchemaElement } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'

/** An edit of the schema: the new element list, and how leaf paths map to the new ones. */
export interface FooterEdit {
  /** Receives a copy of the schema elements; returns the new list. */
  readonly schema: (elements: SchemaElement[]) => SchemaElement[]
  /** Maps an old leaf path (`a.list.element`) to the new one (`a.array`). */
  readonly paths: Readonly<Record<string, string>>
}

/**
 * Returns a copy of `file` with the footer schema and column paths edited.
 * @param file - a Parquet file
 * @param edit - the schema edit
 * @returns the rewritten file
 */
export function rewriteFooter(file: Uint8Array, edit: FooterEdit): Uint8Array {
  const metadata: FileMetaData = parquetMetadata(file)
  const footerStart = file.byteLength - 8 - metadata.metadata_length
  const schema = edit.schema(metadata.schema.map((e) => ({ ...e })))
  const rowGroups = metadata.row_groups.map((group) => ({
    ...group,
    columns: group.columns.map((chunk) => {
      const meta = chunk.meta_data!
      const oldPath = meta.path_in_schema.join('.')
      const newPath = edit.paths[oldPath] ?? oldPath
      // Statistics are dropped: hyparquet parsed them into rich values the writer would re-encode.
      const { statistics: _statistics, size_statistics: _size, ...rest } = meta
      return { ...chunk, meta_data: { ...rest, path_in_schema: newPath.split('.') } }
    }),
  }))
  const writer = new ByteWriter()
  writeMetadata(writer, {
    ...metadata,
    schema,
    row_groups: rowGroups,
    // A stored Arrow schema would describe the old shape.
    key_value_metadata: metadata.key_value_metadata?.filter((kv) => kv.key !== 'ARROW:schema'),
  } as Parameters<typeof writeMetadata>[1])
  writer.appendUint32(0x31524150) // PAR1
  const footer = writer.getBytes()
  const out = new Uint8Array(footerStart + footer.byteLength)
  out.set(file.subarray(0, footerStart))
  out.set(footer, footerStart)
  return out
}

/**
 * Removes the element named `name` at `index` and returns the list (for chaining edits).
 * @param elements - schema elements
 * @param index - position of the element to remove
 * @returns the same list
 */
export function removeAt(elements: SchemaElement[], index: number): SchemaElement[] {
  elements.splice(index, 1)
  return elements
}

/**
 * Index of the element with this name after `from` (schema elements are depth-first).
 * @param elements - schema elements
 * @param name - element name
 * @param from - start index
 * @returns the index
 * @throws Error when there is none
 */
export function indexOf(elements: readonly SchemaElement[], name: string, from = 0): number {
  const i = elements.findIndex((e, j) => j >= from && e.name === name)
  if (i < 0) throw new Error(`no schema element ${name}`)
  return i
}

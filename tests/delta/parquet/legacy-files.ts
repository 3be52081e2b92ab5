/**
 * Parquet files with the legacy list and map layouts of parquet-mr, Spark, Hive and protobuf
 * writers, crafted with {@link rewriteFooter} from files our writer produces, each with the
 * Delta schema to read it with and the rows every reader must return.
 * @module
 */
import { writeParquet } from '../../../src/delta/parquet/index.js'
import type { DataType, StructType } from '../../../src/delta/schema/data-type.js'
import { indexOf, removeAt, rewriteFooter } from './rewrite-footer.js'
import { field, struct } from './sample-rows.js'

/** A crafted file and what reading it must give. */
export interface LegacyFile {
  readonly name: string
  readonly file: Uint8Array
  readonly schema: StructType
  readonly rows: readonly Record<string, unknown>[]
  /**
   * What pyarrow, which ignores the Delta type, reads instead (only where the Delta type decides
   * an ambiguous layout).
   */
  readonly pyarrow?: {
    readonly schema: StructType
    readonly rows: readonly Record<string, unknown>[]
  }
}

const listOf = (elementType: DataType, containsNull = true): DataType => ({
  type: 'array',
  elementType,
  containsNull,
})

/** Turns `a / list / element` into `a / <name>` (repeated), the 2-level form. */
function twoLevel(file: Uint8Array, name: string, leaves: readonly string[]): Uint8Array {
  return rewriteFooter(file, {
    schema: (e) => {
      const list = indexOf(e, 'list')
      e[list + 1] = { ...e[list + 1]!, name, repetition_type: 'REPEATED' }
      return removeAt(e, list)
    },
    paths: Object.fromEntries(leaves.map((leaf) => [`a.list.element${leaf}`, `a.${name}${leaf}`])),
  })
}

function build(): LegacyFile[] {
  const files: LegacyFile[] = []

  const ints = [{ a: [1, 2] }, { a: [] }, { a: null }, { a: [3] }]
  files.push({
    name: '2-level list of primitives (repeated int32 array)',
    file: twoLevel(writeParquet(ints, struct(field('a', listOf('integer', false)))), 'array', ['']),
    schema: struct(field('a', listOf('integer'))),
    rows: ints,
  })

  const notNull = [{ a: [1, 2] }, { a: [] }, { a: [3] }]
  files.push({
    name: '1-level repeated field (protobuf style), never null',
    file: rewriteFooter(
      writeParquet(notNull, struct(field('a', listOf('integer', false), false))),
      {
        schema: (e) => {
          const a = indexOf(e, 'a')
          e[a] = { name: 'a', type: 'INT32', repetition_type: 'REPEATED' }
          e.splice(a + 1, 2)
          return e
        },
        paths: { 'a.list.element': 'a' },
      },
    ),
    schema: struct(field('a', listOf('integer'))),
    rows: notNull,
  })

  const elementStruct = struct(field('x', 'integer'))
  const structs = [{ a: [{ x: 1 }, { x: null }] }, { a: [] }, { a: null }]
  const structFile = writeParquet(structs, struct(field('a', listOf(elementStruct, false))))
  for (const [name, why] of [
    ['array', 'named array'],
    ['a_tuple', 'named <list>_tuple'],
    ['items', 'with a single primitive field'],
  ] as const) {
    files.push({
      name: `2-level list of structs, repeated group ${why}`,
      file: twoLevel(structFile, name, ['.x']),
      schema: struct(field('a', listOf(elementStruct))),
      rows: structs,
      // By the Parquet rules alone `items` is a 3-level list of its only field; the Delta type
      // (a struct element) settles it, as Spark does with a requested schema.
      ...(name === 'items'
        ? {
            pyarrow: {
              schema: struct(field('a', listOf('integer'))),
              rows: structs.map((r) => ({ a: r.a?.map((e) => e.x) ?? null })),
            },
          }
        : {}),
    })
  }

  const pairStruct = struct(field('x', 'integer'), field('y', 'string'))
  const pairs = [
    {
      a: [
        { x: 1, y: 'p' },
        { x: null, y: null },
      ],
    },
    { a: null },
  ]
  files.push({
    name: '2-level list of structs, repeated group with several fields',
    file: twoLevel(writeParquet(pairs, struct(field('a', listOf(pairStruct, false)))), 'bag', [
      '.x',
      '.y',
    ]),
    schema: struct(field('a', listOf(pairStruct))),
    rows: pairs,
  })

  const nullable = [{ a: [1, null] }, { a: null }, { a: [] }]
  files.push({
    name: "Spark's legacy 3-level bag/array list",
    file: rewriteFooter(writeParquet(nullable, struct(field('a', listOf('integer')))), {
      schema: (e) => {
        e[indexOf(e, 'list')]!.name = 'bag'
        e[indexOf(e, 'element')]!.name = 'array'
        return e
      },
      paths: { 'a.list.element': 'a.bag.array' },
    }),
    schema: struct(field('a', listOf('integer'))),
    rows: nullable,
  })

  const mapType: DataType = {
    type: 'map',
    keyType: 'string',
    valueType: 'long',
    valueContainsNull: true,
  }
  const maps = [
    {
      a: new Map([
        ['k', 1n],
        ['n', null],
      ]),
    },
    { a: new Map() },
    { a: null },
  ]
  files.push({
    name: "Spark's legacy map (repeated group map (MAP_KEY_VALUE)), other key/value names",
    file: rewriteFooter(writeParquet(maps, struct(field('a', mapType))), {
      schema: (e) => {
        const entries = indexOf(e, 'key_value')
        e[entries] = { ...e[entries]!, name: 'map', converted_type: 'MAP_KEY_VALUE' }
        e[indexOf(e, 'key')]!.name = 'k'
        e[indexOf(e, 'value')]!.name = 'v'
        return e
      },
      paths: { 'a.key_value.key': 'a.map.k', 'a.key_value.value': 'a.map.v' },
    }),
    schema: struct(field('a', mapType)),
    rows: maps,
  })
  return files
}

/** Every crafted legacy file. */
export const LEGACY_FILES: readonly LegacyFile[] = build()

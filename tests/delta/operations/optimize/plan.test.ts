import { describe, expect, it } from 'vitest'
import type { AddAction } from '../../../../src/delta/actions/actions.js'
import { DeltaError } from '../../../../src/delta/errors.js'
import { col, lit, or } from '../../../../src/delta/expr/expression.js'
import {
  DEFAULT_TARGET_FILE_SIZE,
  fileSizeMetrics,
  packBins,
  planOptimize,
  type OptimizeOptions,
} from '../../../../src/delta/operations/optimize/plan.js'
import type { StructType } from '../../../../src/delta/schema/data-type.js'
import { fakeSnapshot, pathsOf, type FakeFile } from './support.js'

function add(path: string, size: number): AddAction {
  return {
    kind: 'add',
    path,
    partitionValues: {},
    size,
    modificationTime: 0,
    dataChange: true,
  }
}

function expectError(fn: () => unknown, code: string, column?: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(DeltaError)
  expect((thrown as DeltaError).code).toBe(code)
  if (column !== undefined) {
    expect((thrown as DeltaError).context.column).toBe(column)
    expect((thrown as DeltaError).message).toContain(column)
  }
}

describe('packBins', () => {
  it('packs first-fit-decreasing within the target', () => {
    const files = [add('a', 60), add('b', 50), add('c', 40), add('d', 30), add('e', 20)]
    const bins = packBins(files, 100)
    expect(bins.map(pathsOf)).toEqual([
      ['a', 'c'],
      ['b', 'd', 'e'],
    ])
    for (const bin of bins) expect(bin.reduce((s, f) => s + f.size, 0)).toBeLessThanOrEqual(100)
  })

  it('fills a bin exactly up to the target', () => {
    expect(packBins([add('a', 50), add('b', 50)], 100).map(pathsOf)).toEqual([['a', 'b']])
    expect(packBins([add('a', 50), add('b', 51)], 100).map(pathsOf)).toEqual([['b'], ['a']])
  })

  it('breaks size ties by path, so plans are deterministic', () => {
    const bins = packBins([add('z', 10), add('m', 10), add('a', 10)], 20)
    expect(bins.map(pathsOf)).toEqual([['a', 'm'], ['z']])
  })
})

describe('fileSizeMetrics', () => {
  it('summarizes sizes, and is all zero for no files', () => {
    expect(fileSizeMetrics([10, 30, 20])).toEqual({
      min: 10,
      max: 30,
      avg: 20,
      totalFiles: 3,
      totalSize: 60,
    })
    expect(fileSizeMetrics([])).toEqual({ min: 0, max: 0, avg: 0, totalFiles: 0, totalSize: 0 })
  })
})

const PARTITIONED: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
    { name: 'q', type: 'integer', nullable: true, metadata: {} },
    { name: 'st', type: { type: 'struct', fields: [] }, nullable: true, metadata: {} },
    { name: 'bin', type: 'binary', nullable: true, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
  ],
}

function files(part: string | null, sizes: readonly number[]): FakeFile[] {
  return sizes.map((size, i) => ({
    path: `p=${part ?? '__HIVE_DEFAULT_PARTITION__'}/f${i}-${size}.parquet`,
    size,
    partitionValues: { p: part },
    numRecords: size,
  }))
}

async function plan(
  fakeFiles: readonly FakeFile[],
  options: OptimizeOptions,
  configuration: Record<string, string> = {},
) {
  const { snapshot } = await fakeSnapshot(fakeFiles, {
    schema: PARTITIONED,
    partitionColumns: ['p'],
    configuration,
  })
  return { snapshot, plan: planOptimize(snapshot, options) }
}

describe('planOptimize (compaction)', () => {
  it('compacts each partition separately, skipping large files and lone files', async () => {
    const { plan: p } = await plan(
      [...files('a', [10, 20, 30, 500]), ...files('b', [40]), ...files(null, [5, 6])],
      { targetFileSize: 100 },
    )
    expect(p.kind).toBe('compact')
    expect(p.bins.map((b) => [b.partitionValues.p, b.files.length, b.totalBytes])).toEqual([
      ['a', 3, 60],
      [null, 2, 11],
    ])
    expect(p.bins.every((b) => b.outputFiles === 1)).toBe(true)
    expect(p.totalConsideredFiles).toBe(7)
    // 500 > target; partition b holds a single file.
    expect(p.totalFilesSkipped).toBe(2)
    expect(p.partitionsOptimized).toBe(2)
    expect(p.bins[0]?.numRecords).toBe(60)
    expect(p.predicate).toEqual([])
    expect(p.zOrderBy).toEqual([])
  })

  it('splits a partition into several bins and drops the single-file ones', async () => {
    const { plan: p } = await plan(files('a', [70, 60, 50, 40, 90]), { targetFileSize: 100 })
    // FFD: [90], [70], [60, 40], [50]: only [60, 40] holds more than one file.
    expect(p.bins.map((b) => b.files.map((f) => f.size))).toEqual([[60, 40]])
    expect(p.totalFilesSkipped).toBe(3)
  })

  it('plans nothing when no partition has two small files', async () => {
    const { plan: p } = await plan([...files('a', [10]), ...files('b', [200, 300])], {
      targetFileSize: 100,
    })
    expect(p.bins).toEqual([])
    expect(p.partitionsOptimized).toBe(0)
    expect(p.totalFilesSkipped).toBe(3)
  })

  it('plans nothing for an empty table', async () => {
    const { plan: p } = await plan([], {})
    expect(p.bins).toEqual([])
    expect(p.totalConsideredFiles).toBe(0)
  })

  it('restricts the plan to partitions matching the filter', async () => {
    const all = [...files('a', [1, 2]), ...files('b', [3, 4]), ...files(null, [5, 6])]
    const { plan: p } = await plan(all, { partitionFilter: col('p').eq('b') })
    expect(p.bins.map((b) => b.partitionValues.p)).toEqual(['b'])
    expect(p.totalConsideredFiles).toBe(2)
    expect(p.predicate).toEqual(['p = "b"'])
    const { plan: nulls } = await plan(all, {
      partitionFilter: or(col('p').isNull(), col('p').eq('a')),
    })
    expect(nulls.bins.map((b) => b.partitionValues.p)).toEqual(['a', null])
    const { plan: none } = await plan(all, { partitionFilter: lit(false) })
    expect(none.bins).toEqual([])
  })

  it('takes the target from delta.targetFileSize, else 100 MiB', async () => {
    const { plan: configured } = await plan(
      files('a', [60, 60]),
      {},
      {
        'delta.targetFileSize': '100',
      },
    )
    expect(configured.targetFileSize).toBe(100)
    expect(configured.bins).toEqual([])
    const { plan: dflt } = await plan(files('a', [60, 60]), {})
    expect(dflt.targetFileSize).toBe(DEFAULT_TARGET_FILE_SIZE)
    expect(dflt.bins).toHaveLength(1)
    const { plan: explicit } = await plan(
      files('a', [60, 60]),
      { targetFileSize: 1000 },
      {
        'delta.targetFileSize': '100',
      },
    )
    expect(explicit.targetFileSize).toBe(1000)
  })

  it.each<[string, unknown]>([
    ['zero', 0],
    ['negative', -5],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['a string', '100'],
  ])('rejects a %s targetFileSize', async (_, value) => {
    const { snapshot } = await fakeSnapshot([], { schema: PARTITIONED, partitionColumns: ['p'] })
    expectError(
      () => planOptimize(snapshot, { targetFileSize: value as number }),
      'INVALID_ARGUMENT',
    )
  })

  it('rejects a non-positive delta.targetFileSize', async () => {
    const { snapshot } = await fakeSnapshot([], {
      schema: PARTITIONED,
      partitionColumns: ['p'],
      configuration: { 'delta.targetFileSize': '0' },
    })
    expectError(() => planOptimize(snapshot, {}), 'INVALID_ARGUMENT')
  })

  it('rejects a partition filter on a data column, naming it', async () => {
    const { snapshot } = await fakeSnapshot([], { schema: PARTITIONED, partitionColumns: ['p'] })
    expectError(
      () => planOptimize(snapshot, { partitionFilter: or(col('p').eq('a'), col('id').eq(1)) }),
      'INVALID_ARGUMENT',
      'id',
    )
    expectError(
      () => planOptimize(snapshot, { partitionFilter: col('nope').eq(1) }),
      'COLUMN_NOT_FOUND',
    )
  })
})

describe('planOptimize (z-order)', () => {
  it('rewrites every file of each partition, large and lone ones included', async () => {
    const { plan: p } = await plan([...files('a', [10, 20, 500]), ...files('b', [40])], {
      targetFileSize: 100,
      zOrder: ['ID', 'q'],
    })
    expect(p.kind).toBe('zOrder')
    expect(p.zOrderBy).toEqual([
      { name: 'id', type: 'long' },
      { name: 'q', type: 'integer' },
    ])
    expect(p.bins.map((b) => [b.partitionValues.p, b.files.length, b.outputFiles])).toEqual([
      ['a', 3, 6],
      ['b', 1, 1],
    ])
    expect(p.totalConsideredFiles).toBe(4)
    expect(p.totalFilesSkipped).toBe(0)
    expect(p.partitionsOptimized).toBe(2)
  })

  it.each<[string, unknown, string, string | undefined]>([
    ['a missing column', ['id', 'nope'], 'COLUMN_NOT_FOUND', 'nope'],
    ['a partition column', ['p'], 'INVALID_ARGUMENT', 'p'],
    ['a struct column', ['st'], 'INVALID_ARGUMENT', 'st'],
    ['a binary column', ['bin'], 'INVALID_ARGUMENT', 'bin'],
    ['a column listed twice', ['id', 'ID'], 'INVALID_ARGUMENT', 'id'],
    ['an empty list', [], 'INVALID_ARGUMENT', undefined],
    ['a non-array', 'id', 'INVALID_ARGUMENT', undefined],
  ])('rejects %s', async (_, zOrder, code, column) => {
    const { snapshot } = await fakeSnapshot(files('a', [1, 2]), {
      schema: PARTITIONED,
      partitionColumns: ['p'],
    })
    expectError(() => planOptimize(snapshot, { zOrder: zOrder as string[] }), code, column)
  })
})

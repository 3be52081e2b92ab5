import { describe, expect, it } from 'vitest'
import type { MetadataAction, ProtocolAction } from '../../../src/delta/actions/actions.js'
import { UnsupportedProtocolError } from '../../../src/delta/errors.js'
import type { StructType } from '../../../src/delta/schema/data-type.js'
import {
  checkReadSupported,
  checkWriteSupported,
} from '../../../src/delta/snapshot/table-features.js'
import { parseInterval, tableConfig } from '../../../src/delta/snapshot/table-config.js'

const meta = (configuration: Record<string, string> = {}): MetadataAction => ({
  kind: 'metaData',
  id: 'x',
  format: { provider: 'parquet', options: {} },
  schemaString: '{"type":"struct","fields":[]}',
  partitionColumns: [],
  configuration,
})
const proto = (r: number, w: number, rf?: string[], wf?: string[]): ProtocolAction => ({
  kind: 'protocol',
  minReaderVersion: r,
  minWriterVersion: w,
  ...(rf ? { readerFeatures: rf } : {}),
  ...(wf ? { writerFeatures: wf } : {}),
})
const schema = (metadata: Record<string, unknown> = {}): StructType => ({
  type: 'struct',
  fields: [{ name: 'a', type: 'long', nullable: true, metadata }],
})

function refusal(fn: () => void): string[] | undefined {
  try {
    fn()
    return undefined
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedProtocolError)
    expect((e as UnsupportedProtocolError).code).toBe('UNSUPPORTED_FEATURE')
    return [...(e as UnsupportedProtocolError).features]
  }
}

describe('checkReadSupported', () => {
  it.each([
    [proto(1, 2), meta()],
    [proto(2, 5), meta({ 'delta.columnMapping.mode': 'none' })],
    [
      proto(3, 7, ['vacuumProtocolCheck', 'timestampNtz'], ['vacuumProtocolCheck', 'timestampNtz']),
      meta(),
    ],
    [proto(3, 7, [], ['appendOnly']), meta()],
  ])('accepts readable protocol %#', (p, m) => {
    expect(refusal(() => checkReadSupported(p, m, 't'))).toBeUndefined()
  })

  it.each([
    [proto(3, 7, ['deletionVectors'], ['deletionVectors']), meta(), ['deletionVectors']],
    [proto(3, 7, ['v2Checkpoint'], ['v2Checkpoint']), meta(), ['v2Checkpoint']],
    [proto(3, 7, ['catalogManaged', 'blahabl'], []), meta(), ['catalogManaged', 'blahabl']],
    [proto(2, 5), meta({ 'delta.columnMapping.mode': 'name' }), ['columnMapping']],
    [proto(4, 7), meta(), ['readerVersion=4']],
    [proto(0, 2), meta(), ['readerVersion=0']],
  ])('refuses protocol %#', (p, m, features) => {
    expect(refusal(() => checkReadSupported(p, m, 't'))).toEqual(features)
  })
})

describe('checkWriteSupported', () => {
  it.each([
    [proto(1, 2), meta(), schema()],
    [proto(1, 7, undefined, ['appendOnly', 'inCommitTimestamp']), meta(), schema()],
    [proto(1, 4), meta({ 'delta.enableChangeDataFeed': 'false' }), schema()],
  ])('accepts writable protocol %#', (p, m, s) => {
    expect(refusal(() => checkWriteSupported(p, m, s, 't'))).toBeUndefined()
  })

  it.each([
    [proto(1, 7, undefined, ['rowTracking']), meta(), schema(), 'rowTracking'],
    [
      proto(1, 2),
      meta(),
      schema({ 'delta.invariants': '{}' }),
      'invariants (columns with delta.invariants)',
    ],
    [
      proto(1, 3),
      meta({ 'delta.constraints.positive': 'a > 0' }),
      schema(),
      'checkConstraints (table has CHECK constraints)',
    ],
    [
      proto(1, 4),
      meta({ 'delta.enableChangeDataFeed': 'true' }),
      schema(),
      'changeDataFeed (enabled)',
    ],
    [
      proto(1, 4),
      meta(),
      schema({ 'delta.generationExpression': 'a + 1' }),
      'generatedColumns (generated columns present)',
    ],
    [
      proto(1, 6),
      meta(),
      schema({ 'delta.identity.start': 1 }),
      'identityColumns (identity columns present)',
    ],
    [proto(1, 8), meta(), schema(), 'writerVersion=8'],
  ])('refuses writes %#', (p, m, s, feature) => {
    expect(refusal(() => checkWriteSupported(p, m, s, 't'))).toContain(feature)
  })
})

describe('table config', () => {
  it.each([
    ['interval 7 days', 7 * 86_400_000],
    ['interval 1 weeks', 7 * 86_400_000],
    ['168 hours', 7 * 86_400_000],
    ['interval 1 day 12 hours', 36 * 3_600_000],
    ['INTERVAL 30 SECONDS', 30_000],
  ])('parses %s', (text, ms) => {
    expect(parseInterval(text, 'k')).toBe(ms)
  })

  it.each(['interval 1 month', 'interval -1 days', 'seven days', '', 'interval 5'])(
    'rejects %s',
    (text) => {
      expect(() => parseInterval(text, 'k')).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
      )
    },
  )

  it('applies defaults and reads properties', () => {
    const d = tableConfig(meta())
    expect(d).toMatchObject({
      checkpointInterval: 10,
      appendOnly: false,
      isolationLevel: 'Serializable',
      dataSkippingNumIndexedCols: 32,
    })
    expect(d.deletedFileRetentionMs).toBe(7 * 86_400_000)
    expect(d.logRetentionMs).toBe(30 * 86_400_000)
    const c = tableConfig(
      meta({
        'delta.checkpointInterval': '100',
        'delta.appendOnly': 'TRUE',
        'delta.isolationLevel': 'WriteSerializable',
      }),
    )
    expect(c).toMatchObject({
      checkpointInterval: 100,
      appendOnly: true,
      isolationLevel: 'WriteSerializable',
    })
  })
})

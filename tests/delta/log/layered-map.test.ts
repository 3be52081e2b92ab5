import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LayeredMap } from '../../../src/delta/log/layered-map.js'

type Op =
  | { kind: 'set'; target: number; key: number; value: number }
  | { kind: 'delete'; target: number; key: number }
  | { kind: 'copy'; target: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      target: fc.nat(),
      key: fc.integer({ min: 0, max: 40 }),
      value: fc.integer(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      target: fc.nat(),
      key: fc.integer({ min: 0, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('copy' as const), target: fc.nat() }) },
)

function expectSame(layered: LayeredMap<number, number>, model: Map<number, number>): void {
  expect([...layered.entries()]).toEqual([...model.entries()])
  expect([...layered.values()]).toEqual([...model.values()])
  expect(layered.size).toBe(model.size)
  for (let k = 0; k <= 40; k++) {
    expect(layered.get(k)).toBe(model.get(k))
    expect(layered.has(k)).toBe(model.has(k))
  }
}

describe('LayeredMap', () => {
  it('behaves like a Map, in order, through any mix of changes and copies (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const pairs: [LayeredMap<number, number>, Map<number, number>][] = [
          [new LayeredMap(), new Map()],
        ]
        for (const o of ops) {
          const [layered, model] = pairs[o.target % pairs.length]!
          if (o.kind === 'set') {
            layered.set(o.key, o.value)
            model.set(o.key, o.value)
          } else if (o.kind === 'delete') {
            expect(layered.delete(o.key)).toBe(model.delete(o.key))
          } else {
            pairs.push([new LayeredMap(layered), new Map(model)])
          }
        }
        for (const [layered, model] of pairs) expectSame(layered, model)
      }),
      { numRuns: 300 },
    )
  })

  it('keeps copies independent of later changes to their source and to each other', () => {
    const a = new LayeredMap<string, number>()
    for (let i = 0; i < 1000; i++) a.set(`k${i}`, i)
    const b = new LayeredMap(a)
    a.set('k1', -1)
    a.delete('k2')
    b.set('k3', -3)
    b.set('new', 7)
    expect(b.get('k1')).toBe(1)
    expect(b.get('k2')).toBe(2)
    expect(a.get('k3')).toBe(3)
    expect(a.has('new')).toBe(false)
    expect([a.size, b.size]).toEqual([999, 1001])
  })

  it('flattens long chains of copies (each copy stays cheap)', () => {
    let m = new LayeredMap<number, number>()
    for (let i = 0; i < 10_000; i++) m.set(i, i)
    const model = new Map<number, number>()
    for (let i = 0; i < 10_000; i++) model.set(i, i)
    for (let v = 0; v < 2_000; v++) {
      m = new LayeredMap(m)
      m.set(10_000 + v, v)
      m.delete(v)
      model.set(10_000 + v, v)
      model.delete(v)
    }
    expect(m.size).toBe(model.size)
    expect([...m.entries()]).toEqual([...model.entries()])
  })
})

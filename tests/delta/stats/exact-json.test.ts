import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { JsonNumber } from '../../../src/delta/stats/collect-stats.js'
import { parseJsonExact } from '../../../src/delta/stats/exact-json.js'

/** The value with every JsonNumber turned into the double JSON.parse would give. */
function asDoubles(value: unknown): unknown {
  if (value instanceof JsonNumber) return Number(value.text)
  if (Array.isArray(value)) return value.map(asDoubles)
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: asDoubles(v), enumerable: true, writable: true })
    }
    return out
  }
  return value
}

describe('parseJsonExact', () => {
  it('reads what JSON.parse reads, numbers aside', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined)
        expect(asDoubles(parseJsonExact(text))).toEqual(JSON.parse(text))
      }),
      { numRuns: 300 },
    )
  })

  it('fails exactly where JSON.parse fails', () => {
    const jsonish = fc.string({
      unit: fc.constantFrom(...'{}[]",:0123456789.-+eE truefalsn\\u\n'.split('')),
      maxLength: 24,
    })
    fc.assert(
      fc.property(jsonish, (text) => {
        let expected = true
        try {
          JSON.parse(text)
        } catch {
          expected = false
        }
        let actual = true
        try {
          parseJsonExact(text)
        } catch (error) {
          expect(error).toBeInstanceOf(SyntaxError)
          actual = false
        }
        expect(actual, JSON.stringify(text)).toBe(expected)
      }),
      { numRuns: 2000 },
    )
  })

  it('keeps the digits of longs beyond 2^53 and of wide decimals', () => {
    const parsed = parseJsonExact(
      '{"l":9007199254740993,"dec":123456789012345678901.23,"z":-0.0,"s":"9007199254740993"}',
    ) as Record<string, unknown>
    expect(parsed.l).toEqual(new JsonNumber('9007199254740993'))
    expect(parsed.dec).toEqual(new JsonNumber('123456789012345678901.23'))
    expect(parsed.z).toEqual(new JsonNumber('-0.0'))
    expect(parsed.s).toBe('9007199254740993')
  })

  it('makes __proto__ an own key, as JSON.parse does', () => {
    const parsed = parseJsonExact('{"__proto__":{"x":1}}') as Record<string, unknown>
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.keys(parsed)).toEqual(['__proto__'])
  })
})

import { describe, expect, it } from 'vitest'
import { interleave, quantile, summarize } from '../../bench/lib/stats.js'

describe('summarize', () => {
  it('computes the median of an odd and an even number of samples', () => {
    expect(summarize([5, 1, 3]).p50).toBe(3)
    expect(summarize([4, 1, 3, 2]).p50).toBe(2.5)
  })

  it('uses nearest-rank quantiles, so p99 of 30 samples is the maximum', () => {
    const samples = Array.from({ length: 30 }, (_, i) => i + 1)
    const s = summarize(samples)
    expect(s).toMatchObject({ n: 30, min: 1, max: 30, p99: 30, p90: 27, mean: 15.5 })
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2)
  })

  it('throws for no samples', () => {
    expect(() => summarize([])).toThrow()
  })
})

describe('interleave', () => {
  it('records the first repetition apart and alternates the order of the sides', async () => {
    const calls: string[] = []
    let clock = 0
    const side = (name: string) => ({
      name,
      once: () => {
        calls.push(name)
        return Promise.resolve(++clock)
      },
    })
    const [a, b] = await interleave([side('a'), side('b')], { warmup: 2, iterations: 3 })
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'b', 'a', 'a', 'b'])
    expect(a).toMatchObject({ name: 'a', first: 1, samples: [5, 8, 9] })
    expect(b).toMatchObject({ name: 'b', first: 2, samples: [6, 7, 10] })
  })
})

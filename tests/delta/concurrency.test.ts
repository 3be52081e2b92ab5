import { describe, expect, it, vi } from 'vitest'
import { forEachBounded, runSteps, yieldToEventLoop } from '../../src/delta/concurrency.js'

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1))

describe('forEachBounded', () => {
  it('runs every item with at most `limit` at once', async () => {
    let running = 0
    let most = 0
    const seen: number[] = []
    await forEachBounded([10, 11, 12, 13, 14, 15, 16], 3, async (item, i) => {
      running++
      most = Math.max(most, running)
      await tick()
      seen[i] = item
      running--
    })
    expect(most).toBe(3)
    expect(seen).toEqual([10, 11, 12, 13, 14, 15, 16])
  })

  it('starts nothing after a failure and rethrows it once started tasks settled', async () => {
    const started: number[] = []
    let settled = 0
    await expect(
      forEachBounded([0, 1, 2, 3, 4, 5, 6, 7], 2, async (item) => {
        started.push(item)
        await tick()
        settled++
        if (item === 1) throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(settled).toBe(started.length)
    expect(started.length).toBeLessThan(8)
  })

  it('does nothing for no items', async () => {
    await forEachBounded([], 4, () => Promise.reject(new Error('never')))
  })
})

describe('yieldToEventLoop', () => {
  it('lets ready callbacks run first', async () => {
    const order: string[] = []
    setImmediate(() => order.push('immediate'))
    await yieldToEventLoop()
    order.push('resumed')
    expect(order).toEqual(['immediate', 'resumed'])
  })

  it('is not held back by fake timers', async () => {
    vi.useFakeTimers()
    try {
      await yieldToEventLoop()
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('runSteps', () => {
  it('returns the result, letting the event loop run between steps of a millisecond', async () => {
    const order: string[] = []
    function* work(): Generator<void, string> {
      for (let i = 0; i < 3; i++) {
        const until = performance.now() + 1.5
        while (performance.now() < until);
        order.push(`step ${i}`)
        yield
      }
      return 'done'
    }
    setImmediate(() => order.push('immediate'))
    expect(await runSteps(work())).toBe('done')
    // The callback ready before the work ran after its first step, not after all of them.
    expect(order.indexOf('immediate')).toBeGreaterThan(0)
    expect(order.indexOf('immediate')).toBeLessThan(3)
  })

  it('passes errors of a step through', async () => {
    function* failing(): Generator<void, never> {
      yield
      throw new Error('step failed')
    }
    await expect(runSteps(failing())).rejects.toThrow('step failed')
  })
})

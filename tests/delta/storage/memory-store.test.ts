import { describe, expect, it } from 'vitest'
import type { Clock } from '../../../src/delta/clock.js'
import { DeltaError } from '../../../src/delta/errors.js'
import { MemoryStore } from '../../../src/delta/storage/memory-store.js'
import { describeObjectStoreContract } from '../../contracts/object-store.contract.js'

/** A clock that only moves when told to. */
function manualClock(start: number): Clock & { set(ms: number): void } {
  let now = start
  return { now: () => now, set: (ms) => void (now = ms) }
}

describeObjectStoreContract('MemoryStore', () =>
  Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
)

describe('MemoryStore', () => {
  const data = new TextEncoder().encode('x')

  it('stamps writes with the injected clock', async () => {
    const clock = manualClock(1_000)
    const store = new MemoryStore({ clock })
    await store.put('a', data)
    clock.set(2_000.9)
    expect(await store.putIfAbsent('b', data)).toBe(true)
    expect((await store.list('')).map((m) => [m.key, m.lastModified])).toEqual([
      ['a', 1_000],
      ['b', 2_000],
    ])
  })

  it('keeps the time of the existing object when putIfAbsent loses', async () => {
    const clock = manualClock(1_000)
    const store = new MemoryStore({ clock })
    await store.put('a', data)
    clock.set(5_000)
    expect(await store.putIfAbsent('a', data)).toBe(false)
    expect((await store.head('a'))?.lastModified).toBe(1_000)
  })

  it('sets lastModified of an object with setLastModified', async () => {
    const store = new MemoryStore({ clock: manualClock(1_000) })
    await store.put('_delta_log/00000000000000000000.json', data)
    store.setLastModified('_delta_log/00000000000000000000.json', 42.7)
    expect(await store.head('_delta_log/00000000000000000000.json')).toEqual({
      key: '_delta_log/00000000000000000000.json',
      size: 1,
      lastModified: 42,
    })
  })

  it.each([
    ['a missing key', 'missing', 1, 'OBJECT_NOT_FOUND'],
    ['an invalid key', '../x', 1, 'INVALID_ARGUMENT'],
    ['a non-finite time', 'a', Number.NaN, 'INVALID_ARGUMENT'],
  ])('rejects setLastModified for %s', async (_, key, ms, code) => {
    const store = new MemoryStore()
    await store.put('a', data)
    let error: unknown
    try {
      store.setLastModified(key, ms)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(DeltaError)
    expect((error as DeltaError).code).toBe(code)
  })

  it('uses the configured location label', () => {
    expect(new MemoryStore().location).toBe('memory://')
    expect(new MemoryStore({ location: 'memory://users' }).location).toBe('memory://users')
  })
})

import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/delta/index.js'
import { LEASE_DIR, TableLease } from '../../src/maintenance/table-lease.js'

class FakeClock {
  t = Date.UTC(2026, 0, 1)
  now(): number {
    return this.t
  }
}

/** A memory store whose next `put` takes a while. */
class SlowPutStore extends MemoryStore {
  delayNextPut = 0
  override async put(key: string, data: Uint8Array): Promise<void> {
    const delay = this.delayNextPut
    this.delayNextPut = 0
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    return super.put(key, data)
  }
}

function leaseFor(store: MemoryStore, clock: FakeClock, owner: string, durationMs = 1000) {
  return new TableLease(store, { owner, durationMs, clock })
}

describe('TableLease', () => {
  it('is taken by one owner at a time and free again after release', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const a = leaseFor(store, clock, 'a')
    const b = leaseFor(store, clock, 'b')
    const first = await a.acquire()
    expect(first.acquired).toBe(true)
    const second = await b.acquire()
    expect(second).toMatchObject({ acquired: false, holder: { owner: 'a', released: false } })
    if (!first.acquired) throw new Error('unreachable')
    await first.lease.release()
    const third = await b.acquire()
    expect(third).toMatchObject({ acquired: true, lease: { epoch: 1 } })
    expect(await store.listKeys(LEASE_DIR)).toEqual([
      '.maintenance/lease-00000000000000000000.json',
      '.maintenance/lease-00000000000000000001.json',
    ])
  })

  it('is taken over once expired, and the old holder learns it on renewal', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const a = await leaseFor(store, clock, 'a').acquire()
    if (!a.acquired) throw new Error('not acquired')
    clock.t += 500
    expect(await a.lease.renew()).toBe(true) // now expires at +1500
    clock.t += 999
    expect((await leaseFor(store, clock, 'b').acquire()).acquired).toBe(false)
    clock.t += 1
    const b = await leaseFor(store, clock, 'b').acquire()
    expect(b.acquired).toBe(true)
    expect(await a.lease.renew()).toBe(false)
    await a.lease.release() // does not touch b's lease
    expect((await leaseFor(store, clock, 'c').acquire()).acquired).toBe(false)
  })

  it('stays released when a renewal was in flight as it was released', async () => {
    const clock = new FakeClock()
    const store = new SlowPutStore({ clock })
    const a = await leaseFor(store, clock, 'a').acquire()
    if (!a.acquired) throw new Error('not acquired')
    clock.t += 300
    store.delayNextPut = 20
    const renewal = a.lease.renew() // its write is slow (a remote store)
    await a.lease.release()
    await renewal
    expect(a.lease.record.released).toBe(true)
    expect((await leaseFor(store, clock, 'b').acquire()).acquired).toBe(true)
  })

  it('lets exactly one of many racing processes take an expired lease', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    await leaseFor(store, clock, 'dead').acquire()
    clock.t += 5000
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => leaseFor(store, clock, `p${i}`).acquire()),
    )
    expect(attempts.filter((a) => a.acquired)).toHaveLength(1)
  })

  it('keeps only the two newest epochs', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    const lease = leaseFor(store, clock, 'a')
    for (let i = 0; i < 5; i++) {
      const got = await lease.acquire()
      if (!got.acquired) throw new Error('not acquired')
      await got.lease.release()
    }
    expect(await store.listKeys(LEASE_DIR)).toEqual([
      '.maintenance/lease-00000000000000000003.json',
      '.maintenance/lease-00000000000000000004.json',
    ])
  })

  it('treats a corrupt lease file as expired', async () => {
    const clock = new FakeClock()
    const store = new MemoryStore({ clock })
    await store.put(`${LEASE_DIR}lease-00000000000000000007.json`, new Uint8Array([1, 2, 3]))
    expect(await leaseFor(store, clock, 'a').acquire()).toMatchObject({
      acquired: true,
      lease: { epoch: 8 },
    })
  })
})

/**
 * `TableLease`: at most one maintenance run per table at a time, across processes.
 *
 * The lease lives next to the table's data, in the hidden directory `.maintenance/` at the table
 * root (never in `_delta_log/`: Delta readers ignore hidden paths, and VACUUM never deletes them).
 * It is a sequence of small JSON files `lease-<epoch>.json` (epoch zero-padded to 20 digits),
 * each holding `{ owner, token, acquiredAt, expiresAt, released }`. The newest epoch is the lease:
 *
 * - acquire: read the newest epoch; when it is released or expired, create the next epoch with
 *   `putIfAbsent`. That call is atomic, so among processes racing for an expired lease exactly
 *   one wins, and stealing needs no delete (a delete-then-create steal lets two stealers both
 *   win when one deletes the other's fresh lease);
 * - renew (heartbeat): rewrite one's own epoch with a later expiry, only while it has not
 *   expired, then check that no newer epoch exists (if one does, the lease was lost);
 * - release: rewrite one's own epoch as released; epochs only ever grow. Older epochs are
 *   deleted when a newer one is acquired.
 *
 * Correctness of the table never depends on the lease: every Delta commit is optimistic and
 * conflict-checked. The lease only keeps processes from doing the same maintenance twice.
 * Expiry uses the callers' clocks; keep the lease duration well above clock skew.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../common/clock.js'
import { isDeltaError, type ObjectStore } from '../delta/index.js'

/** Directory of the lease files, relative to the table root. */
export const LEASE_DIR = '.maintenance/'

const LEASE_RE = /^lease-(\d{20})\.json$/

/** The content of one lease file. */
export interface LeaseRecord {
  /** Who holds it (process description). */
  readonly owner: string
  /** Unique id of this acquisition. */
  readonly token: string
  /** Epoch milliseconds. */
  readonly acquiredAt: number
  /** Epoch milliseconds after which others may take over. */
  readonly expiresAt: number
  /** True once its holder released it. */
  readonly released: boolean
}

/** Options of a {@link TableLease}. */
export interface TableLeaseOptions {
  /** Holder description written into the lease (e.g. `host:pid`). */
  readonly owner: string
  /** How long an acquisition or renewal holds the lease. */
  readonly durationMs: number
  /** Time source. */
  readonly clock: Clock
}

/** A held lease. */
export interface HeldLease {
  /** The epoch acquired. */
  readonly epoch: number
  /** The record as last written. */
  readonly record: LeaseRecord
  /**
   * Extends the lease by the lease duration.
   * @returns false when the lease has expired or was taken over (stop working soon)
   */
  renew(): Promise<boolean>
  /** Releases the lease (idempotent). */
  release(): Promise<void>
}

/** The outcome of {@link TableLease.acquire}. */
export type LeaseAttempt =
  | { readonly acquired: true; readonly lease: HeldLease }
  | { readonly acquired: false; readonly holder: LeaseRecord | undefined }

function leaseKey(epoch: number): string {
  return `${LEASE_DIR}lease-${String(epoch).padStart(20, '0')}.json`
}

function parseRecord(bytes: Uint8Array): LeaseRecord | undefined {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    if (typeof o.expiresAt !== 'number' || typeof o.token !== 'string') return undefined
    return {
      owner: typeof o.owner === 'string' ? o.owner : '',
      token: o.token,
      acquiredAt: typeof o.acquiredAt === 'number' ? o.acquiredAt : 0,
      expiresAt: o.expiresAt,
      released: o.released === true,
    }
  } catch {
    // A torn or foreign file: treat it as expired, so a broken lease never blocks forever.
    return undefined
  }
}

const encode = (r: LeaseRecord): Uint8Array => new TextEncoder().encode(JSON.stringify(r))

/** The maintenance lease of one table. */
export class TableLease {
  readonly #store: ObjectStore
  readonly #options: TableLeaseOptions

  /**
   * @param store - the table's store (the lease lives under `.maintenance/` at its root)
   * @param options - owner, duration and clock
   */
  constructor(store: ObjectStore, options: TableLeaseOptions) {
    this.#store = store
    this.#options = options
  }

  /** Lists the epochs present, ascending. */
  async #epochs(): Promise<number[]> {
    const keys = await this.#store.listKeys(LEASE_DIR)
    const out: number[] = []
    for (const key of keys) {
      const m = LEASE_RE.exec(key.slice(LEASE_DIR.length))
      if (m) out.push(Number(m[1]))
    }
    return out.sort((a, b) => a - b)
  }

  async #read(epoch: number): Promise<LeaseRecord | undefined | 'missing'> {
    try {
      return parseRecord(await this.#store.get(leaseKey(epoch)))
    } catch (error) {
      if (isDeltaError(error, 'OBJECT_NOT_FOUND')) return 'missing'
      throw error
    }
  }

  /**
   * Tries to take the lease: succeeds when nobody holds it, or the holder released it or let it
   * expire.
   * @returns the held lease, or the current holder's record
   * @throws DeltaError `STORAGE_ERROR` from the store
   */
  async acquire(): Promise<LeaseAttempt> {
    const now = this.#options.clock.now()
    const epochs = await this.#epochs()
    const newest = epochs.at(-1)
    if (newest !== undefined) {
      const current = await this.#read(newest)
      // Missing: deleted between listing and reading by a newer acquirer, who holds it now.
      if (current === 'missing') return { acquired: false, holder: undefined }
      if (current && !current.released && current.expiresAt > now) {
        return { acquired: false, holder: current }
      }
    }
    const epoch = newest === undefined ? 0 : newest + 1
    const record: LeaseRecord = {
      owner: this.#options.owner,
      token: randomUUID(),
      acquiredAt: now,
      expiresAt: now + this.#options.durationMs,
      released: false,
    }
    if (!(await this.#store.putIfAbsent(leaseKey(epoch), encode(record)))) {
      return { acquired: false, holder: undefined }
    }
    // Epochs before the previous one are history: drop them.
    const old = epochs.filter((e) => e < epoch - 1)
    const settled = await Promise.allSettled(old.map((e) => this.#store.delete(leaseKey(e))))
    for (const s of settled) if (s.status === 'rejected') throw s.reason
    return { acquired: true, lease: this.#held(epoch, record) }
  }

  #held(epoch: number, first: LeaseRecord): HeldLease {
    let record = first
    let done = false
    // The last renewal, so that a release waits for one in flight: written after the release,
    // its record (not released, a later expiry) would hold the lease for a whole duration.
    let renewing: Promise<unknown> = Promise.resolve()
    const store = this.#store
    const options = this.#options
    return {
      epoch,
      get record() {
        return record
      },
      renew(): Promise<boolean> {
        const renewal = renewing.then(async () => {
          const now = options.clock.now()
          if (done || now >= record.expiresAt) return false
          const next = { ...record, expiresAt: now + options.durationMs }
          await store.put(leaseKey(epoch), encode(next))
          record = next
          return (await store.head(leaseKey(epoch + 1))) === undefined
        })
        renewing = renewal.catch(() => undefined)
        return renewal
      },
      async release(): Promise<void> {
        if (done) return
        done = true
        await renewing
        if ((await store.head(leaseKey(epoch + 1))) !== undefined) return // taken over already
        record = { ...record, expiresAt: options.clock.now(), released: true }
        await store.put(leaseKey(epoch), encode(record))
      },
    }
  }
}

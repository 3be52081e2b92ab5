/**
 * Shared set-up of the lakehouse, auth, audit and client tests: a fake clock, a recording
 * logger, a counting fast hasher, and real local lakehouses in temp directories.
 *
 * Stores opened here default to `autoRefresh: false`, so a test decides when another
 * instance's commits become visible (`store.refresh()`); tests of the background refresh opt in.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { AuthService, type AuthServiceOptions } from '../../../src/auth/auth-service.js'
import { FastTestHasher, type PasswordHasher } from '../../../src/auth/password-hasher.js'
import type { Clock } from '../../../src/common/clock.js'
import { LakehouseError } from '../../../src/common/lakehouse-error.js'
import type { Logger } from '../../../src/common/logger.js'
import { DeltaStore, type DeltaStoreOptions } from '../../../src/lakehouse/delta-store.js'
import type { UserRecord } from '../../../src/lakehouse/rows.js'
import {
  LakehouseConfig,
  type LakehouseConfigBuilder,
} from '../../../src/lakehouse/lakehouse-config.js'
import { makeTempDir } from '../../support/temp.js'

/** 2026-06-01T12:00:00Z: the default start of fake clocks. */
export const T0 = Date.UTC(2026, 5, 1, 12, 0, 0)

/** A 256-bit secret for test lakehouses. */
export const TEST_SECRET: string = randomBytes(32).toString('base64url')

/** A password that passes the policy. */
export const PASSWORD = 'correct horse battery staple'

/** A clock the test moves by hand. */
export interface FakeClock extends Clock {
  ms: number
  /** Moves the clock forward. */
  advance(ms: number): void
}

/**
 * A fake clock starting at `start`.
 * @param start - epoch milliseconds
 * @returns the clock
 */
export function fakeClock(start = T0): FakeClock {
  const clock: FakeClock = {
    ms: start,
    now: () => clock.ms,
    advance: (ms) => {
      clock.ms += ms
    },
  }
  return clock
}

/** A logger that keeps what it was told. */
export interface RecordingLogger extends Logger {
  readonly infos: string[]
  readonly warnings: string[]
}

/** @returns a logger that records messages */
export function recordingLogger(): RecordingLogger {
  const infos: string[] = []
  const warnings: string[] = []
  return {
    infos,
    warnings,
    info: (m) => void infos.push(m),
    warn: (m) => void warnings.push(m),
  }
}

/** A {@link FastTestHasher} that counts its calls. */
export class CountingHasher implements PasswordHasher {
  readonly inner: FastTestHasher
  hashCalls = 0
  verifyCalls = 0

  constructor(iterations = 1) {
    this.inner = new FastTestHasher(iterations)
  }

  hash(password: string): Promise<string> {
    this.hashCalls++
    return this.inner.hash(password)
  }

  verify(hash: string, password: string): Promise<boolean> {
    this.verifyCalls++
    return this.inner.verify(hash, password)
  }

  needsRehash(hash: string): boolean {
    return this.inner.needsRehash(hash)
  }

  reset(): void {
    this.hashCalls = 0
    this.verifyCalls = 0
  }
}

/**
 * A configuration for a test lakehouse at `dir` (test environment, test secret).
 * @param dir - base path
 * @param customize - further builder calls
 * @returns the configuration
 */
export function testConfig(
  dir: string,
  customize: (b: LakehouseConfigBuilder) => LakehouseConfigBuilder = (b) => b,
): LakehouseConfig {
  return customize(
    LakehouseConfig.builder().basePath(dir).environment('test').jwtSecret(TEST_SECRET),
  ).build()
}

/** One instance (as one process would have): a store and an auth service over it. */
export interface TestInstance {
  readonly dir: string
  readonly store: DeltaStore
  readonly auth: AuthService
  readonly hasher: CountingHasher
  readonly logger: RecordingLogger
  close(): Promise<void>
}

/** Options of {@link openInstance}. */
export interface InstanceOptions {
  readonly dir?: string
  readonly clock?: Clock
  readonly customize?: (b: LakehouseConfigBuilder) => LakehouseConfigBuilder
  readonly store?: Omit<DeltaStoreOptions, 'clock' | 'logger'>
  readonly auth?: Omit<AuthServiceOptions, 'clock'>
}

/**
 * Opens a store and an auth service (a fresh temp lakehouse unless `dir` is given).
 * @param options - directory, clock, configuration, store and service options
 * @returns the instance
 */
export async function openInstance(options: InstanceOptions = {}): Promise<TestInstance> {
  const dir = options.dir ?? (await makeTempDir('lakehouse-'))
  const logger = recordingLogger()
  const store = await DeltaStore.open(testConfig(dir, options.customize), {
    autoRefresh: false,
    ...options.store,
    clock: options.clock,
    logger,
  })
  const hasher = (options.auth?.hasher as CountingHasher | undefined) ?? new CountingHasher()
  const auth = await AuthService.create(store, {
    backgroundSync: false,
    ...options.auth,
    hasher,
    clock: options.clock,
  })
  return {
    dir,
    store,
    auth,
    hasher,
    logger,
    close: async () => {
      await auth.close()
      await store.close()
    },
  }
}

/**
 * Creates the admin `root_admin` and an approved user `<username>@example.com`, both with the
 * password {@link PASSWORD}.
 * @param inst - the instance
 * @param username - the user's name
 * @returns the two users
 */
export async function adminAndUser(
  inst: TestInstance,
  username: string,
): Promise<{ admin: UserRecord; user: UserRecord }> {
  const admin = await inst.auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  const pending = await inst.auth.register({
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  })
  const user = await inst.auth.approveUser(admin.userId, pending.userId)
  return { admin, user }
}

/**
 * Runs `fn` and returns the {@link LakehouseError} it throws (or rejects with).
 * @param fn - the call expected to fail
 * @param code - the expected code
 * @returns the error, for further assertions
 */
export async function expectError(fn: () => unknown, code: string): Promise<LakehouseError> {
  let caught: unknown
  try {
    await fn()
  } catch (error) {
    caught = error
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(LakehouseError)
  expect((caught as LakehouseError).code).toBe(code)
  return caught as LakehouseError
}

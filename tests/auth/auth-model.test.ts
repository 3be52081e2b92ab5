/**
 * Model-based property test of authentication and administration: random sequences of
 * registrations, logins (right and wrong passwords, unknown names), token checks, logouts,
 * approvals, rejections, role changes, disabling and enabling, revocations and password
 * changes, by random actors, run against a real lakehouse and against a plain model of the
 * rules. Every call must succeed or fail exactly as the model says (error code included), and
 * after every call every token issued so far must verify, with the user's current role, exactly
 * when the model says it is live, and reading the users at each version reached, and at the time
 * of each call that changed them, must return them as the model had them then. The same holds with two instances of one lakehouse taking turns.
 * 40 and 20 sequences; 400 and 200 with `POLARWAY_FULL=1`.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SYSTEM_ACTOR, type AuthService } from '../../src/auth/auth-service.js'
import { LakehouseError } from '../../src/common/lakehouse-error.js'
import type { LakehouseConfigBuilder } from '../../src/lakehouse/lakehouse-config.js'
import type { UserRecord } from '../../src/lakehouse/rows.js'
import {
  fakeClock,
  openInstance,
  PASSWORD,
  type FakeClock,
} from '../lakehouse/support/test-lakehouse.js'
import { makeTempDir } from '../support/temp.js'

const NAMES = ['alice', 'Alice', 'bob', 'carol', 'dave'] as const
const TIERS = ['free', 'hobbyist', 'pioneer', 'professional'] as const
const ROLES = ['guest', 'pending', 'registered', 'trader', 'admin'] as const
const LOCK_AFTER = 10

type Role = (typeof ROLES)[number]

interface ModelUser {
  readonly userId: string
  readonly key: string
  role: Role
  tier: string
  active: boolean
  rejected: boolean
  password: string
}

interface ModelSession {
  readonly token: string
  readonly userId: string
  revoked: boolean
}

type Call =
  | { readonly k: 'register'; readonly name: number; readonly tier: number }
  | { readonly k: 'login'; readonly user: number; readonly right: boolean; readonly ghost: boolean }
  | { readonly k: 'guess'; readonly user: number; readonly times: number }
  | { readonly k: 'logout'; readonly session: number }
  | { readonly k: 'approve'; readonly actor: number; readonly user: number; readonly tier: number }
  | {
      readonly k: 'reject' | 'disable' | 'enable' | 'revokeAll'
      readonly actor: number
      readonly user: number
    }
  | { readonly k: 'setRole'; readonly actor: number; readonly user: number; readonly role: number }
  | { readonly k: 'changePassword'; readonly user: number; readonly right: boolean }

const index = fc.nat({ max: 20 })
/** Actors: the first admin half of the time. */
const actor = fc.oneof(fc.constant(0), index)
const call: fc.Arbitrary<Call> = fc.oneof(
  {
    arbitrary: fc.record({ k: fc.constant('register' as const), name: index, tier: index }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('login' as const),
      user: index,
      right: fc.boolean(),
      ghost: fc.nat({ max: 9 }).map((n) => n === 0),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('guess' as const),
      user: index,
      times: fc.integer({ min: 1, max: LOCK_AFTER + 1 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('logout' as const), session: index }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant('approve' as const),
      actor,
      user: index,
      tier: index,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constantFrom(
        'reject' as const,
        'disable' as const,
        'enable' as const,
        'revokeAll' as const,
      ),
      actor,
      user: index,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('setRole' as const),
      actor,
      user: index,
      role: index,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('changePassword' as const),
      user: index,
      right: fc.boolean(),
    }),
    weight: 1,
  },
)

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T

/** The rules, on plain data. */
class Model {
  readonly users: ModelUser[] = []
  readonly sessions: ModelSession[] = []
  /** Failed password checks since the last successful login, by throttle key. */
  readonly failures = new Map<string, number>()
  readonly lockAfter: number
  #passwords = 0

  constructor(lockAfter = LOCK_AFTER) {
    this.lockAfter = lockAfter
  }

  user(id: string): ModelUser {
    const u = this.users.find((x) => x.userId === id)
    if (!u) throw new Error(`model: no user ${id}`)
    return u
  }

  activeAdmins(): ModelUser[] {
    return this.users.filter((u) => u.role === 'admin' && u.active && !u.rejected)
  }

  isAdmin(u: ModelUser): boolean {
    return u.role === 'admin' && u.active && !u.rejected
  }

  live(s: ModelSession): boolean {
    const u = this.user(s.userId)
    return !s.revoked && u.active && !u.rejected
  }

  revokeAll(userId: string): void {
    for (const s of this.sessions) if (s.userId === userId) s.revoked = true
  }

  /** A password check: the lockout first, then the password; failures count. */
  check(key: string, right: boolean): string | undefined {
    if ((this.failures.get(key) ?? 0) >= this.lockAfter) return 'ACCOUNT_LOCKED'
    if (right) return undefined
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1)
    return 'INVALID_CREDENTIALS'
  }

  nextPassword(): string {
    return `a fresh passphrase number ${++this.#passwords}`
  }
}

/** Runs a call and returns `ok` or its error code. */
async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
    return 'ok'
  } catch (error) {
    if (error instanceof LakehouseError) return String(error.code)
    throw error
  }
}

async function step(auth: AuthService, model: Model, clock: FakeClock, c: Call): Promise<void> {
  clock.advance(1000)
  let got: string
  let want: string
  switch (c.k) {
    case 'register': {
      const name = pick(NAMES, c.name)
      const tier = pick(TIERS, c.tier)
      const key = name.toLowerCase()
      want = model.users.some((u) => u.key === key) ? 'USER_EXISTS' : 'ok'
      let userId = ''
      got = await outcome(async () => {
        userId = (
          await auth.register({
            username: name,
            email: `${key}@example.com`,
            password: PASSWORD,
            tier,
          })
        ).userId
      })
      if (got === 'ok') {
        model.users.push({
          userId,
          key,
          role: 'pending',
          tier,
          active: true,
          rejected: false,
          password: PASSWORD,
        })
      }
      break
    }
    case 'login': {
      const u = c.ghost ? undefined : pick(model.users, c.user)
      const name = u ? u.key : 'ghost'
      const password = u && c.right ? u.password : 'not the right passphrase'
      const key = u ? `user:${u.userId}` : 'ghost'
      want =
        model.check(key, u !== undefined && c.right) ??
        (u?.rejected ? 'ACCOUNT_REJECTED' : u?.active ? 'ok' : 'ACCOUNT_DISABLED')
      let token = ''
      got = await outcome(async () => {
        token = (await auth.login(name, password)).token
      })
      if (got === 'ok' && u) {
        model.failures.delete(key)
        model.sessions.push({ token, userId: u.userId, revoked: false })
      }
      break
    }
    case 'guess': {
      // Wrong passwords in a row: the account locks after `lockAfter` of them.
      const u = pick(model.users, c.user)
      for (let i = 0; i < c.times; i++) {
        const expected = model.check(`user:${u.userId}`, false)
        const result = await outcome(() => auth.login(u.key, `wrong guess ${i}`))
        expect(result, `guess ${i + 1} of ${c.times}`).toBe(expected)
      }
      return
    }
    case 'logout': {
      if (model.sessions.length === 0) return
      const s = pick(model.sessions, c.session)
      const u = model.user(s.userId)
      want = s.revoked ? 'ok' : u.active && !u.rejected ? 'ok' : 'INVALID_TOKEN'
      got = await outcome(() => auth.logout(s.token))
      if (got === 'ok') s.revoked = true
      break
    }
    case 'changePassword': {
      const u = pick(model.users, c.user)
      const next = model.nextPassword()
      want =
        model.check(`user:${u.userId}`, c.right) ??
        (u.rejected ? 'ACCOUNT_REJECTED' : u.active ? 'ok' : 'ACCOUNT_DISABLED')
      got = await outcome(() =>
        auth.changePassword(u.userId, c.right ? u.password : 'not the right passphrase', next),
      )
      if (got === 'ok') {
        u.password = next
        model.revokeAll(u.userId)
      }
      break
    }
    default: {
      const actor = pick(model.users, c.actor)
      const u = pick(model.users, c.user)
      const admin = model.isAdmin(actor)
      const lastAdmin = model.isAdmin(u) && model.activeAdmins().length <= 1
      switch (c.k) {
        case 'approve': {
          const tier = pick(TIERS, c.tier)
          want = !admin ? 'FORBIDDEN' : u.role !== 'pending' || u.rejected ? 'INVALID_STATE' : 'ok'
          got = await outcome(() => auth.approveUser(actor.userId, u.userId, tier))
          if (got === 'ok') {
            u.tier = tier
            u.role = tier === 'free' ? 'registered' : 'trader'
          }
          break
        }
        case 'reject':
          want = !admin ? 'FORBIDDEN' : u.role !== 'pending' || u.rejected ? 'INVALID_STATE' : 'ok'
          got = await outcome(() => auth.rejectUser(actor.userId, u.userId))
          if (got === 'ok') {
            u.rejected = true
            u.active = false
            model.revokeAll(u.userId)
          }
          break
        case 'setRole': {
          const role = pick(ROLES, c.role)
          want = !admin ? 'FORBIDDEN' : lastAdmin && role !== 'admin' ? 'LAST_ADMIN' : 'ok'
          got = await outcome(() => auth.setRole(actor.userId, u.userId, role))
          if (got === 'ok') u.role = role
          break
        }
        case 'disable':
          want = !admin ? 'FORBIDDEN' : lastAdmin ? 'LAST_ADMIN' : 'ok'
          got = await outcome(() => auth.disableUser(actor.userId, u.userId))
          if (got === 'ok') {
            u.active = false
            model.revokeAll(u.userId)
          }
          break
        case 'enable':
          want = !admin ? 'FORBIDDEN' : u.rejected ? 'INVALID_STATE' : 'ok'
          got = await outcome(() => auth.enableUser(actor.userId, u.userId))
          if (got === 'ok') u.active = true
          break
        case 'revokeAll':
          want = actor === u || admin ? 'ok' : 'FORBIDDEN'
          got = await outcome(() => auth.revokeAllSessions(actor.userId, u.userId))
          if (got === 'ok') model.revokeAll(u.userId)
          break
      }
    }
  }
  expect(got, JSON.stringify(c)).toBe(want)
}

/** Every token verifies exactly when its session is live, with the user's current role. */
function expectTokens(auth: AuthService, model: Model): void {
  for (const s of model.sessions) {
    let role: string
    try {
      role = auth.verifyToken(s.token).role
    } catch (error) {
      if (!(error instanceof LakehouseError)) throw error
      role = String(error.code)
    }
    expect(role).toBe(model.live(s) ? model.user(s.userId).role : 'INVALID_TOKEN')
  }
}

/** The users' role and state, as the model and as a read returns them. */
function projection(users: readonly ModelUser[]): unknown[] {
  return users.map((u) => [u.userId, u.role, u.active, u.rejected]).sort()
}

function recordProjection(users: readonly UserRecord[]): unknown[] {
  return users.map((u) => [u.userId, u.role, u.isActive, u.rejectedAt !== null]).sort()
}

/** Bootstraps the first admin and returns the model holding it. */
async function start(auth: AuthService, lockAfter?: number): Promise<Model> {
  const model = new Model(lockAfter)
  const root = await auth.bootstrapAdmin({
    username: 'root_admin',
    email: 'root@example.com',
    password: PASSWORD,
  })
  model.users.push({
    userId: root.userId,
    key: 'root_admin',
    role: 'admin',
    tier: 'professional',
    active: true,
    rejected: false,
    password: PASSWORD,
  })
  return model
}

/** Random calls after three registrations, so that there are users to act on from the start. */
const calls = fc
  .array(call, { minLength: 10, maxLength: 40 })
  .map((random): Call[] => [
    ...[0, 2, 3].map((name): Call => ({ k: 'register', name, tier: name })),
    ...random,
  ])

const FULL = process.env.POLARWAY_FULL === '1'

describe('authentication and administration against a model', () => {
  it('answers every call, every token and every past state of users as the rules say', async () => {
    await fc.assert(
      fc.asyncProperty(calls, async (list) => {
        const clock = fakeClock()
        const inst = await openInstance({ clock })
        try {
          const model = await start(inst.auth)
          const versions = new Map<number, unknown[]>()
          const times = new Map<number, unknown[]>()
          versions.set(await inst.store.version('users'), projection(model.users))
          for (const c of list) {
            await step(inst.auth, model, clock, c)
            expectTokens(inst.auth, model)
            const version = await inst.store.version('users')
            // A call that changed users committed at the clock's time (in-commit timestamps;
            // the clock moves 1 s per call), which is also the time of the state after it.
            if (!versions.has(version)) times.set(clock.now(), projection(model.users))
            versions.set(version, projection(model.users))
          }
          expect(recordProjection(await inst.auth.getAllUsers(SYSTEM_ACTOR))).toEqual(
            projection(model.users),
          )
          for (const [version, users] of versions) {
            const then = await inst.auth.readUsersAtVersion(SYSTEM_ACTOR, version)
            expect(recordProjection(then), `users version ${version}`).toEqual(users)
          }
          for (const [at, users] of times) {
            const then = await inst.auth.readUsersAtTimestamp(SYSTEM_ACTOR, at)
            expect(recordProjection(then), `users at ${new Date(at).toISOString()}`).toEqual(users)
          }
        } finally {
          await inst.close()
        }
      }),
      { numRuns: FULL ? 400 : 40 },
    )
  }, 600_000)

  it('holds across two instances, each catching up with the other before it acts', async () => {
    // Failed logins reach another instance by tailing the audit log, which these instances do
    // not do in the background: the lockout is set out of reach here (tested on its own).
    const lockAfter = 100
    await fc.assert(
      fc.asyncProperty(
        calls.chain((list) =>
          fc.tuple(
            fc.constant(list),
            fc.array(fc.boolean(), { minLength: list.length, maxLength: list.length }),
          ),
        ),
        async ([list, onB]) => {
          const clock = fakeClock()
          const dir = await makeTempDir('auth-model-')
          const customize = (b: LakehouseConfigBuilder): LakehouseConfigBuilder =>
            b.lockout(lockAfter, 15)
          const a = await openInstance({ clock, dir, customize })
          const b = await openInstance({ clock, dir, customize })
          try {
            const model = await start(a.auth, lockAfter)
            for (const [i, c] of list.entries()) {
              const inst = onB[i] ? b : a
              await inst.store.refresh()
              await step(inst.auth, model, clock, c)
              await Promise.all([a.store.refresh(), b.store.refresh()])
              expectTokens(a.auth, model)
              expectTokens(b.auth, model)
            }
          } finally {
            await Promise.all([a.close(), b.close()])
          }
        },
      ),
      { numRuns: FULL ? 200 : 20 },
    )
  }, 600_000)
})

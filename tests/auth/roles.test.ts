import { describe, expect, it } from 'vitest'
import {
  hasPermission,
  isRole,
  isTier,
  parseRole,
  parseTier,
  ROLES,
  roleForTier,
  roleRank,
  SUBSCRIPTION_TIERS,
  SubscriptionTier,
  TIER_PRICES_EUR_CENTS,
  UserRole,
  type Role,
} from '../../src/auth/roles.js'
import { thrown } from '../support/thrown.js'

const NOT_NAMES: unknown[] = [
  'Admin',
  'ADMIN',
  ' admin',
  'admin ',
  '',
  'root',
  'superuser',
  '__proto__',
  'constructor',
  'toString',
  null,
  undefined,
  4,
  ['admin'],
  { role: 'admin' },
]

describe('roles', () => {
  it('orders the roles from guest to admin', () => {
    expect(ROLES).toEqual(['guest', 'pending', 'registered', 'trader', 'admin'])
    expect(ROLES.map(roleRank)).toEqual([0, 1, 2, 3, 4])
  })

  it('exposes the same names through the UserRole constant', () => {
    expect(Object.values(UserRole)).toEqual([...ROLES])
    expect(Object.isFrozen(UserRole)).toBe(true)
  })

  it.each<[Role, Role, boolean]>([
    ['admin', 'admin', true],
    ['admin', 'trader', true],
    ['admin', 'guest', true],
    ['trader', 'registered', true],
    ['trader', 'admin', false],
    ['registered', 'trader', false],
    ['registered', 'registered', true],
    ['pending', 'registered', false],
    ['pending', 'pending', true],
    ['pending', 'guest', true],
    ['guest', 'pending', false],
    ['guest', 'guest', true],
  ])('hasPermission(%s, %s) is %s', (actual, required, expected) => {
    expect(hasPermission(actual, required)).toBe(expected)
  })

  it.each(ROLES)('accepts %s as a role', (role) => {
    expect(isRole(role)).toBe(true)
    expect(parseRole(role)).toBe(role)
  })

  it.each(NOT_NAMES)('rejects %j as a role', (value) => {
    expect(isRole(value)).toBe(false)
    expect(thrown(() => parseRole(value)).code).toBe('INVALID_ROLE')
  })

  it('throws INVALID_ROLE when an unchecked value reaches hasPermission', () => {
    expect(thrown(() => hasPermission('root' as Role, 'guest')).code).toBe('INVALID_ROLE')
  })
})

describe('subscription tiers', () => {
  it('lists the tiers cheapest first with their monthly prices in euro cents', () => {
    expect(SUBSCRIPTION_TIERS).toEqual(['free', 'hobbyist', 'pioneer', 'professional'])
    expect(TIER_PRICES_EUR_CENTS).toEqual({
      free: 0,
      hobbyist: 900,
      pioneer: 2900,
      professional: 4900,
    })
    expect(Object.values(SubscriptionTier)).toEqual([...SUBSCRIPTION_TIERS])
  })

  it.each<[SubscriptionTier, Role]>([
    ['free', 'registered'],
    ['hobbyist', 'trader'],
    ['pioneer', 'trader'],
    ['professional', 'trader'],
  ])('roleForTier(%s) is %s', (tier, role) => {
    expect(roleForTier(tier)).toBe(role)
  })

  it.each(SUBSCRIPTION_TIERS)('accepts %s as a tier', (tier) => {
    expect(isTier(tier)).toBe(true)
    expect(parseTier(tier)).toBe(tier)
  })

  it.each([...NOT_NAMES, 'Free', 'premium', 'enterprise'])('rejects %j as a tier', (value) => {
    expect(isTier(value)).toBe(false)
    expect(thrown(() => parseTier(value)).code).toBe('INVALID_TIER')
  })

  it('throws INVALID_TIER when an unchecked value reaches roleForTier', () => {
    expect(thrown(() => roleForTier('gold' as SubscriptionTier)).code).toBe('INVALID_TIER')
  })
})

/**
 * Roles and subscription tiers: the role hierarchy used for authorization and the paid tiers
 * that grant the `trader` role.
 *
 * Roles are ordered; a user holds every permission of the roles below their own:
 * `guest` < `pending` < `registered` < `trader` < `admin`. A `pending` user signed up but awaits
 * approval, so it ranks above an anonymous guest and below every approved account.
 * @module
 */
import { LakehouseError } from '../common/lakehouse-error.js'
import type { AuthErrorCode } from './error-codes.js'

/** All roles, lowest rank first. */
export const ROLES = ['guest', 'pending', 'registered', 'trader', 'admin'] as const

/** A role of the hierarchy {@link ROLES}. */
export type Role = (typeof ROLES)[number]

/** The role names for API clients (a constant object instead of a TypeScript `enum`). */
export const UserRole = Object.freeze({
  GUEST: 'guest',
  PENDING: 'pending',
  REGISTERED: 'registered',
  TRADER: 'trader',
  ADMIN: 'admin',
} as const satisfies Record<string, Role>)

/** Same as {@link Role}, named after the {@link UserRole} constant object. */
export type UserRole = Role

/** All subscription tiers, cheapest first. */
export const SUBSCRIPTION_TIERS = ['free', 'hobbyist', 'pioneer', 'professional'] as const

/** A subscription tier of {@link SUBSCRIPTION_TIERS}. */
export type SubscriptionTier = (typeof SUBSCRIPTION_TIERS)[number]

/** The tier names for API clients (a constant object instead of a TypeScript `enum`). */
export const SubscriptionTier = Object.freeze({
  FREE: 'free',
  HOBBYIST: 'hobbyist',
  PIONEER: 'pioneer',
  PROFESSIONAL: 'professional',
} as const satisfies Record<string, SubscriptionTier>)

/** Monthly price of each tier in euro cents (integers, so no floating-point money). */
export const TIER_PRICES_EUR_CENTS: Readonly<Record<SubscriptionTier, number>> = Object.freeze({
  free: 0,
  hobbyist: 900,
  pioneer: 2900,
  professional: 4900,
})

const ROLE_RANK: ReadonlyMap<string, number> = new Map(ROLES.map((role, rank) => [role, rank]))
const TIER_SET: ReadonlySet<string> = new Set(SUBSCRIPTION_TIERS)

function fail(code: AuthErrorCode, message: string): never {
  throw new LakehouseError(code, message)
}

/**
 * Whether `value` is one of the {@link ROLES}.
 * @param value - any value
 * @returns true for a role name (exact, case-sensitive)
 */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && ROLE_RANK.has(value)
}

/**
 * Checks that `value` names a role.
 * @param value - any value, typically from a request or a table row
 * @returns the role
 * @throws LakehouseError `INVALID_ROLE` when `value` is not exactly one of {@link ROLES}
 */
export function parseRole(value: unknown): Role {
  if (!isRole(value)) {
    fail('INVALID_ROLE', `auth: unknown role (expected one of ${ROLES.join(', ')})`)
  }
  return value
}

/**
 * The rank of a role in the hierarchy: 0 for `guest` up to 4 for `admin`.
 * @param role - a role
 * @returns its rank
 * @throws LakehouseError `INVALID_ROLE` when called with a value that is not a role
 */
export function roleRank(role: Role): number {
  const rank = ROLE_RANK.get(role)
  if (rank === undefined) fail('INVALID_ROLE', 'auth: unknown role')
  return rank
}

/**
 * Whether a user with role `actual` may do what requires role `required` (hierarchical: an
 * admin may do everything a trader may, and so on down).
 * @param actual - the user's role
 * @param required - the least role the action needs
 * @returns true when `actual` ranks at or above `required`
 * @throws LakehouseError `INVALID_ROLE` when either argument is not a role
 */
export function hasPermission(actual: Role, required: Role): boolean {
  return roleRank(actual) >= roleRank(required)
}

/**
 * Whether `value` is one of the {@link SUBSCRIPTION_TIERS}.
 * @param value - any value
 * @returns true for a tier name (exact, case-sensitive)
 */
export function isTier(value: unknown): value is SubscriptionTier {
  return typeof value === 'string' && TIER_SET.has(value)
}

/**
 * Checks that `value` names a subscription tier.
 * @param value - any value, typically from a request or a table row
 * @returns the tier
 * @throws LakehouseError `INVALID_TIER` when `value` is not exactly one of
 *   {@link SUBSCRIPTION_TIERS}
 */
export function parseTier(value: unknown): SubscriptionTier {
  if (!isTier(value)) {
    fail(
      'INVALID_TIER',
      `auth: unknown subscription tier (expected one of ${SUBSCRIPTION_TIERS.join(', ')})`,
    )
  }
  return value
}

/**
 * The role a subscription tier grants to an approved user: `registered` for the free tier,
 * `trader` for every paid tier. Approval, admin rights and pending state are decided elsewhere.
 * @param tier - a subscription tier
 * @returns the granted role
 * @throws LakehouseError `INVALID_TIER` when called with a value that is not a tier
 */
export function roleForTier(tier: SubscriptionTier): Role {
  if (!isTier(tier)) fail('INVALID_TIER', 'auth: unknown subscription tier')
  return tier === 'free' ? 'registered' : 'trader'
}

/**
 * Typed rows of the `users` and `sessions` tables and the entries their live views keep.
 * @module
 */
import type { ViewCodec } from './table-view.js'

/** A user as the library returns it (camelCase; never the password hash). */
export interface UserRecord {
  readonly userId: string
  readonly username: string
  readonly email: string
  readonly role: string
  readonly subscriptionTier: string
  readonly firstName: string | null
  readonly lastName: string | null
  readonly isActive: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly lastLogin: Date | null
  readonly preferences: Readonly<Record<string, unknown>>
  readonly approvedAt: Date | null
  readonly approvedBy: string | null
  readonly rejectedAt: Date | null
}

/** The users view entry: the public record plus what authentication needs. */
export interface StoredUser {
  readonly record: UserRecord
  readonly usernameKey: string
  readonly emailKey: string
  readonly passwordHash: string
  /** The raw row (snake_case), for copy-on-write updates. */
  readonly row: Readonly<Record<string, unknown>>
}

/** The compact session entry the sessions view keeps (token verification needs only this). */
export interface SessionEntry {
  readonly sessionId: string
  readonly userId: string
  readonly expiresAt: number
  readonly revoked: boolean
  readonly createdAt: number
}

const USER_COLUMNS = [
  'user_id',
  'username',
  'username_key',
  'email',
  'email_key',
  'password_hash',
  'role',
  'subscription_tier',
  'first_name',
  'last_name',
  'is_active',
  'created_at',
  'updated_at',
  'last_login',
  'preferences_json',
  'approved_at',
  'approved_by',
  'rejected_at',
] as const

/** The preferences of users without any: one frozen object shared by all of them. */
const NO_PREFERENCES: Readonly<Record<string, unknown>> = Object.freeze({})

function parsePreferences(json: unknown): Readonly<Record<string, unknown>> {
  if (typeof json !== 'string' || json === '') return NO_PREFERENCES
  try {
    const v: unknown = JSON.parse(json)
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.freeze(v as Record<string, unknown>)
      : NO_PREFERENCES
  } catch {
    return NO_PREFERENCES
  }
}

/**
 * Builds the public record of a users row.
 * @param row - a `users` row
 * @returns the frozen record
 */
export function userRecordOf(row: Readonly<Record<string, unknown>>): UserRecord {
  return Object.freeze({
    userId: row.user_id as string,
    username: row.username as string,
    email: row.email as string,
    role: row.role as string,
    subscriptionTier: row.subscription_tier as string,
    firstName: (row.first_name as string | null) ?? null,
    lastName: (row.last_name as string | null) ?? null,
    isActive: row.is_active === true,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    lastLogin: (row.last_login as Date | null) ?? null,
    preferences: parsePreferences(row.preferences_json),
    approvedAt: (row.approved_at as Date | null) ?? null,
    approvedBy: (row.approved_by as string | null) ?? null,
    rejectedAt: (row.rejected_at as Date | null) ?? null,
  })
}

/** Codec of the users view (keyed by `user_id`). */
export const USER_CODEC: ViewCodec<StoredUser> = {
  columns: USER_COLUMNS,
  decode: (row) => ({
    record: userRecordOf(row),
    usernameKey: row.username_key as string,
    emailKey: row.email_key as string,
    passwordHash: row.password_hash as string,
    row,
  }),
  keyOf: (u) => u.record.userId,
}

/**
 * Codec of the sessions view (only what verification and revocation need: not the token hash,
 * which nothing in memory uses). Columns in table order, so a read returns its rows as decoded.
 */
export const SESSION_CODEC: ViewCodec<SessionEntry> = {
  columns: ['session_id', 'user_id', 'created_at', 'expires_at', 'is_revoked'],
  decode: (row) => ({
    sessionId: row.session_id as string,
    userId: row.user_id as string,
    expiresAt: (row.expires_at as Date).getTime(),
    revoked: row.is_revoked === true,
    createdAt: (row.created_at as Date).getTime(),
  }),
  keyOf: (s) => s.sessionId,
}

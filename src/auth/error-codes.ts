/**
 * Error codes of the auth module and their user-safe messages. Authentication failures are
 * deliberately generic: they never reveal which of username, password, token or session was
 * wrong (the reason goes to `context.reason`, for logs only).
 * @module
 */
import { defineErrorCodes } from '../common/lakehouse-error.js'

/** Codes and user-safe messages of the auth module. */
export const AUTH_ERROR_CODES = defineErrorCodes({
  INVALID_USERNAME: 'The username is not valid.',
  INVALID_EMAIL: 'The email address is not valid.',
  INVALID_PASSWORD: 'The password does not meet the length requirements.',
  WEAK_PASSWORD: 'The password is too common or too similar to the username or email.',
  INVALID_ROLE: 'Unknown role.',
  INVALID_TIER: 'Unknown subscription tier.',
  USER_EXISTS: 'A user with this username or email already exists.',
  INVALID_CREDENTIALS: 'Invalid username or password.',
  ACCOUNT_DISABLED: 'This account is disabled.',
  ACCOUNT_REJECTED: 'This account was not approved.',
  ACCOUNT_LOCKED: 'Too many failed logins; try again later.',
  INVALID_TOKEN: 'The token is invalid.',
  TOKEN_EXPIRED: 'The token has expired.',
  FORBIDDEN: 'You are not allowed to do this.',
  USER_NOT_FOUND: 'No such user.',
  LAST_ADMIN: 'The last active admin cannot be demoted, disabled or removed.',
  INVALID_STATE: 'The user is not in a state that allows this operation.',
  INVALID_INPUT: 'A field of the request is not valid.',
  INTERNAL_ERROR: 'An internal error occurred.',
})

/** An auth error code. */
export type AuthErrorCode = keyof typeof AUTH_ERROR_CODES

/**
 * Identifier and token generation from the platform CSPRNG.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'

/** Generates identifiers; injectable for deterministic tests. */
export interface IdGenerator {
  /** A random UUID (v4). */
  uuid(): string
  /** `bytes` random bytes, base64url-encoded. */
  token(bytes: number): string
}

/** The CSPRNG-backed generator. */
export const randomIds: IdGenerator = {
  uuid: () => randomUUID(),
  token: (bytes) => randomBytes(bytes).toString('base64url'),
}

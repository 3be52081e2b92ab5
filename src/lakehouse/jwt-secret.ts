/**
 * The development JWT secret: when no secret is configured outside production, 256 random bits
 * are generated once and kept under the base path (mode 0600), so tokens survive restarts.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { Logger } from '../common/logger.js'
import type { LakehouseConfig } from './lakehouse-config.js'

/** File name of the generated development secret, under the base path. */
export const DEV_SECRET_FILE = '.jwt-secret'

/**
 * Returns the configured secret, or loads/creates the development secret.
 * @param config - the configuration
 * @param logger - where to say that a secret was generated
 * @returns the secret bytes
 * @throws LakehouseError `CONFIG_INVALID` when the secret file is unreadable or malformed,
 *   `WEAK_SECRET` in production without a secret
 */
export async function resolveJwtSecret(
  config: LakehouseConfig,
  logger: Logger,
): Promise<Uint8Array> {
  if (config.jwtSecret) return config.jwtSecret
  if (config.environment === 'production') {
    throw new LakehouseError(
      'WEAK_SECRET',
      'lakehouse config: a JWT secret is required in production',
    )
  }
  const file = path.join(config.basePath, DEV_SECRET_FILE)
  await fs.mkdir(config.basePath, { recursive: true })
  const fresh = randomBytes(32).toString('base64url')
  // Write the secret to a private temporary file, then publish it with link(2), which fails
  // with EEXIST when the file exists: when several processes start at once, exactly one
  // creates the file, and nobody can read it before its content is complete (creating it with
  // O_EXCL and then writing would let a concurrent reader see an empty, "malformed" file).
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await fs.writeFile(temp, fresh + '\n', { mode: 0o600, flag: 'wx' })
    await fs.link(temp, file)
    logger.warn(
      `lakehouse: no JWT secret configured; generated a random 256-bit development secret in ${file} ` +
        '(mode 0600). Set POLARWAY_JWT_SECRET in production.',
    )
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LakehouseError(
        'CONFIG_INVALID',
        `lakehouse config: cannot create the development secret ${file}`,
        {
          cause: error,
        },
      )
    }
  } finally {
    await fs.rm(temp, { force: true })
  }
  const text = (await fs.readFile(file, 'utf8')).trim()
  if (text.length < 43) {
    throw new LakehouseError(
      'CONFIG_INVALID',
      `lakehouse config: the development secret in ${file} is malformed`,
    )
  }
  return new TextEncoder().encode(text)
}

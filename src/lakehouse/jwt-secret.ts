/**
 * The development JWT secret: when no secret is configured outside production, 256 random bits
 * are generated once and kept under the base path (mode 0600), so tokens survive restarts.
 *
 * An existing secret file is used only when it is exactly what this module writes: a regular
 * file (not a symbolic link, directory, FIFO, ...), private to its owner (no group or other
 * permission bits: a secret others could read may already have leaked, so it is refused rather
 * than silently re-protected), holding 43 base64url characters (32 random bytes) and at most
 * one line break. Anything else is refused with `CONFIG_INVALID`; the message says how to fix
 * the file (`chmod 600`) or to delete it, which generates a new secret and invalidates the
 * tokens signed with the old one.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { constants, promises as fs, type Stats } from 'node:fs'
import path from 'node:path'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { Logger } from '../common/logger.js'
import { ensureBaseDirectory, type LakehouseConfig } from './lakehouse-config.js'

/** File name of the generated development secret, under the base path. */
export const DEV_SECRET_FILE = '.jwt-secret'

/** The content of a secret file: base64url of 32 bytes, optionally followed by a line break. */
const SECRET_FILE_RE = /^([A-Za-z0-9_-]{43})\r?\n?$/

/**
 * Random secrets of 43 base64url characters use about 31 distinct characters; fewer than this
 * many (odds about 6e-14 for a random one) means a hand-written, guessable secret.
 */
const MIN_DISTINCT_CHARS = 16

/**
 * Returns the configured secret, or loads/creates the development secret.
 * @param config - the configuration
 * @param logger - where to say that a secret was generated
 * @returns the secret bytes (a copy)
 * @throws LakehouseError `CONFIG_INVALID` when the base path is not a directory, or the secret
 *   file cannot be created or read, is a symbolic link or not a regular file, is readable or
 *   writable by group or others, or does not hold a generated secret; `WEAK_SECRET` in
 *   production without a secret; `STORAGE_FAILURE` when the base directory cannot be created
 */
export async function resolveJwtSecret(
  config: LakehouseConfig,
  logger: Logger,
): Promise<Uint8Array> {
  const configured = config.jwtSecret
  if (configured) return configured
  if (config.environment === 'production') {
    throw new LakehouseError(
      'WEAK_SECRET',
      'lakehouse config: a JWT secret is required in production',
    )
  }
  const file = path.join(config.basePath, DEV_SECRET_FILE)
  await ensureBaseDirectory(config.basePath)
  const existing = await readSecretFile(file)
  if (existing !== undefined) return existing
  await createSecretFile(file, logger)
  const created = await readSecretFile(file)
  if (created === undefined) invalid(file, 'disappeared right after it was created')
  return created
}

/** Publishes a fresh secret at `file` unless some process already did. */
async function createSecretFile(file: string, logger: Logger): Promise<void> {
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
        { cause: error },
      )
    }
  } finally {
    await fs.rm(temp, { force: true })
  }
}

/**
 * Reads and checks the secret file.
 * @returns its secret, or undefined when there is no file
 */
async function readSecretFile(file: string): Promise<Uint8Array | undefined> {
  let entry: Stats
  try {
    entry = await fs.lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    invalid(file, 'cannot be examined', error)
  }
  checkEntry(file, entry)
  let text: string
  // O_NOFOLLOW and the checks of the opened file close the gap between lstat and open (a file
  // swapped for a link or FIFO meanwhile); O_NONBLOCK keeps a FIFO from blocking the open.
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(file, flags)
    const opened = await handle.stat()
    if (opened.ino !== entry.ino || opened.dev !== entry.dev) {
      invalid(file, 'was replaced while it was being read')
    }
    checkEntry(file, opened)
    // A generated file is 44 bytes; read a little more to recognize longer content.
    const buffer = Buffer.alloc(64)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    text = buffer.subarray(0, bytesRead).toString('latin1')
  } catch (error) {
    if (error instanceof LakehouseError) throw error
    invalid(file, 'cannot be read', error)
  } finally {
    await handle?.close()
  }
  const secret = SECRET_FILE_RE.exec(text)?.[1]
  if (secret === undefined) {
    invalid(
      file,
      'is malformed: it must hold the 43 base64url characters of a generated 32-byte secret',
    )
  }
  if (new Set(secret).size < MIN_DISTINCT_CHARS) {
    invalid(file, 'does not hold a random secret (too few distinct characters)')
  }
  return new TextEncoder().encode(secret)
}

/** Refuses links, non-regular files and files that group or others may access. */
function checkEntry(file: string, entry: Stats): void {
  if (entry.isSymbolicLink()) invalid(file, 'is a symbolic link; it must be a regular file')
  if (!entry.isFile()) invalid(file, 'is not a regular file')
  if (process.platform !== 'win32' && (entry.mode & 0o077) !== 0) {
    const mode = (entry.mode & 0o777).toString(8).padStart(4, '0')
    invalid(
      file,
      `is accessible by group or others (mode ${mode}); run chmod 600 on it if it never was ` +
        'readable by anyone else, or delete it to generate a new secret',
    )
  }
}

function invalid(file: string, problem: string, cause?: unknown): never {
  throw new LakehouseError(
    'CONFIG_INVALID',
    `lakehouse config: the development secret ${file} ${problem}`,
    { cause, context: { file } },
  )
}

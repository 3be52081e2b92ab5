import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEV_SECRET_FILE, resolveJwtSecret } from '../../src/lakehouse/jwt-secret.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { makeTempDir } from '../support/temp.js'
import { expectError, recordingLogger, TEST_SECRET } from './support/test-lakehouse.js'

const devConfig = (dir: string, env = 'development'): LakehouseConfig =>
  LakehouseConfig.builder().basePath(dir).environment(env).build()

describe('resolveJwtSecret', () => {
  it('returns the configured secret and writes no file', async () => {
    const dir = await makeTempDir('secret-')
    const logger = recordingLogger()
    const config = LakehouseConfig.builder().basePath(dir).jwtSecret(TEST_SECRET).build()
    const secret = await resolveJwtSecret(config, logger)
    expect(Buffer.from(secret).toString()).toBe(TEST_SECRET)
    expect(await fs.readdir(dir)).toEqual([])
    expect(logger.warnings).toEqual([])
  })

  it.each(['development', 'test'])(
    'generates 256 random bits under the base path with mode 0600 and says so (%s)',
    async (env) => {
      const dir = path.join(await makeTempDir('secret-'), 'not', 'yet', 'there')
      const logger = recordingLogger()
      const secret = await resolveJwtSecret(devConfig(dir, env), logger)
      const file = path.join(dir, DEV_SECRET_FILE)
      const text = Buffer.from(secret).toString()
      expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/) // base64url of 32 bytes
      expect(Buffer.from(text, 'base64url')).toHaveLength(32)
      expect((await fs.readFile(file, 'utf8')).trim()).toBe(text)
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
      expect(logger.warnings).toHaveLength(1)
      expect(logger.warnings[0]).toContain(file)
      expect(logger.warnings[0]).toMatch(/generated a random 256-bit development secret/)
      expect(logger.warnings[0]).not.toContain(text)
      expect(await fs.readdir(dir)).toEqual([DEV_SECRET_FILE])
    },
  )

  it('reuses the stored secret on the next open without generating another', async () => {
    const dir = await makeTempDir('secret-')
    const first = await resolveJwtSecret(devConfig(dir), recordingLogger())
    const logger = recordingLogger()
    const second = await resolveJwtSecret(devConfig(dir), logger)
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true)
    expect(logger.warnings).toEqual([])
  })

  it('creates the secret once when many opens race', async () => {
    const dir = await makeTempDir('secret-')
    const logger = recordingLogger()
    const secrets = await Promise.all(
      Array.from({ length: 16 }, () => resolveJwtSecret(devConfig(dir), logger)),
    )
    const texts = new Set(secrets.map((s) => Buffer.from(s).toString()))
    expect(texts.size).toBe(1)
    expect(logger.warnings).toHaveLength(1)
    // No temporary files are left behind by the losers.
    expect(await fs.readdir(dir)).toEqual([DEV_SECRET_FILE])
  })

  it('refuses a malformed secret file with CONFIG_INVALID', async () => {
    const dir = await makeTempDir('secret-')
    await fs.writeFile(path.join(dir, DEV_SECRET_FILE), 'short\n', { mode: 0o600 })
    const error = await expectError(
      () => resolveJwtSecret(devConfig(dir), recordingLogger()),
      'CONFIG_INVALID',
    )
    expect(error.message).not.toContain('short')
  })
})

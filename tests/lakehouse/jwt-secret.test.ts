import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
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
  it('refuses a base path that is a file with CONFIG_INVALID', async () => {
    const file = path.join(await makeTempDir('secret-'), 'file')
    await fs.writeFile(file, 'x')
    for (const dir of [file, path.join(file, 'sub')]) {
      const error = await expectError(
        () => resolveJwtSecret(devConfig(dir), recordingLogger()),
        'CONFIG_INVALID',
      )
      expect(error.message).toMatch(/is not a directory/)
    }
  })

  describe('an existing secret file', () => {
    const GOOD = randomBytes(32).toString('base64url')

    const withFile = async (content: string, mode = 0o600): Promise<string> => {
      const dir = await makeTempDir('secret-')
      const file = path.join(dir, DEV_SECRET_FILE)
      await fs.writeFile(file, content, { mode })
      await fs.chmod(file, mode) // whatever the umask
      return dir
    }

    it.each([
      ['with a line break', `${GOOD}\n`],
      ['without a line break', GOOD],
      ['with CRLF', `${GOOD}\r\n`],
    ])('is used when private and well-formed (%s)', async (_, content) => {
      const dir = await withFile(content)
      const secret = await resolveJwtSecret(devConfig(dir), recordingLogger())
      expect(Buffer.from(secret).toString()).toBe(GOOD)
    })

    it.each([0o644, 0o640, 0o604, 0o620, 0o602, 0o660])(
      'is refused with CONFIG_INVALID when group or others have permissions (mode %o), and left as is',
      async (mode) => {
        const dir = await withFile(`${GOOD}\n`, mode)
        const error = await expectError(
          () => resolveJwtSecret(devConfig(dir), recordingLogger()),
          'CONFIG_INVALID',
        )
        expect(error.message).toContain(`mode 0${mode.toString(8)}`)
        expect(error.message).toMatch(/chmod 600/)
        expect(error.message).not.toContain(GOOD)
        const file = path.join(dir, DEV_SECRET_FILE)
        expect((await fs.stat(file)).mode & 0o777).toBe(mode)
        expect(await fs.readFile(file, 'utf8')).toBe(`${GOOD}\n`)
      },
    )

    it.each([
      ['43 letters A', 'A'.repeat(43)],
      ['43 non-ASCII letters', '\u00e9'.repeat(43)],
      ['leading blanks', `  ${GOOD}`],
      ['a trailing blank', `${GOOD} `],
      ['42 characters', GOOD.slice(1)],
      ['44 characters', `${GOOD}A`],
      ['standard base64', `${GOOD.slice(0, 41)}+/`],
      ['two lines', `${GOOD}\n${GOOD}\n`],
      ['nothing', ''],
    ])('is refused with CONFIG_INVALID when it holds %s', async (_, content) => {
      const dir = await withFile(content)
      const error = await expectError(
        () => resolveJwtSecret(devConfig(dir), recordingLogger()),
        'CONFIG_INVALID',
      )
      expect(error.message).toContain(path.join(dir, DEV_SECRET_FILE))
      if (content !== '') expect(error.message).not.toContain(content.trim())
    })

    it('is refused with CONFIG_INVALID when it is a directory', async () => {
      const dir = await makeTempDir('secret-')
      await fs.mkdir(path.join(dir, DEV_SECRET_FILE))
      const error = await expectError(
        () => resolveJwtSecret(devConfig(dir), recordingLogger()),
        'CONFIG_INVALID',
      )
      expect(error.message).toMatch(/not a regular file/)
    })

    it('is refused with CONFIG_INVALID when it is a symbolic link, dangling or not', async () => {
      const dir = await makeTempDir('secret-')
      const target = path.join(await withFile(`${GOOD}\n`), DEV_SECRET_FILE)
      for (const to of [target, path.join(dir, 'nowhere')]) {
        await fs.rm(path.join(dir, DEV_SECRET_FILE), { force: true })
        await fs.symlink(to, path.join(dir, DEV_SECRET_FILE))
        const error = await expectError(
          () => resolveJwtSecret(devConfig(dir), recordingLogger()),
          'CONFIG_INVALID',
        )
        expect(error.message).toMatch(/symbolic link/)
      }
      // Nothing was created in place of the dangling link.
      await expect(fs.stat(path.join(dir, 'nowhere'))).rejects.toThrow()
    })

    it.skipIf(process.platform === 'win32')(
      'is refused with CONFIG_INVALID, without blocking, when it is a FIFO',
      async () => {
        const dir = await makeTempDir('secret-')
        execFileSync('mkfifo', ['-m', '600', path.join(dir, DEV_SECRET_FILE)])
        const error = await expectError(
          () => resolveJwtSecret(devConfig(dir), recordingLogger()),
          'CONFIG_INVALID',
        )
        expect(error.message).toMatch(/not a regular file/)
      },
    )
  })
})

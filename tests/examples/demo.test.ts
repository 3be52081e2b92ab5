/**
 * The README's main command (`npm start`, which runs `examples/demo.ts`) must keep working: it
 * runs here in a child process against a fresh lakehouse directory.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { makeTempDir } from '../support/temp.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')

describe('examples/demo.ts', () => {
  it('runs the tour end to end and prints each step', async () => {
    const dir = path.join(await makeTempDir('demo-'), 'lakehouse')
    const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx')
    const { stdout } = await run(tsx, [path.join(ROOT, 'examples', 'demo.ts')], {
      cwd: ROOT,
      env: { ...process.env, LAKEHOUSE_PATH: dir, NODE_ENV: 'development' },
      timeout: 60_000,
    })
    for (const line of [
      'approved by root_admin: role=trader',
      'wrong password -> INVALID_CREDENTIALS',
      'time travel: users table at version 2: pending',
      'after logout, verifyToken -> INVALID_TOKEN',
      'login with the new password ok',
      'the same reset token again -> INVALID_TOKEN',
      'users table history (newest first):',
    ]) {
      expect(stdout).toContain(line)
    }
  }, 90_000)
})

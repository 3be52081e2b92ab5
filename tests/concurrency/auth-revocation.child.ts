/**
 * Process B of auth-revocation.test.ts: a verifier that learns about revocations only through
 * the lakehouse.
 * Usage: node --import tsx auth-revocation.child.ts <lakehouse> <tokens.json>
 * (configured from the environment: `POLARWAY_JWT_SECRET`, `LAKEHOUSE_REFRESH_MS`).
 *
 * Opens the lakehouse with background refresh, checks that every token verifies, prints
 * `ready`, and after the start signal verifies every token every few milliseconds. When a
 * token first fails it prints one JSON line `{"index":i,"code":"...","at":<epoch ms>}`; when all
 * failed (or after 20 s) it exits.
 * @module
 */
import { readFileSync } from 'node:fs'
import { AuthService } from '../../src/auth/auth-service.js'
import { FastTestHasher } from '../../src/auth/password-hasher.js'
import { isLakehouseError } from '../../src/common/lakehouse-error.js'
import { silentLogger } from '../../src/common/logger.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { readyAndWaitForStart } from './support/child-process.js'

const [dir, tokensFile] = process.argv.slice(2)
if (!dir || !tokensFile)
  throw new Error('usage: auth-revocation.child.ts <lakehouse> <tokens.json>')
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[]
const config = LakehouseConfig.fromEnv({ ...process.env, LAKEHOUSE_PATH: dir, NODE_ENV: 'test' })
const store = await DeltaStore.open(config, { logger: silentLogger })
const auth = await AuthService.create(store, { hasher: new FastTestHasher() })

function check(token: string): string {
  try {
    auth.verifyToken(token)
    return 'OK'
  } catch (error) {
    if (isLakehouseError(error)) return error.code
    throw error
  }
}

const initial = tokens.map(check)
if (initial.some((c) => c !== 'OK'))
  throw new Error(`tokens do not verify at start: ${initial.join()}`)
await readyAndWaitForStart()
const pending = new Set(tokens.map((_, i) => i))
const deadline = Date.now() + 20_000
while (pending.size > 0 && Date.now() < deadline) {
  for (const i of [...pending]) {
    const code = check(tokens[i] as string)
    if (code !== 'OK') {
      pending.delete(i)
      process.stdout.write(`${JSON.stringify({ index: i, code, at: Date.now() })}\n`)
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 2))
}
await auth.close()
await store.close()

/**
 * One process of auth-register.test.ts.
 * Usage: node --import tsx auth-register.child.ts <lakehouse> <worker> <attempts> <username> <distinct>
 * (with `POLARWAY_JWT_SECRET` in the environment).
 *
 * Opens the lakehouse as a server process would (one store, one AuthService), then, after the
 * start signal, fires at once `attempts` registrations of one contested username (each with its
 * own email) and `distinct` registrations of usernames of its own (`<username>_w<worker>_<i>`). Prints one
 * JSON line `{"contested":[...],"distinct":[...]}`: each attempt's outcome, `created` or the
 * error code.
 * @module
 */
import { AuthService } from '../../src/auth/auth-service.js'
import { FastTestHasher } from '../../src/auth/password-hasher.js'
import { isLakehouseError } from '../../src/common/lakehouse-error.js'
import { silentLogger } from '../../src/common/logger.js'
import { DeltaStore } from '../../src/lakehouse/delta-store.js'
import { LakehouseConfig } from '../../src/lakehouse/lakehouse-config.js'
import { readyAndWaitForStart } from './support/child-process.js'

const [dir, worker, attemptsArg, username, distinctArg] = process.argv.slice(2)
if (!dir || !worker || !attemptsArg || !username || !distinctArg) {
  throw new Error(
    'usage: auth-register.child.ts <lakehouse> <worker> <attempts> <username> <distinct>',
  )
}
const config = LakehouseConfig.fromEnv({ ...process.env, LAKEHOUSE_PATH: dir, NODE_ENV: 'test' })
const store = await DeltaStore.open(config, { logger: silentLogger })
const auth = await AuthService.create(store, { hasher: new FastTestHasher() })

async function attempt(name: string, email: string): Promise<string> {
  try {
    await auth.register({ username: name, email, password: 'correct horse battery staple' })
    return 'created'
  } catch (error) {
    if (isLakehouseError(error)) return error.code
    throw error
  }
}

await readyAndWaitForStart()
const [contested, distinct] = await Promise.all([
  Promise.all(
    Array.from({ length: Number(attemptsArg) }, (_, i) =>
      attempt(username, `${username}.w${worker}.a${i}@example.com`),
    ),
  ),
  Promise.all(
    Array.from({ length: Number(distinctArg) }, (_, i) =>
      attempt(`${username}_w${worker}_${i}`, `${username}.w${worker}.d${i}@example.com`),
    ),
  ),
])
await auth.close()
await store.close()
process.stdout.write(`${JSON.stringify({ contested, distinct })}\n`)

/**
 * Child process of the multi-process put-if-absent race in local-fs-store.test.ts.
 * Usage: node --import tsx put-if-absent-race.child.ts <root> <worker> <keyCount> <threads|pool>
 * With `threads`, waits for the I/O threads to be online, so that every write goes through them
 * (the process must still exit by itself afterwards). Prints `ready`, waits for a line on stdin (the start signal, so that all workers race at
 * once), calls putIfAbsent on every key concurrently and prints the JSON list of keys it won.
 * @module
 */
import { sharedIoThreads } from '../../../src/delta/storage/io-threads.js'
import { LocalFsStore } from '../../../src/delta/storage/local-fs-store.js'

const [root, worker, keyCount, mode] = process.argv.slice(2)
if (root === undefined || worker === undefined || keyCount === undefined) {
  throw new Error('usage: put-if-absent-race.child.ts <root> <worker> <keyCount> <threads|pool>')
}
const threads = mode === 'threads'
if (threads && !(await sharedIoThreads().whenOnline())) throw new Error('no I/O threads')
const store = new LocalFsStore(root, { ioThreads: threads })
const keys = Array.from(
  { length: Number(keyCount) },
  (_, i) => `_delta_log/${String(i).padStart(20, '0')}.json`,
)

const started = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
process.stdout.write('ready\n')
await started
process.stdin.pause()

const won = await Promise.all(
  keys.map((key) => store.putIfAbsent(key, new TextEncoder().encode(`${worker} ${key}`))),
)
process.stdout.write(`${JSON.stringify(keys.filter((_, i) => won[i]))}\n`)

/**
 * The file-system calls of one durable commit, without any Delta logic: the floor that any
 * implementation of the commit protocol pays per commit on this disk. The calls are made as
 * the local store makes them: on the process's I/O threads (`src/delta/storage/io-threads.ts`),
 * a data file's create, write, fdatasync, close and directory fsync in one step beside a commit
 * file's create, write, fsync and close in another, then its link, the temp file's removal
 * and the log directory's fsync in a third (it waits for the threads to be online). With
 * `{ pool: true }`, through the libuv pool with file descriptors instead, as the store does
 * when it has no threads.
 * @module
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { sharedIoThreads } from '../../src/delta/storage/io-threads.js'
import type { IoAnswer, IoStep } from '../../src/delta/storage/io-threads.js'

/**
 * Whether the process's I/O threads are online, started and waited for once: the producers'
 * commits go to them once they are, and so do the floor's.
 */
let online: Promise<boolean> | undefined
const threadsOnline = (): Promise<boolean> => (online ??= sharedIoThreads().whenOnline())

function call<T>(fn: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value as T)))
  })
}

async function syncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r')
  try {
    await call<void>((done) => fs.fsync(fd, done))
  } finally {
    fs.closeSync(fd)
  }
}

/** Creates `file` with `data`; the caller syncs and closes the returned descriptor. */
async function createWith(file: string, data: Uint8Array): Promise<number> {
  const fd = await call<number>((done) => fs.open(file, 'wx', 0o666, done))
  await call<number>((done) => fs.write(fd, data, 0, data.byteLength, null, done))
  return fd
}

/**
 * One durable commit's I/O: a small data file written and fdatasync-ed with its directory, in
 * parallel with a commit file staged and fsync-ed; then the commit file linked into place and
 * the log directory fsync-ed.
 * @param dir - a table directory whose `_delta_log` exists
 * @param version - the commit number (names the file)
 */
export async function floorCommit(
  dir: string,
  version: number,
  options: { readonly pool?: boolean } = {},
): Promise<void> {
  const log = path.join(dir, '_delta_log')
  const data = new Uint8Array(1500).fill(7)
  const temp = path.join(log, `.${version}.${randomUUID()}.tmp`)
  const target = path.join(log, `${String(version).padStart(20, '0')}.json`)
  const file = path.join(dir, `part-${randomUUID()}.parquet`)
  if (options.pool !== true && (await threadsOnline())) {
    const io = sharedIoThreads()
    const step = (s: IoStep): Promise<IoAnswer> =>
      io.run(s) ?? Promise.reject(new Error('the I/O threads stopped'))
    await Promise.all([
      step({ op: 'create', file, data, full: false, syncDir: dir }),
      step({ op: 'create', file: temp, data, full: true }),
    ])
    if (!(await step({ op: 'link', from: temp, to: target, dir: log })).value) {
      throw new Error(`floor commit ${version} exists`)
    }
    return
  }
  await Promise.all([
    (async () => {
      const fd = await createWith(file, data)
      try {
        await Promise.all([call<void>((done) => fs.fdatasync(fd, done)), syncDir(dir)])
      } finally {
        fs.closeSync(fd)
      }
    })(),
    (async () => {
      const fd = await createWith(temp, data)
      try {
        await call<void>((done) => fs.fsync(fd, done))
      } finally {
        fs.closeSync(fd)
      }
    })(),
  ])
  await call<void>((done) => fs.link(temp, target, done))
  await Promise.all([call<void>((done) => fs.unlink(temp, done)), syncDir(log)])
}

/**
 * The file-system calls of one durable commit, without any Delta logic: the floor that any
 * implementation of the commit protocol pays per commit on this disk. The calls are made the
 * cheapest way Node offers, as the local store makes them: the ones that may wait for the
 * journal (create, write, sync, link, unlink) through the libuv pool with file descriptors,
 * the others (opening and closing a directory, closing a file) synchronously.
 * @module
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

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
export async function floorCommit(dir: string, version: number): Promise<void> {
  const log = path.join(dir, '_delta_log')
  const data = new Uint8Array(1500).fill(7)
  const temp = path.join(log, `.${version}.${randomUUID()}.tmp`)
  await Promise.all([
    (async () => {
      const fd = await createWith(path.join(dir, `part-${randomUUID()}.parquet`), data)
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
  await call<void>((done) =>
    fs.link(temp, path.join(log, `${String(version).padStart(20, '0')}.json`), done),
  )
  await Promise.all([call<void>((done) => fs.unlink(temp, done)), syncDir(log)])
}

/**
 * The file-system calls of one durable commit, without any Delta logic: the floor that any
 * implementation of the commit protocol pays per commit on this disk.
 * @module
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
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
      const h = await fs.open(path.join(dir, `part-${randomUUID()}.parquet`), 'wx')
      await h.writeFile(data)
      await Promise.all([h.datasync(), syncDir(dir)])
      await h.close()
    })(),
    (async () => {
      const h = await fs.open(temp, 'wx')
      await h.writeFile(data)
      await h.sync()
      await h.close()
    })(),
  ])
  await fs.link(temp, path.join(log, `${String(version).padStart(20, '0')}.json`))
  await Promise.all([fs.unlink(temp), syncDir(log)])
}

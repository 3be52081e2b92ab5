import { spawn } from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeltaError } from '../../../src/delta/errors.js'
import type { DeltaErrorCode } from '../../../src/delta/errors.js'
import { sharedIoThreads } from '../../../src/delta/storage/io-threads.js'
import { LocalFsStore } from '../../../src/delta/storage/local-fs-store.js'
import { describeObjectStoreContract } from '../../contracts/object-store.contract.js'
import { cleanupTempDirs, makeTempDir, removeTempDir } from '../../support/temp.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '../../..')
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

afterAll(cleanupTempDirs)

// Every test of the store runs twice: with the small durable writes on the process's I/O
// threads (the default, once they are online) and with every call through the libuv pool.
const MODES = [
  { name: 'I/O threads', ioThreads: true },
  { name: 'libuv pool', ioThreads: false },
] as const

beforeAll(async () => {
  expect(await sharedIoThreads().whenOnline()).toBe(true)
})

for (const mode of MODES) {
  describeObjectStoreContract(`LocalFsStore (${mode.name})`, async () => {
    const dir = await makeTempDir('local-store-')
    return {
      store: new LocalFsStore(path.join(dir, 'table'), { ioThreads: mode.ioThreads }),
      cleanup: () => removeTempDir(dir),
    }
  })
}

async function expectDeltaError(promise: Promise<unknown>, code: DeltaErrorCode): Promise<void> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeltaError)
  expect((error as DeltaError).code).toBe(code)
}

/** Every entry name in a directory tree, relative, dot-files and directories included. */
async function allEntries(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true })
  return entries.map((e) => e.split(path.sep).join('/')).sort()
}

for (const mode of MODES) {
  const openStore = (root: string): LocalFsStore =>
    new LocalFsStore(root, { ioThreads: mode.ioThreads })

  describe(`LocalFsStore (${mode.name})`, () => {
    let sentBefore = 0
    beforeAll(() => {
      sentBefore = sharedIoThreads().stepsSent
    })
    afterAll(() => {
      // The writes of this block went where the mode says.
      const sent = sharedIoThreads().stepsSent - sentBefore
      if (mode.ioThreads) expect(sent).toBeGreaterThan(0)
      else expect(sent).toBe(0)
    })

    it('rejects an empty root directory at construction', () => {
      expect(() => openStore('')).toThrow(DeltaError)
    })

    it('resolves the root to an absolute location without touching the disk', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(path.join(dir, 'not', 'yet'))
      expect(store.location).toBe(path.join(dir, 'not', 'yet'))
      expect(await allEntries(dir)).toEqual([])
      expect(await store.listKeys('', { recursive: true })).toEqual([])
      expect(await store.head('x')).toBeUndefined()
    })

    it('creates the root and parent directories on the first write', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(path.join(dir, 'root'))
      expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', bytes('{}'))).toBe(
        true,
      )
      expect(await allEntries(dir)).toEqual([
        'root',
        'root/_delta_log',
        'root/_delta_log/00000000000000000000.json',
      ])
    })

    it('leaves no temp files behind after put and putIfAbsent', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(dir)
      await store.put('p/a', bytes('1'))
      await store.put('p/a', bytes('2'))
      expect(await store.putIfAbsent('p/b', bytes('3'))).toBe(true)
      expect(await store.putIfAbsent('p/b', bytes('4'))).toBe(false)
      expect(await allEntries(dir)).toEqual(['p', 'p/a', 'p/b'])
    })

    it('removes its temp file and reports STORAGE_ERROR when the key is a directory', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(dir)
      await store.put('d/child', bytes('x'))
      await expectDeltaError(store.put('d', bytes('y')), 'STORAGE_ERROR')
      await expectDeltaError(store.putIfAbsent('d', bytes('y')), 'STORAGE_ERROR')
      expect(await allEntries(dir)).toEqual(['d', 'd/child'])
    })

    it('wraps file-system failures in STORAGE_ERROR with the key and the cause', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(dir)
      await store.put('file', bytes('x'))
      const error = await store.put('file/below', bytes('y')).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(DeltaError)
      expect(error).toMatchObject({ code: 'STORAGE_ERROR', context: { key: 'file/below' } })
      expect((error as DeltaError).cause).toBeInstanceOf(Error)
    })

    it('reports the file modification time in integer milliseconds', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(dir)
      await store.put('_delta_log/00000000000000000000.json', bytes('{}'))
      const file = path.join(dir, '_delta_log', '00000000000000000000.json')
      await fs.utimes(file, 1_600_000_000.5, 1_600_000_000.1239)
      const expected = Math.floor((await fs.stat(file)).mtimeMs)
      expect(expected).toBe(1_600_000_000_123)
      expect((await store.head('_delta_log/00000000000000000000.json'))?.lastModified).toBe(
        expected,
      )
      expect((await store.list('_delta_log/'))[0]?.lastModified).toBe(expected)
    })

    it('lists and reads files written by other programs, symbolic links to files included', async () => {
      const dir = await makeTempDir('local-store-')
      await fs.mkdir(path.join(dir, 'data', 'nested'), { recursive: true })
      await fs.writeFile(path.join(dir, 'data', 'real.parquet'), 'abc')
      await fs.symlink(
        path.join(dir, 'data', 'real.parquet'),
        path.join(dir, 'data', 'link.parquet'),
      )
      await fs.symlink(path.join(dir, 'data', 'nested'), path.join(dir, 'data', 'dirlink'))
      await fs.writeFile(path.join(dir, 'data', 'nested', 'n'), 'n')
      const store = openStore(dir)
      expect(await store.listKeys('data/')).toEqual(['data/link.parquet', 'data/real.parquet'])
      expect(await store.listKeys('data/', { recursive: true })).toEqual([
        'data/link.parquet',
        'data/nested/n',
        'data/real.parquet',
      ])
      expect(new TextDecoder().decode(await store.get('data/link.parquet'))).toBe('abc')
    })

    it('lists a 10,000-file log directory with listKeys quickly', async () => {
      const dir = await makeTempDir('local-store-')
      const log = path.join(dir, '_delta_log')
      await fs.mkdir(log)
      const names = Array.from({ length: 10_000 }, (_, i) => `${String(i).padStart(20, '0')}.json`)
      for (let i = 0; i < names.length; i += 500) {
        await Promise.all(names.slice(i, i + 500).map((n) => fs.writeFile(path.join(log, n), '')))
      }
      const store = openStore(dir)
      const started = performance.now()
      const keys = await store.listKeys('_delta_log/')
      const elapsed = performance.now() - started
      expect(keys).toEqual(names.map((n) => `_delta_log/${n}`))
      expect(await store.listKeys('_delta_log/', { startAfter: keys[9_989] })).toEqual(
        keys.slice(9_990),
      )
      // Generous bound: readdir + sort takes tens of milliseconds; a stat per file would not fail
      // this on a fast disk, but a quadratic sort or per-file I/O on a slow one would.
      expect(elapsed).toBeLessThan(2_000)
    })

    it('lets exactly one of 4 processes win each of 20 keys', async () => {
      const dir = await makeTempDir('local-store-race-')
      const child = path.join(here, 'put-if-absent-race.child.ts')
      const workers = Array.from({ length: 4 }, (_, worker) => {
        const args = [child, dir, String(worker), '20', mode.ioThreads ? 'threads' : 'pool']
        const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
          cwd: repoRoot,
          stdio: ['pipe', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        let onReady: () => void = () => undefined
        const ready = new Promise<void>((resolve) => (onReady = resolve))
        proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk
          if (stdout.startsWith('ready\n')) onReady()
        })
        proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
        const exited = new Promise<string[]>((resolve, reject) => {
          proc.on('error', reject)
          proc.on('close', (code) => {
            onReady()
            if (code !== 0) reject(new Error(`worker ${worker} exited with ${code}: ${stderr}`))
            else resolve(JSON.parse(stdout.slice('ready\n'.length)) as string[])
          })
        })
        return { proc, ready, exited }
      })
      await Promise.all(workers.map((w) => w.ready))
      for (const w of workers) w.proc.stdin.end('go\n')
      const won = await Promise.all(workers.map((w) => w.exited))

      const winners = new Map<string, number>()
      won.forEach((keys, worker) => {
        for (const key of keys) {
          expect(winners.has(key)).toBe(false)
          winners.set(key, worker)
        }
      })
      expect(winners.size).toBe(20)
      const store = openStore(dir)
      for (const [key, worker] of winners) {
        expect(new TextDecoder().decode(await store.get(key))).toBe(`${worker} ${key}`)
      }
      expect(await allEntries(path.join(dir, '_delta_log'))).toEqual(
        [...winners.keys()].map((k) => k.slice('_delta_log/'.length)).sort(),
      )
    }, 60_000)
  })

  describe(`LocalFsStore commit fast paths (${mode.name})`, () => {
    it('putNew creates a file in place, durably, and refuses an existing key', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(path.join(dir, 'root'))
      await store.putNew('p=1/part-0.parquet', bytes('data'))
      expect(new TextDecoder().decode(await store.get('p=1/part-0.parquet'))).toBe('data')
      expect(await allEntries(path.join(dir, 'root'))).toEqual(['p=1', 'p=1/part-0.parquet'])
      await expectDeltaError(store.putNew('p=1/part-0.parquet', bytes('other')), 'STORAGE_ERROR')
      expect(new TextDecoder().decode(await store.get('p=1/part-0.parquet'))).toBe('data')
    })

    it('stagePutIfAbsent publishes only on publish() and cleans up on discard()', async () => {
      const dir = await makeTempDir('local-store-')
      const store = openStore(path.join(dir, 'root'))
      const key = '_delta_log/00000000000000000001.json'
      const staged = await store.stagePutIfAbsent(key, bytes('one'))
      expect(await store.head(key)).toBeUndefined()
      expect(await staged.publish()).toBe(true)
      expect(new TextDecoder().decode(await store.get(key))).toBe('one')
      const loser = await store.stagePutIfAbsent(key, bytes('two'))
      expect(await loser.publish()).toBe(false)
      const dropped = await store.stagePutIfAbsent(
        '_delta_log/00000000000000000002.json',
        bytes('x'),
      )
      await dropped.discard()
      await expect(dropped.publish()).rejects.toMatchObject({ code: 'INTERNAL' })
      expect(await allEntries(path.join(dir, 'root', '_delta_log'))).toEqual([
        '00000000000000000001.json',
      ])
      expect(new TextDecoder().decode(await store.get(key))).toBe('one')
    })
  })
}

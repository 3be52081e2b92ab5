import { execFile } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { DeltaTable } from '../../../src/delta/index.js'
import { IO_THREAD_MAX_BYTES, IoThreads } from '../../../src/delta/storage/io-threads.js'
import type { IoThreadError, TrackedStep } from '../../../src/delta/storage/io-threads.js'
import { LocalFsStore } from '../../../src/delta/storage/local-fs-store.js'
import { cleanupTempDirs, makeTempDir } from '../../support/temp.js'

afterAll(cleanupTempDirs)

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The promise of a step that must have been handed to a thread. */
function ran<T>(promise: Promise<T> | undefined): Promise<T> {
  expect(promise).toBeDefined()
  return promise as Promise<T>
}

/** Runs `body` with threads of its own, online, and a fresh directory; closes the threads. */
async function withThreads(body: (io: IoThreads, dir: string) => Promise<void>): Promise<void> {
  const io = new IoThreads()
  const dir = await makeTempDir('io-threads-')
  try {
    expect(await io.whenOnline()).toBe(true)
    await body(io, dir)
  } finally {
    await io.close()
  }
}

async function failure(promise: Promise<unknown> | undefined): Promise<IoThreadError> {
  expect(promise).toBeDefined()
  return (promise as Promise<unknown>).then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e as IoThreadError,
  )
}

describe('IoThreads', () => {
  it('answers undefined before the threads are online, then runs steps on them', async () => {
    const io = new IoThreads()
    const dir = await makeTempDir('io-threads-')
    try {
      const file = path.join(dir, 'early')
      // The first step starts the threads; they are not online yet.
      expect(io.run({ op: 'create', file, data: bytes('x'), full: false })).toBeUndefined()
      expect(io.stepsSent).toBe(0)
      expect(await io.whenOnline()).toBe(true)
      const answer = await io.run({ op: 'create', file, data: bytes('hello'), full: true })
      expect(answer).toEqual({ value: true })
      expect(await fs.readFile(file, 'utf8')).toBe('hello')
      expect(io.stepsSent).toBe(1)
    } finally {
      await io.close()
    }
  })

  it('creates files with their exact bytes and syncs the directory when asked', () =>
    withThreads(async (io, dir) => {
      const data = new Uint8Array(IO_THREAD_MAX_BYTES).map((_, i) => (i * 31) % 256)
      const files = Array.from({ length: 20 }, (_, i) => path.join(dir, `f${i}`))
      await Promise.all(
        files.map((file) => ran(io.run({ op: 'create', file, data, full: false, syncDir: dir }))),
      )
      for (const file of files) expect(new Uint8Array(await fs.readFile(file))).toEqual(data)
      const empty = path.join(dir, 'empty')
      await io.run({ op: 'create', file: empty, data: new Uint8Array(0), full: true })
      expect((await fs.stat(empty)).size).toBe(0)
    }))

  it('reports the file system errors with their code, syscall and stage', () =>
    withThreads(async (io, dir) => {
      const file = path.join(dir, 'taken')
      await fs.writeFile(file, 'theirs')
      const exists = await failure(io.run({ op: 'create', file, data: bytes('mine'), full: false }))
      expect(exists).toBeInstanceOf(Error)
      expect(exists).toMatchObject({ code: 'EEXIST', syscall: 'open', stage: 'create' })
      expect(await fs.readFile(file, 'utf8')).toBe('theirs')

      const missingDir = path.join(dir, 'no', 'such')
      const missing = await failure(
        io.run({ op: 'create', file: path.join(missingDir, 'f'), data: bytes('x'), full: false }),
      )
      expect(missing).toMatchObject({ code: 'ENOENT', stage: 'create' })

      const written = path.join(dir, 'written')
      const dirSync = await failure(
        io.run({ op: 'create', file: written, data: bytes('x'), full: false, syncDir: missingDir }),
      )
      expect(dirSync).toMatchObject({ code: 'ENOENT', stage: 'sync of directory' })
      // The file itself was written and synced before the directory's sync failed.
      expect(await fs.readFile(written, 'utf8')).toBe('x')
    }))

  it('links only when the target is absent, and removes the temp file after a link', () =>
    withThreads(async (io, dir) => {
      const target = path.join(dir, 'target')
      await fs.writeFile(path.join(dir, '.a.tmp'), 'a')
      await fs.writeFile(path.join(dir, '.b.tmp'), 'b')
      const first = io.run({ op: 'link', from: path.join(dir, '.a.tmp'), to: target, dir })
      expect(await first).toEqual({ value: true })
      const second = io.run({ op: 'link', from: path.join(dir, '.b.tmp'), to: target, dir })
      expect(await second).toEqual({ value: false })
      expect(await fs.readFile(target, 'utf8')).toBe('a')
      // The winner's temp file is gone; the loser's stays for its caller to remove.
      expect((await fs.readdir(dir)).sort()).toEqual(['.b.tmp', 'target'])
      const gone = await failure(
        io.run({ op: 'link', from: path.join(dir, '.missing'), to: path.join(dir, 't2'), dir }),
      )
      expect(gone).toMatchObject({ code: 'ENOENT', syscall: 'link', stage: 'link' })
    }))

  it('leaves files above the hand-off limit to the pool', () =>
    withThreads((io, dir) => {
      const big = new Uint8Array(IO_THREAD_MAX_BYTES + 1)
      expect(io.run({ op: 'create', file: path.join(dir, 'big'), data: big, full: false })).toBe(
        undefined,
      )
      expect(io.stepsSent).toBe(0)
      return Promise.resolve()
    }))

  it('rejects the steps of closed threads, and a store goes on through the pool', async () => {
    const io = new IoThreads()
    const dir = await makeTempDir('io-threads-')
    expect(await io.whenOnline()).toBe(true)
    const store = new LocalFsStore(dir, { ioThreads: io })
    await store.putNew('before.parquet', bytes('1'))
    expect(io.stepsSent).toBe(1)
    // Steps in flight when the threads stop are rejected (or answered, if they were done).
    const inFlight = Array.from({ length: 50 }, (_, i) =>
      ran(io.run({ op: 'create', file: path.join(dir, `f${i}`), data: bytes('x'), full: true })),
    )
    const settled = Promise.allSettled(inFlight)
    await io.close()
    const outcomes = await settled
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(String(outcome.reason)).toMatch(/I\/O thread exited/)
      }
    }
    expect(await io.whenOnline()).toBe(false)
    expect(io.run({ op: 'create', file: path.join(dir, 'x'), data: bytes('x'), full: false })).toBe(
      undefined,
    )
    const sent = io.stepsSent
    await store.putNew('after.parquet', bytes('2'))
    expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', bytes('{}'))).toBe(true)
    expect(io.stepsSent).toBe(sent)
    expect(await store.listKeys('', { recursive: true })).toEqual(
      expect.arrayContaining(['_delta_log/00000000000000000000.json', 'after.parquet']),
    )
  })
})

describe('LocalFsStore on I/O threads', () => {
  it('maps thread errors to the same STORAGE_ERRORs as the pool path', () =>
    withThreads(async (io, dir) => {
      const store = new LocalFsStore(dir, { ioThreads: io })
      await store.putNew('a/part-0.parquet', bytes('data'))
      // An existing key is refused, and the file that was there is not removed.
      await expect(store.putNew('a/part-0.parquet', bytes('other'))).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
        context: { key: 'a/part-0.parquet', op: 'putNew' },
      })
      expect(new TextDecoder().decode(await store.get('a/part-0.parquet'))).toBe('data')
      // A key below a file cannot be created.
      await expect(store.putNew('a/part-0.parquet/x', bytes('y'))).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
      })
      await expect(store.putIfAbsent('a/part-0.parquet/x', bytes('y'))).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
      })
      expect((await fs.readdir(path.join(dir, 'a'))).sort()).toEqual(['part-0.parquet'])
      expect(io.stepsSent).toBeGreaterThanOrEqual(3)
    }))
})

describe('POLARWAY_IO_THREADS', () => {
  it('=0 keeps every write of the process in the pool', async () => {
    const dir = await makeTempDir('io-threads-env-')
    const script = `
      import { sharedIoThreads } from './src/delta/storage/io-threads.ts'
      import { LocalFsStore } from './src/delta/storage/local-fs-store.ts'
      const io = sharedIoThreads()
      const online = await io.whenOnline()
      const store = new LocalFsStore(${JSON.stringify(dir)})
      await store.putNew('part-0.parquet', new Uint8Array([1]))
      const won = await store.putIfAbsent('_delta_log/00000000000000000000.json', new Uint8Array([2]))
      console.log(JSON.stringify({ online, won, sent: io.stepsSent }))
    `
    const run = (env: NodeJS.ProcessEnv): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script],
          { cwd: path.resolve(import.meta.dirname, '../../..'), env },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout.trim()),
        )
      })
    expect(JSON.parse(await run({ ...process.env, POLARWAY_IO_THREADS: '0' }))).toEqual({
      online: false,
      won: true,
      sent: 0,
    })
    await fs.rm(dir, { recursive: true, force: true })
    // Run as a module (--input-type=module), the threads' code works too.
    const on = JSON.parse(await run({ ...process.env, POLARWAY_IO_THREADS: '' })) as {
      sent: number
    }
    expect(on).toMatchObject({ online: true, won: true })
    expect(on.sent).toBeGreaterThanOrEqual(3)
  })
})

describe('IoThreads payloads', () => {
  it('writes exactly the bytes of a view into a larger buffer', () =>
    withThreads(async (io, dir) => {
      const big = new Uint8Array(4 << 20).map((_, i) => i % 251)
      const view = big.subarray(1000, 1000 + 4096)
      const file = path.join(dir, 'view')
      expect(await ran(io.run({ op: 'create', file, data: view, full: false }))).toEqual({
        value: true,
      })
      expect(new Uint8Array(await fs.readFile(file))).toEqual(view)
    }))

  it('hands a thread a copy of the view alone, and a whole buffer as it is', () =>
    withThreads(async (io, dir) => {
      // What each message carries: the byte length of the buffer behind the step's data.
      const sent: number[] = []
      const post = Object.getOwnPropertyDescriptor(Worker.prototype, 'postMessage')
        ?.value as Worker['postMessage']
      const spy = vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (
        this: Worker,
        message: unknown,
        transfer?: Parameters<Worker['postMessage']>[1],
      ) {
        const step = (message as { step?: { data?: Uint8Array } }).step
        if (step?.data) sent.push(step.data.buffer.byteLength)
        post.call(this, message, transfer)
      })
      try {
        const big = new Uint8Array(4 << 20).fill(7)
        const view = big.subarray(4096, 4096 + 1000)
        await ran(io.run({ op: 'create', file: path.join(dir, 'a'), data: view, full: false }))
        const whole = new Uint8Array(1000).fill(8)
        await ran(io.run({ op: 'create', file: path.join(dir, 'b'), data: whole, full: false }))
      } finally {
        spy.mockRestore()
      }
      // Not the 4 MiB buffer behind the view.
      expect(sent).toEqual([1000, 1000])
    }))
})

/** Fresh threads, and a store on them and one on the pool, both rooted at `<dir>/r<round>`. */
async function storesOfRound(
  dir: string,
  round: number,
): Promise<{ io: IoThreads; root: string; threaded: LocalFsStore; pooled: LocalFsStore }> {
  const io = new IoThreads()
  expect(await io.whenOnline()).toBe(true)
  const root = path.join(dir, `r${round}`)
  return {
    io,
    root,
    threaded: new LocalFsStore(root, { ioThreads: io }),
    pooled: new LocalFsStore(root, { ioThreads: false }),
  }
}

describe('LocalFsStore when its I/O threads die mid-write', () => {
  it('finishes every write through the pool with the right outcome', async () => {
    const dir = await makeTempDir('io-threads-death-')
    for (let round = 0; round < 5; round++) {
      const { io, root, threaded, pooled } = await storesOfRound(dir, round)
      const keys = Array.from(
        { length: 40 },
        (_, i) => `_delta_log/${String(i).padStart(20, '0')}.json`,
      )
      const writes = [
        ...keys.map((_, i) => threaded.putNew(`part-${i}.parquet`, bytes(`data ${i}`))),
        ...keys.flatMap((key) => [
          threaded.putIfAbsent(key, bytes(`threaded ${key}`)).then((won) => ['threaded', won]),
          pooled.putIfAbsent(key, bytes(`pooled ${key}`)).then((won) => ['pooled', won]),
        ]),
      ]
      // The threads die while the steps are in flight (at a different moment each round).
      await new Promise((resolve) => setTimeout(resolve, round))
      const closing = io.close()
      const outcomes = await Promise.all(writes)
      await closing
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string
        const [a, b] = outcomes.slice(keys.length + 2 * i, keys.length + 2 * i + 2) as [
          [string, boolean],
          [string, boolean],
        ]
        // Exactly one writer won each key, and the key holds the winner's bytes.
        expect(a[1] !== b[1]).toBe(true)
        const winner = a[1] ? a[0] : b[0]
        expect(new TextDecoder().decode(await pooled.get(key))).toBe(`${winner} ${key}`)
        expect(new TextDecoder().decode(await pooled.get(`part-${i}.parquet`))).toBe(`data ${i}`)
      }
      // No temp file is left behind.
      expect((await fs.readdir(path.join(root, '_delta_log'))).sort()).toEqual(
        keys.map((k) => k.slice('_delta_log/'.length)),
      )
    }
  })
})

const text = async (file: string): Promise<string> => fs.readFile(file, 'utf8')

function defined<T>(value: T | undefined): T {
  expect(value).toBeDefined()
  return value as T
}

/** A tracked data-file step that must have been handed to a thread. */
function trackedData(io: IoThreads, file: string, data: string, syncDir?: string): TrackedStep {
  return defined(io.runTracked({ op: 'create', file, data: bytes(data), full: false, syncDir }))
}

/**
 * A staged commit file, a data-file step on the other thread that blocks until the test lets
 * it go (syncing a "directory" that is a FIFO opens it for reading, which waits for a writer;
 * the sync then fails with EINVAL), and a link behind the staged file, on its thread, that must
 * wait for the blocked step.
 */
async function linkBehindBlockedStep(io: IoThreads, dir: string) {
  const fifo = path.join(dir, 'fifo')
  await promisify(execFile)('mkfifo', [fifo])
  const temp = path.join(dir, '.commit.tmp')
  const staged = defined(
    io.runTracked({ op: 'create', file: temp, data: bytes('commit'), full: true }),
  )
  const blockedFile = path.join(dir, 'part-0')
  const blocked = trackedData(io, blockedFile, 'rows', fifo)
  blocked.answer.catch(() => undefined)
  expect(blocked.thread).not.toBe(staged.thread)
  const target = path.join(dir, '00.json')
  const linked = defined(
    io.runAfter({ op: 'link', from: temp, to: target, dir }, [staged, blocked]),
  )
  return { fifo, temp, target, staged, blocked, blockedFile, linked }
}

describe('IoThreads ordered links', () => {
  it('links after the tracked steps it waits for, and frees their slots', () =>
    withThreads(async (io, dir) => {
      const free = io.freeSlots
      const data = trackedData(io, path.join(dir, 'part-0'), 'rows', dir)
      const temp = path.join(dir, '.commit.tmp')
      const staged = defined(
        io.runTracked({ op: 'create', file: temp, data: bytes('commit'), full: true }),
      )
      expect(io.freeSlots).toBe(free - 2)
      const target = path.join(dir, '00.json')
      const linked = defined(
        io.runAfter({ op: 'link', from: temp, to: target, dir }, [data, staged]),
      )
      expect(await linked).toEqual({ value: true })
      expect(await data.answer).toEqual({ value: true })
      expect(await staged.answer).toEqual({ value: true })
      expect(data.status).toBe('succeeded')
      expect(await text(target)).toBe('commit')
      expect(await text(path.join(dir, 'part-0'))).toBe('rows')
      expect((await fs.readdir(dir)).sort()).toEqual(['00.json', 'part-0'])
      // Every slot is back once the steps and the link have answered.
      await new Promise((resolve) => setImmediate(resolve))
      expect(io.freeSlots).toBe(free)
    }))

  it('does not wait for steps whose answer has arrived', () =>
    withThreads(async (io, dir) => {
      const data = trackedData(io, path.join(dir, 'part-0'), 'rows')
      await data.answer
      await fs.writeFile(path.join(dir, '.c.tmp'), 'commit')
      const linked = io.runAfter(
        { op: 'link', from: path.join(dir, '.c.tmp'), to: path.join(dir, '00.json'), dir },
        [data],
      )
      expect(await defined(linked)).toEqual({ value: true })
    }))

  it('answers undefined for a step that failed already, or one of other threads', async () => {
    const other = new IoThreads()
    try {
      await withThreads(async (io, dir) => {
        expect(await other.whenOnline()).toBe(true)
        await fs.writeFile(path.join(dir, 'taken'), 'x')
        const failed = trackedData(io, path.join(dir, 'taken'), 'y')
        await expect(failed.answer).rejects.toMatchObject({ code: 'EEXIST' })
        expect(failed.status).toBe('failed')
        const link = {
          op: 'link',
          from: path.join(dir, '.t'),
          to: path.join(dir, 't'),
          dir,
        } as const
        expect(io.runAfter(link, [failed])).toBeUndefined()
        const foreign = defined(
          other.runTracked({
            op: 'create',
            file: path.join(dir, 'f'),
            data: bytes('y'),
            full: false,
          }),
        )
        expect(io.runAfter(link, [foreign])).toBeUndefined()
        await foreign.answer
      })
    } finally {
      await other.close()
    }
  })

  it('waits on the other thread while a step runs, and links nothing when it fails', () =>
    withThreads(async (io, dir) => {
      const { fifo, temp, target, staged, blocked, linked } = await linkBehindBlockedStep(io, dir)
      let answered = false
      void linked.then(() => (answered = true))
      await staged.answer
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(answered).toBe(false)
      await expect(fs.stat(target)).rejects.toMatchObject({ code: 'ENOENT' })
      const writer = await fs.open(fifo, 'w')
      await writer.close()
      await expect(blocked.answer).rejects.toMatchObject({ stage: 'sync of directory' })
      expect(await linked).toEqual({ value: false, aborted: true })
      await expect(fs.stat(target)).rejects.toMatchObject({ code: 'ENOENT' })
      // The staged file is left to its caller.
      expect(await text(temp)).toBe('commit')
    }))

  it('counts a reply it cannot read as the failure of its thread, so no link waits on it', () =>
    withThreads(async (io, dir) => {
      const sent = vi.spyOn(Worker.prototype, 'postMessage')
      const { fifo, temp, target, staged, blocked, blockedFile, linked } =
        await linkBehindBlockedStep(io, dir)
      await staged.answer
      // The worker that was handed the blocked step.
      const index = sent.mock.calls.findIndex(
        ([message]) => (message as { step?: { file?: string } }).step?.file === blockedFile,
      )
      const worker = sent.mock.contexts[index] as Worker
      sent.mockRestore()
      let exited = false
      const exit = new Promise((resolve) => worker.once('exit', resolve)).then(() => {
        exited = true
      })
      worker.emit('messageerror', new Error('could not deserialize'))
      const error = await failure(blocked.answer)
      expect(error.message).toContain('could not be read')
      // The link on the other thread woke up and linked nothing.
      expect(await linked).toEqual({ value: false, aborted: true })
      await expect(fs.stat(target)).rejects.toMatchObject({ code: 'ENOENT' })
      // Later steps go to the pool.
      expect(io.run({ op: 'link', from: temp, to: target, dir })).toBeUndefined()
      // The thread is being stopped: it exits before the FIFO, or once a writer lets it go.
      while (!exited) {
        try {
          const writer = await fs.open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)
          await writer.close()
        } catch (error) {
          expect(error).toMatchObject({ code: 'ENXIO' }) // no reader (yet)
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await exit
    }))

  it('settles every link when the threads stop with tracked steps in flight', async () => {
    const dir = await makeTempDir('io-ordered-')
    for (let round = 0; round < 5; round++) {
      const io = new IoThreads()
      expect(await io.whenOnline()).toBe(true)
      const links = Array.from({ length: 30 }, (_, i) => {
        const data = trackedData(io, path.join(dir, `r${round}-part-${i}`), 'x')
        const temp = path.join(dir, `.r${round}-${i}.tmp`)
        const staged = defined(
          io.runTracked({ op: 'create', file: temp, data: bytes('c'), full: true }),
        )
        data.answer.catch(() => undefined)
        staged.answer.catch(() => undefined)
        return defined(
          io.runAfter({ op: 'link', from: temp, to: path.join(dir, `r${round}-${i}.json`), dir }, [
            data,
            staged,
          ]),
        )
      })
      await new Promise((resolve) => setTimeout(resolve, round))
      await io.close()
      const outcomes = await Promise.allSettled(links)
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'fulfilled' && outcome.value.value) {
          // A link that happened found both files complete.
          expect(await text(path.join(dir, `r${round}-${i}.json`))).toBe('c')
          expect(await text(path.join(dir, `r${round}-part-${i}`))).toBe('x')
        }
      }
    }
  })
})

describe('LocalFsStore.putIfAbsentAfter', () => {
  /** {@link withThreads}, with a store on the threads rooted at the directory. */
  function withStore(
    body: (store: LocalFsStore, io: IoThreads, dir: string) => Promise<void>,
  ): Promise<void> {
    return withThreads((io, dir) => body(new LocalFsStore(dir, { ioThreads: io }), io, dir))
  }

  it('creates the object after the group writes, all handed to the threads at once', () =>
    withStore(async (store, io, dir) => {
      await store.putIfAbsent('_delta_log/00000000000000000000.json', bytes('{}'))
      const group = store.newWriteGroup(2)
      const written = Promise.all([
        store.putNew('part-0.parquet', bytes('a'), group),
        store.putNew('part-1.parquet', bytes('b'), group),
      ])
      const sent = io.stepsSent
      const put = defined(
        store.putIfAbsentAfter('_delta_log/00000000000000000001.json', bytes('c1'), written, group),
      )
      // The staged file and its link went out together, before either data file was durable.
      expect(io.stepsSent).toBe(sent + 2)
      expect(await put).toBe(true)
      expect(await text(path.join(dir, '_delta_log/00000000000000000001.json'))).toBe('c1')
      expect(await text(path.join(dir, 'part-1.parquet'))).toBe('b')
      expect((await fs.readdir(path.join(dir, '_delta_log'))).sort()).toEqual([
        '00000000000000000000.json',
        '00000000000000000001.json',
      ])
      // A lost race answers false and leaves no temp file.
      const again = store.newWriteGroup(1)
      const w2 = store.putNew('part-2.parquet', bytes('d'), again)
      expect(
        await defined(
          store.putIfAbsentAfter('_delta_log/00000000000000000001.json', bytes('x'), w2, again),
        ),
      ).toBe(false)
      expect(await text(path.join(dir, '_delta_log/00000000000000000001.json'))).toBe('c1')
      expect(await fs.readdir(path.join(dir, '_delta_log'))).toHaveLength(2)
    }))

  it('creates nothing when a write of the group fails, and rejects with its error', () =>
    withStore(async (store, io, dir) => {
      await store.putIfAbsent('_delta_log/00000000000000000000.json', bytes('{}'))
      await store.putNew('part-0.parquet', bytes('old'))
      const group = store.newWriteGroup(1)
      // The key exists: the data write fails on its thread (EEXIST).
      const written = store.putNew('part-0.parquet', bytes('new'), group)
      written.catch(() => undefined)
      const put = defined(
        store.putIfAbsentAfter('_delta_log/00000000000000000001.json', bytes('c1'), written, group),
      )
      await expect(put).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
        message: expect.stringMatching(/putNew/),
      })
      expect(await fs.readdir(path.join(dir, '_delta_log'))).toEqual(['00000000000000000000.json'])
      expect(await text(path.join(dir, 'part-0.parquet'))).toBe('old')
    }))

  it('is how group commits and appends publish their commit files', () =>
    withStore(async (store, io, dir) => {
      const table = await DeltaTable.create(store, {
        schema: {
          type: 'struct',
          fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }],
        },
      })
      const runAfter = vi.spyOn(io, 'runAfter')
      await Promise.all([1n, 2n, 3n].map((id) => table.appendQueued([{ id }])))
      await table.append([{ id: 4n }])
      await table.close()
      // One link per commit, each waiting for its data file and its commit file.
      expect(runAfter.mock.calls.map(([, after]) => after.length)).toEqual(
        Array.from({ length: table.version }, () => 2),
      )
      const answers = runAfter.mock.results.map((r) =>
        defined(r.value as ReturnType<IoThreads['runAfter']>),
      )
      expect(await Promise.all(answers)).toEqual(
        Array.from({ length: table.version }, () => ({ value: true })),
      )
      const rows = await table.toRows()
      expect(rows.map((r) => r.id).sort()).toEqual([1n, 2n, 3n, 4n])
      expect(
        (await fs.readdir(path.join(dir, '_delta_log'))).filter((n) => n.startsWith('.')),
      ).toEqual([])
    }))

  it('creates a missing directory of the key, and reports other failures of its file', () =>
    withStore(async (store, io, dir) => {
      const group = store.newWriteGroup(1)
      const written = store.putNew('part-0.parquet', bytes('a'), group)
      const key = '_delta_log/00000000000000000000.json'
      expect(await defined(store.putIfAbsentAfter(key, bytes('c0'), written, group))).toBe(true)
      expect(await text(path.join(dir, key))).toBe('c0')
      // Where the key's directory is a file, its staged file cannot be made.
      await fs.writeFile(path.join(dir, 'not-a-dir'), 'x')
      const again = store.newWriteGroup(1)
      const w2 = store.putNew('part-1.parquet', bytes('b'), again)
      const put = defined(store.putIfAbsentAfter('not-a-dir/00.json', bytes('c'), w2, again))
      await expect(put).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
        message: expect.stringMatching(/putIfAbsent of "not-a-dir\/00.json".*ENOTDIR/),
      })
      expect(await text(path.join(dir, 'not-a-dir'))).toBe('x')
    }))

  it('answers undefined when it cannot order the put on threads', () =>
    withStore(async (store, io, dir) => {
      const pooled = new LocalFsStore(dir, { ioThreads: false })
      const key = '_delta_log/00000000000000000000.json'
      // A group of a store without threads, of another store, or not complete.
      const poolGroup = pooled.newWriteGroup(1)
      const w1 = pooled.putNew('a.parquet', bytes('a'), poolGroup)
      expect(pooled.putIfAbsentAfter(key, bytes('x'), w1, poolGroup)).toBeUndefined()
      expect(store.putIfAbsentAfter(key, bytes('x'), w1, poolGroup)).toBeUndefined()
      const partial = store.newWriteGroup(2)
      const w2 = store.putNew('b.parquet', bytes('b'), partial)
      expect(store.putIfAbsentAfter(key, bytes('x'), w2, partial)).toBeUndefined()
      await Promise.all([w1, w2])
      expect(await fs.readdir(dir)).not.toContain('_delta_log')
    }))

  it('has exactly one winner per key and never links before the data when threads die', async () => {
    const dir = await makeTempDir('put-after-death-')
    for (let round = 0; round < 5; round++) {
      const { io, root, threaded, pooled } = await storesOfRound(dir, round)
      await pooled.putIfAbsent('_delta_log/.keep', bytes(''))
      const keys = Array.from(
        { length: 30 },
        (_, i) => `_delta_log/${String(i + 1).padStart(20, '0')}.json`,
      )
      const writes = keys.flatMap((key, i) => {
        const group = threaded.newWriteGroup(1)
        const written = threaded.putNew(`part-${i}.parquet`, bytes(`data ${i}`), group)
        const ordered = defined(
          threaded.putIfAbsentAfter(key, bytes(`threaded ${key}`), written, group),
        )
        return [
          ordered.then((won) => ['threaded', won] as const),
          pooled.putIfAbsent(key, bytes(`pooled ${key}`)).then((won) => ['pooled', won] as const),
        ]
      })
      await new Promise((resolve) => setTimeout(resolve, round))
      const closing = io.close()
      const outcomes = await Promise.all(writes)
      await closing
      for (const [i, key] of keys.entries()) {
        const [a, b] = outcomes.slice(2 * i, 2 * i + 2) as [
          readonly [string, boolean],
          readonly [string, boolean],
        ]
        expect(a[1] !== b[1]).toBe(true)
        const winner = a[1] ? a[0] : b[0]
        expect(new TextDecoder().decode(await pooled.get(key))).toBe(`${winner} ${key}`)
        expect(new TextDecoder().decode(await pooled.get(`part-${i}.parquet`))).toBe(`data ${i}`)
      }
      expect((await fs.readdir(path.join(root, '_delta_log'))).sort()).toEqual(
        ['.keep', ...keys.map((k) => k.slice('_delta_log/'.length))].sort(),
      )
    }
  })
})

/**
 * `ObjectStore` over a local directory (node:fs/promises). The put-if-absent of commit files
 * follows PROTOCOL-DIGEST.md section 6.1: stage the bytes in a temp file, fsync it, then
 * hard-link it to the target name; `link` fails atomically with `EEXIST` when the target exists,
 * so readers never see a partial commit and exactly one of several racing writers wins.
 *
 * Layout and naming:
 * - a key maps to `<root>/<key>`; keys are validated so that no key can leave the root;
 * - temp files live next to their target and are dot-prefixed (`.<name>.<uuid>.tmp`), which
 *   Delta readers ignore (PROTOCOL-DIGEST.md section 1.1);
 * - listings include every non-directory entry, dot-files included; filtering them is the log
 *   reader's and vacuum's job, not the store's;
 * - directories are created on demand and never removed (vacuum removes empty directories).
 * @module
 */
import { randomUUID } from 'node:crypto'
import * as fsCallback from 'node:fs'
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  openSync,
  readFile as readFileCallback,
  readSync,
  statSync,
  type Dirent,
} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { DeltaError } from '../errors.js'
import {
  isThreadFailure,
  sharedIoThreads,
  succeededBeforeThreadFailure,
  type IoAnswer,
  type IoThreadError,
  type IoThreads,
  type TrackedStep,
} from './io-threads.js'
import {
  assertValidKey,
  assertValidRange,
  compareKeys,
  resolveRange,
  splitListPrefix,
} from './object-key.js'
import type { ListOptions, ObjectMeta, ObjectStore, WriteGroup } from './object-store.js'

const SUBSYSTEM = 'local store'

/** Longest part of a target name copied into its temp file name (keeps names under NAME_MAX). */
const TEMP_NAME_PART_MAX = 100

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code
    return typeof code === 'string' ? code : undefined
  }
  return undefined
}

/** `ENOTDIR`: a path component is a file, so the key cannot exist either. */
function isMissing(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'ENOENT' || code === 'ENOTDIR'
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Waits for every promise, then rethrows the first failure (STYLE.md section 4: no work is left
 * running behind a thrown error).
 */
async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises)
  const values: T[] = []
  for (const result of results) {
    if (result.status === 'rejected') throw result.reason
    values.push(result.value)
  }
  return values
}

/** Files up to this size are read synchronously by `get` (see {@link readSmallFile}). */
const SYNC_READ_MAX_BYTES = 64 * 1024

/**
 * Reads a regular file of at most {@link SYNC_READ_MAX_BYTES} synchronously; `undefined` for a
 * larger or special file (read asynchronously instead), `'directory'` for a directory.
 *
 * Trade-off: a small read from the page cache takes microseconds, while an asynchronous read
 * takes four thread-pool round trips (open, fstat, read, close), which cost several times more
 * CPU and, on a busy machine, far more wall time; opening a table reads up to a hundred commit
 * files this way. The event loop blocks for one small read at a time only. O_NONBLOCK keeps
 * the open of a FIFO from blocking (it is then read asynchronously, as before).
 */
function readSmallFile(file: string): Uint8Array | 'directory' | undefined {
  const fd = openSync(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0))
  try {
    const stats = fstatSync(fd)
    if (stats.isDirectory()) return 'directory'
    if (!stats.isFile() || stats.size > SYNC_READ_MAX_BYTES) return undefined
    const out = new Uint8Array(stats.size)
    let filled = 0
    while (filled < out.length) {
      const n = readSync(fd, out, filled, out.length - filled, filled)
      if (n === 0) break
      filled += n
    }
    return filled === out.length ? out : out.subarray(0, filled)
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads a whole file. The callback API: `fs/promises` `readFile` goes through a FileHandle and
 * costs several times more per small file (commit files are read by the hundred).
 */
function readWholeFile(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readFileCallback(file, (error, data) => {
      if (error) reject(error)
      else resolve(data)
    })
  })
}

/** Code units from which UTF-16 order and UTF-8 byte order may differ. */
const NON_BMP_ORDER = /[\uD800-\uFFFF]/

function compareNative(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** An entry found while walking a listing, before it is stat-ed. */
interface FoundFile {
  readonly key: string
  readonly absolute: string
}

/**
 * A put-if-absent whose bytes are already durable under a temp name (see
 * {@link LocalFsStore.stagePutIfAbsent}).
 * @internal
 */
export interface StagedPut {
  /**
   * Links the staged bytes to the key if it is absent, then fsyncs the directory.
   * @returns `true` if this call created the object, `false` if the key already existed
   */
  publish(): Promise<boolean>
  /** Removes the staged bytes without publishing them. */
  discard(): Promise<void>
}

/**
 * An {@link ObjectStore} rooted at a local directory.
 *
 * The constructor does no I/O: the root directory need not exist yet. Reads and listings of a
 * missing root behave as for an empty store, and the first write creates the root and any parent
 * directories of the key (fsync-ing the directories it creates).
 *
 * Writes are durable when they return: data is fsync-ed before it becomes visible under its key,
 * and the containing directory is fsync-ed afterwards. Deletes are not fsync-ed (nothing in the
 * protocol depends on a delete surviving a crash).
 *
 * Synchronous calls: `head` (a `stat`), opening and closing a directory to fsync it, and
 * closing a written file are made synchronously on the calling thread: they take a few
 * microseconds and never wait for the file system's journal, while one trip through the libuv
 * thread pool costs 60–75 µs of CPU and wall time here (thread wake-ups), and a durable commit
 * makes about twenty calls (`bench/RESULTS.md`, group-commit). The calls that create, write,
 * link, unlink or sync files stay off the event loop: on ext4 they can wait for a journal commit
 * in progress (another writer's fsync), which must not block it.
 *
 * I/O threads: the durable writes of files up to 64 KiB (a data file, a staged commit file) and
 * the publication of a staged commit file are made by two worker threads with synchronous
 * calls, one hand-off per step (`io-threads.ts`), instead of one pool trip per call; the calls
 * and their order are the same. Until the threads are online, and for larger files, the pool
 * makes them. `{ ioThreads: false }` keeps every call in the pool.
 *
 * Symbolic links to files are listed and read like files; symbolic links to directories are not
 * followed by recursive listings. Names that are not valid keys (for example containing a
 * backslash) are left out of listings, since no key could address them.
 */
export class LocalFsStore implements ObjectStore {
  /** The absolute path of the root directory. */
  readonly location: string
  readonly #io: IoThreads | undefined

  /**
   * @param rootDir - the table root; resolved against the working directory when relative
   * @param options - `ioThreads: false` makes every call through the libuv pool (see the class
   *   documentation); the default uses the process's I/O threads
   * @throws DeltaError `INVALID_ARGUMENT` when `rootDir` is empty or contains NUL
   */
  constructor(rootDir: string, options: LocalFsStoreOptions = {}) {
    if (typeof rootDir !== 'string' || rootDir.length === 0 || rootDir.includes('\0')) {
      throw new DeltaError(
        'INVALID_ARGUMENT',
        `local store: invalid root directory ${JSON.stringify(rootDir)}`,
        { context: { root: String(rootDir) } },
      )
    }
    this.location = path.resolve(rootDir)
    const io = options.ioThreads ?? true
    this.#io = io === false ? undefined : io === true ? sharedIoThreads() : io
  }

  /**
   * Lists files whose key starts with `prefix`, sorted by the UTF-8 byte order of their keys.
   * `list('_delta_log/')` lists the files directly in `_delta_log`; `list('_delta_log/0000')`
   * only those of them whose name starts with `0000`; `recursive` includes files at any depth.
   * A missing directory yields an empty list. A file deleted while the listing runs is left out.
   * @param prefix - key prefix; `''` for the root
   * @param options - `startAfter` (exclusive) and `recursive`
   * @returns the files with size and modification time (integer milliseconds)
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid prefix, `STORAGE_ERROR` on I/O failure
   */
  async list(prefix: string, options: ListOptions = {}): Promise<ObjectMeta[]> {
    const found = await this.#find(prefix, options)
    const metas = await settleAll(found.map((file) => this.#statFile(file)))
    return metas.filter((meta): meta is ObjectMeta => meta !== undefined)
  }

  /**
   * Same keys as {@link LocalFsStore.list} without stat-ing the files (one `readdir` per
   * directory), for large `_delta_log` directories.
   * @param prefix - key prefix; `''` for the root
   * @param options - `startAfter` (exclusive) and `recursive`
   * @returns keys sorted by UTF-8 byte order
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid prefix, `STORAGE_ERROR` on I/O failure
   */
  async listKeys(prefix: string, options: ListOptions = {}): Promise<string[]> {
    const found = await this.#find(prefix, options)
    return found.map((file) => file.key)
  }

  /**
   * Reads a whole file.
   * @param key - object key
   * @returns the bytes
   * @throws DeltaError `OBJECT_NOT_FOUND` when no file exists under the key (also when the key
   *   names a directory), `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   */
  async get(key: string): Promise<Uint8Array> {
    const file = this.#path(key)
    try {
      const small = readSmallFile(file)
      if (small === 'directory') throw this.#notFound(key)
      if (small !== undefined) return small
      const buffer = await readWholeFile(file)
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    } catch (error) {
      if (error instanceof DeltaError) throw error
      if (isMissing(error) || errorCode(error) === 'EISDIR') throw this.#notFound(key, error)
      throw this.#storageError('get', key, error)
    }
  }

  /**
   * Reads bytes `[start, end)` of a file. A range reaching past the end of the file is cut at the
   * end (a range starting at or after the end is empty), like `Uint8Array.prototype.slice`.
   * @param key - object key
   * @param start - first byte, a non-negative integer
   * @param end - end (exclusive), an integer not below `start`
   * @returns the bytes
   * @throws DeltaError `OBJECT_NOT_FOUND` when no file exists under the key, `INVALID_ARGUMENT`
   *   for an invalid key or range, `STORAGE_ERROR` on I/O failure
   */
  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const file = this.#path(key)
    assertValidRange(key, start, end, SUBSYSTEM)
    let handle: fs.FileHandle
    try {
      handle = await fs.open(file, 'r')
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'EISDIR') throw this.#notFound(key, error)
      throw this.#storageError('getRange', key, error)
    }
    try {
      const stats = await handle.stat()
      if (!stats.isFile()) throw this.#notFound(key)
      const [from, to] = resolveRange(key, start, end, stats.size, SUBSYSTEM)
      const out = new Uint8Array(to - from)
      let filled = 0
      while (filled < out.length) {
        const { bytesRead } = await handle.read(out, filled, out.length - filled, from + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return filled === out.length ? out : out.subarray(0, filled)
    } catch (error) {
      if (error instanceof DeltaError) throw error
      throw this.#storageError('getRange', key, error)
    } finally {
      await handle.close()
    }
  }

  /**
   * Metadata of one file.
   * @param key - object key
   * @returns size and modification time, or `undefined` when no file exists under the key
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   */
  head(key: string): Promise<ObjectMeta | undefined> {
    // One synchronous stat (see "Synchronous calls" in the class documentation); errors
    // reject the promise, as an async method's would.
    try {
      const stats = statSync(this.#path(key), { throwIfNoEntry: false })
      if (stats === undefined || !stats.isFile()) return Promise.resolve(undefined)
      return Promise.resolve({ key, size: stats.size, lastModified: Math.floor(stats.mtimeMs) })
    } catch (error) {
      if (isMissing(error)) return Promise.resolve(undefined)
      if (error instanceof DeltaError) return Promise.reject(error)
      return Promise.reject(this.#storageError('head', key, error))
    }
  }

  /**
   * Writes or atomically replaces a file: the bytes go to a temp file in the same directory,
   * which is fsync-ed and renamed over the target; then the directory is fsync-ed.
   * @param key - object key
   * @param data - the bytes
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   *   (including when the key names a directory)
   */
  async put(key: string, data: Uint8Array): Promise<void> {
    const target = this.#path(key)
    const dir = path.dirname(target)
    const temp = tempPath(target)
    try {
      await this.#inDir(dir, 'put', key, () => this.#createSynced('put', key, temp, data, true))
      await fs.rename(temp, target)
    } catch (error) {
      throw await this.#failAndRemoveTemp('put', key, error, temp)
    }
    await this.#syncDir(dir, 'put', key)
  }

  /**
   * Creates a file under a key that nothing else uses or will use (a data file name with a
   * fresh UUID), without a temp file: the bytes are written straight to the target, which is
   * fsync-ed together with its directory before this returns.
   *
   * Unlike {@link LocalFsStore.putIfAbsent}, a reader listing the directory while this runs
   * may see the file partially written, and a crash may leave it partial. That is harmless for
   * Delta data files, which no reader opens before a commit references them, and no commit is
   * written before this call has returned; an unreferenced file is an orphan that VACUUM removes.
   * On failure the partial file is removed.
   * @param key - object key, unique (the call fails if the key exists)
   * @param data - the bytes
   * @param group - the group of this store's writes ({@link LocalFsStore.newWriteGroup}) that
   *   a later {@link LocalFsStore.putIfAbsentAfter} is ordered after
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure,
   *   including when the key exists
   * @internal
   */
  async putNew(key: string, data: Uint8Array, group?: WriteGroup): Promise<void> {
    const target = this.#path(key)
    const dir = path.dirname(target)
    try {
      await this.#inDir(dir, 'putNew', key, () =>
        this.#createSynced('putNew', key, target, data, false, dir, group),
      )
    } catch (error) {
      // The key exists: the file is not ours to remove.
      if (errorCode(error) === 'EEXIST') throw this.#storageError('putNew', key, error)
      throw await this.#failAndRemoveTemp('putNew', key, error, target)
    }
  }

  /**
   * Creates a file only if none exists under the key: the bytes are written to a temp file and
   * fsync-ed, then hard-linked to the target (`EEXIST` means another writer won), the temp file
   * is removed and the directory fsync-ed. The temp file is removed on every path.
   * @param key - object key
   * @param data - the bytes
   * @returns `true` if this call created the file, `false` if the key already existed
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure,
   *   when the key names a directory, or when the file system has no hard links
   */
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const staged = await this.stagePutIfAbsent(key, data)
    return staged.publish()
  }

  /**
   * A group for the `expected` writes ({@link LocalFsStore.putNew}) that a later
   * {@link LocalFsStore.putIfAbsentAfter} is to follow.
   * @param expected - how many writes the group will hold
   * @returns the group
   * @internal
   */
  newWriteGroup(expected: number): WriteGroup {
    return new LocalWriteGroup(expected, this.#io)
  }

  /**
   * {@link LocalFsStore.putIfAbsent}, made only once the writes of `group` are durable, handed
   * to the I/O threads at once: the bytes are written and fsync-ed under a temp name while the
   * writes are, and a thread links them into place as soon as the last of them ends, without a
   * round trip through the event loop. The visible order is that of writing in sequence.
   * Answers `undefined`, having done nothing, when it cannot: the group is another store's, one
   * of its writes was not handed to a thread in one step or failed already, or the threads are
   * not online; the caller then stages, waits and publishes itself
   * ({@link LocalFsStore.stagePutIfAbsent}).
   * @param key - object key
   * @param data - the bytes
   * @param written - settles when the group's writes are durable, or rejects with their failure
   * @param group - the writes ({@link LocalFsStore.newWriteGroup})
   * @returns as `putIfAbsent`; when `written` rejects, nothing is created and the promise
   *   rejects with its reason. Or `undefined`.
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   * @internal
   */
  putIfAbsentAfter(
    key: string,
    data: Uint8Array,
    written: Promise<unknown>,
    group: WriteGroup,
  ): Promise<boolean> | undefined {
    const io = this.#io
    const steps = group instanceof LocalWriteGroup && group.io === io ? group.steps : undefined
    if (!io || !steps || steps.some((step) => step.status === 'failed')) return undefined
    const target = this.#path(key)
    const dir = path.dirname(target)
    const temp = tempPath(target)
    const staged = io.runTracked({ op: 'create', file: temp, data, full: true })
    if (!staged) return undefined
    const linked = io.runAfter({ op: 'link', from: temp, to: target, dir }, [...steps, staged])
    if (!linked) {
      // The staged file's step could not be sent, so it created nothing.
      staged.answer.catch(() => undefined)
      return written.then(() => this.putIfAbsent(key, data))
    }
    return this.#publishOrdered(key, data, target, dir, temp, staged, linked, written)
  }

  /** The outcome of {@link LocalFsStore.putIfAbsentAfter} once its steps are handed over. */
  async #publishOrdered(
    key: string,
    data: Uint8Array,
    target: string,
    dir: string,
    temp: string,
    staged: TrackedStep,
    linked: Promise<IoAnswer>,
    written: Promise<unknown>,
  ): Promise<boolean> {
    const [file, writes] = await Promise.allSettled([staged.answer, written])
    // A thread that failed after the file was synced may have linked it already.
    const fileDurable = file.status === 'fulfilled' || succeededBeforeThreadFailure(file.reason)
    if (writes.status === 'rejected' || !fileDurable) {
      // The thread links only once every step it waits for succeeded: nothing was linked.
      await Promise.allSettled([linked])
      await this.#removeTemp('putIfAbsent', key, temp).catch(() => undefined)
      if (writes.status === 'rejected') throw writes.reason
      const reason: unknown = file.status === 'rejected' ? file.reason : undefined
      // Its thread failed, or the directory is missing: the usual path makes the put (and the
      // directory). Any other failure is the file system's.
      if (!isThreadFailure(reason) && errorCode(reason) !== 'ENOENT') {
        throw this.#storageError('putIfAbsent', key, reason)
      }
      return this.putIfAbsent(key, data)
    }
    // Both are durable, so linking is right whatever happened on the thread; a link that did
    // not wait for a write redone through the pool (its thread failed) is made now.
    const [answer] = await Promise.allSettled([linked])
    const aborted = answer.status === 'fulfilled' && answer.value.aborted === true
    return this.#publish(key, target, dir, temp, aborted ? undefined : linked)
  }

  /**
   * The first half of {@link LocalFsStore.putIfAbsent}, so that a caller can overlap it with
   * other work: the bytes are written to a temp file next to the target and fsync-ed now;
   * `publish()` later hard-links it to the key (the atomic, only-if-absent step), and
   * `discard()` removes it instead. Exactly one of the two must be called.
   * @param key - object key
   * @param data - the bytes
   * @returns the staged object
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   * @internal
   */
  async stagePutIfAbsent(key: string, data: Uint8Array): Promise<StagedPut> {
    const target = this.#path(key)
    const dir = path.dirname(target)
    const temp = tempPath(target)
    try {
      await this.#inDir(dir, 'putIfAbsent', key, () =>
        this.#createSynced('putIfAbsent', key, temp, data, true),
      )
    } catch (error) {
      throw await this.#failAndRemoveTemp('putIfAbsent', key, error, temp)
    }
    let used = false
    const once = (): void => {
      if (used) throw new DeltaError('INTERNAL', `local store: staged put of "${key}" used twice`)
      used = true
    }
    return {
      publish: async () => {
        once()
        return this.#publish(key, target, dir, temp)
      },
      discard: async () => {
        once()
        await this.#removeTemp('putIfAbsent', key, temp)
      },
    }
  }

  async #publish(
    key: string,
    target: string,
    dir: string,
    temp: string,
    linked?: Promise<IoAnswer>,
  ): Promise<boolean> {
    const onThread = linked ?? this.#io?.run({ op: 'link', from: temp, to: target, dir })
    let created: boolean
    let synced = false
    try {
      if (onThread) {
        try {
          created = (await onThread).value
          synced = true
        } catch (error) {
          if (!isThreadFailure(error)) throw error
          // The thread died during the step: the link may have happened.
          created = await linkOutcome(temp, target)
        }
      } else {
        created = await linkNew(temp, target)
      }
    } catch (error) {
      if (isDirSyncError(error)) throw this.#dirSyncError('putIfAbsent', key, dir, error)
      throw await this.#failAndRemoveTemp('putIfAbsent', key, error, temp)
    }
    if (!created) {
      await this.#removeTemp(
        'putIfAbsent (the object already existed; removing the temp file)',
        key,
        temp,
      )
      if (await this.#isDirectory(target, 'putIfAbsent', key)) {
        throw this.#storageError('putIfAbsent', key, new Error('the key names a directory'))
      }
      return false
    }
    if (synced) return true
    // The temp name is not needed for durability: its removal runs beside the fsync, and a
    // failure to remove it leaves a dot-file that readers ignore, not a failed write (the
    // object exists from the link on).
    await settleAll([
      fs.unlink(temp).catch(() => undefined),
      this.#syncDir(dir, 'putIfAbsent', key),
    ])
    return true
  }

  /**
   * Creates `file` with `data` (failing if it exists), syncs it (`fdatasync`, or `fsync` when
   * `full`) and closes it; then, when `dir` is given, syncs that directory too (its entry
   * exists from the create on, so the pool path runs both syncs at once). On an I/O thread when
   * the threads are online, otherwise through the pool. A failed directory sync is a
   * `STORAGE_ERROR` naming the directory; other errors are the file system's.
   */
  async #createSynced(
    op: string,
    key: string,
    file: string,
    data: Uint8Array,
    full: boolean,
    dir?: string,
    group?: WriteGroup,
  ): Promise<void> {
    const step = { op: 'create', file, data, full, syncDir: dir } as const
    let onThread: Promise<IoAnswer> | undefined
    if (group instanceof LocalWriteGroup && group.io === this.#io) {
      const tracked = this.#io?.runTracked(step)
      group.add(tracked)
      onThread = tracked?.answer
    } else {
      onThread = this.#io?.run(step)
    }
    if (onThread) {
      try {
        await onThread
        return
      } catch (error) {
        if (dir !== undefined && isDirSyncError(error))
          throw this.#dirSyncError(op, key, dir, error)
        if (!isThreadFailure(error)) throw error
        // Complete and synced before the thread failed: links may rely on it already.
        if (succeededBeforeThreadFailure(error)) return
      }
      // The thread died during the step, which may have created the file (its name is this
      // write's own): the pool makes it again.
      await fs.rm(file, { force: true })
    }
    const fd = await openFd(file, 'wx')
    try {
      await writeAllFd(fd, data)
      const sync = full ? fsyncFd(fd) : fdatasyncFd(fd)
      await (dir === undefined ? sync : settleAll([sync, this.#syncDir(dir, op, key)]))
    } finally {
      // Synchronous: closing does not wait for the journal (see the class documentation).
      closeSync(fd)
    }
  }

  async #removeTemp(op: string, key: string, temp: string): Promise<void> {
    try {
      await fs.unlink(temp)
    } catch (error) {
      if (!isMissing(error)) throw this.#storageError(`${op} ${path.basename(temp)}`, key, error)
    }
  }

  /**
   * Deletes a file. Parent directories are kept, even when they become empty.
   * @param key - object key
   * @returns `true` if a file existed under the key (a directory does not count)
   * @throws DeltaError `INVALID_ARGUMENT` for an invalid key, `STORAGE_ERROR` on I/O failure
   */
  async delete(key: string): Promise<boolean> {
    const file = this.#path(key)
    try {
      await fs.unlink(file)
      return true
    } catch (error) {
      if (isMissing(error)) return false
      const code = errorCode(error)
      // unlink(2) of a directory fails with EISDIR on Linux and EPERM on macOS.
      if (
        (code === 'EISDIR' || code === 'EPERM') &&
        (await this.#isDirectory(file, 'delete', key))
      ) {
        return false
      }
      throw this.#storageError('delete', key, error)
    }
  }

  /** Validates a key and maps it to an absolute path below the root. */
  #path(key: string): string {
    assertValidKey(key, SUBSYSTEM)
    return path.join(this.location, ...key.split('/'))
  }

  async #find(prefix: string, options: ListOptions): Promise<FoundFile[]> {
    const { dir, namePrefix } = splitListPrefix(prefix, SUBSYSTEM)
    const out: FoundFile[] = []
    const dirKey = dir === '' ? '' : `${dir}/`
    const dirPath = dir === '' ? this.location : path.join(this.location, ...dir.split('/'))
    await this.#walk(dirKey, dirPath, namePrefix, options.recursive === true, out)
    const startAfter = options.startAfter
    // Native string comparison is UTF-16 order, which equals UTF-8 byte order unless a key
    // holds a code unit at or above U+D800; a `_delta_log` listing never does, and is sorted
    // several times faster than with compareKeys.
    const native =
      !NON_BMP_ORDER.test(startAfter ?? '') && !out.some((file) => NON_BMP_ORDER.test(file.key))
    const compare = native ? compareNative : compareKeys
    const kept =
      startAfter === undefined ? out : out.filter((file) => compare(file.key, startAfter) > 0)
    return kept.sort((a, b) => compare(a.key, b.key))
  }

  async #walk(
    dirKey: string,
    dirPath: string,
    namePrefix: string,
    recursive: boolean,
    out: FoundFile[],
  ): Promise<void> {
    let entries: Dirent[]
    try {
      entries = await fs.readdir(dirPath, { withFileTypes: true })
    } catch (error) {
      if (isMissing(error)) return
      throw this.#storageError('list', dirKey === '' ? '.' : dirKey, error)
    }
    const subdirs: Promise<void>[] = []
    const links: Promise<void>[] = []
    const separator = dirPath.endsWith(path.sep) ? '' : path.sep
    for (const entry of entries) {
      const name = entry.name
      if (!name.startsWith(namePrefix) || name.includes('\\')) continue
      // dirPath is normalized and name has no separator: concatenation equals path.join.
      const file = { key: dirKey + name, absolute: dirPath + separator + name }
      if (entry.isFile()) {
        out.push(file)
      } else if (entry.isDirectory()) {
        if (recursive) subdirs.push(this.#walk(`${file.key}/`, file.absolute, '', true, out))
      } else if (entry.isSymbolicLink()) {
        links.push(
          this.#statFile(file).then((meta) => {
            if (meta !== undefined) out.push(file)
          }),
        )
      }
    }
    await settleAll([...subdirs, ...links])
  }

  /** Stats a file; `undefined` when it does not exist or is not a regular file. */
  async #statFile(file: FoundFile): Promise<ObjectMeta | undefined> {
    try {
      const stats = await fs.stat(file.absolute)
      if (!stats.isFile()) return undefined
      return { key: file.key, size: stats.size, lastModified: Math.floor(stats.mtimeMs) }
    } catch (error) {
      if (isMissing(error)) return undefined
      throw this.#storageError('head', file.key, error)
    }
  }

  async #isDirectory(absolute: string, op: string, key: string): Promise<boolean> {
    try {
      return (await fs.lstat(absolute)).isDirectory()
    } catch (error) {
      if (isMissing(error)) return false
      throw this.#storageError(op, key, error)
    }
  }

  /**
   * Runs `create` (which creates an entry in `dir`); when `dir` is missing, creates it first
   * (as `#ensureDir` does) and runs `create` again. Trying first saves a
   * `mkdir` call on every write to an existing directory.
   */
  async #inDir<T>(dir: string, op: string, key: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create()
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
    await this.#ensureDir(dir, op, key)
    return create()
  }

  /**
   * Creates `dir` and its missing parents, then fsyncs the parent of every directory it created,
   * so that the new entries survive a crash before the write that needed them returns.
   */
  async #ensureDir(dir: string, op: string, key: string): Promise<void> {
    let first: string | undefined
    try {
      first = await fs.mkdir(dir, { recursive: true })
    } catch (error) {
      throw this.#storageError(op, key, error)
    }
    if (first === undefined) return
    const parents = [path.dirname(first)]
    // `dir` itself is fsync-ed by the write once its new entry is in place.
    for (let d = path.dirname(dir); d.length >= first.length; d = path.dirname(d)) parents.push(d)
    await settleAll(parents.map((parent) => this.#syncDir(parent, op, key)))
  }

  async #syncDir(dir: string, op: string, key: string): Promise<void> {
    try {
      const fd = openSync(dir, 'r')
      try {
        await fsyncFd(fd)
      } finally {
        closeSync(fd)
      }
    } catch (error) {
      throw this.#dirSyncError(op, key, dir, error)
    }
  }

  #dirSyncError(op: string, key: string, dir: string, error: unknown): DeltaError {
    return this.#storageError(`${op} (fsync of directory ${dir})`, key, error)
  }

  /** Removes the temp file after a failed write and returns the error to throw. */
  async #failAndRemoveTemp(
    op: string,
    key: string,
    error: unknown,
    temp: string,
  ): Promise<DeltaError> {
    let cause = error
    try {
      await fs.unlink(temp)
    } catch (cleanupError) {
      if (!isMissing(cleanupError)) {
        cause = new AggregateError(
          [error, cleanupError],
          `local store: ${op} failed and its temp file ${temp} could not be removed`,
        )
      }
    }
    if (error instanceof DeltaError && cause === error) return error
    return this.#storageError(op, key, cause)
  }

  #notFound(key: string, cause?: unknown): DeltaError {
    return new DeltaError(
      'OBJECT_NOT_FOUND',
      `local store: object "${key}" not found in ${this.location}`,
      { cause, context: { key, location: this.location } },
    )
  }

  #storageError(op: string, key: string, cause: unknown): DeltaError {
    return new DeltaError(
      'STORAGE_ERROR',
      `local store: ${op} of "${key}" in ${this.location} failed: ${describeError(cause)}`,
      { cause, context: { key, location: this.location, op } },
    )
  }
}

/** Options of a {@link LocalFsStore}. */
export interface LocalFsStoreOptions {
  /**
   * Whether small durable writes go to the process's I/O threads (default true); false makes
   * every call through the libuv pool; an {@link IoThreads} of its own (tests) uses those.
   */
  readonly ioThreads?: boolean | IoThreads
}

/**
 * The {@link WriteGroup} of a local store: the tracked I/O thread steps of its writes, usable
 * for an ordered link when every expected write went to a thread in one step.
 */
class LocalWriteGroup implements WriteGroup {
  readonly expected: number
  /** The threads of the store that made it. */
  readonly io: IoThreads | undefined
  readonly #steps: TrackedStep[] = []
  #spoiled = false

  constructor(expected: number, io: IoThreads | undefined) {
    this.expected = expected
    this.io = io
  }

  /** Adds a write's thread step, or notes that a write was made otherwise. */
  add(step: TrackedStep | undefined): void {
    if (step) this.#steps.push(step)
    else this.#spoiled = true
  }

  /** The writes' steps, when each expected write went to a thread in one tracked step. */
  get steps(): readonly TrackedStep[] | undefined {
    return !this.#spoiled && this.#steps.length === this.expected ? this.#steps : undefined
  }
}

/** A unique, dot-prefixed temp file name next to `target`. */
function tempPath(target: string): string {
  const name = path.basename(target).slice(0, TEMP_NAME_PART_MAX)
  return path.join(path.dirname(target), `.${name}.${randomUUID()}.tmp`)
}

/** Hard-links `temp` to `target`; false when `target` exists. */
async function linkNew(temp: string, target: string): Promise<boolean> {
  try {
    await fs.link(temp, target)
    return true
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false
    throw error
  }
}

/**
 * Whether the hard link of `temp` to `target`, made by a thread that died during the step,
 * happened: the link is made now if it did not; if `target` exists, it is this write's when
 * it is the same file as `temp` (same inode), and `temp` is missing only if the thread linked
 * and then removed it.
 */
async function linkOutcome(temp: string, target: string): Promise<boolean> {
  try {
    if (await linkNew(temp, target)) return true
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    await fs.stat(target)
    return true
  }
  const [a, b] = await Promise.all([fs.stat(temp), fs.stat(target)])
  return a.ino === b.ino && a.dev === b.dev
}

/** An I/O thread's failure to sync a directory (after the file's own steps succeeded). */
function isDirSyncError(error: unknown): boolean {
  return error instanceof Error && (error as IoThreadError).stage === 'sync of directory'
}

// The write paths use file descriptors through the callback API: a commit makes a dozen file
// system calls, and `fs/promises` FileHandles cost about twice the CPU per call.

function openFd(file: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fsCallback.open(file, flags, 0o666, (error, fd) => (error ? reject(error) : resolve(fd)))
  })
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsCallback.fsync(fd, (error) => (error ? reject(error) : resolve()))
  })
}

function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsCallback.fdatasync(fd, (error) => (error ? reject(error) : resolve()))
  })
}

/** Writes all of `data` at the current position (a write may be partial). */
async function writeAllFd(fd: number, data: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < data.byteLength) {
    const written = await new Promise<number>((resolve, reject) => {
      fsCallback.write(fd, data, offset, data.byteLength - offset, null, (error, n) =>
        error ? reject(error) : resolve(n),
      )
    })
    if (written === 0) throw new Error(`write made no progress at byte ${offset}`)
    offset += written
  }
}

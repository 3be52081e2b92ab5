/**
 * The small durable writes of a commit, made on dedicated worker threads with synchronous
 * calls, one hand-off per step instead of one trip through the libuv pool per call.
 *
 * Why: on the 2-vCPU VM this engine is measured on, waking a sleeping pool thread costs the
 * event loop 60–140 µs of CPU per call (`bench/RESULTS.md`, group-commit), and a durable commit
 * makes about a dozen calls (create, write, sync, close, the directory's open and sync, link,
 * unlink). Here a data file's create, write, sync, close and directory sync are one message to
 * one thread, a staged commit file's create, write, sync and close another, and its link, the
 * temp file's removal and the directory's sync a third.
 *
 * The calls and their order are exactly those of the pool path of `LocalFsStore`, so crash
 * safety does not change. Two threads let a commit's data file and its staged commit file be
 * synced at once; a step goes to the thread with fewer steps waiting.
 *
 * Ordered steps: a create step can be tracked ({@link IoThreads.runTracked}): its outcome is
 * written to a slot of shared memory when the step ends. A link step can name such slots
 * (`after`): its thread waits until all of them have ended and links only if all succeeded.
 * A commit thus hands its data file, its staged commit file and the link that publishes it to
 * the threads at once, and the link runs as soon as the last of the files is durable, without
 * a round trip through the event loop between them. A link step only ever waits for steps sent
 * before it, and each thread runs its steps in the order they were sent, so no two steps can
 * wait for each other. When a thread fails, its tracked steps that had not ended are marked
 * failed, so that no link waits for them.
 *
 * The threads start at the first request of the process; until they are online (a few
 * milliseconds), {@link IoThreads.run} answers `undefined` and the caller uses the pool path.
 * They never keep the process alive when idle, and take none of the process's flags. If a
 * thread fails, its waiting steps are rejected with errors that {@link isThreadFailure}
 * recognises (the store then finishes those writes through the pool, finding out whether a
 * link happened) and the process goes on without the threads. `POLARWAY_IO_THREADS=0`
 * turns them off.
 * @module
 */
import { Worker } from 'node:worker_threads'

/**
 * Largest payload sent to a thread. Larger files (compaction output, checkpoints of more than a
 * few hundred files, bulk appends) are written through the pool: the hand-off saves nothing
 * there, the copy into the message would cost, and syncing them would hold a thread that the
 * small writes of commits are waiting for (a checkpoint written beside a busy handle's commits
 * delayed their acknowledgements by its whole `fsync`).
 */
export const IO_THREAD_MAX_BYTES = 64 << 10

/** Number of threads. */
const THREADS = 2

/** Slots of shared memory for the outcomes of tracked steps (see the module documentation). */
const SLOTS = 4096

/** A slot's states: the step has not ended, it succeeded, it failed. */
const PENDING = 0
const SUCCEEDED = 1
const FAILED = 2

/** One step, run synchronously on a thread. */
export type IoStep =
  | {
      /**
       * Creates `file` (failing if it exists), writes `data`, syncs it (`fdatasync`, or
       * `fsync` when `full`), closes it, then syncs the directory `syncDir` when given.
       */
      readonly op: 'create'
      readonly file: string
      readonly data: Uint8Array
      readonly full: boolean
      readonly syncDir?: string
    }
  | {
      /**
       * Hard-links `from` to `to`. If `to` exists, answers `false` and changes nothing.
       * Otherwise removes `from` (a failure to remove it is reported in `leftTemp`, not thrown:
       * the link has happened) and syncs the directory `dir`, then answers `true`.
       */
      readonly op: 'link'
      readonly from: string
      readonly to: string
      readonly dir: string
      /**
       * Slots of tracked steps to wait for first (see {@link IoThreads.runTracked}). If one of
       * them failed, nothing is done and the answer is `aborted`.
       */
      readonly after?: readonly number[]
    }

/** The answer to a step. */
export interface IoAnswer {
  /** For `link`: whether the target was created. For `create`: true. */
  readonly value: boolean
  /** For `link`: the temp file could not be removed (its error message). */
  readonly leftTemp?: string
  /** For `link` with `after`: a step it waited for failed, so nothing was linked. */
  readonly aborted?: boolean
}

/** A failed step's error, as Node's own fs errors look (`code`, `syscall`, `path`). */
export interface IoThreadError extends Error {
  code?: string
  syscall?: string
  path?: string
  /** What the step was doing: `create`, `sync of directory`, `link`. */
  stage?: string
}

// Evaluated in the worker: no loader, no TypeScript, no file to ship beside dist/. Modules are
// loaded with import(), which works whether the code runs as a script or as a module (the
// process's --input-type decides). The worker says 'ready' once it listens.
const WORKER_SOURCE = `
(async () => {
const fs = await import('node:fs')
const { parentPort, workerData } = await import('node:worker_threads')
const states = new Int32Array(workerData.states)
function settle(slot, state) {
  if (slot === undefined) return
  Atomics.store(states, slot, state)
  Atomics.notify(states, slot)
}
function waitFor(slots) {
  let ok = true
  for (const slot of slots) {
    while (Atomics.load(states, slot) === ${PENDING}) Atomics.wait(states, slot, ${PENDING})
    if (Atomics.load(states, slot) !== ${SUCCEEDED}) ok = false
  }
  return ok
}
function staged(stage, fn) {
  try { return fn() } catch (error) { if (error && typeof error === 'object') error.stage = stage; throw error }
}
function syncDir(dir) {
  staged('sync of directory', () => {
    const fd = fs.openSync(dir, 'r')
    try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
  })
}
function create(m) {
  staged('create', () => {
    const fd = fs.openSync(m.file, 'wx', 0o666)
    try {
      let offset = 0
      while (offset < m.data.byteLength) {
        const n = fs.writeSync(fd, m.data, offset, m.data.byteLength - offset)
        if (n === 0) throw new Error('write made no progress at byte ' + offset)
        offset += n
      }
      if (m.full) fs.fsyncSync(fd)
      else fs.fdatasyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  })
  if (m.syncDir !== undefined) syncDir(m.syncDir)
  return { value: true }
}
function link(m) {
  if (m.after !== undefined && !waitFor(m.after)) return { value: false, aborted: true }
  try {
    staged('link', () => fs.linkSync(m.from, m.to))
  } catch (error) {
    if (error && error.code === 'EEXIST') return { value: false }
    throw error
  }
  let leftTemp
  try { fs.unlinkSync(m.from) } catch (error) {
    if (!error || error.code !== 'ENOENT') leftTemp = String(error && error.message)
  }
  syncDir(m.dir)
  return leftTemp === undefined ? { value: true } : { value: true, leftTemp }
}
parentPort.on('message', (m) => {
  let reply
  try {
    let answer
    if (m.step.op === 'create') {
      try { answer = create(m.step) } catch (error) { settle(m.slot, ${FAILED}); throw error }
      settle(m.slot, ${SUCCEEDED})
    } else {
      answer = link(m.step)
    }
    reply = { id: m.id, answer }
  } catch (error) {
    const e = error && typeof error === 'object' ? error : new Error(String(error))
    reply = { id: m.id, error: { message: String(e.message), code: e.code, syscall: e.syscall, path: e.path, stage: e.stage } }
  }
  parentPort.postMessage(reply)
})
// A step that cannot be read will never be answered: exiting fails the thread (see IoThread).
parentPort.on('messageerror', () => process.exit(1))
parentPort.postMessage({ ready: true })
})()
`

/** The worker's first message, once it listens. */
interface Ready {
  readonly ready: true
}

interface Reply {
  readonly ready?: undefined
  readonly id: number
  readonly answer?: IoAnswer
  readonly error?: {
    readonly message: string
    readonly code?: string
    readonly syscall?: string
    readonly path?: string
    readonly stage?: string
  }
}

/** Marks the errors of steps whose thread failed (they may or may not have run). */
const THREAD_FAILURE = Symbol('polarway.ioThreadFailure')

/** On the thread failure of a tracked step: whether the step had ended successfully. */
const STEP_SUCCEEDED = Symbol('polarway.ioStepSucceeded')

function threadFailure(message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { [THREAD_FAILURE]: true })
}

/**
 * Whether a step failed because its thread did (it exited, or the step could not be sent),
 * not because of a system call: the step may have run in part or in full.
 * @param error - the rejection of a step
 * @returns whether it is such a failure
 */
export function isThreadFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && THREAD_FAILURE in error
}

/**
 * Whether a tracked step whose thread failed had ended successfully before (its file is then
 * complete and synced, and links that waited for it may have used it).
 * @param error - the rejection of a step of {@link IoThreads.runTracked}
 * @returns whether it had succeeded
 */
export function succeededBeforeThreadFailure(error: unknown): boolean {
  return (
    isThreadFailure(error) && (error as { [STEP_SUCCEEDED]?: boolean })[STEP_SUCCEEDED] === true
  )
}

interface Waiting {
  readonly resolve: (answer: IoAnswer) => void
  readonly reject: (error: Error) => void
  /** A tracked step's handle. */
  readonly tracked: TrackedStep | undefined
}

/**
 * A create step whose outcome link steps can wait for ({@link IoThreads.runTracked}). Its
 * slot of shared memory is held while the step runs and while a link step that waits for it
 * runs, and returned to the pool after both.
 */
export class TrackedStep {
  /** The answer to the step. */
  readonly answer: Promise<IoAnswer>
  /** @internal */
  readonly slot: number
  /** @internal */
  readonly thread: IoThread
  /** @internal The threads it runs on. */
  readonly owner: IoThreads
  #status: 'running' | 'succeeded' | 'failed' = 'running'
  #holds = 1
  readonly #free: (slot: number) => void

  /** @internal */
  constructor(
    owner: IoThreads,
    slot: number,
    thread: IoThread,
    free: (slot: number) => void,
    send: (tracked: TrackedStep) => Promise<IoAnswer>,
  ) {
    this.owner = owner
    this.slot = slot
    this.thread = thread
    this.#free = free
    this.answer = send(this)
  }

  /**
   * Where the step is, as the event loop knows it: `running` until its answer arrives (the
   * thread may have finished it meanwhile), then `succeeded` or `failed`.
   */
  get status(): 'running' | 'succeeded' | 'failed' {
    return this.#status
  }

  /** @internal The step's answer arrived (or its thread failed). */
  ended(succeeded: boolean): void {
    this.#status = succeeded ? 'succeeded' : 'failed'
    this.release()
  }

  /** @internal A link step holds the slot while it may wait for it. */
  hold(): void {
    this.#holds++
  }

  /** @internal */
  release(): void {
    if (--this.#holds === 0) this.#free(this.slot)
  }
}

/** One worker thread and the steps it has not answered yet. */
class IoThread {
  readonly #worker: Worker
  readonly #waiting = new Map<number, Waiting>()
  #online = false
  #failed = false
  /** Settles when the thread is online (true) or has failed before (false). */
  readonly #started: Promise<boolean>

  readonly #states: Int32Array

  constructor(states: Int32Array, onFailure: () => void) {
    this.#states = states
    // No flags of the process (a loader, --cpu-prof, --inspect): the code needs none.
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'polarway-io',
      execArgv: [],
      workerData: { states: states.buffer },
    })
    let started: (online: boolean) => void = () => undefined
    this.#started = new Promise((resolve) => (started = resolve))
    this.#worker.on('message', (reply: Ready | Reply) => {
      if (reply.ready === true) {
        this.#online = true
        started(true)
      } else {
        this.#answer(reply)
      }
    })
    const fail = (error: Error): void => {
      if (this.#failed) return
      this.#failed = true
      started(false)
      onFailure()
      const waiting = [...this.#waiting.values()]
      this.#waiting.clear()
      for (const w of waiting) {
        if (w.tracked === undefined) {
          w.reject(error)
          continue
        }
        const succeeded = this.#endTracked(w.tracked)
        w.reject(
          Object.assign(threadFailure(error.message, error), { [STEP_SUCCEEDED]: succeeded }),
        )
      }
    }
    this.#worker.on('error', (error) => fail(threadFailure(error.message, error)))
    this.#worker.on('exit', (code) => fail(threadFailure(`the I/O thread exited (code ${code})`)))
    // A reply that cannot be read is lost, and so would be the answer of its step: the thread
    // counts as failed, so that its steps are settled and no link waits for them.
    this.#worker.on('messageerror', (error) => {
      fail(threadFailure(`a reply of the I/O thread could not be read: ${error.message}`, error))
      void this.#worker.terminate()
    })
    // After the listeners: a 'message' listener refs the worker's port again.
    this.#worker.unref()
  }

  /** Online and not failed. */
  get ready(): boolean {
    return this.#online && !this.#failed
  }

  /** Steps sent and not answered. */
  get load(): number {
    return this.#waiting.size
  }

  /**
   * Waits until the thread is online, keeping the process alive meanwhile.
   * @returns true when online, false when it failed first
   */
  async waitOnline(): Promise<boolean> {
    if (this.#online || this.#failed) return this.ready
    this.#worker.ref()
    try {
      return await this.#started
    } finally {
      if (this.#waiting.size === 0 && !this.#failed) this.#worker.unref()
    }
  }

  /** Stops the thread; its waiting steps are rejected. */
  async terminate(): Promise<void> {
    await this.#worker.terminate()
  }

  send(id: number, step: IoStep, tracked?: TrackedStep): Promise<IoAnswer> {
    return new Promise<IoAnswer>((resolve, reject) => {
      // Keeps the process alive while a step is outstanding, as a pool request would.
      if (this.#waiting.size === 0) this.#worker.ref()
      this.#waiting.set(id, { resolve, reject, tracked })
      try {
        this.#worker.postMessage({ id, step, slot: tracked?.slot })
      } catch (error) {
        this.#settled(id)
        if (tracked) this.#endTracked(tracked)
        reject(threadFailure(`the step could not be sent: ${String(error)}`, error))
      }
    })
  }

  /**
   * Ends a tracked step that will get no answer (its thread failed, or it was never sent): its
   * slot becomes FAILED unless the step had succeeded (states change once), so that no link
   * waits for it.
   * @returns whether it had succeeded
   */
  #endTracked(tracked: TrackedStep): boolean {
    const before = Atomics.compareExchange(this.#states, tracked.slot, PENDING, FAILED)
    Atomics.notify(this.#states, tracked.slot)
    tracked.ended(before === SUCCEEDED)
    return before === SUCCEEDED
  }

  #settled(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id)
    this.#waiting.delete(id)
    if (this.#waiting.size === 0 && !this.#failed) this.#worker.unref()
    return waiting
  }

  #answer(reply: Reply): void {
    const waiting = this.#settled(reply.id)
    if (!waiting) return
    if (reply.error) {
      const { message, ...fields } = reply.error
      const error: IoThreadError = new Error(message)
      for (const [k, v] of Object.entries(fields)) {
        if (v !== undefined) Object.assign(error, { [k]: v })
      }
      waiting.tracked?.ended(false)
      waiting.reject(error)
    } else {
      waiting.tracked?.ended(true)
      waiting.resolve(reply.answer ?? { value: false })
    }
  }
}

/** The process's I/O threads (see the module documentation). */
export class IoThreads {
  #threads: IoThread[] | undefined
  #failed = false
  #nextId = 1
  #sent = 0
  readonly #states = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT))
  /** Free slots; the last is taken first. */
  readonly #freeSlots: number[] = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i)
  readonly #freeSlot = (slot: number): void => {
    this.#freeSlots.push(slot)
  }

  /** Steps handed to the threads so far (for tests and diagnostics). */
  get stepsSent(): number {
    return this.#sent
  }

  /** Slots free for tracked steps (for tests and diagnostics). */
  get freeSlots(): number {
    return this.#freeSlots.length
  }

  /**
   * Starts the threads if needed and waits until they are online.
   * @returns true when they are, false when they failed or were closed
   */
  async whenOnline(): Promise<boolean> {
    const threads = this.#start()
    if (!threads) return false
    const online = await Promise.all(threads.map((t) => t.waitOnline()))
    return online.every(Boolean) && !this.#failed
  }

  /** Starts no threads: every later step is made through the pool by its caller. */
  disable(): void {
    this.#failed = true
  }

  /**
   * Stops the threads; steps waiting for them are rejected, and later steps are made through
   * the pool by their callers.
   */
  async close(): Promise<void> {
    this.#failed = true
    await Promise.all((this.#threads ?? []).map((t) => t.terminate()))
  }

  /**
   * Runs `step` on the least busy thread, or answers `undefined` when the threads are not
   * online yet, have failed, or the step's payload is too large for a hand-off (the caller
   * then makes the calls through the libuv pool). The first call starts the threads.
   * @param step - the step
   * @returns the answer, or undefined
   */
  run(step: IoStep): Promise<IoAnswer> | undefined {
    const thread = this.#pick(step)
    if (!thread) return undefined
    this.#sent++
    return thread.send(this.#nextId++, payload(step))
  }

  /**
   * Like {@link IoThreads.run} for a create step, tracked: a link step run with
   * {@link IoThreads.runAfter} can wait for it on its thread. Answers `undefined` as `run`
   * does, and also when all slots are taken.
   * @param step - the create step
   * @returns the step's handle, or undefined
   */
  runTracked(step: Extract<IoStep, { op: 'create' }>): TrackedStep | undefined {
    const thread = this.#pick(step)
    const slot = thread && this.#freeSlots.pop()
    if (!thread || slot === undefined) return undefined
    Atomics.store(this.#states, slot, PENDING)
    this.#sent++
    return new TrackedStep(this, slot, thread, this.#freeSlot, (tracked) =>
      thread.send(this.#nextId++, payload(step), tracked),
    )
  }

  /**
   * Runs a link step once the tracked steps `after` have succeeded, on a thread, without a
   * round trip through the event loop: the thread waits for them and links only if all of
   * them succeeded (otherwise it does nothing and answers `aborted`). Steps whose
   * answer has arrived are not waited for; answers `undefined` (the caller links itself) when
   * one of those failed or one was run by other threads, or as {@link IoThreads.run} does.
   * @param step - the link step (its own `after` is ignored)
   * @param after - tracked steps of this instance that must succeed first
   * @returns the answer, or undefined
   */
  runAfter(
    step: Extract<IoStep, { op: 'link' }>,
    after: readonly TrackedStep[],
  ): Promise<IoAnswer> | undefined {
    if (after.some((t) => t.owner !== this || t.status === 'failed')) return undefined
    const running = after.filter((t) => t.status === 'running')
    // Behind the first step it waits for, so that it usually starts as that one ends; any
    // thread is safe, since it only waits for steps sent before it.
    const first = running[0]?.thread
    const thread = first?.ready === true ? first : this.#pick(step)
    if (!thread) return undefined
    for (const t of running) t.hold()
    this.#sent++
    const answer = thread.send(this.#nextId++, { ...step, after: running.map((t) => t.slot) })
    const release = (): void => {
      for (const t of running) t.release()
    }
    answer.then(release, release)
    return answer
  }

  /** The thread for a step, or undefined when it is to be made through the pool. */
  #pick(step: IoStep): IoThread | undefined {
    if (this.#failed) return undefined
    if (step.op === 'create' && step.data.byteLength > IO_THREAD_MAX_BYTES) return undefined
    const threads = this.#start()
    if (!threads) return undefined
    let best: IoThread | undefined
    for (const t of threads) {
      if (t.ready && (best === undefined || t.load < best.load)) best = t
    }
    return best
  }

  #start(): IoThread[] | undefined {
    if (this.#threads) return this.#threads
    try {
      const onFailure = (): void => {
        this.#failed = true
      }
      this.#threads = Array.from({ length: THREADS }, () => new IoThread(this.#states, onFailure))
    } catch {
      // No worker threads here (a restricted runtime): the pool path does everything.
      this.#failed = true
      return undefined
    }
    return this.#threads
  }
}

/**
 * A step as sent: cloning a view for the message copies its whole buffer, so a view of part
 * of a larger buffer is sent as a copy of its own bytes.
 */
function payload(step: IoStep): IoStep {
  return step.op === 'create' &&
    (step.data.byteOffset !== 0 || step.data.byteLength !== step.data.buffer.byteLength)
    ? { ...step, data: step.data.slice() }
    : step
}

let shared: IoThreads | undefined

/**
 * The threads shared by every local store of the process. `POLARWAY_IO_THREADS=0` in the
 * environment (read once) turns them off: every call then goes through the libuv pool.
 * @returns the process's threads
 */
export function sharedIoThreads(): IoThreads {
  if (shared === undefined) {
    shared = new IoThreads()
    if (process.env.POLARWAY_IO_THREADS?.trim() === '0') shared.disable()
  }
  return shared
}

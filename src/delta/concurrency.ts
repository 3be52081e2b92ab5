/**
 * Bounded concurrency for I/O over many files (reads, writes, probes), and yielding to the
 * event loop during long work.
 * @module
 */

/**
 * Runs `task` over `items`, at most `limit` at a time, in order of the items. After a failure
 * no new item is started; the first failure is rethrown once every started task has settled
 * (so nothing is still running when the caller cleans up).
 * @param items - the items
 * @param limit - the most tasks running at once (at least 1)
 * @param task - the work for one item and its index
 * @returns when every task has succeeded
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++
      try {
        await task(items[i] as T, i)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker),
  )
  for (const s of settled) if (s.status === 'rejected') throw s.reason
}

/** Node's own `setImmediate`, taken at load: fake timers installed later do not replace it. */
const realSetImmediate = globalThis.setImmediate

/**
 * Lets the event loop run what is ready (I/O completions, other tasks) and then resumes, with
 * the `setImmediate` Node had when this module loaded, so that fake timers installed later (a
 * test's) do not hold it back.
 * @returns when the event loop has had its turn
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => realSetImmediate(resolve))
}

/**
 * Runs a generator of synchronous steps to its end at once (the synchronous twin of
 * {@link runSteps}).
 * @param steps - the work
 * @returns the generator's result
 */
export function runStepsNow<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value
  }
}

/** How long {@link runSteps} works before letting the event loop run. */
const STEPS_YIELD_AFTER_MS = 1

/**
 * Runs a generator of synchronous steps to its end, letting the event loop run what is waiting
 * (I/O completions, other commits) once the steps since the last yield took a millisecond: for
 * long work beside latency-sensitive work, cut into steps of well under a millisecond.
 * @param steps - the work; each `yield` ends a step
 * @returns the generator's result
 */
export async function runSteps<T>(steps: Generator<void, T>): Promise<T> {
  let since = performance.now()
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value
    if (performance.now() - since >= STEPS_YIELD_AFTER_MS) {
      await yieldToEventLoop()
      since = performance.now()
    }
  }
}

/**
 * Long-lived measurement processes. A worker answers JSON-line requests `{op, args}` with
 * `{ok: result}` or `{error: message}`; each handler times its own work (perf_counter_ns in
 * Python, process.hrtime.bigint in Node), so pipe latency never enters a measurement. Running
 * both compared sides as fresh workers makes their first repetition equally cold and keeps the
 * orchestrator's heap out of our measurements.
 *
 * Python workers are `bench/py/<name>.py serve` scripts built on `bench/py/worker.py`; Node
 * workers run the `workerHandlers` of a registered benchmark through `node-worker.ts`.
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as path from 'node:path'
import { createInterface } from 'node:readline'
import { BENCH_DIR, REPO_ROOT } from './paths.js'
import { pythonPath } from './python.js'

/** A running worker process. */
export interface Worker {
  /**
   * Sends one request and waits for its answer (requests are answered in order).
   * @param op - handler name
   * @param args - handler arguments (JSON)
   * @returns the handler's result
   * @throws Error when the handler failed or the worker died
   */
  call<T>(op: string, args?: Record<string, unknown>): Promise<T>
  /** Closes stdin and waits for the process to exit. */
  close(): Promise<void>
}

type Reply = { ok: unknown; error?: undefined } | { ok?: undefined; error: string }

function startWorker(label: string, command: string, args: readonly string[]): Worker {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = []
  let exited: Error | undefined
  const lines = createInterface({ input: child.stdout })
  lines.on('line', (line) => {
    const next = waiting.shift()
    if (!next) return
    try {
      next.resolve(JSON.parse(line) as Reply)
    } catch (cause) {
      next.reject(new Error(`bench worker ${label}: not a JSON reply: ${line}`, { cause }))
    }
  })
  const exit = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      exited = new Error(`bench worker ${label} exited (${code ?? signal}): ${stderr.trim()}`)
      for (const w of waiting.splice(0)) w.reject(exited)
      resolve()
    })
  })
  child.on('error', (error) => {
    exited = error
    for (const w of waiting.splice(0)) w.reject(error)
  })
  return {
    async call<T>(op: string, callArgs: Record<string, unknown> = {}): Promise<T> {
      if (exited) throw exited
      const reply = await new Promise<Reply>((resolve, reject) => {
        waiting.push({ resolve, reject })
        child.stdin.write(`${JSON.stringify({ op, args: callArgs })}\n`)
      })
      if (reply.error !== undefined) throw new Error(`bench worker ${label}: ${op}: ${reply.error}`)
      return reply.ok as T
    },
    async close(): Promise<void> {
      child.stdin.end()
      await exit
    },
  }
}

/**
 * Starts `python bench/py/<script> serve`.
 * @param script - file name under `bench/py/`
 * @returns the worker
 */
export async function startPythonWorker(script: string): Promise<Worker> {
  const python = await pythonPath()
  return startWorker(script, python, [path.join(BENCH_DIR, 'py', script), 'serve'])
}

/**
 * Starts a fresh Node process serving the `workerHandlers` of a registered benchmark.
 * @param benchmark - the benchmark's registry name
 * @param nodeArgs - extra Node flags (e.g. `--cpu-prof`)
 * @returns the worker
 */
export function startNodeWorker(benchmark: string, nodeArgs: readonly string[] = []): Worker {
  return startWorker(`node:${benchmark}`, process.execPath, [
    ...nodeArgs,
    '--import',
    'tsx',
    path.join(BENCH_DIR, 'lib', 'node-worker.ts'),
    benchmark,
  ])
}

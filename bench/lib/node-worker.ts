/**
 * Entry point of a Node measurement worker: `node --import tsx node-worker.ts <benchmark>`.
 * Serves the benchmark's `workerHandlers` over stdin/stdout (see worker.ts). Not run directly.
 * @module
 */
import { createInterface } from 'node:readline'
import { loadBenchmark } from '../registry.js'

// Replies own stdout: route stray console output to stderr.
console.log = console.error
console.info = console.error

const name = process.argv[2] ?? ''
const benchmark = await loadBenchmark(name)
const handlers = benchmark.workerHandlers ?? {}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  if (line.trim() === '') continue
  let reply: { ok: unknown } | { error: string }
  try {
    const request = JSON.parse(line) as { op: string; args?: Record<string, unknown> }
    const handler = handlers[request.op]
    if (!handler) throw new Error(`no handler ${request.op} in benchmark ${name}`)
    reply = { ok: await handler(request.args ?? {}) }
  } catch (error) {
    reply = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`)
}

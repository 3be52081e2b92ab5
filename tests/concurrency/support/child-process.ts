/**
 * Real child processes for the concurrency tests: each child is a TypeScript script run with
 * `node --import tsx`, speaking a line protocol on stdout (`ready`, then whatever the script
 * prints) and taking a start signal on stdin, so that several children can be released at once.
 *
 * `POLARWAY_FULL=1` selects the long variants of the suites in this folder (see README.md).
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root. */
export const repoRoot: string = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../..',
)

/** Whether the full (long) variants run: `POLARWAY_FULL=1`. */
export const FULL: boolean = process.env.POLARWAY_FULL === '1'

/** A running child script. */
export interface Child {
  readonly proc: ChildProcessWithoutNullStreams
  /** Resolves when the child printed its first line `ready`. */
  readonly ready: Promise<void>
  /** Resolves with exit code, signal and the output after `ready` once the child has exited. */
  readonly exited: Promise<ChildExit>
  /** Sends the start line. */
  start(): void
}

/** How a child ended. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** stdout after the `ready` line. */
  readonly stdout: string
  readonly stderr: string
}

/**
 * Starts `tests/concurrency/<script>` with arguments.
 * @param script - file name in tests/concurrency
 * @param args - command-line arguments
 * @param env - extra environment variables
 * @returns the child
 */
export function startChild(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Child {
  const file = path.join(repoRoot, 'tests', 'concurrency', script)
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  let onReady: () => void = () => undefined
  let failReady: (error: Error) => void = () => undefined
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve
    failReady = reject
  })
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    if (stdout.startsWith('ready\n')) onReady()
  })
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  // A child killed before reading its start line makes writes fail with EPIPE: expected.
  proc.stdin.on('error', () => undefined)
  const exited = new Promise<ChildExit>((resolve, reject) => {
    proc.on('error', reject)
    proc.on('close', (code, signal) => {
      if (!stdout.startsWith('ready\n')) {
        failReady(new Error(`${script} exited (${code ?? signal}) before ready: ${stderr}`))
      }
      const body = stdout.startsWith('ready\n') ? stdout.slice('ready\n'.length) : stdout
      resolve({ code, signal, stdout: body, stderr })
    })
  })
  // Callers may never await `ready` (a child killed early): keep its rejection observed.
  ready.catch(() => undefined)
  return { proc, ready, exited, start: () => proc.stdin.write('go\n') }
}

/**
 * Waits for a child and fails unless it exited with code 0.
 * @param child - the child
 * @param name - name for the message
 * @returns its stdout after `ready`
 */
export async function expectSuccess(child: Child, name: string): Promise<string> {
  const exit = await child.exited
  if (exit.code !== 0) {
    throw new Error(`${name} exited with ${exit.code ?? exit.signal}:\n${exit.stderr}`)
  }
  return exit.stdout
}

/**
 * Child side: prints `ready` and waits for the start line on stdin.
 * @returns when the parent sent the start line
 */
export async function readyAndWaitForStart(): Promise<void> {
  const started = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
  process.stdout.write('ready\n')
  await started
  process.stdin.pause()
}

/**
 * A seeded pseudo-random generator (mulberry32), so that a failing run can be replayed.
 * @param seed - 32-bit seed
 * @returns a function returning numbers in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

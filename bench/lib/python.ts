/**
 * The Python baseline environment: `scripts/python-oracle.sh` creates (once) the venv with the
 * pinned deltalake, pyarrow, polars and duckdb and prints its python.
 * @module
 */
import { execFile, spawn } from 'node:child_process'
import * as path from 'node:path'
import { REPO_ROOT } from './paths.js'

let cached: Promise<string> | undefined

/**
 * The venv's python, creating the venv on first use.
 * @returns absolute path of the python executable
 */
export function pythonPath(): Promise<string> {
  cached ??= new Promise((resolve, reject) => {
    execFile(
      'bash',
      [path.join(REPO_ROOT, 'scripts/python-oracle.sh')],
      { cwd: REPO_ROOT, timeout: 15 * 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`bench: python-oracle.sh failed: ${stderr}`, { cause: error }))
        else resolve(stdout.trim().split('\n').at(-1) ?? '')
      },
    )
  })
  return cached
}

/** Options of {@link runPython}. */
export interface RunPythonOptions {
  /** Kill the script after this many milliseconds (default: no limit). */
  readonly timeoutMs?: number
  /** Forward the script's stderr to ours as it runs (progress of long generators). */
  readonly streamStderr?: boolean
}

/**
 * Runs a Python script of the repository to completion and parses its last stdout line as JSON.
 * @param script - path relative to the repository root (or absolute)
 * @param args - command-line arguments
 * @param options - time limit and stderr forwarding
 * @returns the parsed JSON
 * @throws Error with the exit status and stderr when the script fails
 */
export async function runPython<T>(
  script: string,
  args: readonly string[],
  options: RunPythonOptions = {},
): Promise<T> {
  const python = await pythonPath()
  return new Promise<T>((resolve, reject) => {
    const child = spawn(python, [path.resolve(REPO_ROOT, script), ...args], { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (options.streamStderr) process.stderr.write(chunk)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`bench: ${script} exited with ${code ?? signal}: ${stderr.trim()}`))
        return
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T)
      } catch (cause) {
        reject(new Error(`bench: ${script} printed no JSON: ${stdout}`, { cause }))
      }
    })
  })
}

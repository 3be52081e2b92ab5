/**
 * The machine and software a benchmark ran on, recorded with every result.
 * @module
 */
import { execFile } from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import { pythonPath } from './python.js'

/** Machine and versions at the start of a benchmark. */
export interface MachineInfo {
  readonly cpu: string
  readonly cores: number
  readonly ramGiB: number
  readonly os: string
  readonly node: string
  /** Python and package versions of the baseline venv (empty when it is not used). */
  readonly python: Readonly<Record<string, string>>
  readonly date: string
  /** 1, 5 and 15 minute load averages when the benchmark started. */
  readonly loadAverage: readonly number[]
}

async function cpuModel(): Promise<string> {
  try {
    const text = await fs.readFile('/proc/cpuinfo', 'utf8')
    const line = text.split('\n').find((l) => l.startsWith('model name'))
    if (line) return line.slice(line.indexOf(':') + 1).trim()
  } catch {
    // not Linux: fall back to what Node reports
  }
  return os.cpus()[0]?.model ?? 'unknown'
}

const VERSIONS_SCRIPT = `
import importlib.metadata as md, json, sys
out = {"python": sys.version.split()[0]}
for p in ("deltalake", "pyarrow", "polars", "duckdb"):
    try: out[p] = md.version(p)
    except md.PackageNotFoundError: pass
print(json.dumps(out))
`

async function pythonVersions(): Promise<Record<string, string>> {
  const python = await pythonPath()
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', VERSIONS_SCRIPT], (error, stdout) => {
      if (error) reject(new Error('bench: cannot read the venv versions', { cause: error }))
      else resolve(JSON.parse(stdout) as Record<string, string>)
    })
  })
}

/**
 * Collects machine information (call it before the benchmark starts, for the load average).
 * @param withPython - also record the baseline venv's versions
 * @returns the information
 */
export async function machineInfo(withPython: boolean): Promise<MachineInfo> {
  const loadAverage = os.loadavg()
  return {
    cpu: await cpuModel(),
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: withPython ? await pythonVersions() : {},
    date: new Date().toISOString(),
    loadAverage,
  }
}

/**
 * One markdown paragraph describing the machine.
 * @param info - from {@link machineInfo}
 * @returns markdown
 */
export function formatMachine(info: MachineInfo): string {
  const py = Object.entries(info.python)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return [
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB RAM, ${info.os}.`,
    `Node ${info.node}${py === '' ? '' : `; ${py}`}.`,
    `Run ${info.date}, load average at start ${info.loadAverage.map((l) => l.toFixed(2)).join(' / ')}.`,
  ].join(' ')
}

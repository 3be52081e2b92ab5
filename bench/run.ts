/**
 * `npm run bench [-- <name>...] [--quick] [--list]`: runs benchmarks and rewrites their
 * sections of bench/RESULTS.md. Without names every registered benchmark runs, in order.
 * @module
 */
import { parseArgs } from 'node:util'
import type { BenchmarkContext } from './lib/benchmark.js'
import { ensureDataset } from './lib/data.js'
import { formatMachine, machineInfo } from './lib/machine.js'
import { RESULTS_FILE } from './lib/paths.js'
import { writeSection } from './lib/results.js'
import { BENCHMARKS, loadBenchmark } from './registry.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help || values.list) {
  if (values.help) {
    process.stdout.write('usage: npm run bench [-- <name>...] [--quick] [--list]\n\n')
  }
  for (const name of Object.keys(BENCHMARKS)) {
    const b = await loadBenchmark(name)
    process.stdout.write(`${name.padEnd(20)} ${b.title}\n`)
  }
} else {
  const names = positionals.length > 0 ? positionals : Object.keys(BENCHMARKS)
  const benchmarks = await Promise.all(names.map(loadBenchmark))
  let failed = false
  for (const benchmark of benchmarks) {
    const log = (message: string): void => {
      process.stderr.write(`[${benchmark.name}] ${message}\n`)
    }
    const context: BenchmarkContext = {
      quick: values.quick,
      log,
      reps: (full, quick) => (values.quick ? quick : full),
      dataset: (spec) => ensureDataset(spec, log),
    }
    try {
      const machine = await machineInfo(benchmark.usesPython)
      log('running')
      const result = await benchmark.run(context)
      const section = [
        `## ${benchmark.name}: ${benchmark.title}`,
        '',
        benchmark.description.trim(),
        '',
        formatMachine(machine),
        ...(values.quick
          ? ['', '**Quick run** (`--quick`): few repetitions, indicative only.']
          : []),
        '',
        result.markdown.trim(),
      ].join('\n')
      await writeSection(RESULTS_FILE, benchmark.name, section)
      process.stdout.write(`${benchmark.name}: ${result.summary}\n`)
    } catch (error) {
      failed = true
      process.stderr.write(
        `[${benchmark.name}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
    }
  }
  if (failed) process.exitCode = 1
}

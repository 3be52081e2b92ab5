/**
 * Child process of the cross-process test in maintenance-scheduler.test.ts: one "server" running
 * maintenance on a shared local table.
 * Usage: node --import tsx lease-race.child.ts <tableDir> <owner> <runs> <logFile>
 * Prints `ready`, waits for a line on stdin (so that all children start together), then calls
 * `runNow` on a custom job bound to the table `runs` times. The job appends `start <owner>` and
 * `end <owner>` lines to the log file around a short sleep. Prints the JSON list of run statuses.
 * @module
 */
import { appendFile } from 'node:fs/promises'
import { DeltaTable } from '../../src/delta/index.js'
import { MaintenanceScheduler } from '../../src/maintenance/maintenance-scheduler.js'

const [dir, owner, runs, logFile] = process.argv.slice(2)
if (dir === undefined || owner === undefined || runs === undefined || logFile === undefined) {
  throw new Error('usage: lease-race.child.ts <tableDir> <owner> <runs> <logFile>')
}
const table = await DeltaTable.open(dir)
const scheduler = new MaintenanceScheduler({ owner, leaseDurationMs: 30_000 })
scheduler.addTable('t', table, {})
scheduler.addJob('exclusive', {
  table: 't',
  intervalMs: 60_000,
  run: async () => {
    await appendFile(logFile, `start ${owner}\n`)
    await new Promise((r) => setTimeout(r, 15))
    await appendFile(logFile, `end ${owner}\n`)
  },
})

const started = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
process.stdout.write('ready\n')
await started
process.stdin.pause()

const statuses: string[] = []
for (let i = 0; i < Number(runs); i++) {
  const run = await scheduler.runNow('t', 'exclusive')
  statuses.push(run.status === 'skipped' ? `skipped:${run.reason}` : run.status)
  await new Promise((r) => setTimeout(r, Math.random() * 5))
}
process.stdout.write(`${JSON.stringify(statuses)}\n`)

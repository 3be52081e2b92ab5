/**
 * Crash safety of every DML operation: a writer process (kill-dml.child.ts) runs random
 * appends, deletes, updates (moving rows between partitions), merges, overwrites,
 * checkpoints and compactions, and is SIGKILLed at random moments. After every kill the table
 * must open and hold exactly the rows of the acknowledged operations, as the DML model
 * (`tests/support/dml-model.ts`) computes them, plus the effect of the one operation in flight
 * if and only if its commit exists; every version must read as the model had it, reference only
 * existing files, and every checkpoint must be complete. delta-rs then reads every version as
 * we do.
 *
 * Quick variant (default suite): 8 kills per table. Full variant (`POLARWAY_FULL=1`): 100.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { expect, it } from 'vitest'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import {
  MODEL_SCHEMA,
  ModelRun,
  opFromJson,
  sortRows,
  type ModelRow,
  type Op,
  type Step,
} from '../support/dml-model.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { FULL, seededRandom, startChild } from './support/child-process.js'
import {
  expectDeltaRsReadsTheSame,
  expectIntactAfter,
  readEveryVersion,
  versionsToCompare,
} from './support/verify.js'

const KILLS = FULL ? 100 : 8

/** One line of the writer's log. */
type Entry = { readonly intent: Op; readonly ack?: undefined } | { readonly ack: number }

/** The complete lines of the log (a line cut by the kill was never written). */
async function readLog(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '')
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.length > 0)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The model's rows at every version reached so far, kept across kills. */
interface State {
  rows: ModelRow[]
  nextId: bigint
  /** Log lines already replayed. */
  consumed: number
  /** The version the table was at when the last writer was killed. */
  version: number
  readonly expected: Map<number, ModelRow[]>
}

/** Replays the lines a killed writer logged, checks the table against the model. */
async function checkAfterKill(location: string, log: string, state: State): Promise<void> {
  const lines = (await readLog(log)).slice(state.consumed)
  const table = await DeltaTable.open(location)
  const preparer = new ModelRun(table, state.nextId)
  let pending: Step | undefined
  let acked = state.version
  for (const line of lines) {
    const entry = opFromJson(line) as unknown as Entry
    if (entry.ack === undefined) {
      pending = preparer.prepare(entry.intent)
      continue
    }
    if (!pending) throw new Error(`an ack without its intent in ${log}`)
    state.rows = pending.model(state.rows)
    state.expected.set(entry.ack, sortRows(state.rows))
    acked = entry.ack
    pending = undefined
  }
  // The operation in flight committed if and only if the table moved past the last ack.
  expect(
    table.version - acked,
    'at most the one operation in flight committed',
  ).toBeLessThanOrEqual(1)
  if (table.version > acked) {
    if (!pending) throw new Error('a version nobody logged an intent for')
    state.rows = pending.model(state.rows)
    state.expected.set(table.version, sortRows(state.rows))
  }
  expect(sortRows(await table.toRows()), `after the kill, at version ${table.version}`).toEqual(
    sortRows(state.rows),
  )
  // Every new version reads as the model had it.
  await expectIntactAfter(table, state.version, async (t) => {
    const want = state.expected.get(t.version)
    if (want) expect(sortRows(await t.toRows()), `version ${t.version}`).toEqual(want)
  })
  state.nextId = preparer.nextId
  state.consumed += lines.length
  state.version = table.version
}

async function killRepeatedly(location: string, log: string, seed: number): Promise<State> {
  const random = seededRandom(seed)
  const state: State = {
    rows: [],
    nextId: 0n,
    consumed: 0,
    version: 0,
    expected: new Map([[0, []]]),
  }
  for (let k = 0; k < KILLS; k++) {
    const child = startChild('kill-dml.child.ts', [
      location,
      log,
      String(state.nextId),
      String(seed + k),
    ])
    await child.ready
    child.start()
    // Let the writer get going (at least one acknowledged operation), then kill it at a random
    // moment of its loop.
    const deadline = Date.now() + 60_000
    while ((await readLog(log)).length < state.consumed + 2) {
      if (child.proc.exitCode !== null)
        throw new Error(`writer exited: ${(await child.exited).stderr}`)
      if (Date.now() > deadline) throw new Error('writer acknowledged nothing within 60 s')
      await sleep(5)
    }
    await sleep(random() * 250)
    child.proc.kill('SIGKILL')
    const exit = await child.exited
    if (exit.signal !== 'SIGKILL')
      throw new Error(`writer ended on its own (${exit.code}): ${exit.stderr}`)
    await checkAfterKill(location, log, state)
  }
  return state
}

describeWithOracle('DML writers killed at random moments', (oracle) => {
  it.each([
    ['unpartitioned, default checkpoint interval', [], {}],
    ['partitioned by p, a checkpoint every 2 commits', ['p'], { 'delta.checkpointInterval': '2' }],
  ])(
    `leaves the model's rows after ${KILLS} kills (%s)`,
    async (_, partitionColumns: string[], properties: Record<string, string>) => {
      const dir = await makeTempDir('kill-dml-')
      const location = path.join(dir, 'table')
      await DeltaTable.create(location, { schema: MODEL_SCHEMA, partitionColumns, properties })
      const seed = Date.now() % 1_000_000
      const state = await killRepeatedly(location, path.join(dir, 'ops.log'), seed)
      expect(state.version, `seed ${seed}`).toBeGreaterThan(0)
      const every = await readEveryVersion(location)
      await expectDeltaRsReadsTheSame(
        oracle,
        location,
        versionsToCompare(every.latest, false, FULL ? 200 : 30),
        every.rows,
        every.schema,
      )
    },
    FULL ? 2_400_000 : 180_000,
  )
})

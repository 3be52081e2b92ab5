/**
 * Crash safety: a writer process (kill.child.ts) commits appends in a loop and is SIGKILLed at
 * random moments. After every kill the table must open, hold every acknowledged row exactly
 * once, plus at most the rows of the one commit that was in flight (a commit can be durable
 * before its acknowledgement is written), and nothing partial: every new version opens and
 * references only existing files, every checkpoint file opens, and the next writer continues.
 *
 * The writer alternates between `append` and `appendQueued` (group commit). A second table uses
 * `delta.checkpointInterval=1`, so that many kills land while a checkpoint is being written: a
 * half-written checkpoint must never be visible under its final name.
 *
 * Quick variant (default suite): 10 kills per table. Full variant (`POLARWAY_FULL=1`): 100. At the
 * end, delta-rs replays every version to the same files and rows and scans a sample of versions
 * (30, or 200 in the full variant).
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { expect, it } from 'vitest'
import type { StructType } from '../../src/delta/schema/data-type.js'
import { DeltaTable } from '../../src/delta/table/delta-table.js'
import { describeWithOracle } from '../support/oracle.js'
import { makeTempDir } from '../support/temp.js'
import { FULL, seededRandom, startChild, type Child } from './support/child-process.js'
import {
  expectDeltaRsReadsTheSame,
  expectDeltaRsReplaysTheSame,
  expectIntactAfter,
  readEveryVersion,
  versionsToCompare,
} from './support/verify.js'

const KILLS = FULL ? 100 : 10

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'payload', type: 'string', nullable: true, metadata: {} },
  ],
}

interface AckLine {
  readonly first: bigint
  readonly count: number
  readonly version: number
}

/** Complete lines of the acknowledgement log (a line cut by the kill is not an ack). */
async function readAcks(file: string): Promise<AckLine[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '')
  const complete = text.slice(0, text.lastIndexOf('\n') + 1)
  return complete
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [first, count, version] = l.split(' ')
      return { first: BigInt(first ?? ''), count: Number(count), version: Number(version) }
    })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until the acknowledgement log holds `count` complete lines. */
async function waitForAcks(file: string, count: number, child: Child): Promise<void> {
  const deadline = Date.now() + 60_000
  while ((await readAcks(file)).length < count) {
    if (child.proc.exitCode !== null)
      throw new Error(`writer exited: ${(await child.exited).stderr}`)
    if (Date.now() > deadline) throw new Error('writer acknowledged nothing within 60 s')
    await sleep(5)
  }
}

/** Checks the state after one kill; returns the versions it verified and the next free id. */
async function checkAfterKill(
  location: string,
  acks: readonly AckLine[],
  tolerated: Set<bigint>,
  checkedThrough: number,
): Promise<{ latest: number; nextId: bigint }> {
  const table = await DeltaTable.open(location)
  const ids = (await table.toRows({ columns: ['id'] })).map((r) => r.id as bigint)
  expect(new Set(ids).size, 'no row is present twice').toBe(ids.length)
  const present = new Set(ids)
  const acked = new Set<bigint>()
  for (const a of acks) for (let i = 0; i < a.count; i++) acked.add(a.first + BigInt(i))
  for (const id of acked) expect(present.has(id), `acknowledged id ${id} is present`).toBe(true)
  const maxAcked = acks.reduce(
    (m, a) => (a.first + BigInt(a.count) - 1n > m ? a.first + BigInt(a.count) - 1n : m),
    0n,
  )
  const extras = ids
    .filter((id) => !acked.has(id) && !tolerated.has(id))
    .sort((a, b) => (a < b ? -1 : 1))
  if (extras.length > 0) {
    // The one in-flight commit: the latest version, not acknowledged, consecutive new ids.
    expect(extras.length).toBeLessThanOrEqual(4)
    expect(extras[0]).toBeGreaterThan(maxAcked)
    extras.forEach((id, i) => expect(id).toBe((extras[0] as bigint) + BigInt(i)))
    expect(acks.some((a) => a.version === table.version)).toBe(false)
    const before = await DeltaTable.open(location, { version: table.version - 1 })
    const earlier = new Set((await before.toRows({ columns: ['id'] })).map((r) => r.id as bigint))
    for (const id of extras) expect(earlier.has(id)).toBe(false)
    for (const id of extras) tolerated.add(id)
  }
  await expectIntactAfter(table, checkedThrough)
  const maxId = ids.reduce((m, id) => (id > m ? id : m), 0n)
  return { latest: table.version, nextId: maxId + 1n }
}

async function killRepeatedly(
  location: string,
  ackLog: string,
  kills: number,
  seed: number,
): Promise<number> {
  const random = seededRandom(seed)
  const tolerated = new Set<bigint>()
  let nextId = 1n
  let checkedThrough = 0
  for (let k = 0; k < kills; k++) {
    const before = (await readAcks(ackLog)).length
    const child = startChild('kill.child.ts', [
      location,
      ackLog,
      String(nextId),
      k % 2 === 0 ? 'append' : 'queued',
      String(seed + k),
    ])
    await child.ready
    child.start()
    // Let the writer get going (its first commit warms up the JIT, slow on a loaded machine),
    // then kill it at a random moment of its commit loop.
    await waitForAcks(ackLog, before + 1, child)
    await sleep(random() * 200)
    child.proc.kill('SIGKILL')
    const exit = await child.exited
    if (exit.signal !== 'SIGKILL') {
      throw new Error(`writer ended on its own (${exit.code}): ${exit.stderr}`)
    }
    const acks = await readAcks(ackLog)
    const checked = await checkAfterKill(location, acks, tolerated, checkedThrough)
    checkedThrough = checked.latest
    nextId = checked.nextId
  }
  // A new writer continues where the killed ones stopped.
  const table = await DeltaTable.open(location)
  const result = await table.append([{ id: nextId, payload: 'after the kills' }])
  expect(result.version).toBe(checkedThrough + 1)
  return result.version
}

describeWithOracle('writers killed at random moments', (oracle) => {
  it.each([
    ['default checkpoint interval', {}],
    ['a checkpoint after every commit', { 'delta.checkpointInterval': '1' }],
  ])(
    `leaves a consistent table after ${KILLS} kills (%s)`,
    async (_, properties: Record<string, string>) => {
      const dir = await makeTempDir('kill-')
      const location = path.join(dir, 'table')
      await DeltaTable.create(location, { schema: SCHEMA, properties })
      const seed = Date.now() % 1_000_000
      const latest = await killRepeatedly(location, path.join(dir, 'acks.log'), KILLS, seed)
      const every = await readEveryVersion(location)
      const { rows, schema } = every
      await expectDeltaRsReplaysTheSame(oracle, location, every)
      await expectDeltaRsReadsTheSame(
        oracle,
        location,
        versionsToCompare(latest, false, FULL ? 200 : 30),
        rows,
        schema,
      )
    },
    FULL ? 2_400_000 : 180_000,
  )
})

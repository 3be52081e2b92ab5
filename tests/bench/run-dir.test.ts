import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { describeRunDir, makeRunDir } from '../../bench/lib/run-dir.js'
import { cleanupTempDirs, makeTempDir } from '../support/temp.js'

afterAll(cleanupTempDirs)

describe('makeRunDir', () => {
  it('makes a fresh directory per run, after removing what earlier runs of the name left', async () => {
    const parent = await makeTempDir('run-dir-')
    await fs.mkdir(path.join(parent, 'group-commit-1-2', 'table'), { recursive: true })
    await fs.mkdir(path.join(parent, 'append-latency-1-2'))
    const run = await makeRunDir('group-commit', parent)
    expect(path.dirname(run.path)).toBe(parent)
    expect((await fs.readdir(parent)).sort()).toEqual(
      ['append-latency-1-2', path.basename(run.path)].sort(),
    )
    // The probe's files are all that is in it.
    expect(await fs.readdir(run.path)).toEqual(['.create-probe'])
    expect(await fs.readdir(path.join(run.path, '.create-probe'))).toHaveLength(256)
    expect(run.createUs).toBeGreaterThan(0)
    expect(typeof run.spread).toBe('boolean')
    await run.remove()
    await expect(fs.stat(run.path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('describes where a run wrote and what creating a file cost there', () => {
    const base = { path: '/x', createUs: 12.34, remove: () => Promise.resolve() }
    const spread = describeRunDir({ ...base, spread: true })
    expect(spread).toContain('12.3 µs')
    expect(spread).toContain('chattr +T')
    expect(describeRunDir({ ...base, spread: false })).toContain('could not be given')
  })
})

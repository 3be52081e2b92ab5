import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeSection } from '../../bench/lib/results.js'
import { cleanupTempDirs, makeTempDir } from '../support/temp.js'

afterAll(cleanupTempDirs)

describe('writeSection', () => {
  it('creates the file, appends new sections and rewrites only the named one', async () => {
    const file = path.join(await makeTempDir('bench-results-'), 'RESULTS.md')
    await writeSection(file, 'a', '## a\n\nfirst a')
    await writeSection(file, 'b', '## b\n\nfirst b')
    await writeSection(file, 'a', '## a\n\nsecond a')
    const text = await fs.readFile(file, 'utf8')
    expect(text).toMatch(/^# Benchmark results/)
    expect(text).toContain('<!-- bench:a:begin -->\n## a\n\nsecond a\n<!-- bench:a:end -->')
    expect(text).toContain('first b')
    expect(text).not.toContain('first a')
    expect(text.indexOf('bench:a:begin')).toBeLessThan(text.indexOf('bench:b:begin'))
  })
})

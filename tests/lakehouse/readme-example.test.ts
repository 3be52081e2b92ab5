/**
 * The README's library example ("Using the library") must work as written on a fresh lakehouse:
 * it is extracted, pointed at the sources and a temp directory, given the two values it leaves
 * to the reader (`jwtSecret`, `password`), and run in a child process.
 */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { makeTempDir } from '../support/temp.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')

/** The first TypeScript block after the "Using the library" heading. */
function libraryExample(readme: string): string {
  const section = readme.indexOf('## Using the library')
  expect(section).toBeGreaterThanOrEqual(0)
  const start = readme.indexOf('```ts\n', section)
  const end = readme.indexOf('```', start + 6)
  expect(start).toBeGreaterThan(section)
  return readme.slice(start + 6, end)
}

describe('README library example', () => {
  it('runs as written against a fresh lakehouse', async () => {
    const example = libraryExample(await fs.readFile(path.join(ROOT, 'README.md'), 'utf8'))
    expect(example).toContain("from 'polarway-lakehouse'")
    expect(example).toContain("'/data/lakehouse'")
    const dir = await makeTempDir('readme-')
    const index = pathToFileURL(path.join(ROOT, 'src', 'index.ts')).href
    const script = [
      "import { randomBytes } from 'node:crypto'",
      // The values the example leaves to the reader.
      "const jwtSecret = randomBytes(32).toString('base64url')",
      "const password = 'a long passphrase for alice'",
      example
        .replace("from 'polarway-lakehouse'", `from ${JSON.stringify(index)}`)
        .replace("'/data/lakehouse'", JSON.stringify(path.join(dir, 'lakehouse'))),
      "console.log('README example done')",
    ].join('\n')
    const file = path.join(dir, 'example.mts')
    await fs.writeFile(file, script)
    const { stdout } = await run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [file], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'development' },
      timeout: 60_000,
    })
    expect(stdout).toContain('README example done')
  }, 90_000)
})

/**
 * JSON parsed with every number kept exact. `JSON.parse` turns numbers into doubles, so a long
 * above 2^53 or a decimal of 38 digits comes back rounded; a statistic copied from an old file
 * into a new one (an UPDATE that rewrites only the set columns) must keep its digits, or it
 * would no longer bound the values it describes and readers that trust it would skip the file.
 * @module
 */
import { JsonNumber } from './collect-stats.js'

/** Nesting deeper than this is refused (stats nest as deep as the schema's structs). */
const MAX_DEPTH = 256

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const SPACE = /[ \t\n\r]*/y

/**
 * Parses JSON text like `JSON.parse`, except that every number is a {@link JsonNumber} holding
 * its text. Keys are own data properties (`__proto__` included, as `JSON.parse` makes them).
 * @param text - JSON text
 * @returns the value
 * @throws SyntaxError on malformed JSON
 */
export function parseJsonExact(text: string): unknown {
  let at = 0
  const fail = (): never => {
    throw new SyntaxError(`JSON: unexpected input at position ${at}`)
  }
  const space = (): void => {
    SPACE.lastIndex = at
    SPACE.test(text)
    at = SPACE.lastIndex
  }
  const expect = (char: string): void => {
    space()
    if (text[at] !== char) fail()
    at++
  }
  const string = (): string => {
    const start = at
    at++
    while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1
    if (at >= text.length) fail()
    at++
    return JSON.parse(text.slice(start, at)) as string
  }
  /** Reads items up to `close`, separated by commas (the opening bracket is read). */
  const items = (close: string, item: () => void): void => {
    space()
    if (text[at] === close) {
      at++
      return
    }
    for (;;) {
      item()
      space()
      if (text[at] !== ',') break
      at++
    }
    expect(close)
  }
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail()
    space()
    const c = text[at]
    if (c === '"') return string()
    if (c === '{') {
      at++
      const obj: Record<string, unknown> = {}
      items('}', () => {
        space()
        if (text[at] !== '"') fail()
        const key = string()
        expect(':')
        Object.defineProperty(obj, key, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      })
      return obj
    }
    if (c === '[') {
      at++
      const list: unknown[] = []
      items(']', () => list.push(value(depth + 1)))
      return list
    }
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length
        return literal
      }
    }
    NUMBER.lastIndex = at
    const match = NUMBER.exec(text)
    if (match === null) return fail()
    at = NUMBER.lastIndex
    return new JsonNumber(match[0])
  }
  const result = value(0)
  space()
  if (at !== text.length) fail()
  return result
}

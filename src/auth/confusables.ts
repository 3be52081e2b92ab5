/**
 * Script and lookalike checks for identifiers, after Unicode UTS #39 (Security Mechanisms):
 *
 * - {@link classifyScripts} resolves which scripts a string is written in, using each code
 *   point's Script_Extensions, and accepts a string when it is single-script or "highly
 *   restrictive" (Latin with Han and Hiragana/Katakana, Bopomofo or Hangul, as UTS #39 §5.2
 *   allows for Japanese, Chinese and Korean). Letters must belong to one of the scripts UAX #31
 *   Table 5 recommends for identifiers.
 * - {@link skeleton} maps lookalike characters to a Latin prototype through a small table we
 *   maintain here: a curated subset of UTS #39 `confusables.txt` covering the Cyrillic, Greek,
 *   Armenian and Latin letters (and digits) that render like ASCII letters. It is not the full
 *   Unicode table; it targets impersonation of Latin names.
 * - {@link isWholeScriptConfusable} flags a string written entirely in Cyrillic, Greek or
 *   Armenian whose skeleton is plain ASCII: Cyrillic "асе" reads as Latin "ace".
 *
 * Both ignore what does not tell two strings apart on screen: default-ignorable code points
 * (variation selectors, joiners, Hangul fillers) are dropped, as UTS #39 drops them from
 * skeletons, and the whole-script check looks through combining marks of the Inherited script
 * (an acute accent sits on a Latin letter as well as on a Cyrillic one).
 * @module
 */

/** Scripts whose letters may appear in identifiers (UAX #31 Table 5, "Recommended"). */
export const RECOMMENDED_SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Ethiopic',
  'Khmer',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
] as const

/** A script of {@link RECOMMENDED_SCRIPTS}. */
export type RecommendedScript = (typeof RECOMMENDED_SCRIPTS)[number]

/** Outcome of {@link classifyScripts}. */
export type ScriptVerdict =
  /** All letters share one script (script-neutral characters aside). */
  | 'single'
  /** Latin mixed with Han plus Hiragana/Katakana, Bopomofo or Hangul (UTS #39 §5.2). */
  | 'cjk-with-latin'
  /** Letters from scripts that do not combine, such as Latin with Cyrillic. */
  | 'mixed'
  /** A letter or digit outside the recommended scripts, or a script-less (Common) letter. */
  | 'unsupported'

/** Result of {@link classifyScripts}. */
export interface ScriptClassification {
  readonly verdict: ScriptVerdict
  /**
   * For `single`: the scripts every non-neutral character shares (one, or several when every
   * character is shared, like Han with Japanese kana). Empty for a string of neutral characters
   * only, and for the other verdicts.
   */
  readonly scripts: readonly RecommendedScript[]
}

const SCRIPT_TESTS: readonly (readonly [RecommendedScript, RegExp])[] = RECOMMENDED_SCRIPTS.map(
  (script) => [script, new RegExp(`^\\p{scx=${script}}$`, 'u')] as const,
)
const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u
const NEUTRAL_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u
const LATIN: ReadonlySet<RecommendedScript> = new Set(['Latin'])
const NEUTRAL: ReadonlySet<RecommendedScript> = new Set()
const UNSUPPORTED: ReadonlySet<RecommendedScript> = new Set()

/** UTS #39 §5.2 "Highly Restrictive" combinations beyond a single script. */
const CJK_WITH_LATIN: readonly ReadonlySet<RecommendedScript>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
]

/** Scripts with whole-script lookalikes of Latin (see {@link isWholeScriptConfusable}). */
const LATIN_LOOKALIKE_SCRIPTS: ReadonlySet<RecommendedScript> = new Set([
  'Cyrillic',
  'Greek',
  'Armenian',
])

/**
 * The recommended scripts of one code point, {@link NEUTRAL} for script-neutral characters
 * (ASCII digits and punctuation, Common/Inherited marks and symbols), {@link UNSUPPORTED} for
 * letters and digits of no recommended script.
 */
function scriptsOf(ch: string): ReadonlySet<RecommendedScript> {
  const cp = ch.codePointAt(0) ?? 0
  if (cp < 0x80) {
    return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) ? LATIN : NEUTRAL
  }
  const found = new Set<RecommendedScript>()
  for (const [script, test] of SCRIPT_TESTS) if (test.test(ch)) found.add(script)
  if (found.size > 0) return found
  // Script-less letters (Common modifier letters and the like) are not identifier material.
  if (LETTER_OR_DIGIT.test(ch)) return UNSUPPORTED
  return NEUTRAL_SCRIPT.test(ch) ? NEUTRAL : UNSUPPORTED
}

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const x of a) if (b.has(x)) return true
  return false
}

/**
 * Resolves the scripts of `text` (expected NFKC-normalized) as UTS #39 §5.1 does with
 * Script_Extensions, treating ASCII digits, punctuation and Common/Inherited non-letters as
 * neutral.
 * @param text - the string to classify
 * @returns the verdict and, for `single`, the shared scripts
 */
export function classifyScripts(text: string): ScriptClassification {
  const perChar: ReadonlySet<RecommendedScript>[] = []
  let resolved: Set<RecommendedScript> | undefined
  for (const ch of text) {
    const scripts = scriptsOf(ch)
    if (scripts === NEUTRAL) continue
    if (scripts === UNSUPPORTED) return { verdict: 'unsupported', scripts: [] }
    perChar.push(scripts)
    if (resolved === undefined) {
      resolved = new Set(scripts)
    } else {
      for (const s of resolved) if (!scripts.has(s)) resolved.delete(s)
    }
  }
  if (resolved === undefined) return { verdict: 'single', scripts: [] }
  if (resolved.size > 0) return { verdict: 'single', scripts: [...resolved] }
  for (const allowed of CJK_WITH_LATIN) {
    if (perChar.every((scripts) => intersects(scripts, allowed))) {
      return { verdict: 'cjk-with-latin', scripts: [] }
    }
  }
  return { verdict: 'mixed', scripts: [] }
}

// Lookalike -> Latin prototype. Keys are written as escapes on purpose: in source, Cyrillic "а"
// and Latin "a" are indistinguishable, which is the whole point of this table.
const LOOKALIKES: ReadonlyMap<string, string> = new Map<string, string>([
  // Cyrillic small letters
  ['\u0430', 'a'], // а
  ['\u0435', 'e'], // е
  ['\u043E', 'o'], // о
  ['\u0440', 'p'], // р
  ['\u0441', 'c'], // с
  ['\u0443', 'y'], // у
  ['\u0445', 'x'], // х
  ['\u0456', 'i'], // і
  ['\u0458', 'j'], // ј
  ['\u0455', 's'], // ѕ
  ['\u0501', 'd'], // ԁ
  ['\u051B', 'q'], // ԛ
  ['\u051D', 'w'], // ԝ
  ['\u04BB', 'h'], // һ
  ['\u04CF', 'l'], // ӏ (palochka, small)
  // Cyrillic capital letters
  ['\u0410', 'A'], // А
  ['\u0412', 'B'], // В
  ['\u0415', 'E'], // Е
  ['\u041A', 'K'], // К
  ['\u041C', 'M'], // М
  ['\u041D', 'H'], // Н
  ['\u041E', 'O'], // О
  ['\u0420', 'P'], // Р
  ['\u0421', 'C'], // С
  ['\u0422', 'T'], // Т
  ['\u0425', 'X'], // Х
  ['\u0423', 'Y'], // У
  ['\u04AE', 'Y'], // Ү
  ['\u0406', 'l'], // І (renders like capital I, whose prototype is l)
  ['\u04C0', 'l'], // Ӏ (palochka)
  ['\u0408', 'J'], // Ј
  ['\u0405', 'S'], // Ѕ
  ['\u051A', 'Q'], // Ԛ
  ['\u051C', 'W'], // Ԝ
  ['\u04BA', 'H'], // Һ
  // Greek small letters
  ['\u03BF', 'o'], // ο
  ['\u03BD', 'v'], // ν
  ['\u03B1', 'a'], // α
  ['\u03B9', 'i'], // ι
  ['\u03BA', 'k'], // κ
  ['\u03C1', 'p'], // ρ
  ['\u03C4', 't'], // τ
  ['\u03C5', 'u'], // υ
  ['\u03C7', 'x'], // χ
  ['\u03F2', 'c'], // ϲ (lunate sigma)
  ['\u03F3', 'j'], // ϳ
  // Greek capital letters
  ['\u0391', 'A'], // Α
  ['\u0392', 'B'], // Β
  ['\u0395', 'E'], // Ε
  ['\u0396', 'Z'], // Ζ
  ['\u0397', 'H'], // Η
  ['\u0399', 'l'], // Ι
  ['\u039A', 'K'], // Κ
  ['\u039C', 'M'], // Μ
  ['\u039D', 'N'], // Ν
  ['\u039F', 'O'], // Ο
  ['\u03A1', 'P'], // Ρ
  ['\u03A4', 'T'], // Τ
  ['\u03A5', 'Y'], // Υ
  ['\u03A7', 'X'], // Χ
  ['\u03F9', 'C'], // Ϲ (lunate sigma, capital)
  // Armenian
  ['\u0585', 'o'], // օ
  ['\u0578', 'n'], // ո
  ['\u057D', 'u'], // ս
  ['\u0570', 'h'], // հ
  ['\u0581', 'g'], // ց
  ['\u0566', 'q'], // զ
  ['\u054D', 'U'], // Ս
  ['\u0555', 'O'], // Օ
  // Latin letters that render like other ASCII letters
  ['\u0251', 'a'], // ɑ (Latin alpha)
  ['\u0131', 'i'], // ı (dotless i)
  ['\u0269', 'i'], // ɩ (Latin iota)
  ['\u0237', 'j'], // ȷ (dotless j)
  ['\u0261', 'g'], // ɡ (script g)
  ['\u01C0', 'l'], // ǀ (dental click)
  // ASCII prototypes as in confusables.txt: I, 1 -> l; 0 -> O; m -> rn
  ['I', 'l'],
  ['1', 'l'],
  ['0', 'O'],
  ['m', 'rn'],
  ['M', 'rn'],
])

const DEFAULT_IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u
// Marks that take the script of the letter they follow: they can sit on a Latin letter too.
const INHERITED = /^\p{Script=Inherited}$/u

/**
 * Maps every lookalike code point of `text` to its Latin prototype, leaving other characters as
 * they are, and drops default-ignorable code points (as UTS #39 skeletons do: "admin" followed
 * by a variation selector renders as "admin"). Case is kept (`I` and Cyrillic `І` both map to
 * `l`, Cyrillic `А` to `A`).
 * @param text - the string to map (expected NFKC-normalized)
 * @returns the mapped string
 */
export function skeleton(text: string): string {
  let out = ''
  for (const ch of text) {
    if (!DEFAULT_IGNORABLE.test(ch)) out += LOOKALIKES.get(ch) ?? ch
  }
  return out
}

/**
 * Whether `text` is a whole-script confusable of a Latin string: every letter is Cyrillic,
 * Greek or Armenian (one of them), and every letter has a Latin lookalike, so the string can be
 * read as a Latin one (Cyrillic "асе" as "ace"). ASCII digits and punctuation do not matter,
 * nor do default-ignorable code points (a variation selector, a combining grapheme joiner) and
 * combining marks of the Inherited script, which decorate a Latin letter alike: Cyrillic "асе"
 * with an acute accent reads as Latin "acé". Letters are decomposed first, so a precomposed
 * Cyrillic "ѐ" counts as "е" and its mark.
 * @param text - the string (expected NFKC-normalized)
 * @returns true when the string should be refused as an identifier
 */
export function isWholeScriptConfusable(text: string): boolean {
  const { verdict, scripts } = classifyScripts(text)
  if (verdict !== 'single' || scripts.length === 0) return false
  if (!scripts.every((s) => LATIN_LOOKALIKE_SCRIPTS.has(s))) return false
  // Any other non-ASCII character (a letter like "б", or a mark of the script itself like the
  // Cyrillic titlo) keeps the string distinguishable.
  for (const ch of text.normalize('NFD')) {
    if ((ch.codePointAt(0) ?? 0) < 0x80 || LOOKALIKES.has(ch)) continue
    if (!DEFAULT_IGNORABLE.test(ch) && !INHERITED.test(ch)) return false
  }
  return true
}

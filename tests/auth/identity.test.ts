import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LakehouseError } from '../../src/common/lakehouse-error.js'
import { isWholeScriptConfusable, skeleton } from '../../src/auth/confusables.js'
import {
  normalizeEmail,
  normalizeUsername,
  usernameKey,
  usernameSkeleton,
} from '../../src/auth/identity.js'
import { thrown } from '../support/thrown.js'

/** Characters no accepted identifier may contain. */
const UNSAFE =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{White_Space}\p{Z}\p{Default_Ignorable_Code_Point}]/u

describe('normalizeUsername', () => {
  it.each<[string, unknown, string]>([
    ['an SQL-injection string (quote and spaces)', "a' OR '1'='1", 'character'],
    ['Cyrillic "а" mixed with Latin', '\u0430dmin', 'mixed-script'],
    ['Greek "ο" mixed with Latin', 'r\u03BFot', 'mixed-script'],
    ['a zero-width space', 'ad\u200Bmin', 'character'],
    ['a zero-width joiner', 'ad\u200Dmin', 'character'],
    ['a zero-width non-joiner', 'ad\u200Cmin', 'character'],
    ['a byte-order mark', '\uFEFFadmin', 'character'],
    ['a soft hyphen', 'ad\u00ADmin', 'character'],
    ['a right-to-left override', 'admin\u202E', 'character'],
    ['a bidi isolate', '\u2066admin\u2069', 'character'],
    ['NUL', 'alice\u0000', 'character'],
    ['a tab', 'al\tice', 'character'],
    ['a line separator', 'al\u2028ice', 'character'],
    ['a leading space (not trimmed)', ' alice', 'character'],
    ['a trailing space (not trimmed)', 'alice ', 'character'],
    ['a no-break space', 'al\u00A0ice', 'character'],
    ['an ideographic space', 'al\u3000ice', 'character'],
    ['a lone high surrogate', 'alice\uD800', 'encoding'],
    ['a lone low surrogate', '\uDC00alice', 'encoding'],
    ['a private-use character', 'alice\uE000', 'character'],
    ['a variation selector (VS16)', 'admin\uFE0F', 'character'],
    ['a supplementary variation selector (VS17)', 'admin\u{E0100}', 'character'],
    ['a combining grapheme joiner', 'ad\u034Fmin', 'character'],
    ['a Mongolian free variation selector', 'admin\u180B', 'character'],
    ['a Hangul filler', 'admin\u3164', 'character'],
    ['a Hangul choseong filler', '\u115Fadmin', 'character'],
    ['a Hangul jungseong filler', 'admin\u1160', 'character'],
    ['a halfwidth Hangul filler', 'admin\uFFA0', 'character'],
    ['a Khmer inherent vowel (invisible)', 'admin\u17B4', 'character'],
    ['a tag character', 'admin\u{E0061}', 'character'],
    [
      'an all-Cyrillic "ace" hidden by a variation selector',
      '\u0430\u0441\u0435\uFE0F',
      'character',
    ],
    ['an unassigned code point', 'alice\u0378', 'character'],
    ['the empty string', '', 'length'],
    ['two characters', 'ab', 'length'],
    ['33 characters', 'a'.repeat(33), 'length'],
    ['10 kB', 'a'.repeat(10_240), 'length'],
    ['an apostrophe', "o'neil", 'character'],
    ['an at sign', 'alice@home', 'character'],
    ['a slash', 'alice/bob', 'character'],
    ['a leading dot', '.alice', 'format'],
    ['a trailing dot', 'alice.', 'format'],
    ['a leading hyphen', '-alice', 'format'],
    ['a trailing hyphen', 'alice-', 'format'],
    ['two dots in a row', 'al..ice', 'format'],
    ['mixed punctuation in a row', 'al_-ice', 'format'],
    ['only punctuation', '___', 'format'],
    ['a leading combining mark', '\u0301alice', 'format'],
    ['five combining marks on a letter', `x${'\u0300\u0301\u0302\u0303\u0304'}yz`, 'format'],
    ['an all-Cyrillic lookalike of "ace"', '\u0430\u0441\u0435', 'confusable'],
    ['an all-Cyrillic lookalike of "coco"', '\u0441\u043E\u0441\u043E', 'confusable'],
    ['an all-Greek lookalike of "OK"', '\u039F\u039A1', 'confusable'],
    ['an all-Armenian lookalike', '\u0585\u0578\u0570', 'confusable'],
    [
      'an all-Cyrillic lookalike of "acé" (combining acute)',
      '\u0430\u0441\u0435\u0301',
      'confusable',
    ],
    ['an all-Cyrillic lookalike of "acè" (precomposed U+0450)', '\u0430\u0441\u0450', 'confusable'],
    ['Bengali digits with Latin letters', 'abc\u09E6', 'mixed-script'],
    ['Latin with Hangul and Hiragana', 'a\uAC00\u3042', 'mixed-script'],
    ['a letter of a script not recommended for identifiers', 'ab\u16A0', 'script'],
  ])('rejects %s', (_name, input, reason) => {
    const error = thrown(() => normalizeUsername(input))
    expect(error.code).toBe('INVALID_USERNAME')
    expect(error.context.reason).toBe(reason)
  })

  it.each<[string, unknown]>([
    ['an array', ['alice']],
    ['an object', { $ne: null }],
    ['null', null],
    ['undefined', undefined],
    ['a number', 12345],
    ['a String object', new String('alice')],
  ])('rejects %s with reason "type"', (_name, input) => {
    const error = thrown(() => normalizeUsername(input))
    expect(error.code).toBe('INVALID_USERNAME')
    expect(error.context.reason).toBe('type')
  })

  it.each<[string, string, string]>([
    ['alice', 'alice', 'alice'],
    ['Alice_01', 'Alice_01', 'alice_01'],
    ['j\u00FCrgen', 'j\u00FCrgen', 'j\u00FCrgen'],
    ['ju\u0308rgen', 'j\u00FCrgen', 'j\u00FCrgen'],
    [
      '\u0411\u043E\u0440\u0438\u0441',
      '\u0411\u043E\u0440\u0438\u0441',
      '\u0431\u043E\u0440\u0438\u0441',
    ],
    ['\u5C71\u7530\u592A\u90CE', '\u5C71\u7530\u592A\u90CE', '\u5C71\u7530\u592A\u90CE'],
    [
      '\u5C71\u7530\u305F\u308D\u3046',
      '\u5C71\u7530\u305F\u308D\u3046',
      '\u5C71\u7530\u305F\u308D\u3046',
    ],
    ['alice\u5C71\u7530', 'alice\u5C71\u7530', 'alice\u5C71\u7530'],
    ['\uFF22\uFF4F\uFF42', 'Bob', 'bob'],
    ['\uFB01sh', 'fish', 'fish'],
    ['Stra\u00DFe', 'Stra\u00DFe', 'strasse'],
    [
      '\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3',
      '\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3',
      '\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03C5\u03C2',
    ],
    ['\u0633\u0644\u0627\u0645', '\u0633\u0644\u0627\u0645', '\u0633\u0644\u0627\u0645'],
    [
      '\u0928\u092E\u0938\u094D\u0924\u0947',
      '\u0928\u092E\u0938\u094D\u0924\u0947',
      '\u0928\u092E\u0938\u094D\u0924\u0947',
    ],
    ['_alice_', '_alice_', '_alice_'],
    ['a.b-c_d', 'a.b-c_d', 'a.b-c_d'],
    ['007', '007', '007'],
    ['a'.repeat(32), 'a'.repeat(32), 'a'.repeat(32)],
  ])('accepts %j as %j with key %j', (input, username, key) => {
    expect(normalizeUsername(input)).toEqual({
      username,
      key,
      skeletonKey: usernameSkeleton(username),
    })
  })

  it('gives case variants one key', () => {
    const keys = ['alice', 'Alice', 'ALICE', '\uFF21lice'].map((u) => normalizeUsername(u).key)
    expect(new Set(keys).size).toBe(1)
  })

  it('never puts the input into the message', () => {
    const input = 'secret\u202Eevil'
    expect(thrown(() => normalizeUsername(input)).message).not.toContain('secret')
  })
})

describe('usernameKey', () => {
  it('equals the key normalizeUsername returns', () => {
    for (const u of [
      'Alice_01',
      'Stra\u00DFe',
      '\uFF22\uFF4F\uFF42',
      '\u0411\u043E\u0440\u0438\u0441',
    ]) {
      expect(usernameKey(u)).toBe(normalizeUsername(u).key)
    }
  })
})

describe('usernameSkeleton', () => {
  it.each<[string, string]>([
    ['paypal', 'paypa1'],
    ['paypal', 'PAYPAI'],
    ['alice', 'AIice'],
    ['microsoft', 'rnicrosoft'],
    ['google', 'g00gle'],
    ['ace', '\u0430\u0441\u0435'],
    ['ok', '\u039F\u039A'],
    ['jurgen', 'j\u0131\u0301rgen'.replace('\u0131\u0301', 'u')],
    ['alpha', '\u0251lpha'],
  ])('maps %j and %j to one skeleton', (a, b) => {
    expect(usernameSkeleton(a)).toBe(usernameSkeleton(b))
  })

  it.each<[string, string]>([
    ['alice', 'bob'],
    ['j\u00FCrgen', 'jurgen'],
    ['\u0411\u043E\u0440\u0438\u0441', 'bopuc'],
  ])('keeps %j and %j apart', (a, b) => {
    expect(usernameSkeleton(a)).not.toBe(usernameSkeleton(b))
  })

  it.each<[string, string]>([
    ['admin', 'admin\uFE0F'],
    ['admin', 'ad\u034Fmin'],
    ['admin', 'admin\u{E0100}'],
    ['admin', '\u115Fadmin\u3164'],
    ['ace', '\u0430\u0441\u0435\uFE0F'],
  ])('drops default-ignorable code points: %j and %j share a skeleton', (a, b) => {
    // Such names are refused now, but may be stored from before: they still collide.
    expect(usernameSkeleton(b)).toBe(usernameSkeleton(a))
  })
})

describe('usernameSkeleton of printable ASCII (table lookup)', () => {
  it('equals the general computation (NFKD, skeleton, case fold, skeleton, NFKC)', () => {
    const general = (u: string): string =>
      skeleton(skeleton(u.normalize('NFKD')).toUpperCase().toLowerCase()).normalize('NFKC')
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        }),
        (u) => {
          expect(usernameSkeleton(u)).toBe(general(u))
        },
      ),
      { numRuns: 2000 },
    )
    for (let c = 0x20; c <= 0x7e; c++) {
      const ch = String.fromCharCode(c)
      expect(usernameSkeleton(`x${ch}y`)).toBe(general(`x${ch}y`))
    }
    // A string leaving ASCII takes the general path as a whole.
    expect(usernameSkeleton('rnicr\u043Esoft')).toBe(general('rnicr\u043Esoft'))
  })
})

describe('skeletonKey (lookalike uniqueness)', () => {
  /** The check a registration would run: neither key may be taken by a stored user. */
  function taken(stored: readonly string[], candidate: string): boolean {
    const { key, skeletonKey } = normalizeUsername(candidate)
    return stored.some(
      (name) => usernameKey(name) === key || usernameSkeleton(name) === skeletonKey,
    )
  }

  it.each<[string, string]>([
    ['admin', 'adrnin'],
    ['adrnin', 'admin'],
    ['paypal', 'paypa1'],
    ['PayPal', 'PAYPAI'],
    ['google', 'g00gle'],
    ['Ian', 'lan'],
    ['admin', 'ADMIN'],
  ])('a stored %j takes %j', (stored, candidate) => {
    expect(taken([stored], candidate)).toBe(true)
  })

  it.each<[string, string]>([
    ['admin', 'admins'],
    ['alice', 'bob'],
    ['j\u00FCrgen', 'jurgen'],
  ])('a stored %j leaves %j free', (stored, candidate) => {
    expect(taken([stored], candidate)).toBe(false)
  })

  it('is what usernameSkeleton gives for the stored username, and is idempotent', () => {
    fc.assert(
      fc.property(candidate, (input) => {
        let n
        try {
          n = normalizeUsername(input)
        } catch {
          return
        }
        expect(n.skeletonKey).toBe(usernameSkeleton(n.username))
        expect(usernameSkeleton(input)).toBe(n.skeletonKey)
        expect(usernameSkeleton(n.skeletonKey)).toBe(n.skeletonKey)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('isWholeScriptConfusable', () => {
  it.each<[string, string]>([
    ['Cyrillic "ace"', '\u0430\u0441\u0435'],
    ['Cyrillic "ace" with a variation selector', '\u0430\u0441\u0435\uFE0F'],
    ['Cyrillic "ace" with a supplementary variation selector', '\u0430\u0441\u0435\u{E0100}'],
    ['Cyrillic "ace" with a combining grapheme joiner', '\u0430\u0441\u034F\u0435'],
    ['Cyrillic "ace" with a zero-width joiner', '\u0430\u200D\u0441\u0435'],
    ['Cyrillic "acé" (combining acute)', '\u0430\u0441\u0435\u0301'],
    ['Cyrillic "acè" (precomposed U+0450)', '\u0430\u0441\u0450'],
    ['Greek "OK" with a combining diaeresis', '\u039F\u0308\u039A'],
  ])('flags %s', (_name, text) => {
    expect(isWholeScriptConfusable(text)).toBe(true)
  })

  it.each<[string, string]>([
    ['Cyrillic "Boris" (Б has no Latin lookalike)', '\u0411\u043E\u0440\u0438\u0441'],
    ['Cyrillic "ace" with a Cyrillic titlo', '\u0430\u0441\u0435\u0483'],
    ['Latin "ace"', 'ace'],
    ['only a variation selector', '\uFE0F'],
  ])('does not flag %s', (_name, text) => {
    expect(isWholeScriptConfusable(text)).toBe(false)
  })
})

describe('normalizeEmail', () => {
  it.each<[string, unknown, string]>([
    ['an array', ['a@example.com'], 'type'],
    ['an object', { $ne: null }, 'type'],
    ['null', null, 'type'],
    ['a leading space (not trimmed)', ' alice@example.com', 'character'],
    ['a trailing newline', 'alice@example.com\n', 'character'],
    ['a zero-width space', 'alice@exa\u200Bmple.com', 'character'],
    ['a right-to-left override', 'alice@example.com\u202E', 'character'],
    ['NUL', 'alice\u0000@example.com', 'character'],
    ['a lone surrogate', 'alice\uD800@example.com', 'encoding'],
    ['a variation selector in the local part', 'admin\uFE0F@example.com', 'character'],
    ['a combining grapheme joiner in the local part', 'ad\u034Fmin@example.com', 'character'],
    ['a supplementary variation selector', 'admin\u{E0100}@example.com', 'character'],
    ['a Hangul filler in the local part', 'admin\u3164@example.com', 'character'],
    ['a variation selector in the domain', 'admin@exa\uFE0Fmple.com', 'character'],
    ['a Hangul filler in the domain', 'admin@ex\u3164ample.com', 'character'],
    ['no at sign', 'alice.example.com', 'format'],
    ['two at signs', 'alice@bob@example.com', 'format'],
    ['an empty local part', '@example.com', 'local-part'],
    ['a 65-character local part', `${'a'.repeat(65)}@example.com`, 'local-part'],
    ['a leading dot', '.alice@example.com', 'local-part'],
    ['a trailing dot', 'alice.@example.com', 'local-part'],
    ['two dots in a row', 'al..ice@example.com', 'local-part'],
    ['a quoted local part', '"alice"@example.com', 'local-part'],
    ['a parenthesis', 'alice(x)@example.com', 'local-part'],
    ['a single-label domain', 'alice@localhost', 'domain'],
    ['an empty domain', 'alice@', 'domain'],
    ['a trailing dot in the domain', 'alice@example.com.', 'domain'],
    ['an empty label', 'alice@example..com', 'domain'],
    ['a leading hyphen in a label', 'alice@-example.com', 'domain'],
    ['a trailing hyphen in a label', 'alice@example-.com', 'domain'],
    ['an underscore in the domain', 'alice@ex_ample.com', 'domain'],
    ['a 64-character label', `alice@${'a'.repeat(64)}.com`, 'domain'],
    ['an all-digit top-level domain', 'alice@127.0.0.1', 'domain'],
    ['an IP literal', 'alice@[127.0.0.1]', 'domain'],
    ['an invalid punycode label', 'alice@xn--zz.com', 'domain'],
    [
      '255 characters',
      `${'a'.repeat(64)}@${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(60)}.com`,
      'length',
    ],
    ['a mixed-script local part', 'p\u0430ypal@example.com', 'mixed-script'],
    ['a mixed-script domain label', 'alice@p\u0430ypal.com', 'mixed-script'],
    ['10 kB', `${'a'.repeat(10_240)}@example.com`, 'length'],
  ])('rejects %s', (_name, input, reason) => {
    const error = thrown(() => normalizeEmail(input))
    expect(error.code).toBe('INVALID_EMAIL')
    expect(error.context.reason).toBe(reason)
  })

  it.each<[string, string, string]>([
    ['alice@example.com', 'alice@example.com', 'alice@example.com'],
    ['Alice@Example.COM', 'Alice@Example.COM', 'alice@example.com'],
    [
      'first.last+tag@sub.example.co.uk',
      'first.last+tag@sub.example.co.uk',
      'first.last+tag@sub.example.co.uk',
    ],
    ["o'neil@example.org", "o'neil@example.org", "o'neil@example.org"],
    [
      "a!#$%&'*+/=?^_`{|}~-z@example.org",
      "a!#$%&'*+/=?^_`{|}~-z@example.org",
      "a!#$%&'*+/=?^_`{|}~-z@example.org",
    ],
    ['j\u00FCrgen@b\u00FCcher.de', 'j\u00FCrgen@b\u00FCcher.de', 'j\u00FCrgen@xn--bcher-kva.de'],
    ['user@xn--bcher-kva.de', 'user@xn--bcher-kva.de', 'user@xn--bcher-kva.de'],
    [
      '\u0438\u0432\u0430\u043D@\u043F\u0440\u0438\u043C\u0435\u0440.\u0440\u0444',
      '\u0438\u0432\u0430\u043D@\u043F\u0440\u0438\u043C\u0435\u0440.\u0440\u0444',
      '\u0438\u0432\u0430\u043D@xn--e1afmkfd.xn--p1ai',
    ],
    ['\uFF55\uFF53\uFF45\uFF52\uFF20example.com', 'user@example.com', 'user@example.com'],
    ['a@b.io', 'a@b.io', 'a@b.io'],
    ['a@3com.com', 'a@3com.com', 'a@3com.com'],
  ])('accepts %j as %j with key %j', (input, email, key) => {
    expect(normalizeEmail(input)).toEqual({ email, key })
  })

  it('accepts 254 characters with a 64-character local part', () => {
    const email = `${'a'.repeat(64)}@${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(59)}.com`
    expect(email).toHaveLength(254)
    expect(normalizeEmail(email).email).toBe(email)
  })

  it('gives an internationalized domain and its punycode form one key', () => {
    expect(normalizeEmail('user@B\u00FCcher.de').key).toBe(
      normalizeEmail('USER@xn--bcher-kva.de').key,
    )
  })
})

// Strings that exercise every rule: mostly letters of one script (Latin with accents, ligatures,
// fullwidth and case-folding specials; Cyrillic and Greek lookalikes; CJK), some digits and
// punctuation, and now and then a character that must be refused (spaces, controls, format
// characters, surrogate halves, private use, a letter of another script).
const LETTERS = [
  [
    ...'abcxyzABCXYZ',
    '\u00E9',
    '\u00DF',
    '\u0130',
    '\u0131',
    '\uFF21',
    '\uFB01',
    '\u0301',
    '\u0308',
  ],
  ['\u0430', '\u0431', '\u0441', '\u0416', '\u0456', '\u0301'],
  ['\u03BF', '\u03A3', '\u03C2', '\u03B1', '\u0390', '\u2126'],
  ['\u5C71', '\u3042', '\u30A2', '\uAC00', 'a', 'Z'],
]
const NEUTRAL = [...'0129_.-']
const RISKY = [
  ...'@+\'" ',
  '\u00A0',
  '\u200B',
  '\u202E',
  '\u0000',
  '\t',
  '\uD800',
  '\uDC00',
  '\uE000',
  '\uFE0F',
  '\u034F',
  '\u3164',
  '\u{E0100}',
  '\u0430',
  'a',
]
const candidate = fc.constantFrom(...LETTERS).chain((letters) =>
  fc.string({
    unit: fc.oneof(
      { arbitrary: fc.constantFrom(...letters), weight: 12 },
      { arbitrary: fc.constantFrom(...NEUTRAL), weight: 3 },
      { arbitrary: fc.constantFrom(...RISKY), weight: 1 },
    ),
    maxLength: 36,
  }),
)
// Any code point, lone surrogates included (fast-check's 'binary' unit is much slower).
const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp))
const emailCandidate = fc
  .tuple(candidate, fc.constantFrom('example.com', 'B\u00FCcher.de', '\uFF45x.org', 'a.b', 'x..y'))
  .map(([local, domain]) => `${local}@${domain}`)

describe('identifier normalization properties', () => {
  it('is idempotent for usernames and keys', () => {
    fc.assert(
      fc.property(candidate, (input) => {
        let first
        try {
          first = normalizeUsername(input)
        } catch (error) {
          expect(error).toBeInstanceOf(LakehouseError)
          return
        }
        expect(normalizeUsername(first.username)).toEqual(first)
        expect(usernameKey(first.key)).toBe(first.key)
        expect(usernameSkeleton(usernameSkeleton(first.username))).toBe(
          usernameSkeleton(first.username),
        )
      }),
      { numRuns: 2000 },
    )
  })

  it('never accepts a username with control, format, surrogate, invisible or whitespace characters', () => {
    fc.assert(
      fc.property(
        fc.oneof(candidate, fc.string({ unit: anyCodePoint, maxLength: 40 })),
        (input) => {
          try {
            const { username } = normalizeUsername(input)
            expect(UNSAFE.test(username)).toBe(false)
            expect(UNSAFE.test(input)).toBe(false)
          } catch (error) {
            expect(error).toBeInstanceOf(LakehouseError)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('is idempotent for email addresses and never accepts unsafe characters', () => {
    fc.assert(
      fc.property(emailCandidate, (input) => {
        let first
        try {
          first = normalizeEmail(input)
        } catch (error) {
          expect(error).toBeInstanceOf(LakehouseError)
          return
        }
        expect(normalizeEmail(first.email)).toEqual(first)
        expect(UNSAFE.test(first.email)).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })
})

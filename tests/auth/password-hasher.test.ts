import { describe, expect, it } from 'vitest'
import { LakehouseError } from '../../src/common/lakehouse-error.js'
import { OWASP_ARGON2 } from '../../src/lakehouse/lakehouse-config.js'
import { Argon2Hasher, FastTestHasher } from '../../src/auth/password-hasher.js'
import { thrown } from '../support/thrown.js'

async function rejection(p: Promise<unknown>): Promise<LakehouseError> {
  try {
    await p
  } catch (error) {
    expect(error).toBeInstanceOf(LakehouseError)
    return error as LakehouseError
  }
  throw new Error('expected a LakehouseError')
}

/**
 * Known-answer vector of the argon2 reference implementation (phc-winner-argon2, `src/test.c`):
 * argon2id v1.3, m=65536, t=2, p=1, password "password", salt "somesalt". Encoded by another
 * implementation than ours, so verifying it shows PHC compatibility.
 */
const REFERENCE_PHC =
  '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'

const MALFORMED = [
  '',
  'not a hash',
  '$argon2id$',
  '$argon2id$v=19$m=19456,t=2,p=1$',
  '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$!!!',
  '$argon2id$v=19$m=abc,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
  '$argon2x$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
  '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
  '$fast$c=1$AAAA$BBBB',
  '$fast$c=0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  '$fast$c=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
]

describe('Argon2Hasher', () => {
  it('hashes, verifies, detects weaker parameters and reads reference PHC strings', async () => {
    const hasher = new Argon2Hasher()
    const hash = await hasher.hash('correct horse battery staple \u{1F40E}')
    expect(hash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    )
    expect(await hasher.hash('correct horse battery staple \u{1F40E}')).not.toBe(hash)
    expect(await hasher.verify(hash, 'correct horse battery staple \u{1F40E}')).toBe(true)
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(false)
    expect(await hasher.verify(hash, 'Correct horse battery staple \u{1F40E}')).toBe(false)
    expect(hasher.needsRehash(hash)).toBe(false)

    // Standards case 15: a NUL inside the password is hashed, not a terminator.
    const withNul = await hasher.hash('abc\u0000def')
    expect(await hasher.verify(withNul, 'abc')).toBe(false)
    expect(await hasher.verify(withNul, 'abc\u0000def')).toBe(true)

    // Standards case 16: hashes below the configured parameters need a rehash, and still verify.
    const weak = await new Argon2Hasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 }).hash(
      'tulip meadow',
    )
    expect(weak).toContain('$m=4096,t=1,p=1$')
    expect(hasher.needsRehash(weak)).toBe(true)
    expect(await hasher.verify(weak, 'tulip meadow')).toBe(true)

    expect(await hasher.verify(REFERENCE_PHC, 'password')).toBe(true)
    expect(await hasher.verify(REFERENCE_PHC, 'passwore')).toBe(false)
    expect(hasher.needsRehash(REFERENCE_PHC)).toBe(true)
    expect(
      new Argon2Hasher({ memoryCost: 65536, timeCost: 2, parallelism: 1 }).needsRehash(
        REFERENCE_PHC,
      ),
    ).toBe(
      // The reference salt is 8 bytes; ours are 16.
      true,
    )

    for (const malformed of MALFORMED) {
      expect(await hasher.verify(malformed, 'password')).toBe(false)
      expect(hasher.needsRehash(malformed)).toBe(true)
    }
    expect(await hasher.verify(null as unknown as string, 'password')).toBe(false)
    expect(await hasher.verify(hash, 'lone \uD800')).toBe(false)

    const dummy = hasher.dummyHash()
    expect(hasher.dummyHash()).toBe(dummy)
    expect(hasher.needsRehash(await dummy)).toBe(false)
    expect(await hasher.verify(await dummy, 'correct horse battery staple \u{1F40E}')).toBe(false)
  })

  it('uses the OWASP parameters by default', () => {
    expect(new Argon2Hasher().params).toEqual(OWASP_ARGON2)
  })

  it.each([
    { memoryCost: 0, timeCost: 2, parallelism: 1 },
    { memoryCost: 7, timeCost: 2, parallelism: 1 },
    { memoryCost: 19456, timeCost: 0, parallelism: 1 },
    { memoryCost: 19456, timeCost: 2, parallelism: 0 },
    { memoryCost: 19456.5, timeCost: 2, parallelism: 1 },
    { memoryCost: Number.NaN, timeCost: 2, parallelism: 1 },
    { memoryCost: 19456, timeCost: 2, parallelism: 256 },
  ])('refuses parameters %j at construction', (params) => {
    expect(thrown(() => new Argon2Hasher(params)).code).toBe('CONFIG_INVALID')
  })

  it('refuses to hash a lone surrogate, which UTF-8 would silently replace', async () => {
    const error = await rejection(new Argon2Hasher().hash('abc\uDC00def'))
    expect(error.code).toBe('INVALID_PASSWORD')
  })
})

describe('FastTestHasher', () => {
  const hasher = new FastTestHasher()

  it('verifies the password it hashed and nothing else', async () => {
    const hash = await hasher.hash('correct horse battery staple \u{1F40E}')
    expect(hash).toMatch(/^\$fast\$c=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(await hasher.verify(hash, 'correct horse battery staple \u{1F40E}')).toBe(true)
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(false)
    expect(await hasher.verify(hash, 'correct horse battery staple \u{1F40E} ')).toBe(false)
  })

  it('salts every hash', async () => {
    expect(await hasher.hash('same password')).not.toBe(await hasher.hash('same password'))
  })

  it('never truncates at NUL', async () => {
    const hash = await hasher.hash('abc\u0000def')
    expect(await hasher.verify(hash, 'abc')).toBe(false)
    expect(await hasher.verify(hash, 'abc\u0000def')).toBe(true)
  })

  it.each(MALFORMED)('returns false for the malformed hash %j', async (malformed) => {
    expect(await hasher.verify(malformed, 'password')).toBe(false)
    expect(hasher.needsRehash(malformed)).toBe(true)
  })

  it('returns false for an argon2 hash and flags it for rehash', async () => {
    expect(await hasher.verify(REFERENCE_PHC, 'password')).toBe(false)
    expect(hasher.needsRehash(REFERENCE_PHC)).toBe(true)
  })

  it('needs a rehash when the iteration count changes, and still verifies', async () => {
    const old = await new FastTestHasher(3).hash('tulip meadow')
    expect(new FastTestHasher(3).needsRehash(old)).toBe(false)
    expect(hasher.needsRehash(old)).toBe(true)
    expect(await hasher.verify(old, 'tulip meadow')).toBe(true)
  })

  it('rejects a lone surrogate when hashing and fails verification with one', async () => {
    expect((await rejection(hasher.hash('abc\uD800'))).code).toBe('INVALID_PASSWORD')
    expect(await hasher.verify(await hasher.hash('abc\uFFFD'), 'abc\uD800')).toBe(false)
  })

  it('computes its dummy hash once', async () => {
    const h = new FastTestHasher()
    const dummy = h.dummyHash()
    expect(h.dummyHash()).toBe(dummy)
    expect(h.needsRehash(await dummy)).toBe(false)
  })

  it.each([0, 1000, 1.5])('refuses %s iterations', (iterations) => {
    expect(thrown(() => new FastTestHasher(iterations)).code).toBe('CONFIG_INVALID')
  })
})

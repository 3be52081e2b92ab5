import path from 'node:path'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  LakehouseConfig,
  MIN_SECRET_BYTES,
  OWASP_ARGON2,
  type Argon2Params,
  type LakehouseConfigBuilder,
} from '../../src/lakehouse/lakehouse-config.js'
import { thrown } from '../support/thrown.js'
import { expectError, TEST_SECRET } from './support/test-lakehouse.js'

const base = (): LakehouseConfigBuilder =>
  LakehouseConfig.builder().basePath('/data/lakehouse').environment('test').jwtSecret(TEST_SECRET)

describe('LakehouseConfig', () => {
  it('applies the documented defaults when only the base path and secret are set', () => {
    const config = base().build()
    expect(config).toMatchObject({
      basePath: '/data/lakehouse',
      jwtIssuer: 'polarway-lakehouse',
      jwtAudience: 'polarway-lakehouse',
      sessionDurationHours: 24,
      sessionIdleMinutes: 30,
      vacuumRetentionHours: 168,
      zOrderColumns: ['user_id', 'action'],
      refreshMs: 1000,
      maxFailedLogins: 10,
      lockoutWindowMinutes: 15,
      argon2: OWASP_ARGON2,
      environment: 'test',
      warnings: [],
    })
    expect(Buffer.from(config.jwtSecret!).toString()).toBe(TEST_SECRET)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('resolves a relative base path and copies the z-order columns', () => {
    const columns = ['user_id']
    const config = LakehouseConfig.builder()
      .basePath('rel/lh')
      .jwtSecret(TEST_SECRET)
      .zOrderColumns(columns)
      .build()
    columns.push('action')
    expect(config.basePath).toBe(path.resolve('rel/lh'))
    expect(config.zOrderColumns).toEqual(['user_id'])
  })

  it('keeps every value set through the builder', () => {
    const secret = new Uint8Array(48).fill(7)
    const config = LakehouseConfig.builder()
      .basePath('/x')
      .jwtSecret(secret)
      .jwtIssuer('iss')
      .jwtAudience('aud')
      .sessionDurationHours(2)
      .vacuumRetentionHours(336)
      .zOrderColumns(['action'])
      .refreshMs(200)
      .lockout(5, 30)
      .argon2({ memoryCost: 65536, timeCost: 3, parallelism: 2 })
      .environment('production')
      .build()
    secret.fill(0) // the builder copied the bytes
    expect(config).toMatchObject({
      jwtIssuer: 'iss',
      jwtAudience: 'aud',
      sessionDurationHours: 2,
      vacuumRetentionHours: 336,
      zOrderColumns: ['action'],
      refreshMs: 200,
      maxFailedLogins: 5,
      lockoutWindowMinutes: 30,
      argon2: { memoryCost: 65536, timeCost: 3, parallelism: 2 },
      environment: 'production',
    })
    expect(config.jwtSecret?.every((b) => b === 7)).toBe(true)
  })

  it.each([
    ['production', 'production'],
    ['Production', 'production'],
    ['PRODUCTION', 'production'],
    [' production', 'production'],
    ['production\n', 'production'],
    ['prod', 'production'],
    [' Prod ', 'production'],
    ['test', 'test'],
    [' Test', 'test'],
    ['development', 'development'],
    ['staging', 'development'],
    ['production-like', 'development'],
    ['', 'development'],
    [undefined, 'development'],
  ] as const)('maps NODE_ENV %j to the %s environment', (value, expected) => {
    expect(base().environment(value).build().environment).toBe(expected)
  })

  it.each<[string, (b: LakehouseConfigBuilder) => LakehouseConfigBuilder]>([
    ['basePath', (b) => b.basePath('')],
    ['basePath', (b) => b.basePath('   ')],
    ['basePath', (b) => b.basePath('/a\u0000b')],
    ['basePath', (b) => b.basePath('  /x')],
    ['basePath', (b) => b.basePath('/x ')],
    ['basePath', (b) => b.basePath('rel\t')],
    ['sessionDurationHours', (b) => b.sessionDurationHours(0)],
    ['sessionDurationHours', (b) => b.sessionDurationHours(Number.NaN)],
    ['sessionDurationHours', (b) => b.sessionDurationHours(24 * 367)],
    ['sessionIdleMinutes', (b) => b.sessionIdleMinutes(-1)],
    ['sessionIdleMinutes', (b) => b.sessionIdleMinutes(0.5)],
    ['sessionIdleMinutes', (b) => b.sessionIdleMinutes(Number.NaN)],
    ['sessionIdleMinutes', (b) => b.sessionIdleMinutes(24 * 367 * 60)],
    ['vacuumRetentionHours', (b) => b.vacuumRetentionHours(-1)],
    ['vacuumRetentionHours', (b) => b.vacuumRetentionHours(Number.POSITIVE_INFINITY)],
    ['refreshMs', (b) => b.refreshMs(5)],
    ['refreshMs', (b) => b.refreshMs(100.5)],
    ['refreshMs', (b) => b.refreshMs(3_600_001)],
    ['maxFailedLogins', (b) => b.lockout(0, 15)],
    ['maxFailedLogins', (b) => b.lockout(101, 15)],
    ['maxFailedLogins', (b) => b.lockout(2.5, 15)],
    ['lockoutWindowMinutes', (b) => b.lockout(10, 0)],
    ['lockoutWindowMinutes', (b) => b.lockout(10, 24 * 60 + 1)],
    ['argon2.memoryCost', (b) => b.argon2({ memoryCost: 7, timeCost: 2, parallelism: 1 })],
    ['argon2.memoryCost', (b) => b.argon2({ memoryCost: 16, timeCost: 2, parallelism: 4 })],
    ['argon2.timeCost', (b) => b.argon2({ memoryCost: 19456, timeCost: 0, parallelism: 1 })],
    ['argon2.parallelism', (b) => b.argon2({ memoryCost: 19456, timeCost: 2, parallelism: 0 })],
    ['jwtIssuer', (b) => b.jwtIssuer(' ')],
    ['jwtAudience', (b) => b.jwtAudience('')],
    ['zOrderColumns', (b) => b.zOrderColumns(['user_id', ''])],
    ['jwtSecret', (b) => b.jwtSecret(42 as unknown as string)],
    // Inputs of the wrong type (callers without types): typed errors, never a raw TypeError.
    ['basePath', (b) => b.basePath(5 as unknown as string)],
    ['jwtIssuer', (b) => b.jwtIssuer(5 as unknown as string)],
    ['jwtAudience', (b) => b.jwtAudience(null as unknown as string)],
    ['sessionDurationHours', (b) => b.sessionDurationHours('24' as unknown as number)],
    ['vacuumRetentionHours', (b) => b.vacuumRetentionHours(undefined as unknown as number)],
    ['refreshMs', (b) => b.refreshMs(1000n as unknown as number)],
    ['maxFailedLogins', (b) => b.lockout('5' as unknown as number, 15)],
    ['lockoutWindowMinutes', (b) => b.lockout(5, null as unknown as number)],
    ['argon2', (b) => b.argon2(null as unknown as Argon2Params)],
    ['argon2', (b) => b.argon2('m=19456' as unknown as Argon2Params)],
    ['argon2.memoryCost', (b) => b.argon2({ timeCost: 2, parallelism: 1 } as Argon2Params)],
    [
      'argon2.parallelism',
      (b) => b.argon2({ ...OWASP_ARGON2, parallelism: '1' as unknown as number }),
    ],
    ['zOrderColumns', (b) => b.zOrderColumns('user_id' as unknown as string[])],
    ['zOrderColumns', (b) => b.zOrderColumns(['user_id', 5 as unknown as string])],
    ['zOrderColumns', (b) => b.zOrderColumns(null as unknown as string[])],
    ['environment', (b) => b.environment(1 as unknown as string)],
  ])('refuses an invalid %s with CONFIG_INVALID naming the field', (field, customize) => {
    const error = thrown(() => customize(base()).build())
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.context.field).toBe(field)
    expect(error.message).toContain(field)
  })

  it.each([
    [['usr_id', 'acton']],
    [['user_id', 'acton']],
    [['User_ID']],
    [['date_partition']],
    [['expires_date']],
    [['email']],
  ])('refuses z-order columns %j that no event table can be z-ordered on', (columns) => {
    const error = thrown(() => base().zOrderColumns(columns).build())
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.context.field).toBe('zOrderColumns')
    expect(error.message).toMatch(/audit_log or user_actions/)
  })

  it('refuses a repeated z-order column', () => {
    const error = thrown(() => base().zOrderColumns(['user_id', 'user_id']).build())
    expect(error.context.field).toBe('zOrderColumns')
    expect(error.message).toMatch(/repeat/)
  })

  it.each([[['action']], [['action_type', 'user_id']], [['timestamp']], [[]]])(
    'accepts z-order columns %j of one or both event tables',
    (columns) => {
      expect(base().zOrderColumns(columns).build().zOrderColumns).toEqual(columns)
    },
  )

  it.each([0, 24, 167.5])(
    "refuses a vacuum retention of %s hours, below the tables' deletedFileRetentionDuration",
    (hours) => {
      const error = thrown(() => base().vacuumRetentionHours(hours).build())
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.context.field).toBe('vacuumRetentionHours')
      expect(error.message).toMatch(/at least 168/)
      expect(error.message).toMatch(/deletedFileRetentionDuration/)
    },
  )

  it('accepts a vacuum retention of 168 hours or more', () => {
    expect(base().vacuumRetentionHours(168).build().vacuumRetentionHours).toBe(168)
    expect(base().vacuumRetentionHours(720.5).build().vacuumRetentionHours).toBe(720.5)
  })

  describe('the secret', () => {
    const SECRET = 'S3CR3T-' + 'x'.repeat(40)
    const bytes = [...Buffer.from(SECRET)]

    it('is redacted by JSON.stringify', () => {
      const json = JSON.stringify(base().jwtSecret(SECRET).build())
      expect(json).not.toContain('S3CR3T')
      expect(json).not.toContain(bytes.slice(0, 4).join(','))
      const parsed = JSON.parse(json) as Record<string, unknown>
      expect(parsed).toMatchObject({ basePath: '/data/lakehouse', jwtSecret: '[redacted]' })
      expect(parsed).toHaveProperty('zOrderColumns', ['user_id', 'action'])
      const none = LakehouseConfig.builder().basePath('/x').build()
      expect(JSON.parse(JSON.stringify(none))).not.toHaveProperty('jwtSecret')
    })

    it.each([{}, { depth: null }, { depth: 0 }, { showHidden: true }])(
      'is redacted by util.inspect (%j)',
      (options) => {
        const config = base().jwtSecret(SECRET).build()
        for (const text of [inspect(config, options), inspect({ nested: { config } }, options)]) {
          expect(text).not.toContain('S3CR3T')
          expect(text).not.toMatch(new RegExp(bytes.slice(0, 4).join(',\\s*')))
        }
        expect(inspect(config, options)).toMatch(/^LakehouseConfig \{[^]*jwtSecret: '\[redacted\]'/)
      },
    )

    it('is handed out as a copy that cannot change the configuration', () => {
      const config = base().jwtSecret(SECRET).build()
      const copy = config.jwtSecret!
      copy.fill(0)
      expect(Buffer.from(config.jwtSecret!).toString()).toBe(SECRET)
      expect(config.jwtSecret).not.toBe(config.jwtSecret)
      expect({ ...config }).not.toHaveProperty('jwtSecret')
    })

    it('sits in a deeply frozen configuration', () => {
      const config = base()
        .argon2({ ...OWASP_ARGON2 })
        .jwtSecret('short')
        .build()
      expect(Object.isFrozen(config.zOrderColumns)).toBe(true)
      expect(Object.isFrozen(config.argon2)).toBe(true)
      expect(Object.isFrozen(config.warnings)).toBe(true)
    })
  })

  it('warns, naming the risk, when the secret is short outside production', () => {
    for (const env of ['development', 'test'] as const) {
      const config = base().environment(env).jwtSecret('too-short-secret').build()
      expect(config.warnings).toHaveLength(1)
      const [warning] = config.warnings
      expect(warning).toContain('16 bytes')
      expect(warning).toMatch(/brute-forced offline/)
      expect(warning).toMatch(/forge tokens/)
    }
  })

  it('refuses an empty secret in every environment, when it is built', () => {
    for (const env of ['development', 'test', 'production'] as const) {
      const error = thrown(() => base().environment(env).jwtSecret('').build())
      expect(error.code).toBe('WEAK_SECRET')
      expect(error.context.field).toBe('jwtSecret')
    }
  })

  it('accepts a secret of exactly 32 bytes without a warning', () => {
    const config = base().jwtSecret('k'.repeat(MIN_SECRET_BYTES)).build()
    expect(config.warnings).toEqual([])
  })

  it('refuses a short secret in production with WEAK_SECRET', () => {
    const error = thrown(() =>
      base()
        .environment('production')
        .jwtSecret('k'.repeat(MIN_SECRET_BYTES - 1))
        .build(),
    )
    expect(error.code).toBe('WEAK_SECRET')
    expect(error.context.field).toBe('jwtSecret')
    expect(error.message).not.toContain('k'.repeat(MIN_SECRET_BYTES - 1))
  })

  it('refuses a missing secret in production and allows it elsewhere', () => {
    const noSecret = (env: string): LakehouseConfig =>
      LakehouseConfig.builder().basePath('/x').environment(env).build()
    expect(thrown(() => noSecret('production')).code).toBe('WEAK_SECRET')
    expect(noSecret('development').jwtSecret).toBeUndefined()
    expect(noSecret('test').jwtSecret).toBeUndefined()
  })

  it('warns when the argon2 parameters are below the OWASP minimum', () => {
    const config = base().argon2({ memoryCost: 4096, timeCost: 1, parallelism: 1 }).build()
    expect(config.warnings.join('\n')).toMatch(/below the OWASP minimum/)
  })

  describe('fromEnv', () => {
    const env = {
      LAKEHOUSE_PATH: '/srv/lh',
      POLARWAY_JWT_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
    }

    it('reads every variable', () => {
      const config = LakehouseConfig.fromEnv({
        ...env,
        LAKEHOUSE_REFRESH_MS: '250',
        POLARWAY_SESSION_HOURS: '8',
        POLARWAY_SESSION_IDLE_MINUTES: '15',
        LAKEHOUSE_VACUUM_RETENTION_HOURS: '336',
        POLARWAY_JWT_ISSUER: 'https://auth.example.com',
        POLARWAY_JWT_AUDIENCE: 'api.example.com',
        POLARWAY_MAX_FAILED_LOGINS: '5',
        POLARWAY_LOCKOUT_MINUTES: '60',
      })
      expect(config).toMatchObject({
        basePath: '/srv/lh',
        environment: 'production',
        refreshMs: 250,
        sessionDurationHours: 8,
        sessionIdleMinutes: 15,
        vacuumRetentionHours: 336,
        jwtIssuer: 'https://auth.example.com',
        jwtAudience: 'api.example.com',
        maxFailedLogins: 5,
        lockoutWindowMinutes: 60,
      })
      expect(Buffer.from(config.jwtSecret!).toString()).toBe(TEST_SECRET)
    })

    it('uses the defaults for unset or blank variables', () => {
      const config = LakehouseConfig.fromEnv({ ...env, LAKEHOUSE_REFRESH_MS: ' ' })
      expect(config).toMatchObject({
        refreshMs: 1000,
        maxFailedLogins: 10,
        lockoutWindowMinutes: 15,
      })
    })

    it('defaults the other lockout value when only one is set', () => {
      expect(LakehouseConfig.fromEnv({ ...env, POLARWAY_MAX_FAILED_LOGINS: '3' })).toMatchObject({
        maxFailedLogins: 3,
        lockoutWindowMinutes: 15,
      })
      expect(LakehouseConfig.fromEnv({ ...env, POLARWAY_LOCKOUT_MINUTES: '5' })).toMatchObject({
        maxFailedLogins: 10,
        lockoutWindowMinutes: 5,
      })
    })

    it.each<[string, Record<string, string | undefined>]>([
      ['LAKEHOUSE_PATH', { LAKEHOUSE_PATH: undefined }],
      ['LAKEHOUSE_PATH', { LAKEHOUSE_PATH: '' }],
      ['LAKEHOUSE_REFRESH_MS', { LAKEHOUSE_REFRESH_MS: 'fast' }],
      ['POLARWAY_SESSION_HOURS', { POLARWAY_SESSION_HOURS: '8h' }],
      ['LAKEHOUSE_VACUUM_RETENTION_HOURS', { LAKEHOUSE_VACUUM_RETENTION_HOURS: 'x' }],
      ['POLARWAY_MAX_FAILED_LOGINS', { POLARWAY_MAX_FAILED_LOGINS: 'ten' }],
      ['POLARWAY_LOCKOUT_MINUTES', { POLARWAY_LOCKOUT_MINUTES: 'NaN' }],
      // Only decimal numbers: Number() would read these as 1024, 1000, 1000, 1000, ...
      ...['0x400', '0b1111101000', '0o1750', '1e3', '1_000', '.5', '5.', 'Infinity', '--1'].map(
        (v): [string, Record<string, string>] => [
          'LAKEHOUSE_REFRESH_MS',
          { LAKEHOUSE_REFRESH_MS: v },
        ],
      ),
      // Whitespace around a path is refused, not trimmed.
      ...['  /srv/lh', '/srv/lh ', '/srv/lh\n'].map((v): [string, Record<string, string>] => [
        'LAKEHOUSE_PATH',
        { LAKEHOUSE_PATH: v },
      ]),
    ])('refuses a bad %s (%j) with CONFIG_INVALID naming it', (field, overrides) => {
      const error = thrown(() => LakehouseConfig.fromEnv({ ...env, ...overrides }))
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.context.field).toBe(field)
    })

    it('reads decimal numbers, with blanks around them ignored', () => {
      expect(
        LakehouseConfig.fromEnv({
          ...env,
          LAKEHOUSE_REFRESH_MS: ' 1024 ',
          POLARWAY_SESSION_HOURS: '0.5',
          POLARWAY_LOCKOUT_MINUTES: '+30',
        }),
      ).toMatchObject({ refreshMs: 1024, sessionDurationHours: 0.5, lockoutWindowMinutes: 30 })
    })

    it('resolves a relative LAKEHOUSE_PATH against the working directory', () => {
      expect(LakehouseConfig.fromEnv({ ...env, LAKEHOUSE_PATH: 'data/lh' }).basePath).toBe(
        path.resolve(process.cwd(), 'data/lh'),
      )
    })

    it.each(['Production', 'prod', ' production', 'PROD\n'])(
      'applies the production checks for NODE_ENV %j',
      async (nodeEnv) => {
        await expectError(
          () =>
            LakehouseConfig.fromEnv({ ...env, NODE_ENV: nodeEnv, POLARWAY_JWT_SECRET: 'short' }),
          'WEAK_SECRET',
        )
        await expectError(
          () =>
            LakehouseConfig.fromEnv({ ...env, NODE_ENV: nodeEnv, POLARWAY_JWT_SECRET: undefined }),
          'WEAK_SECRET',
        )
      },
    )

    it('validates the values it read like the builder does', () => {
      const error = thrown(() => LakehouseConfig.fromEnv({ ...env, LAKEHOUSE_REFRESH_MS: '1' }))
      expect(error.context.field).toBe('refreshMs')
      for (const hours of ['24', '0', '-0']) {
        const short = thrown(() =>
          LakehouseConfig.fromEnv({ ...env, LAKEHOUSE_VACUUM_RETENTION_HOURS: hours }),
        )
        expect(short.context.field).toBe('vacuumRetentionHours')
      }
    })

    it('refuses a short secret in production and warns in development', async () => {
      await expectError(
        () => LakehouseConfig.fromEnv({ ...env, POLARWAY_JWT_SECRET: 'secret' }),
        'WEAK_SECRET',
      )
      await expectError(
        () => LakehouseConfig.fromEnv({ ...env, POLARWAY_JWT_SECRET: undefined }),
        'WEAK_SECRET',
      )
      const dev = LakehouseConfig.fromEnv({
        ...env,
        NODE_ENV: 'development',
        POLARWAY_JWT_SECRET: 'secret',
      })
      expect(dev.warnings[0]).toMatch(/6 bytes.*brute-forced/)
    })

    it('leaves the secret unset in development when the variable is empty', () => {
      const config = LakehouseConfig.fromEnv({
        LAKEHOUSE_PATH: '/srv/lh',
        POLARWAY_JWT_SECRET: '',
      })
      expect(config.environment).toBe('development')
      expect(config.jwtSecret).toBeUndefined()
    })
  })
})

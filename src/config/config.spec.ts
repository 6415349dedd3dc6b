import {
  estimatedEntropyBits,
  MIN_SECRET_BITS,
  ConfigError,
  loadConfig,
  parseDuration,
} from './config.js';

const base = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/shop',
  REDIS_URL: 'redis://127.0.0.1:6379',
  // 32 random bytes in hex, as production needs them.
  JWT_ACCESS_SECRET: '3f9c1e7a5b2d8f4c6e0a9b7d5f3e1c2a4b6d8f0e2c4a6b8d0f1e3c5a7b9d2f4e',
  JWT_REFRESH_SECRET: 'c81a2f6d0b4e9a3c7f5d1b8e2a6c4f0d9b3e7a1c5f2d8b6e0a4c9f3d7b1e5a2c',
};

function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      nodeEnv: 'development',
      role: 'all',
      port: 8000,
      cookieSecure: false,
      jwt: { accessTtlSeconds: 900, refreshTtlSeconds: 7 * 86400, refreshGraceSeconds: 5 },
      queue: { prefix: 'orders', workerConcurrency: 50, batchLingerMs: 5, orderAttempts: 5 },
      redis: { cluster: false, keyPrefix: '{orders}' },
      cacheTtlMs: 10_000,
      mongodbCallTimeoutMs: 10_000,
      intake: { maxBatch: 256, lingerMs: 2 },
    });
    expect(config.admin).toBeUndefined();
  });

  it('binds HOST when given, every interface otherwise, and refuses what is not an address', () => {
    expect(loadConfig(base).host).toBeUndefined();
    expect(loadConfig({ ...base, HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ ...base, HOST: '::1' }).host).toBe('::1');
    expect(() => loadConfig({ ...base, HOST: 'http://x' })).toThrow(
      'HOST must be an IP address or a host name',
    );
  });

  it('serves metrics on METRICS_PORT at METRICS_HOST or HOST, with METRICS_TOKEN when set', () => {
    expect(loadConfig(base).metrics).toEqual({});
    expect(loadConfig({ ...base, HOST: '127.0.0.1', METRICS_PORT: '9464' }).metrics).toEqual({
      port: 9464,
      host: '127.0.0.1',
    });
    const token = 'mT0k-en_'.repeat(6);
    expect(
      loadConfig({
        ...base,
        HOST: '127.0.0.1',
        METRICS_HOST: '10.0.0.5',
        METRICS_PORT: '9464',
        METRICS_TOKEN: token,
      }).metrics,
    ).toEqual({ port: 9464, host: '10.0.0.5', token });
  });

  it.each([
    [{ METRICS_PORT: '0' }, 'between 1 and 65535'],
    [{ METRICS_PORT: '8000' }, 'must differ from PORT'],
    [
      { APP_ROLE: 'worker', WORKER_HEALTH_PORT: '8001', METRICS_PORT: '8001' },
      'must differ from WORKER_HEALTH_PORT',
    ],
  ])('refuses the metrics port of %j', (override, problem) => {
    const err = errorFor({ ...base, ...override });
    expect(err.variable).toBe('METRICS_PORT');
    expect(err.message).toContain(problem);
  });

  it('refuses a METRICS_HOST that is not an address', () => {
    expect(errorFor({ ...base, METRICS_HOST: 'http://x' }).variable).toBe('METRICS_HOST');
  });

  it('holds METRICS_TOKEN to the rules of the JWT secrets, in bearer-token characters', () => {
    const production = { ...base, NODE_ENV: 'production' };
    const strong = 'Zq3vN8xK2mB7rT5wY1cF6hJ9pL4sD0gA+eU/iO-._~kW';
    expect(loadConfig({ ...production, METRICS_TOKEN: strong }).metrics.token).toBe(strong);
    const cases: Array<[Record<string, string>, string]> = [
      [{ NODE_ENV: 'test', METRICS_TOKEN: 'short' }, 'at least 32 characters'],
      [{ ...production, METRICS_TOKEN: 'm'.repeat(64) }, 'looks guessable'],
      [{ ...production, METRICS_TOKEN: `${strong}!"` }, 'a bearer token'],
      [
        { ...production, METRICS_TOKEN: base.JWT_ACCESS_SECRET },
        'must differ from JWT_ACCESS_SECRET',
      ],
    ];
    for (const [override, problem] of cases) {
      const err = errorFor({ ...base, ...override });
      expect({ variable: err.variable, message: err.message }).toEqual({
        variable: 'METRICS_TOKEN',
        message: expect.stringContaining(problem) as unknown,
      });
    }
  });

  it('makes cookies Secure by default in production', () => {
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).cookieSecure).toBe(true);
    expect(
      loadConfig({ ...base, NODE_ENV: 'production', COOKIE_SECURE: 'false' }).cookieSecure,
    ).toBe(false);
  });

  it.each([
    [{ MONGODB_URI: '' }, 'MONGODB_URI', 'is required'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI', 'must start with mongodb://'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL', 'valid connection URL'],
    [{ PORT: '70000' }, 'PORT', 'between 0 and 65535'],
    [{ PORT: '80a' }, 'PORT', 'must be an integer'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV', 'must be one of'],
    [{ APP_ROLE: 'both' }, 'APP_ROLE', 'must be one of'],
    [{ COOKIE_SECURE: 'yes' }, 'COOKIE_SECURE', '"true" or "false"'],
    [{ JWT_ACCESS_TTL: '15 minutes' }, 'JWT_ACCESS_TTL', 'positive duration'],
    [{ REFRESH_GRACE_SECONDS: '61' }, 'REFRESH_GRACE_SECONDS', 'between 0 and 60'],
    [{ REFRESH_GRACE_SECONDS: '5s' }, 'REFRESH_GRACE_SECONDS', 'must be an integer'],
    [{ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY', 'between 1 and 500'],
    [{ ORDER_ATTEMPTS: '-1' }, 'ORDER_ATTEMPTS', 'between 1 and 50'],
    [{ QUEUE_PREFIX: 'has space' }, 'QUEUE_PREFIX', 'A-Z a-z 0-9'],
    [{ QUEUE_PREFIX: '{tagged}' }, 'QUEUE_PREFIX', 'A-Z a-z 0-9'],
    [{ REDIS_CLUSTER: 'yes' }, 'REDIS_CLUSTER', '"true" or "false"'],
    [{ CACHE_TTL_MS: '-1' }, 'CACHE_TTL_MS', 'between 0 and 3600000'],
    [{ MONGODB_CALL_TIMEOUT_MS: '50' }, 'MONGODB_CALL_TIMEOUT_MS', 'between 100 and 600000'],
    [{ ORDER_BATCH_MAX: '0' }, 'ORDER_BATCH_MAX', 'between 1 and 10000'],
    [{ ORDER_BATCH_LINGER_MS: '500' }, 'ORDER_BATCH_LINGER_MS', 'between 0 and 100'],
    [{ WORKER_BATCH_LINGER_MS: '1.5' }, 'WORKER_BATCH_LINGER_MS', 'must be an integer'],
    [{ ADMIN_EMAIL: 'admin@shop.test' }, 'ADMIN_PASSWORD', 'required when ADMIN_EMAIL is set'],
    [{ ADMIN_PASSWORD: 'long-enough' }, 'ADMIN_EMAIL', 'required when ADMIN_PASSWORD is set'],
    [{ ADMIN_EMAIL: 'nope', ADMIN_PASSWORD: 'long-enough' }, 'ADMIN_EMAIL', 'email address'],
  ])('refuses %j naming %s', (override, variable, problem) => {
    const err = errorFor({ ...base, ...override });
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.message).toContain(problem);
  });

  it('takes previous JWT secrets for rotation, held to the rules of the current ones', () => {
    const previous = {
      JWT_ACCESS_SECRET_PREVIOUS:
        '9d1f3b5a7c0e2d4f6a8b1c3e5d7f9a0b2c4e6d8f1a3b5c7e9d0f2a4b6c8e1d3f',
      JWT_REFRESH_SECRET_PREVIOUS:
        '0e2c4a6b8d1f3e5c7a9b2d4f6e8c1a3b5d7f9e0c2a4b6d8f1e3c5a7b9d0f2e4c',
    };
    expect(loadConfig(base).jwt).not.toHaveProperty('accessSecretPrevious');
    expect(loadConfig({ ...base, NODE_ENV: 'production', ...previous }).jwt).toMatchObject({
      accessSecretPrevious: previous.JWT_ACCESS_SECRET_PREVIOUS,
      refreshSecretPrevious: previous.JWT_REFRESH_SECRET_PREVIOUS,
    });
    expect(
      errorFor({ ...base, NODE_ENV: 'test', JWT_ACCESS_SECRET_PREVIOUS: 'short' }).variable,
    ).toBe('JWT_ACCESS_SECRET_PREVIOUS');
    const production = { ...base, NODE_ENV: 'production', ...previous };
    const guessable = errorFor({ ...production, JWT_REFRESH_SECRET_PREVIOUS: 'ab'.repeat(30) });
    expect(guessable.variable).toBe('JWT_REFRESH_SECRET_PREVIOUS');
    expect(guessable.message).toContain('looks guessable');
    const unrotated = errorFor({
      ...production,
      JWT_ACCESS_SECRET_PREVIOUS: base.JWT_ACCESS_SECRET,
    });
    expect(unrotated.message).toBe(
      'Invalid configuration: JWT_ACCESS_SECRET_PREVIOUS must differ from JWT_ACCESS_SECRET',
    );
    const crossed = errorFor({
      ...production,
      JWT_REFRESH_SECRET_PREVIOUS: previous.JWT_ACCESS_SECRET_PREVIOUS,
    });
    expect(crossed.message).toBe(
      'Invalid configuration: JWT_REFRESH_SECRET_PREVIOUS must differ from JWT_ACCESS_SECRET_PREVIOUS',
    );
  });

  it('requires 32-character JWT secrets outside development only', () => {
    const short = { ...base, JWT_REFRESH_SECRET: 'short' };
    expect(loadConfig(short).jwt.refreshSecret).toBe('short');
    const err = errorFor({ ...short, NODE_ENV: 'production' });
    expect(err.variable).toBe('JWT_REFRESH_SECRET');
    expect(err.message).toContain('at least 32 characters');
    expect(
      errorFor({ ...base, NODE_ENV: 'test', JWT_ACCESS_SECRET: 'x'.repeat(31) }).variable,
    ).toBe('JWT_ACCESS_SECRET');
  });

  it('refuses, in production, JWT secrets that are the same or look guessable, naming the variable', () => {
    const production = { ...base, NODE_ENV: 'production' };
    expect(loadConfig(production).jwt.accessSecret).toBe(base.JWT_ACCESS_SECRET);
    const same = errorFor({ ...production, JWT_REFRESH_SECRET: base.JWT_ACCESS_SECRET });
    expect(same.variable).toBe('JWT_REFRESH_SECRET');
    expect(same.message).toContain('must differ from JWT_ACCESS_SECRET');
    for (const weak of ['x'.repeat(64), 'abcd'.repeat(16), 'ab'.repeat(40)]) {
      const err = errorFor({ ...production, JWT_ACCESS_SECRET: weak });
      expect(err.variable).toBe('JWT_ACCESS_SECRET');
      expect(err.message).toContain('looks guessable');
    }
    const short = errorFor({
      ...production,
      JWT_ACCESS_SECRET: 'correct-horse-battery-staple-2026!',
    });
    expect(short.message).toContain('at least 43 characters in production');
    // Outside production the length rule alone applies (tests and load runs use their own secrets).
    expect(
      loadConfig({ ...base, NODE_ENV: 'test', JWT_ACCESS_SECRET: 'x'.repeat(32) }).jwt.accessSecret,
    ).toBe('x'.repeat(32));
  });

  it('estimates the bits of a secret from its characters', () => {
    expect(estimatedEntropyBits('x'.repeat(64))).toBe(0);
    expect(estimatedEntropyBits('ab'.repeat(32))).toBe(64);
    expect(estimatedEntropyBits(base.JWT_ACCESS_SECRET)).toBeGreaterThan(MIN_SECRET_BITS);
  });

  it('refuses weak bcrypt cost in production', () => {
    expect(loadConfig({ ...base, BCRYPT_ROUNDS: '4' }).bcryptRounds).toBe(4);
    expect(errorFor({ ...base, NODE_ENV: 'production', BCRYPT_ROUNDS: '8' }).variable).toBe(
      'BCRYPT_ROUNDS',
    );
  });

  it('normalises the admin account', () => {
    expect(
      loadConfig({ ...base, ADMIN_EMAIL: 'Admin@Shop.test', ADMIN_PASSWORD: 'long-enough' }).admin,
    ).toEqual({
      email: 'admin@shop.test',
      password: 'long-enough',
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['900', 900],
    ['90s', 90],
    ['15m', 900],
    ['12h', 43200],
    ['7d', 604800],
  ])('%s is %d seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(['', '0', '-5m', '1.5h', '15 m', '2w'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('.env.example', () => {
  it('documents every variable the configuration reads, each with a comment', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile('src/config/config.ts', 'utf8');
    const example = await readFile('.env.example', 'utf8');
    const read = new Set([...source.matchAll(/\(env, '([A-Z_]+)'/g)].map((m) => m[1]));
    expect(read.size).toBeGreaterThan(10);
    const lines = example.split('\n');
    for (const variable of read) {
      const index = lines.findIndex((line) => line.startsWith(`${variable}=`));
      expect({ variable, documented: index >= 0 }).toEqual({ variable, documented: true });
      expect({
        variable,
        commented: lines[index - 1]?.startsWith('#') || lines[index - 2]?.startsWith('#'),
      }).toEqual({
        variable,
        commented: true,
      });
    }
  });
});

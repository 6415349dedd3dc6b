/**
 * The application's configuration: read once from the environment, validated, typed. This is the
 * only module that reads `process.env`; everything else receives an `AppConfig`.
 */
import { isIP } from 'node:net';

export type AppRole = 'api' | 'worker' | 'all';
export type NodeEnv = 'development' | 'test' | 'production';
/** winston's levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  nodeEnv: NodeEnv;
  role: AppRole;
  port: number;
  /** The address the HTTP listener binds; undefined: every interface. */
  host?: string;
  logging: { level: LogLevel; dir?: string; pretty: boolean };
  /** Port of the worker role's health and metrics listener; none when unset. */
  workerHealthPort?: number;
  /**
   * Where Prometheus metrics are served, and to whom. Without `port` they are served on the
   * process's HTTP listener: on a worker's health port to anyone who reaches it, on the API port
   * only with `token` (otherwise 404). With `token`, every place asks for it.
   */
  metrics: {
    /** Port of a listener that serves only /metrics (and then the HTTP listener does not). */
    port?: number;
    /** The address that listener binds: METRICS_HOST, else HOST; undefined: every interface. */
    host?: string;
    /** Bearer token a scrape must present (METRICS_TOKEN). */
    token?: string;
  };
  /** How long shutdown waits for in-flight requests and active jobs. */
  shutdownTimeoutMs: number;
  http: {
    corsOrigins: string[];
    /** Express `trust proxy`: false, true, a hop count, or addresses/subnets of trusted proxies. */
    trustProxy: boolean | number | string;
  };
  rateLimit: {
    windowSeconds: number;
    /** Requests per client IP per window, across all routes. */
    perIp: number;
    /** Login and registration attempts per client IP per window. */
    auth: number;
    /** Orders placed per user per window. */
    orders: number;
  };
  mongodbUri: string;
  /**
   * How long the order path waits for one MongoDB step (a batch insert, a cache load, a step of
   * a reservation batch) before it gives up: a 503 for the API, a transient failure for a job.
   */
  mongodbCallTimeoutMs: number;
  redis: {
    url: string;
    /** REDIS_URL is one seed node of a Redis Cluster. */
    cluster: boolean;
    /**
     * Prefix of the queue keys: `{QUEUE_PREFIX}`. The braces are a Redis Cluster hash tag: every
     * key of the queues lands in one slot, as BullMQ's multi-key scripts require.
     */
    keyPrefix: string;
    /** Prefix of the rate-limit counters, `{QUEUE_PREFIX:rl}`: their own slot, off the queues' node. */
    rateLimitKeyPrefix: string;
  };
  /** In-process caches of catalog entries and VIP flags, invalidated across replicas through Redis. */
  cacheTtlMs: number;
  jwt: {
    accessSecret: string;
    refreshSecret: string;
    /**
     * During a rotation, the secret being retired (or, to stage a rolling deployment, the next
     * one): tokens naming its key id still verify. Never used to sign.
     */
    accessSecretPrevious?: string;
    refreshSecretPrevious?: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /**
     * A refresh token presented again this long after its rotation (two tabs refreshing at once)
     * is answered with the pair its rotation issued instead of ending the session as reuse.
     */
    refreshGraceSeconds: number;
  };
  cookieSecure: boolean;
  bcryptRounds: number;
  admin?: { email: string; password: string };
  /** Acceptance group commit: orders arriving together are stored and enqueued together. */
  intake: {
    maxBatch: number;
    lingerMs: number;
    /** Order numbers a process reserves at a time (one MongoDB call per block). */
    orderNumberBlock: number;
  };
  /** Bounds on what one request may ask for, checked before its body is transformed. */
  limits: { orderLines: number };
  /** Live order events over Socket.IO (src/events/). */
  events: {
    /** How long a disconnected client may take to reconnect and still be sent what it missed. */
    replayWindowSeconds: number;
    /** How often staff sockets are sent a queue summary. */
    summaryIntervalMs: number;
  };
  /** Sales reports (src/reports/). */
  reports: {
    /** How often a worker brings the rollups up to date. */
    rollupIntervalMs: number;
    /** Changes younger than this wait for the next run: a write stamped earlier may still be in flight. */
    rollupLagMs: number;
  };
  queue: {
    prefix: string;
    workerConcurrency: number;
    /** How long a worker's first job waits for others to reserve with (group commit). */
    batchLingerMs: number;
    orderAttempts: number;
    backoffMs: number;
    sweepIntervalMs: number;
    /** A job whose worker stops renewing its lock for this long is handed to another worker. */
    lockDurationMs: number;
    stalledIntervalMs: number;
    /** Stalls a job survives before it fails (and is dead-lettered). */
    maxStalledCount: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
  }
}

type Env = Record<string, string | undefined>;

/** A Redis key prefix that is a Redis Cluster hash tag: every key under it shares one slot. */
export function redisKeyPrefix(queuePrefix: string): string {
  return `{${queuePrefix}}`;
}

const MIN_SECRET_LENGTH = 32;
/** In production a secret must be at least as long as 32 random bytes written in base64. */
export const MIN_PRODUCTION_SECRET_LENGTH = 43;
/**
 * …and carry at least this many bits by `estimatedEntropyBits`: 32 random bytes in hex (about 250)
 * or base64 (about 215; below 175 in none of 100,000 draws) pass; a repeated character or a short
 * repeated pattern does not.
 */
export const MIN_SECRET_BITS = 150;

/**
 * A secret's bits estimated from how often each of its characters occurs (Shannon). Random
 * secrets come out a little under their true entropy; patterns far under it.
 */
export function estimatedEntropyBits(value: string): number {
  const chars = [...value];
  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}

/** Parses and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: Env): AppConfig {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'], 'development');
  const strict = nodeEnv !== 'development';
  const admin = adminAccount(env);
  const logDir = raw(env, 'LOG_DIR');
  const queuePrefix = pattern(
    env,
    'QUEUE_PREFIX',
    'orders',
    /^[A-Za-z0-9_:.-]{1,64}$/,
    'must be 1-64 characters of A-Z a-z 0-9 _ : . -',
  );
  const host = listenAddress(env, 'HOST');
  const role = oneOf(env, 'APP_ROLE', ['api', 'worker', 'all'], 'all');
  const port = integer(env, 'PORT', 8000, 0, 65535);
  const workerHealthPort = optionalPort(env, 'WORKER_HEALTH_PORT');
  const jwt = jwtSecrets(env, strict, nodeEnv === 'production');
  const metricsHost = listenAddress(env, 'METRICS_HOST') ?? host;
  const metricsPort = optionalPort(env, 'METRICS_PORT');
  if (metricsPort !== undefined) {
    const [name, httpPort] =
      role === 'worker' ? ['WORKER_HEALTH_PORT', workerHealthPort] : ['PORT', port];
    if (metricsPort === httpPort) throw new ConfigError('METRICS_PORT', `must differ from ${name}`);
  }
  const metricsToken = bearerToken(env, 'METRICS_TOKEN', strict, nodeEnv === 'production', jwt);
  return {
    nodeEnv,
    role,
    port,
    ...(host === undefined ? {} : { host }),
    logging: {
      level: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'http'),
      ...(logDir === undefined ? {} : { dir: logDir }),
      pretty: nodeEnv === 'development',
    },
    ...(workerHealthPort === undefined ? {} : { workerHealthPort }),
    metrics: {
      ...(metricsPort === undefined ? {} : { port: metricsPort }),
      ...(metricsHost === undefined ? {} : { host: metricsHost }),
      ...(metricsToken === undefined ? {} : { token: metricsToken }),
    },
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    http: { corsOrigins: origins(env, 'CORS_ORIGINS'), trustProxy: trustProxy(env, 'TRUST_PROXY') },
    rateLimit: {
      windowSeconds: duration(env, 'RATE_LIMIT_WINDOW', '60s'),
      perIp: integer(env, 'RATE_LIMIT_PER_IP', 600, 1, 1_000_000_000),
      auth: integer(env, 'RATE_LIMIT_AUTH', 10, 1, 1_000_000_000),
      orders: integer(env, 'RATE_LIMIT_ORDERS', 60, 1, 1_000_000_000),
    },
    mongodbUri: url(env, 'MONGODB_URI', ['mongodb:', 'mongodb+srv:']),
    mongodbCallTimeoutMs: integer(env, 'MONGODB_CALL_TIMEOUT_MS', 10_000, 100, 600_000),
    redis: {
      url: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
      cluster: boolean(env, 'REDIS_CLUSTER', false),
      keyPrefix: redisKeyPrefix(queuePrefix),
      rateLimitKeyPrefix: redisKeyPrefix(`${queuePrefix}:rl`),
    },
    cacheTtlMs: integer(env, 'CACHE_TTL_MS', 10_000, 0, 3_600_000),
    jwt: {
      ...jwt,
      accessTtlSeconds: duration(env, 'JWT_ACCESS_TTL', '15m'),
      refreshTtlSeconds: duration(env, 'JWT_REFRESH_TTL', '7d'),
      refreshGraceSeconds: integer(env, 'REFRESH_GRACE_SECONDS', 5, 0, 60),
    },
    cookieSecure: boolean(env, 'COOKIE_SECURE', nodeEnv === 'production'),
    bcryptRounds: integer(env, 'BCRYPT_ROUNDS', 12, nodeEnv === 'production' ? 10 : 4, 15),
    ...(admin ? { admin } : {}),
    intake: {
      maxBatch: integer(env, 'ORDER_BATCH_MAX', 256, 1, 10_000),
      lingerMs: integer(env, 'ORDER_BATCH_LINGER_MS', 2, 0, 100),
      orderNumberBlock: integer(env, 'ORDER_NUMBER_BLOCK', 100, 1, 100_000),
    },
    limits: { orderLines: integer(env, 'ORDER_MAX_LINES', 20, 1, 500) },
    events: {
      replayWindowSeconds: duration(env, 'EVENTS_REPLAY_WINDOW', '2m'),
      summaryIntervalMs: integer(env, 'EVENTS_SUMMARY_INTERVAL_MS', 2000, 100, 600_000),
    },
    reports: {
      rollupIntervalMs: integer(env, 'REPORTS_ROLLUP_INTERVAL_MS', 10_000, 100, 3_600_000),
      rollupLagMs: integer(env, 'REPORTS_ROLLUP_LAG_MS', 30_000, 100, 3_600_000),
    },
    queue: {
      prefix: queuePrefix,
      workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 50, 1, 500),
      batchLingerMs: integer(env, 'WORKER_BATCH_LINGER_MS', 5, 0, 100),
      orderAttempts: integer(env, 'ORDER_ATTEMPTS', 5, 1, 50),
      backoffMs: integer(env, 'ORDER_BACKOFF_MS', 500, 1, 600_000),
      sweepIntervalMs: integer(env, 'ORDER_SWEEP_INTERVAL_MS', 15_000, 100, 3_600_000),
      lockDurationMs: integer(env, 'ORDER_LOCK_DURATION_MS', 30_000, 500, 600_000),
      stalledIntervalMs: integer(env, 'ORDER_STALLED_INTERVAL_MS', 30_000, 100, 600_000),
      maxStalledCount: integer(env, 'ORDER_MAX_STALLED_COUNT', 2, 0, 100),
    },
  };
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer (got "${value}")`);
  const n = Number(value);
  if (n < min || n > max)
    throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(name, `must be "true" or "false" (got "${value}")`);
}

function url(env: Env, name: string, protocols: string[]): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(name, 'is required');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, 'must be a valid connection URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return value;
}

function secret(env: Env, name: string, strict: boolean, production = false): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(name, 'is required');
  return checkedSecret(name, value, strict, production);
}

/** An optional secret: when set, held to the same rules as the required ones. */
function optionalSecret(
  env: Env,
  name: string,
  strict: boolean,
  production: boolean,
): string | undefined {
  const value = raw(env, name);
  return value === undefined ? undefined : checkedSecret(name, value, strict, production);
}

function checkedSecret(name: string, value: string, strict: boolean, production: boolean): string {
  if (strict && value.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      name,
      `must be at least ${MIN_SECRET_LENGTH} characters outside development`,
    );
  }
  if (production && value.length < MIN_PRODUCTION_SECRET_LENGTH) {
    throw new ConfigError(
      name,
      `must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production (32 random bytes in base64), e.g. \`openssl rand -base64 48\``,
    );
  }
  if (production && estimatedEntropyBits(value) < MIN_SECRET_BITS) {
    throw new ConfigError(
      name,
      `looks guessable (about ${Math.round(estimatedEntropyBits(value))} bits; production needs ${MIN_SECRET_BITS}): use 32 or more random bytes, e.g. \`openssl rand -base64 48\``,
    );
  }
  return value;
}

/**
 * The JWT secrets: two current ones, and during a rotation the previous ones. In production each
 * is hard to guess, and no two are the same: an access secret never verifies a refresh token,
 * and a previous secret equal to the current one would be a rotation that did not happen.
 */
function jwtSecrets(env: Env, strict: boolean, production: boolean) {
  const accessSecret = secret(env, 'JWT_ACCESS_SECRET', strict, production);
  const refreshSecret = secret(env, 'JWT_REFRESH_SECRET', strict, production);
  const accessSecretPrevious = optionalSecret(
    env,
    'JWT_ACCESS_SECRET_PREVIOUS',
    strict,
    production,
  );
  const refreshSecretPrevious = optionalSecret(
    env,
    'JWT_REFRESH_SECRET_PREVIOUS',
    strict,
    production,
  );
  if (production) {
    const seen = new Map<string, string>();
    for (const [name, value] of [
      ['JWT_ACCESS_SECRET', accessSecret],
      ['JWT_REFRESH_SECRET', refreshSecret],
      ['JWT_ACCESS_SECRET_PREVIOUS', accessSecretPrevious],
      ['JWT_REFRESH_SECRET_PREVIOUS', refreshSecretPrevious],
    ] as const) {
      if (value === undefined) continue;
      const same = seen.get(value);
      if (same) throw new ConfigError(name, `must differ from ${same}`);
      seen.set(value, name);
    }
  }
  return {
    accessSecret,
    refreshSecret,
    ...(accessSecretPrevious === undefined ? {} : { accessSecretPrevious }),
    ...(refreshSecretPrevious === undefined ? {} : { refreshSecretPrevious }),
  };
}

/**
 * A bearer token, held to the rules of the JWT secrets and written in the token68 characters an
 * Authorization header carries (base64, base64url or hex all are). In production it must not be
 * a JWT secret: a scrape sends it over the network.
 */
function bearerToken(
  env: Env,
  name: string,
  strict: boolean,
  production: boolean,
  jwt: { accessSecret: string; refreshSecret: string },
): string | undefined {
  if (raw(env, name) === undefined) return undefined;
  const value = secret(env, name, strict, production);
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(value))
    throw new ConfigError(
      name,
      'must be letters, digits and - . _ ~ + / (a bearer token), e.g. `openssl rand -base64 48`',
    );
  if (production && (value === jwt.accessSecret || value === jwt.refreshSecret))
    throw new ConfigError(name, 'must differ from JWT_ACCESS_SECRET and JWT_REFRESH_SECRET');
  return value;
}

/** An address to bind: an IP address or a host name; undefined when unset (every interface). */
function listenAddress(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value !== undefined && !isIP(value) && !/^[A-Za-z0-9.-]{1,253}$/.test(value))
    throw new ConfigError(
      name,
      'must be an IP address or a host name (e.g. 127.0.0.1, ::1, localhost)',
    );
  return value;
}

function optionalPort(env: Env, name: string): number | undefined {
  return raw(env, name) === undefined ? undefined : integer(env, name, 0, 1, 65535);
}

function pattern(env: Env, name: string, fallback: string, re: RegExp, rule: string): string {
  const value = raw(env, name) ?? fallback;
  if (!re.test(value)) throw new ConfigError(name, rule);
  return value;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Durations as `900`, `90s`, `15m`, `12h` or `7d`, returned in seconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  return seconds > 0 ? seconds : undefined;
}

function duration(env: Env, name: string, fallback: string): number {
  const value = raw(env, name) ?? fallback;
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    throw new ConfigError(
      name,
      `must be a positive duration such as 900, 90s, 15m, 12h or 7d (got "${value}")`,
    );
  }
  return seconds;
}

/** A comma-separated allowlist of exact origins such as `https://shop.example.com`. */
function origins(env: Env, name: string): string[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  return value.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        name,
        `must list origins such as https://shop.example.com, separated by commas (got "${origin}")`,
      );
    }
    return origin;
  });
}

function trustProxy(env: Env, name: string): boolean | number | string {
  const value = raw(env, name);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^[\w.:/,\s-]+$/.test(value)) return value;
  throw new ConfigError(
    name,
    'must be true, false, a number of proxy hops, or comma-separated proxy addresses/subnets',
  );
}

function adminAccount(env: Env): AppConfig['admin'] {
  const email = raw(env, 'ADMIN_EMAIL');
  const password = raw(env, 'ADMIN_PASSWORD');
  if (email === undefined && password === undefined) return undefined;
  if (email === undefined)
    throw new ConfigError('ADMIN_EMAIL', 'is required when ADMIN_PASSWORD is set');
  if (password === undefined)
    throw new ConfigError('ADMIN_PASSWORD', 'is required when ADMIN_EMAIL is set');
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw new ConfigError('ADMIN_EMAIL', 'must be an email address');
  if (password.length < 8 || password.length > 72) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 8 to 72 characters');
  }
  return { email: email.toLowerCase(), password };
}

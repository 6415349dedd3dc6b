import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, RedisOptions } from 'ioredis';
import { type AppConfig, ConfigError } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** A Redis server or a Redis Cluster: the commands this application uses work on both. */
export type RedisConnection = Redis | Cluster;

/**
 * A new connection to the configured Redis (REDIS_URL), or to the Redis Cluster it is a seed node
 * of (REDIS_CLUSTER=true): the cluster client discovers the other nodes and follows slot moves.
 */
export function connectRedis(
  config: AppConfig['redis'],
  options: RedisOptions = {},
): RedisConnection {
  if (!config.cluster) return new Redis(config.url, options);
  // A cluster has only database 0.
  const { host, port, db: _db, ...credentials } = redisOptionsFromUrl(config.url);
  return new Cluster([{ host, port }], {
    redisOptions: { ...credentials, ...options },
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    // ioredis documents a periodic slot refresh but does not do one unless asked: without it a
    // node that came back stays out of the pool until a MOVED reply happens to bring it in.
    slotsRefreshInterval: 5000,
  });
}

/** Host, port, credentials and TLS of a redis:// or rediss:// URL. */
export function redisOptionsFromUrl(url: string): RedisOptions & { host: string; port: number } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * What BullMQ connects with. BullMQ must wait out a Redis outage rather than fail commands, hence
 * no per-request retry limit. On a cluster every queue key carries the `{prefix}` hash tag (BullMQ's
 * `prefix`), so each queue's scripts touch one slot.
 */
export function queueConnection(config: AppConfig['redis']): ConnectionOptions {
  if (config.cluster) return connectRedis(config, { maxRetriesPerRequest: null });
  return { url: config.url, maxRetriesPerRequest: null };
}

/** Redis's answers to credentials it does not accept (requirepass, ACL users). */
const REFUSED_CREDENTIALS = /^(NOAUTH|WRONGPASS|NOPERM)\b|^ERR invalid (username-)?password/;
/** How long start-up waits for the first answer of a Redis that neither accepts nor refuses. */
const FIRST_ANSWER_MS = 3000;

/**
 * How the connection's first attempt ends: undefined once it is ready, when Redis is unreachable
 * (an outage: the app starts and waits for it) or after FIRST_ANSWER_MS; Redis's refusal when it
 * refuses the credentials of REDIS_URL.
 */
function credentialsRefusal(connection: RedisConnection): Promise<string | undefined> {
  return new Promise((resolve) => {
    const settle = (refusal: string | undefined) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('error', onError);
      resolve(refusal);
    };
    const onReady = () => settle(undefined);
    const onError = (err: Error & { lastNodeError?: Error }) => {
      const message = (err.lastNodeError ?? err).message;
      settle(REFUSED_CREDENTIALS.test(message) ? message : undefined);
    };
    const timer = setTimeout(() => settle(undefined), FIRST_ANSWER_MS);
    connection.on('ready', onReady);
    connection.on('error', onError);
  });
}

/**
 * A Redis connection for everything that is not a BullMQ queue (readiness pings, rate limits,
 * cache invalidations). It fails fast while Redis is down instead of queueing commands in memory.
 * Start-up fails when Redis refuses the credentials of REDIS_URL: that never heals by retrying.
 */
@Injectable()
export class RedisClient implements OnModuleInit, OnApplicationShutdown {
  readonly redis: RedisConnection;
  private readonly firstAnswer: Promise<string | undefined>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.redis = connectRedis(config.redis, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    // Connection errors surface through the commands that need Redis; ioredis keeps reconnecting.
    this.redis.on('error', () => undefined);
    this.firstAnswer = credentialsRefusal(this.redis);
  }

  async onModuleInit(): Promise<void> {
    const refusal = await this.firstAnswer;
    if (refusal === undefined) return;
    this.redis.disconnect();
    throw new ConfigError(
      'REDIS_URL',
      `was refused by Redis (${refusal.trim()}): put the password in it, redis://:PASSWORD@host:6379 (redis://USER:PASSWORD@host:6379 for an ACL user)`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

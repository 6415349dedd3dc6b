/**
 * Keeps the in-process caches of every replica coherent: a process that changes a cached record
 * publishes its key on one Redis pub/sub channel, and every process (itself included) drops that
 * key. Pub/sub delivers at most once, so a cache is trusted only while this process's subscription
 * is up: when it drops, caches are bypassed; when it is back (resubscribed), they start empty.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Cluster, Redis, RedisOptions } from 'ioredis';
import { RedisClient, redisOptionsFromUrl } from './redis.js';

export interface CacheListener {
  /** The record `key` changed somewhere. */
  invalidate(key: string): void;
  /** Invalidations may have been missed: forget everything. */
  clear(): void;
}

@Injectable()
export class CacheInvalidation implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(CacheInvalidation.name);
  private readonly channel: string;
  private readonly listeners = new Map<string, CacheListener>();
  private subscriber?: Redis;
  private subscribed = false;
  private subscriptions = 0;
  private lastPublishFailure = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly client: RedisClient,
  ) {
    this.channel = `${config.redis.keyPrefix}:cache-invalidation`;
  }

  /** Caches may serve what they hold only while this is true. */
  get live(): boolean {
    return this.subscribed;
  }

  /** How many times the subscription was (re)established, each time with emptied caches. */
  get subscribedCount(): number {
    return this.subscriptions;
  }

  /** Registers the cache of `topic`; the first registration opens the subscription. */
  listen(topic: string, listener: CacheListener): void {
    if (topic.includes(' ')) throw new Error(`cache topic "${topic}" must not contain spaces`);
    this.listeners.set(topic, listener);
    this.subscriber ??= this.subscribe();
  }

  /**
   * Tells every replica that `key` of `topic` changed. The local cache forgets it at once; a lost
   * message (Redis unreachable) leaves other replicas stale for at most the cache TTL.
   */
  async publish(topic: string, key: string): Promise<void> {
    this.listeners.get(topic)?.invalidate(key);
    try {
      await this.client.redis.publish(this.channel, `${topic} ${key}`);
    } catch (err) {
      if (Date.now() - this.lastPublishFailure > 10_000) {
        this.lastPublishFailure = Date.now();
        this.logger.warn(
          `cache invalidation of ${topic} ${key} not published (${String(err)}); other replicas refresh within ${this.config.cacheTtlMs} ms`,
        );
      }
    }
  }

  /**
   * A plain connection to one Redis node, even on a cluster (PUBLISH reaches every node of a
   * cluster): unlike the cluster client's own subscriber, which moves to another node silently,
   * it reports every loss and every return, so this class knows when invalidations may have been
   * missed. On a cluster, a node that stays unreachable is given up for another one.
   */
  private subscribe(): Redis {
    const subscriber = new Redis({
      ...this.subscriberNode(),
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      retryStrategy: (times) =>
        this.config.redis.cluster && times > 3 ? null : Math.min(times * 100, 2000),
    });
    subscriber.on('error', () => undefined);
    subscriber.on('close', () => this.lost());
    subscriber.on('end', () => {
      this.lost();
      if (this.subscriber === subscriber) this.subscriber = this.subscribe();
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => {
          for (const listener of this.listeners.values()) listener.clear();
          this.subscribed = true;
          this.subscriptions++;
        },
        (err: unknown) =>
          this.logger.warn(`cache invalidation subscription failed: ${String(err)}`),
      );
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const space = message.indexOf(' ');
      this.listeners.get(message.slice(0, space))?.invalidate(message.slice(space + 1));
    });
    return subscriber;
  }

  /** REDIS_URL, or on a cluster any node the command client knows (it may be the seed). */
  private subscriberNode(): RedisOptions {
    const seed = redisOptionsFromUrl(this.config.redis.url);
    const client = this.client.redis;
    if (!(client instanceof Cluster)) return seed;
    const nodes = client.nodes('all');
    const node = nodes[Math.floor(Math.random() * nodes.length)];
    const { db: _db, ...credentials } = seed;
    return node
      ? { ...credentials, host: node.options.host, port: node.options.port }
      : credentials;
  }

  private lost(): void {
    this.subscribed = false;
  }

  onModuleDestroy(): void {
    this.subscribed = false;
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }
}

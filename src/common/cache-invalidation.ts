/**
 * Keeps the in-process caches of every replica coherent: a process that changes a cached record
 * publishes its key on one Redis pub/sub channel, and every process (itself included) drops that
 * key. Pub/sub delivers at most once, so a cache is trusted only while this process's subscription
 * is up: when it drops, caches are bypassed; when it is back (resubscribed), they start empty.
 *
 * A change that must hold at the very next request on every replica (a revoked session, a VIP
 * flag) is published confirmed: on a channel of its own, whose subscribers each answer on the
 * publisher's acknowledgement channel once they have dropped the key; the publisher waits for as
 * many answers as PUBLISH reported receivers, at most CONFIRM_TIMEOUT_MS.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Cluster, Redis, RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { RedisClient, redisOptionsFromUrl } from './redis.js';

/**
 * How long a confirmed publication waits for the replicas that received it to say they applied
 * it. A replica that does not answer in time (stalled, or its command connection down) is not
 * waited for further: it applies the change when it reads the message, and its cache entries
 * live at most CACHE_TTL_MS anyway.
 */
export const CONFIRM_TIMEOUT_MS = 1000;

interface PendingConfirmation {
  acknowledged: number;
  /** Known once PUBLISH has answered; acknowledgements may arrive before it does. */
  receivers?: number;
  done: () => void;
}

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
  /** Confirmed invalidations: `<confirmation id> <topic> <key>`. */
  private readonly confirmChannel: string;
  /** Where the other processes acknowledge this process's confirmed invalidations. */
  private readonly processId = randomUUID();
  private confirmations = 0;
  private readonly pending = new Map<string, PendingConfirmation>();
  private subscriptionWaiters: Array<() => void> = [];
  private readonly listeners = new Map<string, CacheListener[]>();
  private subscriber?: Redis;
  private subscribed = false;
  private subscriptions = 0;
  private lastPublishFailure = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly client: RedisClient,
  ) {
    this.channel = `${config.redis.keyPrefix}:cache-invalidation`;
    this.confirmChannel = `${this.channel}:confirmed`;
  }

  /** Caches may serve what they hold only while this is true. */
  get live(): boolean {
    return this.subscribed;
  }

  /** How many times the subscription was (re)established, each time with emptied caches. */
  get subscribedCount(): number {
    return this.subscriptions;
  }

  /**
   * Registers a listener of `topic` (its cache, and whatever else acts on its changes), told in
   * the order registered; the first registration opens the subscription.
   */
  listen(topic: string, listener: CacheListener): void {
    if (topic.includes(' ')) throw new Error(`cache topic "${topic}" must not contain spaces`);
    this.listeners.set(topic, [...(this.listeners.get(topic) ?? []), listener]);
    this.subscriber ??= this.subscribe();
  }

  /**
   * Tells every replica that `key` of `topic` changed. The local cache forgets it at once; a lost
   * message (Redis unreachable) leaves other replicas stale for at most the cache TTL.
   *
   * `confirm`: resolves only once every process that received the message has dropped the key
   * (or CONFIRM_TIMEOUT_MS has passed), so a request that follows on any replica sees the change.
   * Publish the new state to Redis (or MongoDB) before, so that what a replica loads after
   * dropping the key is already the new state. On a Redis Cluster, PUBLISH counts the receivers
   * on one node only: the others are not waited for, and apply the change when it reaches them
   * (normally within milliseconds).
   */
  async publish(topic: string, key: string, options: { confirm?: boolean } = {}): Promise<void> {
    this.invalidate(topic, key);
    // The acknowledgements come through this process's own subscription: open it if no cache
    // has yet, and publish unconfirmed if it cannot be had in time.
    if (options.confirm) {
      this.subscriber ??= this.subscribe();
      if (await this.untilSubscribed()) return this.publishConfirmed(topic, key);
    }
    try {
      await this.client.redis.publish(
        options.confirm ? this.confirmChannel : this.channel,
        options.confirm ? `- ${topic} ${key}` : `${topic} ${key}`,
      );
    } catch (err) {
      this.publishFailed(topic, key, err);
    }
  }

  private async publishConfirmed(topic: string, key: string): Promise<void> {
    const id = `${this.processId}.${++this.confirmations}`;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      this.pending.set(id, { acknowledged: 0, done: resolve });
      timer = setTimeout(resolve, CONFIRM_TIMEOUT_MS);
    });
    try {
      const receivers = await this.client.redis.publish(
        this.confirmChannel,
        `${id} ${topic} ${key}`,
      );
      const confirmation = this.pending.get(id);
      if (confirmation) {
        confirmation.receivers = receivers;
        if (confirmation.acknowledged >= receivers) confirmation.done();
      }
      await done;
      const unconfirmed = receivers - (this.pending.get(id)?.acknowledged ?? receivers);
      if (unconfirmed > 0)
        this.logger.warn(
          `cache invalidation of ${topic} ${key}: ${unconfirmed} of ${receivers} processes did not confirm within ${CONFIRM_TIMEOUT_MS} ms; they apply it when they read it`,
        );
    } catch (err) {
      this.publishFailed(topic, key, err);
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
  }

  private async untilSubscribed(): Promise<boolean> {
    if (this.subscribed) return true;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.subscriptionWaiters = this.subscriptionWaiters.filter((waiter) => waiter !== wake);
        resolve();
      }, CONFIRM_TIMEOUT_MS);
      this.subscriptionWaiters.push(wake);
    });
    return this.subscribed;
  }

  private publishFailed(topic: string, key: string, err: unknown): void {
    if (Date.now() - this.lastPublishFailure > 10_000) {
      this.lastPublishFailure = Date.now();
      this.logger.warn(
        `cache invalidation of ${topic} ${key} not published (${String(err)}); other replicas refresh within ${this.config.cacheTtlMs} ms`,
      );
    }
  }

  private invalidate(topic: string, key: string): void {
    for (const listener of this.listeners.get(topic) ?? []) listener.invalidate(key);
  }

  /** A confirmed invalidation from any process, this one included: apply it, then say so. */
  private applyConfirmed(message: string): void {
    const [id, topic, ...key] = message.split(' ');
    this.invalidate(topic ?? '', key.join(' '));
    if (id === '-') return;
    const publisher = id.slice(0, id.lastIndexOf('.'));
    this.client.redis.publish(this.ackChannel(publisher), id).catch(() => undefined);
  }

  private acknowledged(id: string): void {
    const confirmation = this.pending.get(id);
    if (!confirmation) return;
    confirmation.acknowledged++;
    if (confirmation.receivers !== undefined && confirmation.acknowledged >= confirmation.receivers)
      confirmation.done();
  }

  private ackChannel(processId: string): string {
    return `${this.channel}:ack:${processId}`;
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
      subscriber.subscribe(this.channel, this.confirmChannel, this.ackChannel(this.processId)).then(
        () => {
          for (const listener of [...this.listeners.values()].flat()) listener.clear();
          this.subscribed = true;
          this.subscriptions++;
          const waiters = this.subscriptionWaiters;
          this.subscriptionWaiters = [];
          for (const resolve of waiters) resolve();
        },
        (err: unknown) =>
          this.logger.warn(`cache invalidation subscription failed: ${String(err)}`),
      );
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) {
        const space = message.indexOf(' ');
        this.invalidate(message.slice(0, space), message.slice(space + 1));
      } else if (channel === this.confirmChannel) {
        this.applyConfirmed(message);
      } else {
        this.acknowledged(message);
      }
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

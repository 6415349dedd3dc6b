/**
 * What makes an access token stop working before it expires, on every API replica at the next
 * request, without a MongoDB read per request. Access tokens carry their session (`sid`, the
 * refresh-token family) and the account's token version (`sv`). Redis holds two kinds of keys:
 *
 * - `session:family:<sid>`, set when a session ends (logout, refresh-token reuse, the account's
 *   sessions ended): its access tokens are refused;
 * - `session:user:<id>`, a random version replaced whenever the tokens of an account must be
 *   re-issued (a role change, its sessions ended): an access token is refused unless it carries
 *   the version present at the time (an absent key refuses nothing).
 *
 * Both keys live as long as an access token could (JWT_ACCESS_TTL plus a minute for clock skew
 * between processes): once a key expires, every token it refused has expired too. A version key
 * that expires refuses nothing more, which is right: tokens issued since carry its version and
 * were not revoked; the next change writes a new random version, which refuses them all. A
 * version names its own expiry, so that a cached copy is not trusted past it: otherwise a token
 * issued without a version just after the key expired would be refused by a replica still
 * holding the old version.
 *
 * Each process reads these keys through an InvalidatingCache: in the steady state a request
 * costs no Redis call. Whoever writes a key then publishes a confirmed invalidation, answered
 * only once every subscribed process has dropped its copy; the next request on any replica
 * misses and reads the new state. While a process's subscription is down its cache is bypassed
 * (one batched MGET per event-loop turn), and once it is back the cache starts empty, since
 * invalidations may have been missed; an entry lives at most CACHE_TTL_MS in any case.
 *
 * Without Redis nothing can be checked or recorded: tokens are then accepted on their signature
 * and expiry alone, as before revocation existed, and the outage is logged (rate limits fail open
 * the same way). Refresh tokens are checked in MongoDB at every refresh and are not affected.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { CacheInvalidation } from '../common/cache-invalidation.js';
import { InvalidatingCache } from '../common/invalidating-cache.js';
import { RedisClient } from '../common/redis.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** What an access token says about its session. */
export interface SessionClaims {
  userId: string;
  /** The refresh-token family. */
  family: string;
  /** The account's token version when the token was issued; absent when there was none. */
  version?: string;
}

export type SessionVerdict = 'live' | 'ended' | 'outdated';

/** Invalidation topic of the revocation cache; keys are `family:<sid>` and `user:<id>`. */
const SESSION_TOPIC = 'session';
/** Cached meaning "no key in Redis": a family not revoked, an account without a version. */
const ABSENT = '';
/** A lookup that takes longer is given up (and the token accepted, as without Redis). */
const LOOKUP_TIMEOUT_MS = 2000;
/** Outlives JWT_ACCESS_TTL by this much, for clocks of processes that disagree a little. */
const CLOCK_SKEW_MS = 60_000;

/** A new token version, in force until `until` (ms since the epoch): `<until>.<random>`. */
export function newVersion(until: number, random: string): string {
  return `${until}.${random}`;
}

/** Whether a stored token version is still in force at `now`; absent ones are not. */
export function versionInForce(stored: string | undefined, now: number): stored is string {
  if (!stored) return false;
  const until = Number(stored.slice(0, stored.indexOf('.')));
  return Number.isFinite(until) && until > now;
}

@Injectable()
export class SessionRevocation {
  private readonly logger = new Logger(SessionRevocation.name);
  private readonly keyPrefix: string;
  private readonly keyTtlMs: number;
  private readonly state: InvalidatingCache<string>;
  private lastFailureLog = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly invalidation: CacheInvalidation,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keyPrefix = `${config.redis.keyPrefix}:session:`;
    this.keyTtlMs = config.jwt.accessTtlSeconds * 1000 + CLOCK_SKEW_MS;
    this.state = new InvalidatingCache<string>(
      async (keys) => {
        // One MGET for the misses of an event-loop turn; every key shares the deployment's
        // hash tag, so this is one slot on a Redis Cluster too.
        const values = await this.client.redis.mget(...keys.map((key) => this.keyPrefix + key));
        return new Map(keys.map((key, i) => [key, values[i] ?? ABSENT]));
      },
      invalidation,
      {
        topic: SESSION_TOPIC,
        ttlMs: config.cacheTtlMs,
        maxEntries: 200_000,
        loadTimeoutMs: LOOKUP_TIMEOUT_MS,
      },
    );
  }

  /** Whether an access token of this session may still be used; from the cache when it can. */
  async verdict(session: SessionClaims): Promise<SessionVerdict> {
    const familyKey = `family:${session.family}`;
    const userKey = `user:${session.userId}`;
    let state: Map<string, string>;
    try {
      state = await this.state.getMany([familyKey, userKey]);
    } catch (err) {
      this.unavailable('not checked', err);
      return 'live';
    }
    if ((state.get(familyKey) ?? ABSENT) !== ABSENT) return 'ended';
    const version = state.get(userKey);
    return !versionInForce(version, Date.now()) || version === session.version
      ? 'live'
      : 'outdated';
  }

  /**
   * The account's current token version, read from Redis itself (not the cache): what a token
   * issued now must carry. Read it before reading the account from MongoDB: a change that bumps
   * the version after this read refuses the token, and one that bumped it before has already
   * written the account, so the read that follows sees the change.
   */
  async currentVersion(userId: string): Promise<string | undefined> {
    try {
      const version = (await this.client.redis.get(`${this.keyPrefix}user:${userId}`)) ?? undefined;
      return versionInForce(version, Date.now()) ? version : undefined;
    } catch (err) {
      // Issued without a version: refused once the account has one, then simply refreshed.
      this.unavailable('not read', err);
      return undefined;
    }
  }

  /**
   * Calls `changed` with the session key that changed anywhere (`family:<sid>`, `user:<id>`), or
   * with undefined when changes may have been missed, once the cache has dropped it: a verdict
   * asked from then on is the new one. For what holds a session open (a socket).
   */
  onChange(changed: (key: string | undefined) => void): void {
    // Deferred until every listener of the topic has run, the cache among them.
    this.invalidation.listen(SESSION_TOPIC, {
      invalidate: (key) => queueMicrotask(() => changed(key)),
      clear: () => queueMicrotask(() => changed(undefined)),
    });
  }

  /** The session has ended: its access tokens are refused from the next request on. */
  async endSession(family: string): Promise<void> {
    await this.record(`family:${family}`, '1');
  }

  /**
   * Every access token the account holds is refused from the next request on; its sessions go on
   * and their next refresh issues tokens with what the account is now (e.g. its new role).
   */
  async outdateTokens(userId: string): Promise<void> {
    const version = newVersion(Date.now() + this.keyTtlMs, randomBytes(12).toString('base64url'));
    await this.record(`user:${userId}`, version);
  }

  private async record(key: string, value: string): Promise<void> {
    try {
      await this.client.redis.set(this.keyPrefix + key, value, 'PX', this.keyTtlMs);
    } catch (err) {
      this.unavailable(`not recorded (${key})`, err);
      return;
    }
    await this.invalidation.publish(SESSION_TOPIC, key, { confirm: true });
  }

  private unavailable(what: string, err: unknown): void {
    if (Date.now() - this.lastFailureLog < 10_000) return;
    this.lastFailureLog = Date.now();
    this.logger.warn(
      `session revocation ${what}, Redis unavailable: ${String(err)}; access tokens are checked on signature and expiry only`,
    );
  }
}

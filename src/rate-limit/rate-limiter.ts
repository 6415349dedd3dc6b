/**
 * Fixed-window request counters in Redis, so limits hold across API replicas. Every limit a
 * request is subject to is counted by one script call, and the calls of requests that arrive in
 * the same event-loop turn share one (group commit): the script is loaded once and called by SHA.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { GroupCommit } from '../common/group-commit.js';
import { RedisClient, RedisConnection } from '../common/redis.js';

/**
 * For each counter i (KEYS[2i-1]: hits in the window, KEYS[2i]: set while the client is blocked;
 * ARGV[3i-2..3i]: window ms, limit, block ms): count the hit, start the window on the first hit,
 * block the counter once the limit is passed. Answers, per counter, 0 (allowed) or the
 * milliseconds left of its block. The same counter may appear several times (a client's requests
 * of one turn); each occurrence is one hit.
 */
const COUNT_HITS = `
local out = {}
for i = 1, #KEYS / 2 do
  local key, blockKey = KEYS[2 * i - 1], KEYS[2 * i]
  local window, limit, block = ARGV[3 * i - 2], tonumber(ARGV[3 * i - 1]), ARGV[3 * i]
  local hits = redis.call('INCR', key)
  if hits == 1 then redis.call('PEXPIRE', key, window) end
  local blocked = redis.call('PTTL', blockKey)
  if blocked > 0 then
    out[i] = blocked
  elseif hits > limit then
    redis.call('SET', blockKey, '1', 'PX', block)
    out[i] = tonumber(block)
  else
    out[i] = 0
  end
end
return out
`;

/** One limit a request counts toward: `counter` names the limit and the client, e.g. `auth:ip:…`. */
export interface LimitHit {
  counter: string;
  limit: number;
}

/** 0 when every limit allows the request, otherwise the seconds until the client may retry. */
export type RetryAfterSeconds = number;

type HitCounter = RedisConnection & {
  countHits(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
};

@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly redis: HitCounter;
  private readonly keyPrefix: string;
  private readonly windowMs: number;
  private readonly batches: GroupCommit<LimitHit[], RetryAfterSeconds>;
  private lastFailureLog = 0;

  constructor(client: RedisClient, @Inject(APP_CONFIG) config: AppConfig) {
    // defineCommand sends EVALSHA and falls back to EVAL once when Redis has not seen the script.
    client.redis.defineCommand('countHits', { lua: COUNT_HITS });
    this.redis = client.redis as HitCounter;
    this.keyPrefix = config.redis.rateLimitKeyPrefix;
    this.windowMs = config.rateLimit.windowSeconds * 1000;
    this.batches = new GroupCommit((requests) => this.countBatch(requests), {
      maxBatch: 128,
      lingerMs: 0,
      maxInFlight: 2,
    });
  }

  /** Counts one request toward each of its limits. */
  check(hits: LimitHit[]): Promise<RetryAfterSeconds> {
    return this.batches.submit(hits);
  }

  private async countBatch(requests: LimitHit[][]): Promise<RetryAfterSeconds[]> {
    const keys: string[] = [];
    const args: number[] = [];
    for (const hits of requests) {
      for (const hit of hits) {
        const key = `${this.keyPrefix}:${hit.counter}`;
        keys.push(key, `${key}:blocked`);
        args.push(this.windowMs, hit.limit, this.windowMs);
      }
    }
    let blockedMs: number[];
    try {
      blockedMs = await this.redis.countHits(keys.length, ...keys, ...args);
    } catch (err) {
      // Rate limiting protects the service; it must not take it down. Without Redis, let requests through.
      if (Date.now() - this.lastFailureLog > 10_000) {
        this.lastFailureLog = Date.now();
        this.logger.warn(`rate limits suspended, Redis unavailable: ${String(err)}`);
      }
      return requests.map(() => 0);
    }
    let next = 0;
    return requests.map((hits) => {
      let longest = 0;
      for (let i = 0; i < hits.length; i++) longest = Math.max(longest, blockedMs[next++] ?? 0);
      return longest > 0 ? Math.max(1, Math.ceil(longest / 1000)) : 0;
    });
  }
}

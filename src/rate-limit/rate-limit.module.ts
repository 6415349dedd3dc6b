import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Request } from 'express';
import { RedisClient } from '../common/redis.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { trackerFor } from './rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/** Limits and their Redis storage; ApiModule installs RateLimitGuard after the authentication guards. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, RedisClient],
      useFactory: (config: AppConfig, redis: RedisClient) => {
        const ttl = config.rateLimit.windowSeconds * 1000;
        const getTracker = (req: Record<string, unknown>) =>
          trackerFor('', req as unknown as Request);
        return {
          setHeaders: false,
          storage: new RedisThrottlerStorage(redis, config.queue.prefix),
          throttlers: [
            { name: 'per-ip', ttl, limit: config.rateLimit.perIp, getTracker },
            { name: 'auth', ttl, limit: config.rateLimit.auth, getTracker },
            {
              name: 'orders',
              ttl,
              limit: config.rateLimit.orders,
              getTracker: (req: Record<string, unknown>) =>
                trackerFor('orders', req as unknown as Request),
            },
          ],
        };
      },
    }),
  ],
  exports: [ThrottlerModule],
})
export class RateLimitModule {}

import { Global, Module } from '@nestjs/common';
import { CacheInvalidation } from './cache-invalidation.js';
import { RedisClient } from './redis.js';

/** One Redis command connection and one cache-invalidation subscription per process. */
@Global()
@Module({ providers: [RedisClient, CacheInvalidation], exports: [RedisClient, CacheInvalidation] })
export class RedisModule {}

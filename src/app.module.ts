import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from './auth/auth.module.js';
import { RedisModule } from './common/redis.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { OrderWorkerModule } from './order/order-worker.module.js';
import { OrderModule } from './order/order.module.js';
import { StockModule } from './stock/stock.module.js';
import { UsersModule } from './users/users.module.js';

/** The application for one role: `api` serves HTTP, `worker` runs the processors, `all` both. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const runsWorkers = config.role !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MongooseModule.forRoot(config.mongodbUri, { serverSelectionTimeoutMS: 5000 }),
        // BullMQ workers must wait out a Redis outage rather than fail commands: no per-request retry limit.
        BullModule.forRoot({
          connection: { url: config.redisUrl, maxRetriesPerRequest: null },
          prefix: config.queue.prefix,
        }),
        RedisModule,
        UsersModule,
        AuthModule,
        StockModule,
        OrderModule,
        HealthModule,
        ...(runsWorkers ? [OrderWorkerModule] : []),
      ],
    };
  }
}

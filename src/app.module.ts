import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ApiModule } from './api.module.js';
import { queueConnection } from './common/redis.js';
import { RedisModule } from './common/redis.module.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrderWorkerModule } from './order/order-worker.module.js';
import { ReportsWorkerModule } from './reports/reports-worker.module.js';

/** The application for one role: `api` serves HTTP, `worker` runs the processors, `all` both. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const servesApi = config.role !== 'worker';
    const runsWorkers = config.role !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MongooseModule.forRoot(config.mongodbUri, { serverSelectionTimeoutMS: 5000 }),
        BullModule.forRoot({
          connection: queueConnection(config.redis),
          prefix: config.redis.keyPrefix,
        }),
        RedisModule,
        EventsModule,
        MetricsModule,
        HealthModule,
        ...(servesApi ? [ApiModule] : []),
        ...(runsWorkers ? [OrderWorkerModule, ReportsWorkerModule] : []),
      ],
    };
  }
}

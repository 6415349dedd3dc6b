/**
 * Builds the real application for e2e tests: the same modules and HTTP setup as `main.ts`, its own
 * database and queue prefix, real MongoDB and Redis. `close()` removes everything it created.
 */
import { INestApplication, Type } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { WinstonModule } from 'nest-winston';
import { Connection } from 'mongoose';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { configureHttp } from '../../src/http-setup.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { AppConfig, loadConfig } from '../../src/config/config.js';
import { removeDeploymentKeys } from '../../tools/harness/services.js';
import { mongoUriFor, testRedisUrl, uniqueDbName, uniqueQueuePrefix } from './test-env.js';

export const ADMIN = { email: 'admin@shop.test', password: 'admin-password-1' };

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** A client with its own cookie jar, like one browser. */
  agent(): request.Agent;
  get<T>(token: Type<T> | string | symbol): T;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment, as the process would receive it. */
  env?: Record<string, string>;
  /** Replace providers, e.g. to inject a fault. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

export function testEnv(label: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    MONGODB_URI: mongoUriFor(uniqueDbName(label)),
    REDIS_URL: testRedisUrl(),
    JWT_ACCESS_SECRET: randomBytes(32).toString('hex'),
    JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
    BCRYPT_ROUNDS: '4',
    QUEUE_PREFIX: uniqueQueuePrefix(label),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ORDER_BACKOFF_MS: '20',
    LOG_LEVEL: 'error',
    // Tests place many orders from one loopback address; the rate-limit suite sets its own limits.
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_AUTH: '1000000',
    RATE_LIMIT_ORDERS: '1000000',
    ...env,
  };
}

export async function createTestApp(label: string, options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(label, options.env));
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const logger = createLogger(config.logging);
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: WinstonModule.createLogger({ instance: logger }),
  });
  configureHttp(app, config, logger);
  app.enableShutdownHooks();
  await app.init();
  const server = app.getHttpServer() as Parameters<typeof request.agent>[0];
  return {
    app,
    config,
    agent: () => request.agent(server),
    get: <T>(token: Type<T> | string | symbol) => app.get<T>(token),
    close: async () => {
      const connection = app.get<Connection>(getConnectionToken());
      try {
        await connection.dropDatabase();
      } finally {
        await app.close();
        await removeDeploymentKeys(config.redis.url, config.queue.prefix);
      }
    },
  };
}

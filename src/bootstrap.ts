/**
 * Starting and stopping one process in its role. `api` and `all` serve HTTP on PORT; `worker` runs
 * the processors with no listener, or only health and metrics on WORKER_HEALTH_PORT. Any role may
 * also serve its metrics on a listener of their own, METRICS_PORT.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { WinstonModule } from 'nest-winston';
import type winston from 'winston';
import { AppModule } from './app.module.js';
import { configureHttp } from './http-setup.js';
import { createLogger } from './common/logging/logger.js';
import { EventsGateway } from './events/events.gateway.js';
import type { AppConfig } from './config/config.js';
import { listenForMetrics } from './metrics/metrics-listener.js';
import { Metrics } from './metrics/metrics.service.js';

export interface RunningApp {
  app: INestApplicationContext;
  logger: winston.Logger;
  /** The HTTP server, when this role listens. */
  server?: Server;
  /** The metrics listener, with METRICS_PORT. */
  metricsServer?: Server;
  /** Stops accepting connections, lets in-flight requests and active jobs finish, closes MongoDB and Redis. */
  shutdown(reason: string): Promise<void>;
}

export async function start(config: AppConfig): Promise<RunningApp> {
  const logger = createLogger(config.logging);
  const nestLogger = WinstonModule.createLogger({ instance: logger });
  const port = config.role === 'worker' ? config.workerHealthPort : config.port;

  let app: INestApplicationContext;
  let server: Server | undefined;
  if (port === undefined) {
    app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: nestLogger,
    });
  } else {
    const http = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
      bodyParser: false,
      logger: nestLogger,
    });
    configureHttp(http, config, logger);
    await (config.host === undefined ? http.listen(port) : http.listen(port, config.host));
    server = http.getHttpServer();
    app = http;
  }
  logger.info(
    `started in role ${config.role}${port === undefined ? ' (no HTTP listener)' : ` on ${config.host ?? 'every interface'}, port ${port}`}`,
    {
      context: 'Bootstrap',
    },
  );
  const metricsPort = config.metrics.port;
  let metricsServer: Server | undefined;
  if (metricsPort !== undefined) {
    metricsServer = await listenForMetrics(app.get(Metrics), config, metricsPort, logger);
    logger.info(
      `metrics on ${config.metrics.host ?? 'every interface'}, port ${metricsPort}${config.metrics.token === undefined ? '' : ' (bearer token required)'}`,
      { context: 'Bootstrap' },
    );
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info(`shutting down: ${reason}`, { context: 'Bootstrap' });
      // Open sockets would keep the HTTP server from closing; clients reconnect to another replica.
      if (config.role !== 'worker') app.get(EventsGateway, { strict: false }).disconnectAll();
      const closing = [server, metricsServer].flatMap((listener) =>
        listener ? [new Promise((resolve) => listener.close(resolve))] : [],
      );
      await Promise.all(closing);
      await app.close();
      logger.info('shut down cleanly', { context: 'Bootstrap' });
    })();
    return stopping;
  };
  return { app, logger, server, metricsServer, shutdown };
}

/** SIGTERM/SIGINT → graceful shutdown, bounded by `timeoutMs`; exits 0 when clean, 1 otherwise. */
export function exitOnSignals(running: RunningApp, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    const timer = setTimeout(() => {
      running.logger.error(`shutdown did not finish within ${timeoutMs} ms; exiting`, {
        context: 'Bootstrap',
      });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    running.shutdown(signal).then(
      () => flushAndExit(running.logger, 0),
      (err: unknown) => {
        running.logger.error(
          `shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
          { context: 'Bootstrap' },
        );
        flushAndExit(running.logger, 1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

function flushAndExit(logger: winston.Logger, code: number): void {
  logger.on('finish', () => process.exit(code));
  logger.end();
}

import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConnectionOptions, Job, Worker, WorkerOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { queueConnection } from '../common/redis.js';
import type { AppConfig } from '../config/config.js';

/**
 * A BullMQ worker owned by a Nest provider, built from the validated configuration: started once
 * the application is up, closed at shutdown after its active jobs finish (the process-wide
 * shutdown timeout bounds the wait). A worker that dies instead (SIGKILL) leaves its jobs to
 * BullMQ's stalled-job check, which hands them to another worker after `lockDuration`.
 */
export abstract class QueueWorker<Data> implements OnApplicationBootstrap, OnModuleDestroy {
  protected readonly logger: Logger;
  private instance?: Worker<Data>;
  private connection?: ConnectionOptions;

  protected constructor(
    private readonly queueName: string,
    private readonly appConfig: AppConfig,
    private readonly options: Partial<WorkerOptions> = {},
  ) {
    this.logger = new Logger(new.target.name);
  }

  get worker(): Worker<Data> {
    if (!this.instance) throw new Error(`${this.queueName} worker is not running`);
    return this.instance;
  }

  abstract process(job: Job<Data>): Promise<unknown>;

  /** A job failed; `willRetry` is false when BullMQ gave up on it. */
  protected onFailed(_job: Job<Data>, _error: Error): Promise<void> {
    return Promise.resolve();
  }

  onApplicationBootstrap(): void {
    const { queue } = this.appConfig;
    this.connection = queueConnection(this.appConfig.redis);
    this.instance = new Worker<Data>(this.queueName, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.appConfig.redis.keyPrefix,
      concurrency: queue.workerConcurrency,
      lockDuration: queue.lockDurationMs,
      stalledInterval: queue.stalledIntervalMs,
      maxStalledCount: queue.maxStalledCount,
      ...this.options,
    });
    this.instance.on('failed', (job, error) => {
      if (job) void this.onFailed(job, error);
    });
    // Connection errors are retried by the worker itself; log them rather than crash.
    this.instance.on('error', (error) =>
      this.logger.warn(`${this.queueName} worker: ${error.message}`),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.instance?.close();
    // BullMQ closes the connections it made itself, not a client it was given (a cluster's).
    if (this.connection instanceof Cluster) await this.connection.quit();
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { GroupCommit } from '../common/group-commit.js';
import { runWithLogContext, withoutLogContext } from '../common/logging/request-context.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { OrderJob, OrderProcessingService, ProcessingResult } from './order-processing.service.js';
import {
  ORDER_QUEUE,
  OrderJobData,
  OrderQueue,
  PLACE_ORDER_JOB,
  RETURN_STOCK_JOB,
} from './order.queue.js';
import { QueueWorker } from './queue-worker.js';

/**
 * Thin: hands each job to the processing service and maps the outcome onto BullMQ. The jobs this
 * process runs at the same time (up to WORKER_CONCURRENCY) are reserved in batches, one batch at a
 * time, so they never race each other for a product (single writer per process). A decided order
 * completes its job, FAILED (sold out, product gone) as much as CONFIRMED: the outcome is the
 * job's return value. Only a technical fault fails the job: it is retried with backoff, and a job
 * whose retries ran out goes to the dead-letter queue. BullMQ's failed list (Bull Board's failed
 * tab) therefore holds only jobs that need a look.
 */
@Injectable()
export class OrderProcessor extends QueueWorker<OrderJobData> {
  private readonly batches: GroupCommit<OrderJob, ProcessingResult>;

  constructor(
    processing: OrderProcessingService,
    private readonly queue: OrderQueue,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super(ORDER_QUEUE, config);
    this.batches = new GroupCommit(
      (jobs) => withoutLogContext(() => processing.processBatch(jobs)),
      {
        maxBatch: config.queue.workerConcurrency,
        lingerMs: config.queue.batchLingerMs,
        // One batch reserving while the one before it decides and settles (see processBatch).
        maxInFlight: 2,
      },
      (size) => metrics.batchSize.observe({ stage: 'reservation' }, size),
    );
  }

  async process(job: Job<OrderJobData>): Promise<ProcessingResult> {
    if (job.name !== PLACE_ORDER_JOB && job.name !== RETURN_STOCK_JOB) {
      throw new UnrecoverableError(`no handler for job "${job.name}" on ${ORDER_QUEUE}`);
    }
    const { orderId, productIds = [] } = job.data;
    return runWithLogContext({ jobId: job.id, orderId }, async () => {
      const stop = this.metrics.processingDuration.startTimer();
      let outcome = 'error';
      try {
        const result = await this.batches.submit({
          orderId,
          attempt: job.attemptsMade + 1,
          productIds,
        });
        outcome = result.status.toLowerCase();
        return result;
      } finally {
        stop({ outcome });
      }
    });
  }

  protected override async onFailed(job: Job<OrderJobData>, error: Error): Promise<void> {
    if (error instanceof UnrecoverableError) return;
    try {
      // Still retrying: BullMQ has put it back as delayed. Only a final failure is dead-lettered.
      if ((await job.getState()) !== 'failed') return;
      await this.queue.deadLetter({
        orderId: job.data.orderId,
        lastError: error.message,
        attempts: job.attemptsMade,
        failedAt: new Date().toISOString(),
      });
    } catch (err) {
      this.logger.error(
        `could not dead-letter order ${job.data.orderId}: ${String(err)}; the recovery sweep will`,
      );
    }
  }
}

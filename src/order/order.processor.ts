import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OrderProcessingService, ProcessingResult } from './order-processing.service.js';
import { ORDER_QUEUE, OrderJobData, OrderQueue, PLACE_ORDER_JOB } from './order.queue.js';

/** A business outcome: the order is decided and must not be retried. */
export class OrderRejected extends UnrecoverableError {}

/**
 * Thin: hands each job to the processing service and maps the outcome onto BullMQ. Business
 * failures end the job without retries; anything else is transient and retried with backoff;
 * a job whose retries ran out goes to the dead-letter queue.
 */
@Processor(ORDER_QUEUE)
export class OrderProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderProcessor.name);

  constructor(
    private readonly processing: OrderProcessingService,
    private readonly queue: OrderQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.queue.workerConcurrency;
  }

  async process(job: Job<OrderJobData>): Promise<ProcessingResult> {
    if (job.name !== PLACE_ORDER_JOB)
      throw new UnrecoverableError(`no handler for job "${job.name}" on ${ORDER_QUEUE}`);
    const result = await this.processing.process(job.data.orderId, job.attemptsMade + 1);
    if (result.status === 'FAILED') throw new OrderRejected(result.failureReason ?? 'FAILED');
    return result;
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<OrderJobData> | undefined, error: Error): Promise<void> {
    if (!job || error instanceof UnrecoverableError) return;
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

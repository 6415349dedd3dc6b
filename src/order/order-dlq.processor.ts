import { Inject, Injectable } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { withDeadline } from '../common/deadline.js';
import { runWithLogContext } from '../common/logging/request-context.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OrderProcessingService, ProcessingResult } from './order-processing.service.js';
import { DEAD_LETTER_JOB, DEAD_LETTER_QUEUE, DeadLetterJobData } from './order.queue.js';
import { QueueWorker } from './queue-worker.js';

/** Orders whose retries ran out: fail them with PROCESSING_ERROR and release what they hold. */
@Injectable()
export class OrderDeadLetterProcessor extends QueueWorker<DeadLetterJobData> {
  constructor(
    private readonly processing: OrderProcessingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(DEAD_LETTER_QUEUE, config, { concurrency: 2 });
  }

  async process(job: Job<DeadLetterJobData>): Promise<ProcessingResult> {
    if (job.name !== DEAD_LETTER_JOB) {
      throw new UnrecoverableError(`no handler for job "${job.name}" on ${DEAD_LETTER_QUEUE}`);
    }
    const { orderId, attempts, lastError } = job.data;
    return runWithLogContext({ jobId: job.id, orderId }, () =>
      withDeadline(
        this.processing.failAfterRetries(orderId, attempts, lastError),
        this.config.mongodbCallTimeoutMs,
      ),
    );
  }
}

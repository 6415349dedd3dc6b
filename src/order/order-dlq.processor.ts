import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job, UnrecoverableError } from 'bullmq';
import { OrderProcessingService, ProcessingResult } from './order-processing.service.js';
import { DEAD_LETTER_JOB, DEAD_LETTER_QUEUE, DeadLetterJobData } from './order.queue.js';

/** Orders whose retries ran out: fail them with PROCESSING_ERROR and release what they hold. */
@Processor(DEAD_LETTER_QUEUE)
export class OrderDeadLetterProcessor extends WorkerHost {
  constructor(private readonly processing: OrderProcessingService) {
    super();
  }

  async process(job: Job<DeadLetterJobData>): Promise<ProcessingResult> {
    if (job.name !== DEAD_LETTER_JOB)
      throw new UnrecoverableError(`no handler for job "${job.name}" on ${DEAD_LETTER_QUEUE}`);
    return this.processing.failAfterRetries(
      job.data.orderId,
      job.data.attempts,
      job.data.lastError,
    );
  }
}

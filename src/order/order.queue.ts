/**
 * The one place that talks to BullMQ for orders: the order queue, the dead-letter queue, their job
 * options and ids. The order id is the job id, so enqueuing the same order twice (client retry,
 * recovery sweep, crash between saving and enqueuing) never creates a second job.
 */
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { JobState, Queue } from 'bullmq';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PRIORITY, PriorityLabel } from './domain/order-state.js';

export const ORDER_QUEUE = 'orders';
export const DEAD_LETTER_QUEUE = 'orders-dlq';
export const PLACE_ORDER_JOB = 'place-order';
export const DEAD_LETTER_JOB = 'dead-letter';

export interface OrderJobData {
  orderId: string;
}

export interface DeadLetterJobData {
  orderId: string;
  /** The error of the last attempt. */
  lastError: string;
  attempts: number;
  failedAt: string;
}

@Injectable()
export class OrderQueue {
  constructor(
    @InjectQueue(ORDER_QUEUE) private readonly orders: Queue<OrderJobData>,
    @InjectQueue(DEAD_LETTER_QUEUE) private readonly deadLetters: Queue<DeadLetterJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async enqueue(orderId: string, priority: PriorityLabel): Promise<void> {
    await this.orders.add(
      PLACE_ORDER_JOB,
      { orderId },
      {
        jobId: orderId,
        priority: PRIORITY[priority],
        attempts: this.config.queue.orderAttempts,
        backoff: { type: 'exponential', delay: this.config.queue.backoffMs },
        removeOnComplete: { age: 24 * 3600, count: 50_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  async deadLetter(data: DeadLetterJobData): Promise<void> {
    await this.deadLetters.add(DEAD_LETTER_JOB, data, {
      jobId: data.orderId,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 30 * 24 * 3600, count: 10_000 },
      removeOnFail: false,
    });
  }

  /** BullMQ state of the order's job, or 'unknown' when there is none. */
  orderJobState(orderId: string): Promise<JobState | 'unknown'> {
    return this.orders.getJobState(orderId);
  }

  async retryDeadLetterIfFailed(orderId: string): Promise<'missing' | 'retried' | 'present'> {
    const job = await this.deadLetters.getJob(orderId);
    if (!job) return 'missing';
    if ((await job.getState()) !== 'failed') return 'present';
    await job.retry('failed');
    return 'retried';
  }

  async lastFailure(orderId: string): Promise<{ lastError: string; attempts: number }> {
    const job = await this.orders.getJob(orderId);
    return { lastError: job?.failedReason ?? 'unknown error', attempts: job?.attemptsMade ?? 0 };
  }
}

/**
 * The one place that talks to BullMQ for orders: the order queue, the dead-letter queue, their job
 * options and ids. The order id is the job id, so enqueuing the same order twice (client retry,
 * recovery sweep, crash between saving and enqueuing) never creates a second job.
 */
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { JobState, Queue } from 'bullmq';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { PRIORITY } from './domain/order-state.js';
import type { QueuedOrder } from './order.repository.js';

export const ORDER_QUEUE = 'orders';
export const DEAD_LETTER_QUEUE = 'orders-dlq';
export const PLACE_ORDER_JOB = 'place-order';
/**
 * A cancelled order's stock goes back: the same processing as an order job (it finds the order
 * CANCELLED and settles it so), under its own job id, since the order's own job may be finished.
 */
export const RETURN_STOCK_JOB = 'return-stock';
export const DEAD_LETTER_JOB = 'dead-letter';

export interface OrderJobData {
  orderId: string;
  /**
   * The products of the order's lines, so a worker can read the stock before it reads the order
   * (the order document stays the truth; see OrderProcessingService).
   */
  productIds?: string[];
}

export interface DeadLetterJobData {
  orderId: string;
  /** The error of the last attempt. */
  lastError: string;
  attempts: number;
  failedAt: string;
}

/** Where a dead letter is, listed in this order: still to be handled first, handled last. */
export const DEAD_LETTER_STATES = ['active', 'waiting', 'delayed', 'failed', 'completed'] as const;
export type DeadLetterState = (typeof DEAD_LETTER_STATES)[number];

export interface DeadLetter {
  jobId: string;
  data: DeadLetterJobData;
  /** `completed`: the order was failed and its holds released; `failed`: that did not succeed. */
  state: DeadLetterState | 'unknown';
}

@Injectable()
export class OrderQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(OrderQueue.name);

  constructor(
    @InjectQueue(ORDER_QUEUE) private readonly orders: Queue<OrderJobData>,
    @InjectQueue(DEAD_LETTER_QUEUE) private readonly deadLetters: Queue<DeadLetterJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: Metrics,
  ) {
    metrics.countQueuesWith(() => this.counts());
    // ioredis reconnects by itself; without a listener BullMQ prints each connection error.
    for (const queue of [orders, deadLetters]) {
      queue.on('error', (error) => this.logger.warn(`${queue.name} queue: ${error.message}`));
    }
  }

  /** On a cluster both queues share one client given to BullMQ, which leaves closing it to us. */
  async onApplicationShutdown(): Promise<void> {
    const client = this.orders.opts.connection;
    if (client instanceof Cluster) await client.quit().catch(() => client.disconnect());
  }

  async enqueue(order: QueuedOrder): Promise<void> {
    const job = this.orderJob(order);
    await this.orders.add(job.name, job.data, job.opts);
  }

  /** Queues many orders with one round trip (a pipeline of BullMQ's add script, one per order). */
  async enqueueMany(orders: readonly QueuedOrder[]): Promise<void> {
    if (orders.length > 0) await this.orders.addBulk(orders.map((order) => this.orderJob(order)));
  }

  /** Queues the return of a cancelled order's stock; a no-op while that job exists. */
  async enqueueStockReturn(order: QueuedOrder): Promise<void> {
    const job = this.orderJob(order, RETURN_STOCK_JOB);
    await this.orders.add(job.name, job.data, job.opts);
  }

  private orderJob(order: QueuedOrder, name = PLACE_ORDER_JOB) {
    const orderId = order.id;
    return {
      name,
      data: { orderId, productIds: order.items.map((line) => line.productId) },
      opts: {
        jobId: name === PLACE_ORDER_JOB ? orderId : `${orderId}-${name}`,
        priority: PRIORITY[order.priority],
        attempts: this.config.queue.orderAttempts,
        backoff: { type: 'exponential', delay: this.config.queue.backoffMs },
        removeOnComplete: { age: 24 * 3600, count: 50_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    };
  }

  /** Jobs per state of both queues, for readiness and metrics. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const states = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
    const [orders, deadLetters] = await Promise.all([
      this.orders.getJobCounts(...states),
      this.deadLetters.getJobCounts(...states),
    ]);
    return { [ORDER_QUEUE]: orders, [DEAD_LETTER_QUEUE]: deadLetters };
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

  /**
   * A page of dead letters in DEAD_LETTER_STATES order, newest first within a state. `offset` and
   * `limit` count across the states, so pages neither overlap nor skip letters.
   */
  async listDeadLetters(
    offset: number,
    limit: number,
  ): Promise<{ letters: DeadLetter[]; total: number }> {
    const counts = await this.deadLetters.getJobCounts(...DEAD_LETTER_STATES);
    const total = DEAD_LETTER_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    const letters: DeadLetter[] = [];
    let skip = offset;
    for (const state of DEAD_LETTER_STATES) {
      const inState = counts[state] ?? 0;
      if (skip >= inState) {
        skip -= inState;
        continue;
      }
      const take = Math.min(limit - letters.length, inState - skip);
      const jobs = await this.deadLetters.getJobs([state], skip, skip + take - 1);
      for (const job of jobs) {
        if (job?.id) letters.push({ jobId: job.id, data: job.data, state });
      }
      skip = 0;
      if (letters.length >= limit) break;
    }
    return { letters, total };
  }

  async findDeadLetter(jobId: string): Promise<DeadLetter | undefined> {
    const job = await this.deadLetters.getJob(jobId);
    if (!job?.id) return undefined;
    const state = await job.getState();
    return {
      jobId: job.id,
      data: job.data,
      state: (DEAD_LETTER_STATES as readonly string[]).includes(state)
        ? (state as DeadLetterState)
        : 'unknown',
    };
  }

  /** BullMQ refuses to remove a job a worker holds: `locked` while the dead letter is being handled. */
  async removeDeadLetter(jobId: string): Promise<'removed' | 'missing' | 'locked'> {
    if (!(await this.deadLetters.getJob(jobId))) return 'missing';
    return (await this.deadLetters.remove(jobId)) === 1 ? 'removed' : 'locked';
  }

  /**
   * Queues the order again with all its attempts: its finished job (same id) is retried in place,
   * keeping its priority, or added anew when it was already cleaned up. A job still waiting,
   * delayed or running is left alone: the order is queued already.
   */
  async requeue(order: QueuedOrder): Promise<'retried' | 'added' | 'queued'> {
    const job = await this.orders.getJob(order.id);
    if (!job) {
      await this.enqueue(order);
      return 'added';
    }
    const state = await job.getState();
    if (state !== 'failed' && state !== 'completed') return 'queued';
    await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    return 'retried';
  }
}

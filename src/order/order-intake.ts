/**
 * Acceptance group commit (the API side of the hot path). Orders that arrive at this process
 * together (see GroupCommit; at most ORDER_BATCH_MAX, lingering up to ORDER_BATCH_LINGER_MS while
 * other batches are being stored) are stored with one unordered `insertMany` and queued with one
 * `addBulk`. Every request still gets its own answer: its 202 once its own order is durably
 * stored, its own error otherwise (a repeated Idempotency-Key fails only its request).
 *
 * Accepted means stored: the answer does not wait for Redis. Persist first, enqueue second; if
 * the process dies in between, or Redis cannot take the jobs, the workers' recovery sweep queues
 * the stored orders (ORDER_SWEEP_INTERVAL_MS), and the add is a no-op where the job exists.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { withDeadline } from '../common/deadline.js';
import { GroupCommit } from '../common/group-commit.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { LiveEvent } from '../events/domain/live-event.js';
import { EventStream } from '../events/event-stream.js';
import { Metrics } from '../metrics/metrics.service.js';
import { newOrderEvent } from './domain/order-events.js';
import { OrderQueue } from './order.queue.js';
import { OrderRecord, OrderRepository, QueuedOrder } from './order.repository.js';

/** While Redis is unreachable BullMQ would wait for it indefinitely; the order is stored already. */
const ENQUEUE_TIMEOUT_MS = 2000;

@Injectable()
export class OrderIntake implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderIntake.name);
  private readonly batches: GroupCommit<OrderRecord, 'stored' | 'duplicate'>;
  /** Enqueues still running, so a graceful shutdown lets them finish. */
  private readonly enqueuing = new Set<Promise<void>>();
  private readonly insertTimeoutMs: number;

  constructor(
    private readonly orders: OrderRepository,
    private readonly queue: OrderQueue,
    private readonly events: EventStream,
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: Metrics,
  ) {
    this.insertTimeoutMs = config.mongodbCallTimeoutMs;
    this.batches = new GroupCommit(
      (records) => this.commit(records),
      { maxBatch: config.intake.maxBatch, lingerMs: config.intake.lingerMs, maxInFlight: 4 },
      (size) => metrics.batchSize.observe({ stage: 'acceptance' }, size),
    );
  }

  /** Stores and queues a new order; `duplicate` when its Idempotency-Key was used before. */
  accept(order: OrderRecord): Promise<'stored' | 'duplicate'> {
    return this.batches.submit(order);
  }

  /**
   * Queues stored orders in the background (see `enqueue`), after publishing `announce`: staff see
   * `new_order` before any decision about it.
   */
  enqueueSoon(orders: readonly QueuedOrder[], announce: readonly LiveEvent[] = []): void {
    if (orders.length === 0) return;
    const running = this.events
      .publish(announce)
      .then(() => this.enqueue(orders))
      .finally(() => this.enqueuing.delete(running));
    this.enqueuing.add(running);
  }

  /**
   * Queues stored orders, waiting at most ENQUEUE_TIMEOUT_MS. Never fails: an add that does not
   * happen now still completes when Redis returns, and the recovery sweep covers the rest (the add
   * is a no-op where the job exists).
   */
  private async enqueue(orders: readonly QueuedOrder[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.enqueueMany(orders),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from Redis within ${ENQUEUE_TIMEOUT_MS} ms`)),
            ENQUEUE_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      this.logger.warn(
        `${orders.length} order(s) stored but not enqueued yet (${String(err)}); the recovery sweep will enqueue them`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Requests in flight at shutdown still get their orders stored, queued and answered. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.batches.drained();
    await Promise.all(this.enqueuing);
  }

  private async commit(records: OrderRecord[]): Promise<Array<'stored' | 'duplicate' | Error>> {
    // An insert that does not answer in time fails its batch (503): whatever of it reaches the
    // server later is a PENDING order without a job, which the recovery sweep queues.
    const outcomes = await withDeadline(this.orders.insertMany(records), this.insertTimeoutMs);
    const stored = records.filter((_, i) => outcomes[i] === 'stored');
    this.enqueueSoon(
      stored,
      stored.flatMap((order) => newOrderEvent(order) ?? []),
    );
    return outcomes;
  }
}

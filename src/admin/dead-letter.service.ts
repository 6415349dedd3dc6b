import { Injectable, Logger } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../common/errors.js';
import type { Page } from '../common/pagination.js';
import { EventStream } from '../events/event-stream.js';
import { statusEvents } from '../order/domain/order-events.js';
import { OrderQueue } from '../order/order.queue.js';
import type { DeadLetterJobData } from '../order/order.queue.js';
import { OrderRecord, OrderRepository } from '../order/order.repository.js';
import { DeadLetterView, toDeadLetterView } from './dto/dead-letter.dto.js';

/**
 * The dead-letter queue as admins see it: which orders ran out of retries and why, and sending one
 * through processing again once the cause is fixed. Never touches stock: a retried order is
 * reopened and re-queued, and the workers' idempotent state machine does the rest.
 */
@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly queue: OrderQueue,
    private readonly orders: OrderRepository,
    private readonly events: EventStream,
  ) {}

  async list(page: number, limit: number): Promise<Page<DeadLetterView>> {
    const { letters, total } = await this.queue.listDeadLetters((page - 1) * limit, limit);
    const outcomes = await this.orders.findOutcomes(letters.map((l) => l.data.orderId));
    const items = letters.map((l) => toDeadLetterView(l, outcomes.get(l.data.orderId)));
    return { items, total, page, limit };
  }

  /**
   * FAILED(PROCESSING_ERROR) → PENDING, then the order job runs again with fresh attempts.
   *
   * The letter is removed first, and BullMQ refuses that while the dead-letter worker holds it:
   * once it is gone, nothing but the order job can decide or settle the order, so reopening cannot
   * race a release. Holds the dead-letter worker did not get to release are harmless: processing
   * finds them already held by this order. If anything fails after the removal, the letter is put
   * back, and the dead-letter worker fails the order again (a no-op where it already is).
   */
  async retry(jobId: string, actor: string): Promise<OrderRecord> {
    const letter = await this.queue.findDeadLetter(jobId);
    if (!letter) throw new NotFoundError('Dead letter');
    const { orderId } = letter.data;
    const order = await this.orders.findById(orderId);
    if (!order) throw new NotFoundError('Order');
    assertRetryable(order);

    const removal = await this.queue.removeDeadLetter(jobId);
    if (removal === 'missing') throw new NotFoundError('Dead letter');
    if (removal === 'locked') {
      throw new ConflictError(
        `The dead letter of order ${orderId} is being handled right now; try again in a moment`,
      );
    }
    try {
      const reopened =
        (await this.orders.reopenAfterProcessingError(orderId, actor)) ??
        (await this.orders.findById(orderId));
      if (!reopened) throw new NotFoundError('Order');
      // Still PENDING: the letter had not been handled yet, so the order never left PENDING.
      assertRetryable(reopened);
      const requeued = await this.queue.requeue(reopened);
      void this.events.publish(statusEvents(reopened, reopened.history.length - 1));
      this.logger.log(`dead-lettered order ${orderId} reopened and re-queued (${requeued})`);
      return reopened;
    } catch (err) {
      await this.restoreLetter(letter.data);
      throw err;
    }
  }

  private async restoreLetter(data: DeadLetterJobData): Promise<void> {
    try {
      await this.queue.deadLetter(data);
    } catch (err) {
      // The order job is still failed: the recovery sweep dead-letters the order again.
      this.logger.error(
        `could not restore the dead letter of order ${data.orderId}: ${String(err)}`,
      );
    }
  }
}

/** Only an order that failed for a processing error (or is still pending) may be retried. */
function assertRetryable(order: OrderRecord): void {
  const id = order.id;
  if (order.status === 'CONFIRMED') {
    throw new ConflictError(
      `Order ${id} is CONFIRMED; only orders that failed with PROCESSING_ERROR can be retried`,
    );
  }
  if (order.status === 'FAILED' && order.failureReason !== 'PROCESSING_ERROR') {
    throw new ConflictError(
      `Order ${id} failed with ${order.failureReason ?? 'no reason'}, a final outcome; only orders that failed with PROCESSING_ERROR can be retried`,
    );
  }
}

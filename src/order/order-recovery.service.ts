import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OrderQueue } from './order.queue.js';
import { OrderRepository } from './order.repository.js';
import { OrderProcessingService } from './order-processing.service.js';

const BATCH = 500;

/**
 * The safety net behind "nothing acknowledged is lost": periodically finds orders still PENDING
 * and makes sure something will decide them. Every action is idempotent, so several workers may
 * sweep at once.
 *   - no job (the API stored the order but Redis was unreachable) → enqueue it;
 *   - job failed for good but never dead-lettered (crash, stall limit) → dead-letter it;
 *   - a cancelled order whose stock is not back (its job was never queued, or the worker that ran it
 *     died mid-way) → give the stock back here, through the same idempotent processing.
 */
@Injectable()
export class OrderRecoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrderRecoveryService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly orders: OrderRepository,
    private readonly queue: OrderQueue,
    private readonly processing: OrderProcessingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.queue.sweepIntervalMs;
    this.timer = setInterval(() => this.trigger(), interval);
    this.timer.unref();
    this.trigger();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private trigger(): void {
    if (this.running) return;
    this.running = this.sweep()
      .catch((err: unknown) => this.logger.warn(`recovery sweep failed: ${String(err)}`))
      .finally(() => (this.running = undefined));
  }

  /** Returns how many orders it acted on. */
  async sweep(
    acceptedBefore = new Date(Date.now() - this.config.queue.sweepIntervalMs),
  ): Promise<number> {
    let repaired = 0;
    for (const order of await this.orders.findPendingSince(acceptedBefore, BATCH)) {
      const orderId = order.id;
      const state = await this.queue.orderJobState(orderId);
      if (state === 'unknown') {
        await this.queue.enqueue(order);
        repaired++;
      } else if (state === 'failed') {
        const dlq = await this.queue.retryDeadLetterIfFailed(orderId);
        if (dlq === 'missing')
          await this.queue.deadLetter({
            orderId,
            ...(await this.queue.lastFailure(orderId)),
            failedAt: new Date().toISOString(),
          });
        if (dlq !== 'present') repaired++;
      }
    }
    if (repaired > 0) this.logger.warn(`recovery sweep re-queued ${repaired} pending order(s)`);
    let returned = 0;
    for (const order of await this.orders.findCancellationsReturningStock(acceptedBefore, BATCH)) {
      await this.processing.processOne(order.id, 1);
      returned++;
    }
    if (returned > 0)
      this.logger.warn(`recovery sweep returned the stock of ${returned} cancelled order(s)`);
    return repaired + returned;
  }
}

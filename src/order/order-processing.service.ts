/**
 * Runs the reservation state machine for one order against MongoDB. Every step is idempotent, so
 * a job that runs twice (retry, stalled-job redelivery after a crash) changes stock once:
 *   1. PENDING: hold stock line by line (optimistic locking); stop at the first line that cannot be held.
 *   2. Decide: PENDING → CONFIRMED | FAILED, conditional on PENDING; whoever decides first wins.
 *   3. Settle by the final status: commit holds (CONFIRMED) or release them (FAILED).
 */
import { Injectable, Logger } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.service.js';
import { StockRepository } from '../stock/stock.repository.js';
import {
  LineOutcome,
  OrderStatus,
  Verdict,
  settlementFor,
  verdictFor,
} from './domain/order-state.js';
import type { FailureReason } from './domain/reservation.js';
import { OrderRecord, OrderRepository } from './order.repository.js';

export type ProcessingResult =
  | { status: OrderStatus; failureReason: FailureReason | null; decidedNow: boolean }
  | { status: 'MISSING' };

@Injectable()
export class OrderProcessingService {
  private readonly logger = new Logger(OrderProcessingService.name);

  constructor(
    private readonly orders: OrderRepository,
    private readonly stock: StockRepository,
    private readonly metrics: Metrics,
  ) {}

  async process(orderId: string, attempt: number): Promise<ProcessingResult> {
    const order = await this.orders.findById(orderId);
    if (!order) return { status: 'MISSING' };
    if (order.status !== 'PENDING') return this.settle(order, false);
    const verdict = verdictFor(await this.holdLines(order));
    return this.decideAndSettle(orderId, verdict, attempt);
  }

  /** Retries ran out: the order fails with PROCESSING_ERROR and gives back what it holds. */
  async failAfterRetries(
    orderId: string,
    attempts: number,
    lastError: string,
  ): Promise<ProcessingResult> {
    return this.decideAndSettle(
      orderId,
      { status: 'FAILED', reason: 'PROCESSING_ERROR' },
      attempts,
      lastError,
    );
  }

  private async holdLines(order: OrderRecord): Promise<LineOutcome[]> {
    const orderId = order._id.toString();
    const outcomes: LineOutcome[] = [];
    for (const line of order.items) {
      const outcome = await this.stock.reserve(line.productId, orderId, line.quantity);
      outcomes.push({ ...outcome, productId: line.productId });
      if (outcome.result === 'rejected') break; // all-or-nothing: the rest would be released anyway
    }
    return outcomes;
  }

  private async decideAndSettle(
    orderId: string,
    verdict: Verdict,
    attempts: number,
    lastError?: string,
  ): Promise<ProcessingResult> {
    const decided = await this.orders.decide(orderId, verdict, attempts, lastError);
    const order = decided ?? (await this.orders.findById(orderId));
    if (!order) return { status: 'MISSING' };
    if (decided) {
      this.metrics.orderDecided(decided.priority === 'VIP', decided.failureReason ?? null);
      const reason = decided.failureReason ? ` (${decided.failureReason})` : '';
      this.logger.log(`order ${orderId} ${decided.status}${reason} after ${attempts} attempt(s)`);
    }
    return this.settle(order, decided !== undefined);
  }

  /** Commits or releases every line's hold according to the final status; no-ops where already settled. */
  private async settle(order: OrderRecord, decidedNow: boolean): Promise<ProcessingResult> {
    const action = settlementFor(order.status);
    const orderId = order._id.toString();
    if (action !== 'none') {
      await Promise.all(
        order.items.map((line) =>
          action === 'commit'
            ? this.stock.commit(line.productId, orderId, line.quantity)
            : this.stock.release(line.productId, orderId, line.quantity),
        ),
      );
    }
    return { status: order.status, failureReason: order.failureReason ?? null, decidedNow };
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AuthUser } from '../auth/auth-user.js';
import {
  AppError,
  AuthenticationError,
  InvalidInputError,
  NotFoundError,
  isDuplicateKeyError,
} from '../common/errors.js';
import type { Page } from '../common/pagination.js';
import { Metrics } from '../metrics/metrics.service.js';
import { StockRepository } from '../stock/stock.repository.js';
import { UsersService } from '../users/users.service.js';
import { priorityFor } from './domain/order-state.js';
import { priceOrder, RequestedLine } from './domain/pricing.js';
import { OrderQueue } from './order.queue.js';
import { OrderRecord, OrderRepository } from './order.repository.js';

export interface Placement {
  order: OrderRecord;
  /** True when an Idempotency-Key matched an order placed earlier. */
  replayed: boolean;
}

const ENQUEUE_TIMEOUT_MS = 2000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Accepting orders: validate against the catalog, persist, then enqueue. Never touches stock. */
@Injectable()
export class OrderService {
  private readonly logger = new Logger(OrderService.name);

  constructor(
    private readonly orders: OrderRepository,
    private readonly queue: OrderQueue,
    private readonly stock: StockRepository,
    private readonly users: UsersService,
    private readonly metrics: Metrics,
  ) {}

  /**
   * The order is accepted once it is stored in MongoDB; enqueuing follows. If Redis cannot take
   * the job now, the recovery sweep in the workers enqueues it later, so acceptance is never lost.
   */
  async place(
    caller: AuthUser,
    lines: RequestedLine[],
    idempotencyKey?: string,
  ): Promise<Placement> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new InvalidInputError(
        'Idempotency-Key header must be 1 to 255 visible ASCII characters',
      );
    }
    const requestHash = idempotencyKey === undefined ? undefined : fingerprint(lines);
    const [earlier, isVip, catalog] = await Promise.all([
      idempotencyKey === undefined
        ? undefined
        : this.orders.findByIdempotencyKey(caller.id, idempotencyKey),
      this.users.vipStatus(caller.id),
      this.stock.catalogEntries(lines.map((line) => line.productId)),
    ]);
    if (earlier) return this.replay(earlier, requestHash);
    if (isVip === undefined)
      throw new AuthenticationError('The account of this session no longer exists');
    const priced = priceOrder(lines, catalog);
    if (!priced.ok) throw new InvalidInputError(priced.problem);

    let order: OrderRecord;
    try {
      order = await this.orders.create({
        userId: caller.id,
        items: priced.items,
        total: priced.total,
        currency: priced.currency,
        priority: priorityFor(isVip),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey, requestHash }),
      });
    } catch (err) {
      // The same key raced in from a concurrent request: that one was first.
      if (idempotencyKey !== undefined && isDuplicateKeyError(err)) {
        const first = await this.orders.findByIdempotencyKey(caller.id, idempotencyKey);
        if (first) return this.replay(first, requestHash);
      }
      throw err;
    }
    this.metrics.orderAccepted(order.priority === 'VIP');
    await this.enqueue(order);
    return { order, replayed: false };
  }

  async listForUser(caller: AuthUser, page: number, limit: number): Promise<Page<OrderRecord>> {
    const { items, total } = await this.orders.listForUser(caller.id, page, limit);
    return { items, total, page, limit };
  }

  /** The order, to its owner or an admin; anyone else is told it does not exist. */
  async getForCaller(caller: AuthUser, id: string): Promise<OrderRecord> {
    const order = await this.orders.findById(id);
    if (!order || (order.userId !== caller.id && caller.role !== 'admin'))
      throw new NotFoundError('Order');
    return order;
  }

  private async replay(order: OrderRecord, requestHash: string | undefined): Promise<Placement> {
    if (order.requestHash !== requestHash) {
      throw new AppError(
        'unprocessable',
        'Idempotency-Key was already used with a different order body',
      );
    }
    // Enqueuing again is a no-op when the job exists, and repairs an acceptance whose enqueue failed.
    if (order.status === 'PENDING') await this.enqueue(order);
    return { order, replayed: true };
  }

  /**
   * Bounded: while Redis is unreachable BullMQ would wait for it indefinitely. The order is stored
   * already; the add still completes when Redis returns (a no-op if the sweep got there first).
   */
  private async enqueue(order: OrderRecord): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.enqueue(order._id.toString(), order.priority),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from Redis within ${ENQUEUE_TIMEOUT_MS} ms`)),
            ENQUEUE_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      this.logger.warn(
        `order ${order._id.toString()} stored but not enqueued yet (${String(err)}); the recovery sweep will enqueue it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

function fingerprint(lines: RequestedLine[]): string {
  const canonical = lines
    .map((line) => `${line.productId.toLowerCase()}:${line.quantity}`)
    .join(',');
  return createHash('sha256').update(canonical).digest('hex');
}

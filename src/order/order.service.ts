import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AuthUser } from '../auth/auth-user.js';
import {
  AppError,
  AuthenticationError,
  InvalidInputError,
  NotFoundError,
} from '../common/errors.js';
import type { CursorPage, Page } from '../common/pagination.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../common/cursor.js';
import { isObjectIdString } from '../common/object-id.pipe.js';
import type { OrderSearchQuery } from './dto/order-search.dto.js';
import { RequestValidationError } from '../common/validation.js';
import { Metrics } from '../metrics/metrics.service.js';
import { Catalog } from '../stock/catalog.js';
import { UsersService } from '../users/users.service.js';
import { priorityFor } from './domain/order-state.js';
import { priceOrder, RequestedLine } from './domain/pricing.js';
import { OrderIntake } from './order-intake.js';
import { OrderNumbers } from './order-numbers.js';
import { formatOrderNumber } from './domain/order-number.js';
import { OrderCursorKey, OrderRecord, OrderRepository } from './order.repository.js';

export interface Placement {
  order: OrderRecord;
  /** True when an Idempotency-Key matched an order placed earlier. */
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Accepting orders: validate against the catalog, persist, then enqueue. Never touches stock. */
@Injectable()
export class OrderService {
  constructor(
    private readonly orders: OrderRepository,
    private readonly intake: OrderIntake,
    private readonly catalog: Catalog,
    private readonly users: UsersService,
    private readonly metrics: Metrics,
    private readonly numbers: OrderNumbers,
  ) {}

  /**
   * The order is accepted once it is stored in MongoDB; enqueuing follows. Nothing is read on the
   * way: the caller's VIP flag and the catalog come from caches, and an Idempotency-Key is checked
   * by the insert's unique index. Only a request that fails (repeated key, or a refusal that a
   * repeated key would have answered with the first order) reads the earlier order.
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
    const [isVip, catalog] = await Promise.all([
      this.users.vipStatus(caller.id),
      this.catalog.entries(lines.map((line) => line.productId)),
    ]);
    if (isVip === undefined)
      throw new AuthenticationError('The account of this session no longer exists');
    const priced = priceOrder(lines, catalog);
    if (!priced.ok) {
      // A retry of an accepted order answers with that order even if the catalog changed since.
      const earlier = await this.earlierOrder(caller, idempotencyKey);
      if (earlier) return this.replay(earlier, requestHash);
      throw new RequestValidationError([{ field: priced.field, problem: priced.problem }]);
    }

    const now = new Date();
    const order = this.orders.newRecord(
      {
        orderNumber: formatOrderNumber(await this.numbers.take(), now),
        userId: caller.id,
        items: priced.items,
        total: priced.total,
        currency: priced.currency,
        priority: priorityFor(isVip),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey, requestHash }),
      },
      now,
    );
    if ((await this.intake.accept(order)) === 'duplicate') {
      // The same key was used before, or by a concurrent request that was stored first.
      const first = await this.earlierOrder(caller, idempotencyKey);
      if (!first) throw new Error(`order with Idempotency-Key of user ${caller.id} not found`);
      return this.replay(first, requestHash);
    }
    this.metrics.orderAccepted(order.priority === 'VIP');
    return { order, replayed: false };
  }

  async listForUser(caller: AuthUser, page: number, limit: number): Promise<Page<OrderRecord>> {
    const { items, total } = await this.orders.listForUser(caller.id, page, limit);
    return { items, total, page, limit };
  }

  /** Staff search, newest first, by keyset pages (order.repository.ts `search`). */
  async search(query: OrderSearchQuery): Promise<CursorPage<OrderRecord>> {
    const found = await this.orders.search(
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.userId ? { userId: query.userId } : {}),
        ...(query.priority ? { priority: query.priority } : {}),
        ...(query.productId ? { productId: query.productId } : {}),
        ...(query.number ? { orderNumber: query.number } : {}),
        ...(query.from ? { from: new Date(query.from) } : {}),
        ...(query.to ? { to: new Date(query.to) } : {}),
      },
      query.cursor === undefined ? undefined : orderCursorKey(query.cursor),
      query.limit + 1,
    );
    const items = found.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        found.length > query.limit && last
          ? encodeCursor({ t: last.createdAt.getTime(), id: last.id })
          : null,
    };
  }

  /** The order, to its owner, staff or an admin; anyone else is told it does not exist. */
  async getForCaller(caller: AuthUser, id: string): Promise<OrderRecord> {
    const order = await this.orders.findById(id);
    if (!order || (order.userId !== caller.id && caller.role === 'customer'))
      throw new NotFoundError('Order');
    return order;
  }

  private replay(order: OrderRecord, requestHash: string | undefined): Placement {
    if (order.requestHash !== requestHash) {
      throw new AppError(
        'unprocessable',
        'Idempotency-Key was already used with a different order body',
      );
    }
    // Enqueuing again is a no-op when the job exists, and repairs an acceptance whose enqueue failed.
    if (order.status === 'PENDING') this.intake.enqueueSoon([order]);
    return { order, replayed: true };
  }

  private async earlierOrder(
    caller: AuthUser,
    idempotencyKey: string | undefined,
  ): Promise<OrderRecord | undefined> {
    return idempotencyKey === undefined
      ? undefined
      : this.orders.findByIdempotencyKey(caller.id, idempotencyKey);
  }
}

/** Where a page of the staff search starts, from the cursor the previous page gave out. */
function orderCursorKey(cursor: string): OrderCursorKey {
  const key = decodeCursor<{ t: number; id: string }>(cursor, { t: 'number', id: 'string' });
  if (!isObjectIdString(key.id) || !Number.isFinite(key.t)) invalidCursor();
  return { createdAt: new Date(key.t), id: key.id };
}

function fingerprint(lines: RequestedLine[]): string {
  const canonical = lines
    .map((line) => `${line.productId.toLowerCase()}:${line.quantity}`)
    .join(',');
  return createHash('sha256').update(canonical).digest('hex');
}

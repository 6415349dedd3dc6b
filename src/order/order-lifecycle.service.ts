/**
 * What people do to an order after it was placed: its owner cancels it, staff cancel it or move it
 * through fulfilment, either reads its history. Each move is one conditional write on the order
 * (order.repository.ts `moveTo`) that names the statuses it may leave, checked against the pure
 * transition table (domain/order-state.ts). The API never touches stock: a cancellation queues a
 * job, and a worker gives the stock back once (order-processing.service.ts); the recovery sweep
 * finishes a cancellation whose job was never queued.
 */
import { Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user.js';
import { ConflictError, NotFoundError } from '../common/errors.js';
import { EventStream } from '../events/event-stream.js';
import { statusEvents } from './domain/order-events.js';
import type { HistoryEntry } from './domain/history.js';
import { checkMove, statusesLeadingTo } from './domain/order-state.js';
import type { Mover, OrderStatus } from './domain/order-state.js';
import { OrderQueue } from './order.queue.js';
import { OrderRecord, OrderRepository } from './order.repository.js';

/** A move that lost a race (the order changed between the read and the write) is re-read this often. */
const MOVE_ROUNDS = 5;

/** The staff and admin roles move orders as staff; a customer only as the owner of the order. */
export function moverOf(caller: AuthUser): Exclude<Mover, 'system'> {
  return caller.role === 'customer' ? 'owner' : 'staff';
}

@Injectable()
export class OrderLifecycleService {
  private readonly logger = new Logger(OrderLifecycleService.name);

  constructor(
    private readonly orders: OrderRepository,
    private readonly queue: OrderQueue,
    private readonly events: EventStream,
  ) {}

  /**
   * Cancels the order for its owner (while PENDING or CONFIRMED) or for staff (also while
   * PREPARING). Idempotent: a cancelled order answers as it is. Its stock comes back shortly after,
   * through the queue (`stockReturned` turns true).
   */
  cancel(caller: AuthUser, id: string): Promise<OrderRecord> {
    return this.move(caller, id, 'CANCELLED');
  }

  /** Moves the order to `to`, if the transition table lets the caller; 409 naming why not. */
  async move(caller: AuthUser, id: string, to: OrderStatus): Promise<OrderRecord> {
    const mover = moverOf(caller);
    const owner = mover === 'owner' ? caller.id : undefined;
    for (let round = 0; round < MOVE_ROUNDS; round++) {
      const order = await this.visibleOrder(caller, id);
      const check = checkMove(order.status, to, mover);
      if (check.kind === 'refused') throw new ConflictError(check.message);
      if (check.kind === 'already') {
        if (order.stockReturned === false) this.returnStockSoon(order);
        return order;
      }
      const moved = await this.orders.moveTo(
        id,
        to,
        statusesLeadingTo(to, mover),
        caller.id,
        owner,
      );
      if (moved) {
        void this.events.publish(statusEvents(moved, moved.history.length - 1));
        if (to === 'CANCELLED') this.returnStockSoon(moved);
        return moved;
      }
      // The order changed in between (a worker decided it, someone else moved it): read it again.
    }
    throw new ConflictError('The order is changing right now; try again in a moment');
  }

  /** The order's history, oldest first, for its owner and staff. */
  async history(caller: AuthUser, id: string): Promise<HistoryEntry[]> {
    return (await this.visibleOrder(caller, id)).history;
  }

  /** Staff see every order; a customer only their own, and anyone else's answers 404. */
  private async visibleOrder(caller: AuthUser, id: string): Promise<OrderRecord> {
    const order = await this.orders.findById(id);
    if (!order || (moverOf(caller) === 'owner' && order.userId !== caller.id))
      throw new NotFoundError('Order');
    return order;
  }

  /**
   * Queues the return of the order's stock without waiting for Redis: the cancellation is decided
   * once it is written. If the job cannot be queued, the recovery sweep returns the stock.
   */
  private returnStockSoon(order: OrderRecord): void {
    this.queue
      .enqueueStockReturn(order)
      .catch((err: unknown) =>
        this.logger.warn(
          `could not queue the stock return of cancelled order ${order.id}: ${String(err)}; the recovery sweep will`,
        ),
      );
  }
}

/**
 * The live events an order's changes produce, built from its history (domain/history.ts): the
 * history is the source, so an event's `seq` is the entry's and a client that missed events can
 * read them back with GET /order/{id}/history.
 *
 * - `new_order` (staff): the order was accepted (history entry 1).
 * - `order_status_update` (the owner and staff): every entry that changes the status. A
 *   confirmation's RESERVED entry changes none and is left out, so a client sees seq 1 and then 3.
 */
import type { LiveEvent } from '../../events/domain/live-event.js';
import type { HistoryEntry } from './history.js';
import type { OrderStatus } from './order-state.js';

/** What the events need of an order (OrderRecord has it all). */
export interface EventSource {
  id: string;
  orderNumber: string;
  userId: string;
  priority: string;
  total: number;
  currency: string;
  status: OrderStatus;
  items: ReadonlyArray<{ productId: string; quantity: number }>;
  history?: readonly HistoryEntry[];
}

function entryPayload(order: EventSource, entry: HistoryEntry): Record<string, unknown> {
  return {
    orderId: order.id,
    orderNumber: order.orderNumber,
    seq: entry.seq,
    status: entry.status,
    event: entry.event,
    at: entry.at.toISOString(),
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
  };
}

/** `new_order` for an order just stored (its ACCEPTED entry). */
export function newOrderEvent(order: EventSource): LiveEvent | undefined {
  const accepted = order.history?.[0];
  if (!accepted) return undefined;
  return {
    name: 'new_order',
    payload: {
      ...entryPayload(order, accepted),
      userId: order.userId,
      priority: order.priority,
      total: order.total,
      currency: order.currency,
      items: order.items.map(({ productId, quantity }) => ({ productId, quantity })),
    },
  };
}

/** `order_status_update` for each status-changing entry after `afterSeq`. */
export function statusEvents(order: EventSource, afterSeq: number): LiveEvent[] {
  return (order.history ?? [])
    .filter(
      (entry) => entry.seq > afterSeq && entry.event !== 'ACCEPTED' && entry.event !== 'RESERVED',
    )
    .map((entry) => ({
      name: 'order_status_update',
      ownerId: order.userId,
      payload: { ...entryPayload(order, entry), userId: order.userId, priority: order.priority },
    }));
}

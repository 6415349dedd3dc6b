import { decisionHistory, numbered } from './history.js';
import { newOrderEvent, statusEvents } from './order-events.js';
import type { EventSource } from './order-events.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0, ms));

function order(overrides: Partial<EventSource> = {}): EventSource {
  return {
    id: 'o1',
    orderNumber: 'ORD-2026-000001',
    userId: 'u1',
    priority: 'VIP',
    total: 2500,
    currency: 'EUR',
    status: 'PENDING',
    items: [{ productId: 'p1', quantity: 2 }],
    history: numbered(0, [{ event: 'ACCEPTED', status: 'PENDING', at: at(0), actor: 'u1' }]),
    ...overrides,
  };
}

describe('order events', () => {
  it('announces a new order to staff with its acceptance entry', () => {
    expect(newOrderEvent(order())).toEqual({
      name: 'new_order',
      payload: {
        orderId: 'o1',
        orderNumber: 'ORD-2026-000001',
        seq: 1,
        status: 'PENDING',
        event: 'ACCEPTED',
        at: at(0).toISOString(),
        userId: 'u1',
        priority: 'VIP',
        total: 2500,
        currency: 'EUR',
        items: [{ productId: 'p1', quantity: 2 }],
      },
    });
    expect(newOrderEvent(order({ history: [] }))).toBeUndefined();
  });

  it('sends a confirmation to its owner and staff, leaving out the reservation entry', () => {
    const accepted = order();
    const history = [
      ...(accepted.history ?? []),
      ...decisionHistory({ status: 'CONFIRMED' }, at(5), at(6), { length: 1, lastAt: at(0) }),
    ];
    const events = statusEvents({ ...accepted, status: 'CONFIRMED', history }, 1);
    expect(events).toEqual([
      {
        name: 'order_status_update',
        ownerId: 'u1',
        payload: {
          orderId: 'o1',
          orderNumber: 'ORD-2026-000001',
          seq: 3,
          status: 'CONFIRMED',
          event: 'CONFIRMED',
          at: at(6).toISOString(),
          userId: 'u1',
          priority: 'VIP',
        },
      },
    ]);
  });

  it('carries a failure’s reason', () => {
    const history = [
      ...(order().history ?? []),
      ...decisionHistory({ status: 'FAILED', reason: 'OUT_OF_STOCK' }, at(5), at(6), {
        length: 1,
      }),
    ];
    expect(statusEvents(order({ status: 'FAILED', history }), 1)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ seq: 2, status: 'FAILED', reason: 'OUT_OF_STOCK' }),
      }),
    ]);
  });

  it('sends only the entries after the one given, and none for an order without history', () => {
    const history = numbered(0, [
      { event: 'ACCEPTED', status: 'PENDING', at: at(0), actor: 'u1' },
      { event: 'RESERVED', status: 'PENDING', at: at(1), actor: 'system' },
      { event: 'CONFIRMED', status: 'CONFIRMED', at: at(2), actor: 'system' },
      { event: 'CANCELLED', status: 'CANCELLED', at: at(3), actor: 'u1', reason: 'CONFIRMED' },
    ]);
    expect(statusEvents(order({ history }), 3).map((e) => e.payload.seq)).toEqual([4]);
    expect(statusEvents(order({ history }), 0).map((e) => e.payload.seq)).toEqual([3, 4]);
    expect(statusEvents(order({ history: undefined }), 0)).toEqual([]);
  });
});

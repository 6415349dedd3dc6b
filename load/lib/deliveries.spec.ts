import { Arrival, Decision, checkDeliveries } from './deliveries.js';

const AT = '2026-12-01T10:00:00.000Z';
const decision = (orderId: string, ownerId: string): Decision => ({
  orderId,
  ownerId,
  status: 'FAILED',
  seq: 2,
  at: AT,
});
const update = (orderId: string, delayMs: number, fields: Partial<Arrival> = {}) => ({
  name: 'order_status_update',
  orderId,
  status: 'FAILED',
  seq: 2,
  at: AT,
  receivedAt: Date.parse(AT) + delayMs,
  ...fields,
});
const ready = { name: 'events_ready', receivedAt: 0 };
const owners: Record<string, string> = { o1: 'alice', o2: 'bob', o3: 'alice' };
const ownerOf = (orderId: string) => owners[orderId];

describe('checkDeliveries', () => {
  it('counts each decision delivered once to its owner, with its delay', () => {
    const report = checkDeliveries(
      [decision('o1', 'alice'), decision('o2', 'bob')],
      [
        { ownerId: 'alice', events: [ready, update('o1', 12)] },
        { ownerId: 'bob', events: [ready, update('o2', 40)] },
      ],
      ownerOf,
    );
    expect(report).toMatchObject({
      expected: 2,
      delivered: 2,
      missing: [],
      duplicated: [],
      misdelivered: [],
      mismatched: [],
      notices: {},
      delays: [
        { decidedAt: Date.parse(AT), ms: 12 },
        { decidedAt: Date.parse(AT), ms: 40 },
      ],
    });
  });

  it('splits a delay at the moment the event entered the stream', () => {
    const streamedAt = Date.parse(AT) + 4;
    const report = checkDeliveries(
      [decision('o1', 'alice')],
      [{ ownerId: 'alice', events: [update('o1', 15, { id: `${streamedAt}-0:2` })] }],
      ownerOf,
    );
    expect(report.delays).toEqual([{ decidedAt: Date.parse(AT), ms: 15, toStreamMs: 4 }]);
  });

  it('finds missing, duplicated and mismatched decisions', () => {
    const report = checkDeliveries(
      [decision('o1', 'alice'), decision('o2', 'bob'), decision('o3', 'alice')],
      [
        {
          ownerId: 'alice',
          events: [update('o1', 5), update('o1', 9), update('o3', 7, { seq: 3 })],
        },
      ],
      ownerOf,
    );
    expect(report.delivered).toBe(2);
    expect(report.missing).toEqual(['o2']);
    expect(report.duplicated).toEqual(['o1']);
    expect(report.mismatched).toEqual(['o3']);
    expect(report.delays.map((d) => d.ms)).toEqual([5, 7]);
  });

  it('finds own orders heard of that are neither a decision nor expected beside them', () => {
    const report = checkDeliveries(
      [decision('o1', 'alice')],
      [{ ownerId: 'alice', events: [update('o1', 5), update('o3', 6), update('o4', 7)] }],
      (orderId) => (orderId === 'o4' ? 'alice' : ownerOf(orderId)),
      new Set(['o4']),
    );
    expect(report.unexpected).toEqual(['o3']);
    expect(report.misdelivered).toEqual([]);
    expect(report.delivered).toBe(1);
  });

  it("counts another shopper's order and staff events as misdelivered, notices apart", () => {
    const report = checkDeliveries(
      [decision('o2', 'bob')],
      [
        {
          ownerId: 'alice',
          events: [
            update('o2', 3),
            { name: 'new_order', orderId: 'o3', receivedAt: 0 },
            { name: 'stock_changed', receivedAt: 0 },
            { name: 'resync_required', receivedAt: 0 },
          ],
        },
      ],
      ownerOf,
    );
    expect(report.misdelivered).toEqual([
      { ownerId: 'alice', name: 'order_status_update', orderId: 'o2' },
      { ownerId: 'alice', name: 'new_order', orderId: 'o3' },
      { ownerId: 'alice', name: 'stock_changed' },
    ]);
    expect(report.missing).toEqual(['o2']);
    expect(report.notices).toEqual({ resync_required: 1 });
  });
});

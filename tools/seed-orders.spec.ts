import { isGapFree } from '../src/order/domain/history.js';
import { ORDER_NUMBER, formatOrderNumber } from '../src/order/domain/order-number.js';
import { SOLD_STATUSES } from '../src/order/domain/order-state.js';
import type { OrderStatus } from '../src/order/domain/order-state.js';
import {
  HOURLY_RATE,
  OrderLife,
  StoredOrder,
  arrivalRhythm,
  arrivals,
  mulberry32,
  orderLife,
  planSeed,
  productDocuments,
  seededCatalog,
  seededOrders,
} from './seed-orders.js';

const DAY = 24 * 60 * 60 * 1000;
const to = new Date('2026-04-01T00:00:00.000Z');
const from = new Date(to.getTime() - 365 * DAY);

function orders(count: number, options: { seed?: number; currencies?: string[] } = {}) {
  return [...seededOrders(planSeed({ orders: count, from, to, ...options }), 1)];
}

const share = (list: StoredOrder[], test: (o: StoredOrder) => boolean) =>
  list.filter(test).length / list.length;

/** What `check` finds wrong with each item (false for what is right), as `#index: problem`. */
function problems<T>(
  items: T[],
  check: (item: T, index: number) => Array<string | false>,
): string[] {
  return items.flatMap((item, i) =>
    check(item, i)
      .filter((p): p is string => p !== false)
      .map((p) => `#${i}: ${p}`),
  );
}

describe('mulberry32', () => {
  it('repeats its sequence for a seed, differs between seeds, stays in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    // Roughly uniform: each tenth of [0, 1) gets its share.
    const tenths = new Array<number>(10).fill(0);
    for (const x of first) tenths[Math.floor(x * 10)]++;
    for (const n of tenths) expect(n).toBeGreaterThan(60);
  });
});

describe('seededCatalog', () => {
  it('names every product once, prices it in minor units ending in 99, currencies in turn', () => {
    const catalog = seededCatalog(1, 50, ['EUR', 'USD'], from);
    expect(new Set(catalog.map((p) => p.name)).size).toBe(50);
    expect(new Set(catalog.map((p) => p.id)).size).toBe(50);
    for (const [i, p] of catalog.entries()) {
      expect(p.currency).toBe(i % 2 === 0 ? 'EUR' : 'USD');
      expect(Number.isInteger(p.price) && p.price % 100 === 99).toBe(true);
      expect(p.id).toBe(p._id.toHexString());
    }
  });

  it('gives ids that start with the catalog’s time, like any ObjectId', () => {
    const [product] = seededCatalog(1, 1, ['EUR'], from);
    expect(product._id.getTimestamp().getTime()).toBe(from.getTime());
  });

  it('names products beyond the list of names with a number', () => {
    const catalog = seededCatalog(1, 300, ['EUR'], from);
    expect(new Set(catalog.map((p) => p.name)).size).toBe(300);
  });
});

describe('arrivals', () => {
  const rhythm = arrivalRhythm(1, from, to);
  const times = [...arrivals(rhythm, 100_000, 1)];

  it('gives exactly the count asked, ascending, within [from, to)', () => {
    expect(times).toHaveLength(100_000);
    expect(times.every((t, i) => i === 0 || t.at >= times[i - 1].at)).toBe(true);
    expect(times[0].at).toBeGreaterThanOrEqual(from.getTime());
    expect(times[times.length - 1].at).toBeLessThan(to.getTime());
  });

  it('follows the daily rhythm: the evening peak is busier than the small hours', () => {
    const byHour = new Array<number>(24).fill(0);
    for (const { at } of times) byHour[new Date(at).getUTCHours()]++;
    const peak = HOURLY_RATE.indexOf(Math.max(...HOURLY_RATE));
    const trough = HOURLY_RATE.indexOf(Math.min(...HOURLY_RATE));
    expect(byHour[peak]).toBeGreaterThan(5 * byHour[trough]);
  });

  it('has a few flash sales, each far busier than the same hour on other days', () => {
    expect(rhythm.sales.length).toBeGreaterThanOrEqual(3);
    for (const sale of rhythm.sales) {
      const inSale = times.filter((t) => t.at >= sale.start && t.at < sale.end);
      expect(inSale.every((t) => t.sale)).toBe(true);
      const dayBefore = times.filter((t) => t.at >= sale.start - DAY && t.at < sale.end - DAY);
      expect(inSale.length).toBeGreaterThan(10 * Math.max(1, dayBefore.length));
    }
  });

  it('spreads a short range too, even one shorter than a minute', () => {
    const start = new Date('2026-01-01T12:00:00.000Z');
    const end = new Date(start.getTime() + 30_000);
    const short = [...arrivals(arrivalRhythm(3, start, end), 50, 3)];
    expect(short).toHaveLength(50);
    for (const { at } of short) {
      expect(at).toBeGreaterThanOrEqual(start.getTime());
      expect(at).toBeLessThan(end.getTime());
    }
  });
});

describe('orderLife', () => {
  const rng = mulberry32(5);
  const until = to.getTime();
  const lives = Array.from({ length: 5_000 }, (_, i) =>
    orderLife(rng, {
      acceptedAt: from.getTime() + i * 6_000_000,
      sale: false,
      userId: 'user',
      staffId: 'staff',
      until,
    }),
  );
  const last = (life: OrderLife) => life.history[life.history.length - 1];

  it('numbers histories from 1, never goes back in time, starts with the acceptance', () => {
    expect(
      problems(lives, (life) => [
        !isGapFree(life.history) && 'history not gap-free',
        (life.history[0].event !== 'ACCEPTED' || life.history[0].status !== 'PENDING') &&
          'first entry not ACCEPTED',
        last(life).status !== life.status && 'status is not the last entry’s',
        last(life).at.getTime() >= until && 'an entry at or after `until`',
      ]),
    ).toEqual([]);
  });

  it('never leaves an order PENDING', () => {
    expect(lives.some((life) => life.status === 'PENDING')).toBe(false);
  });

  it('follows the order’s state machine, one event per move', () => {
    const allowed: Record<string, string[]> = {
      ACCEPTED: ['RESERVED', 'FAILED', 'CANCELLED'],
      RESERVED: ['CONFIRMED'],
      CONFIRMED: ['PREPARING', 'CANCELLED'],
      PREPARING: ['SHIPPED', 'CANCELLED'],
      SHIPPED: ['DELIVERED'],
    };
    expect(
      problems(lives, ({ history }) =>
        history.map(
          (entry, i) =>
            i > 0 &&
            !allowed[history[i - 1].event]?.includes(entry.event) &&
            `${history[i - 1].event} → ${entry.event}`,
        ),
      ),
    ).toEqual([]);
  });

  it('records a decision: its time, attempts, a failure’s reason on the order and its entry', () => {
    expect(
      problems(lives, (life) => {
        const decision = life.history.find((e) => e.event === 'CONFIRMED' || e.event === 'FAILED');
        const processingError = life.failureReason === 'PROCESSING_ERROR';
        return [
          life.decidedAt?.getTime() !== decision?.at.getTime() && 'decidedAt is not the decision’s',
          life.status === 'FAILED' && !life.failureReason && 'failed without a reason',
          life.status === 'FAILED' && decision?.reason !== life.failureReason && 'entry’s reason',
          life.status !== 'FAILED' && life.failureReason !== null && 'a reason without failing',
          life.status === 'FAILED' && life.attempts !== (processingError ? 5 : 1) && 'attempts',
          (life.lastError !== null) !== processingError && 'lastError',
          decision?.event === 'CONFIRMED' &&
            life.history[decision.seq - 2].event !== 'RESERVED' &&
            'a confirmation without its reservation',
        ];
      }),
    ).toEqual([]);
  });

  it('records a cancellation: the status left, on the order and as the entry’s reason', () => {
    const cancelled = lives.filter((life) => life.status === 'CANCELLED');
    expect(new Set(cancelled.map((life) => life.cancelledFrom))).toEqual(
      new Set(['PENDING', 'CONFIRMED', 'PREPARING']),
    );
    expect(
      problems(lives, (life) => {
        if (life.status !== 'CANCELLED')
          return [
            (life.cancelledFrom !== null || life.stockReturned !== null) &&
              'cancellation fields on an order not cancelled',
          ];
        const left = life.history[life.history.length - 2].status;
        return [
          life.cancelledFrom !== left && 'cancelledFrom is not the status left',
          last(life).reason !== left && 'the entry’s reason is not the status left',
          life.stockReturned !== true && 'stock not returned',
          left === 'PENDING' && life.attempts !== 0 && 'attempts on an undecided order',
        ];
      }),
    ).toEqual([]);
  });

  it('decides in tens of milliseconds to seconds', () => {
    const delays = lives
      .filter((life) => life.decidedAt && life.failureReason !== 'PROCESSING_ERROR')
      .map((life) => (life.decidedAt?.getTime() ?? 0) - life.history[0].at.getTime())
      .sort((a, b) => a - b);
    expect(delays[0]).toBeGreaterThanOrEqual(10);
    expect(delays[Math.floor(delays.length / 2)]).toBeGreaterThan(50);
    expect(delays[Math.floor(delays.length / 2)]).toBeLessThan(500);
    expect(delays[delays.length - 1]).toBeGreaterThan(1000);
  });

  it('moves nothing at or after `until`: recent orders are still on their way', () => {
    const recent = Array.from({ length: 2000 }, () =>
      orderLife(rng, { acceptedAt: until - 60_000, sale: false, userId: 'u', staffId: 's', until }),
    );
    const statuses = new Set(recent.map((life) => life.status));
    expect(statuses.has('DELIVERED')).toBe(false);
    expect(statuses.has('SHIPPED')).toBe(false);
    expect(
      problems(recent, (life) => [last(life).at.getTime() >= until && 'an entry after until']),
    ).toEqual([]);
  });
});

describe('seededOrders', () => {
  const currencies = ['EUR', 'USD', 'GBP'];
  const list = orders(5_000, { currencies });

  it('gives the same orders for the same options, other orders for another seed', () => {
    expect(orders(500)).toEqual(orders(500));
    expect(orders(500, { seed: 2 })).not.toEqual(orders(500));
  });

  it('stores orders in the application’s shape', () => {
    const fields = [
      '_id',
      'orderNumber',
      'userId',
      'items',
      'total',
      'currency',
      'priority',
      'status',
      'failureReason',
      'attempts',
      'lastError',
      'decidedAt',
      'cancelledFrom',
      'stockReturned',
      'history',
      'createdAt',
      'updatedAt',
    ].join();
    expect(
      problems(list, (order) => {
        const lastEntry = order.history[order.history.length - 1];
        return [
          Object.keys(order).join() !== fields && `fields ${Object.keys(order).join()}`,
          order.createdAt !== order.history[0].at && 'createdAt is not the acceptance',
          order.updatedAt !== lastEntry.at && 'updatedAt is not the last entry’s time',
          order.status !== lastEntry.status && 'status is not the last entry’s',
          order.history[0].actor !== order.userId && 'accepted by someone else',
          !/^[0-9a-f]{24}$/.test(order.userId) && 'userId is not an ObjectId',
        ];
      }),
    ).toEqual([]);
  });

  it('numbers orders uniquely, in acceptance order, with the year of acceptance', () => {
    expect(new Set(list.map((o) => o.orderNumber)).size).toBe(list.length);
    expect(new Set(list.map((o) => o._id.toHexString())).size).toBe(list.length);
    expect(
      problems(list, (order, i) => [
        !ORDER_NUMBER.test(order.orderNumber) && `number ${order.orderNumber}`,
        order.orderNumber !== formatOrderNumber(i + 1, order.createdAt) && 'not numbered in turn',
        i > 0 && order.createdAt < list[i - 1].createdAt && 'accepted before the one before',
        order._id.getTimestamp().getTime() !==
          Math.floor(order.createdAt.getTime() / 1000) * 1000 && 'id’s time is not the acceptance',
      ]),
    ).toEqual([]);
  });

  it('prices 1–3 distinct lines of one currency: line totals and the total add up', () => {
    const plan = planSeed({ orders: 1, from, to, currencies });
    const catalog = new Map(plan.catalog.map((p) => [p.id, p]));
    expect(
      problems(list, (order) => [
        (order.items.length < 1 || order.items.length > 3) && `${order.items.length} lines`,
        new Set(order.items.map((l) => l.productId)).size !== order.items.length && 'a repeat',
        order.total !== order.items.reduce((sum, l) => sum + l.lineTotal, 0) && 'total',
        ...order.items.map((line) => {
          const product = catalog.get(line.productId);
          return (
            (product?.currency !== order.currency ||
              product.name !== line.name ||
              product.price !== line.unitPrice ||
              line.lineTotal !== line.unitPrice * line.quantity) &&
            `line ${JSON.stringify(line)}`
          );
        }),
      ]),
    ).toEqual([]);
    expect(new Set(list.map((o) => o.currency))).toEqual(new Set(currencies));
  });

  it('has a realistic mix: ~10% VIP, ~75% kept, ~20% failed, ~5% cancelled', () => {
    const kept = new Set<OrderStatus>(SOLD_STATUSES);
    expect(share(list, (o) => o.priority === 'VIP')).toBeCloseTo(0.1, 1);
    expect(share(list, (o) => kept.has(o.status))).toBeCloseTo(0.75, 1);
    expect(share(list, (o) => o.status === 'FAILED')).toBeCloseTo(0.2, 1);
    expect(share(list, (o) => o.status === 'CANCELLED')).toBeCloseTo(0.05, 1);
    const failed = list.filter((o) => o.status === 'FAILED');
    expect(share(failed, (o) => o.failureReason === 'OUT_OF_STOCK')).toBeGreaterThan(0.7);
    expect(share(failed, (o) => o.failureReason === 'PRODUCT_UNAVAILABLE')).toBeGreaterThan(0.05);
    expect(share(failed, (o) => o.failureReason === 'PROCESSING_ERROR')).toBeLessThan(0.05);
    // Most of a year's orders were delivered long ago.
    expect(share(list, (o) => o.status === 'DELIVERED')).toBeGreaterThan(0.6);
  });

  it('keeps a customer’s priority on every order of theirs', () => {
    const byUser = new Map<string, Set<string>>();
    for (const o of list) byUser.set(o.userId, (byUser.get(o.userId) ?? new Set()).add(o.priority));
    expect([...byUser.values()].every((priorities) => priorities.size === 1)).toBe(true);
  });
});

describe('productDocuments', () => {
  it('leaves stock that adds up: kept units sold, available + sold = received', () => {
    const plan = planSeed({ orders: 2000, from, to, products: 5 });
    const sold = new Map<string, number>();
    const kept = new Set<OrderStatus>(SOLD_STATUSES);
    for (const o of seededOrders(plan, 1))
      for (const line of o.items)
        if (kept.has(o.status))
          sold.set(line.productId, (sold.get(line.productId) ?? 0) + line.quantity);
    const tally = new Map([...sold].map(([id, units]) => [id, { sold: units, writes: units }]));
    for (const product of productDocuments(plan, tally)) {
      expect(product.sold).toBe(sold.get(product._id.toHexString()) ?? 0);
      expect(product.available + product.reserved + product.sold).toBe(product.received);
      expect(product).toMatchObject({ reserved: 0, holds: [], active: true });
    }
  });
});

describe('planSeed', () => {
  it.each([
    [{ orders: -1 }, 'orders'],
    [{ orders: 1.5 }, 'orders'],
    [{ from: to }, 'before'],
    [{ products: 0 }, 'products'],
    [{ currencies: [] }, 'currencies'],
    [{ currencies: ['euro'] }, 'currencies'],
  ])('refuses %j', (override, message) => {
    expect(() => planSeed({ orders: 10, from, to, ...override })).toThrow(message);
  });
});

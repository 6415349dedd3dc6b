import fc from 'fast-check';
import { decisionBucketUpperMs, percentile } from './decision-histogram.js';
import type { DecisionHistogram } from './decision-histogram.js';
import { csvField, csvLine } from './csv.js';
import {
  addOrder,
  addOrderProducts,
  addProducts,
  addTally,
  emptyTally,
  summaryOf,
  topProducts,
} from './tally.js';
import type { ProductTally, ReportedOrder } from './tally.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30) + ms);

function order(fields: Partial<ReportedOrder> & { decidedAfterMs?: number }): ReportedOrder {
  const { decidedAfterMs = 40, ...rest } = fields;
  const status = rest.status ?? 'CONFIRMED';
  return {
    createdAt: at(0),
    status,
    priority: 'REGULAR',
    currency: 'EUR',
    total: 1000,
    items: [{ productId: 'p1', name: 'Cup', quantity: 2, lineTotal: 1000 }],
    history: [
      { event: 'ACCEPTED', at: at(0) },
      { event: status === 'FAILED' ? 'FAILED' : 'CONFIRMED', at: at(decidedAfterMs) },
    ],
    ...rest,
  };
}

describe('tally', () => {
  it('counts an order with its current state: kept revenue, failures, cancellations, VIP service', () => {
    const tally = emptyTally();
    addOrder(tally, order({ priority: 'VIP' }));
    addOrder(tally, order({ status: 'DELIVERED', currency: 'USD', total: 700 }));
    addOrder(tally, order({ status: 'FAILED', failureReason: 'OUT_OF_STOCK' }));
    addOrder(
      tally,
      order({
        status: 'CANCELLED',
        cancelledFrom: 'CONFIRMED',
        history: [
          { event: 'ACCEPTED', at: at(0) },
          { event: 'CONFIRMED', at: at(10) },
          { event: 'CANCELLED', at: at(5000) },
        ],
      }),
    );
    addOrder(tally, order({ status: 'PENDING', history: [{ event: 'ACCEPTED', at: at(0) }] }));
    const summary = summaryOf(tally);
    expect(summary.orders).toEqual({
      total: 5,
      byStatus: { CONFIRMED: 1, DELIVERED: 1, FAILED: 1, CANCELLED: 1, PENDING: 1 },
      byFailureReason: { OUT_OF_STOCK: 1 },
    });
    expect(summary.revenue).toEqual([
      { currency: 'EUR', amount: 1000 },
      { currency: 'USD', amount: 700 },
    ]);
    expect(summary.vip).toEqual({ orders: 1, confirmed: 1, rate: 1 });
    // The cancelled order was confirmed first: it got its stock.
    expect(summary.regular).toEqual({ orders: 4, confirmed: 2, rate: 0.5 });
    expect(summary.cancellations).toEqual({ total: 1, byPreviousStatus: { CONFIRMED: 1 } });
    expect(summary.decisionMs.count).toBe(4);
  });

  it('adds and subtracts back to nothing', () => {
    const arbitraryOrder = fc.record({
      status: fc.constantFrom('CONFIRMED', 'FAILED', 'SHIPPED', 'CANCELLED', 'PENDING' as const),
      priority: fc.constantFrom('VIP', 'REGULAR' as const),
      currency: fc.constantFrom('EUR', 'USD'),
      total: fc.integer({ min: 1, max: 100_000 }),
      decidedAfterMs: fc.integer({ min: 0, max: 10_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(arbitraryOrder), fc.array(arbitraryOrder), (xs, ys) => {
        const [a, b, sum] = [emptyTally(), emptyTally(), emptyTally()];
        const [pa, pb, psum]: ProductTally[] = [{}, {}, {}];
        for (const x of xs) {
          addOrder(a, order(x));
          addOrderProducts(pa, order(x));
        }
        for (const y of ys) {
          addOrder(b, order(y));
          addOrderProducts(pb, order(y));
        }
        addTally(sum, a);
        addTally(sum, b);
        addProducts(psum, pa);
        addProducts(psum, pb);
        addTally(sum, b, -1);
        addProducts(psum, pb, -1);
        expect(sum).toEqual(a);
        expect(psum).toEqual(pa);
      }),
    );
  });

  it('ranks products by units, then id, and keeps only kept orders', () => {
    const products: ProductTally = {};
    addOrderProducts(
      products,
      order({ items: [{ productId: 'b', name: 'B', quantity: 3, lineTotal: 30 }] }),
    );
    addOrderProducts(
      products,
      order({ items: [{ productId: 'a', name: 'A', quantity: 3, lineTotal: 60 }] }),
    );
    addOrderProducts(
      products,
      order({
        status: 'FAILED',
        items: [{ productId: 'c', name: 'C', quantity: 9, lineTotal: 9 }],
      }),
    );
    expect(topProducts(products, 10).map((p) => [p.productId, p.units])).toEqual([
      ['a', 3],
      ['b', 3],
    ]);
    expect(topProducts(products, 1)).toHaveLength(1);
  });
});

describe('decision histogram', () => {
  it('reports the nearest-rank percentile at most 5% (and under a millisecond) above it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000_000 }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(0.5, 0.95),
        (times, p) => {
          const histogram: DecisionHistogram = {};
          const tally = emptyTally();
          for (const ms of times) addOrder(tally, order({ decidedAfterMs: ms }));
          Object.assign(histogram, tally.decisionMs);
          const sorted = [...times].sort((x, y) => x - y);
          const exact = sorted[Math.ceil(p * sorted.length) - 1] ?? 0;
          const reported = percentile(histogram, p) ?? -1;
          expect(reported).toBe(decisionBucketUpperMs(exact));
          expect(reported).toBeGreaterThanOrEqual(exact);
          expect(reported).toBeLessThanOrEqual(Math.max(1, exact * 1.05 + 1));
        },
      ),
    );
    expect(percentile({}, 0.5)).toBeNull();
  });
});

describe('csv', () => {
  it('quotes what needs quoting and keeps formulas as text', () => {
    expect(csvLine(['a', 1, null, 'b,c', 'say "hi"', 'two\nlines'])).toBe(
      'a,1,,"b,c","say ""hi""","two\nlines"\r\n',
    );
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-2')).toBe("'-2");
    expect(csvField(-2)).toBe('-2');
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});

import {
  Claim,
  MAX_CONFLICT_ROUNDS,
  StockSnapshot,
  conflictRetryDelayMs,
  planReservations,
  planSettlements,
  rankClaims,
  withGrants,
} from './reservation.js';

function product(
  productId: string,
  available: number,
  options: { active?: boolean; version?: number; holds?: Array<[string, number]> } = {},
): StockSnapshot {
  return {
    productId,
    active: options.active ?? true,
    available,
    version: options.version ?? 7,
    holds: new Map(options.holds ?? []),
  };
}

const stockOf = (...products: StockSnapshot[]) => new Map(products.map((p) => [p.productId, p]));

function claim(
  orderId: string,
  lines: Array<[string, number]>,
  options: { vip?: boolean; at?: number } = {},
): Claim {
  return {
    orderId,
    vip: options.vip ?? false,
    acceptedAt: options.at ?? 1000,
    lines: lines.map(([productId, quantity]) => ({ productId, quantity })),
  };
}

describe('rankClaims', () => {
  it('puts VIP orders first, then earlier acceptance, then the order id', () => {
    const claims = [
      claim('r-late', [], { at: 30 }),
      claim('v-late', [], { vip: true, at: 20 }),
      claim('r-early-b', [], { at: 10 }),
      claim('v-early', [], { vip: true, at: 5 }),
      claim('r-early-a', [], { at: 10 }),
    ];
    expect([...claims].sort(rankClaims).map((c) => c.orderId)).toEqual([
      'v-early',
      'v-late',
      'r-early-a',
      'r-early-b',
      'r-late',
    ]);
  });

  it('is a total order: equal only to itself, antisymmetric', () => {
    const a = claim('a', [], { at: 1 });
    const b = claim('b', [], { at: 1 });
    expect(rankClaims(a, a)).toBe(0);
    expect(Math.sign(rankClaims(a, b))).toBe(-Math.sign(rankClaims(b, a)));
  });
});

describe('planReservations', () => {
  it('holds every order when there is enough stock, in one write per product at the version read', () => {
    const plan = planReservations(
      [
        claim('o1', [['p', 2]]),
        claim('o2', [
          ['p', 3],
          ['q', 1],
        ]),
      ],
      stockOf(product('p', 5, { version: 3 }), product('q', 1, { version: 9 })),
    );
    expect(plan.verdicts).toEqual(
      new Map([
        ['o1', { result: 'held' }],
        ['o2', { result: 'held' }],
      ]),
    );
    expect(plan.grants).toEqual([
      {
        productId: 'p',
        version: 3,
        holds: [
          { orderId: 'o1', quantity: 2 },
          { orderId: 'o2', quantity: 3 },
        ],
        units: 5,
      },
      { productId: 'q', version: 9, holds: [{ orderId: 'o2', quantity: 1 }], units: 1 },
    ]);
  });

  it('grants in priority order within a batch: VIPs first, then by acceptance time, the rest sold out', () => {
    const claims = [
      claim('regular-first', [['p', 1]], { at: 1 }),
      claim('regular-second', [['p', 1]], { at: 2 }),
      claim('vip-late', [['p', 1]], { vip: true, at: 9 }),
      claim('vip-early', [['p', 1]], { vip: true, at: 3 }),
    ];
    const plan = planReservations(claims, stockOf(product('p', 3)));
    expect(plan.grants[0]?.holds.map((h) => h.orderId)).toEqual([
      'vip-early',
      'vip-late',
      'regular-first',
    ]);
    expect(plan.verdicts.get('regular-second')).toEqual({
      result: 'rejected',
      reason: 'OUT_OF_STOCK',
    });
  });

  it('lets a smaller later order take what a larger earlier one could not (each order decided on its own)', () => {
    const plan = planReservations(
      [claim('big', [['p', 5]], { at: 1 }), claim('small', [['p', 2]], { at: 2 })],
      stockOf(product('p', 3)),
    );
    expect(plan.verdicts.get('big')).toEqual({ result: 'rejected', reason: 'OUT_OF_STOCK' });
    expect(plan.verdicts.get('small')).toEqual({ result: 'held' });
    expect(plan.grants).toEqual([
      { productId: 'p', version: 7, holds: [{ orderId: 'small', quantity: 2 }], units: 2 },
    ]);
  });

  it('is all-or-nothing: an order short on one line holds none of its lines', () => {
    const plan = planReservations(
      [
        claim('o', [
          ['plenty', 2],
          ['scarce', 2],
        ]),
      ],
      stockOf(product('plenty', 5), product('scarce', 1)),
    );
    expect(plan.verdicts.get('o')).toEqual({ result: 'rejected', reason: 'OUT_OF_STOCK' });
    expect(plan.grants).toEqual([]);
  });

  it('fails with the reason of the first line that cannot be held', () => {
    const stock = stockOf(product('gone', 5, { active: false }), product('empty', 0));
    expect(
      planReservations(
        [
          claim('a', [
            ['empty', 1],
            ['gone', 1],
          ]),
        ],
        stock,
      ).verdicts.get('a'),
    ).toEqual({ result: 'rejected', reason: 'OUT_OF_STOCK' });
    expect(
      planReservations(
        [
          claim('b', [
            ['gone', 1],
            ['empty', 1],
          ]),
        ],
        stock,
      ).verdicts.get('b'),
    ).toEqual({ result: 'rejected', reason: 'PRODUCT_UNAVAILABLE' });
  });

  it('rejects with PRODUCT_UNAVAILABLE when a product is discontinued or does not exist', () => {
    const plan = planReservations(
      [claim('off', [['p', 1]]), claim('missing', [['nope', 1]])],
      stockOf(product('p', 5, { active: false })),
    );
    expect(plan.verdicts.get('off')).toEqual({ result: 'rejected', reason: 'PRODUCT_UNAVAILABLE' });
    expect(plan.verdicts.get('missing')).toEqual({
      result: 'rejected',
      reason: 'PRODUCT_UNAVAILABLE',
    });
    expect(plan.grants).toEqual([]);
  });

  it('keeps a hold the order already has, whatever the stock says now (redelivery, an earlier round)', () => {
    const stock = stockOf(
      product('p', 0, { holds: [['o', 2]] }),
      product('off', 0, { active: false, holds: [['o', 1]] }),
      product('q', 4),
    );
    const plan = planReservations(
      [
        claim('o', [
          ['p', 2],
          ['off', 1],
          ['q', 3],
        ]),
      ],
      stock,
    );
    expect(plan.verdicts.get('o')).toEqual({ result: 'held' });
    // Only the line it does not hold yet is written.
    expect(plan.grants).toEqual([
      { productId: 'q', version: 7, holds: [{ orderId: 'o', quantity: 3 }], units: 3 },
    ]);
  });

  it('writes nothing for an order that already holds every line', () => {
    const plan = planReservations(
      [claim('o', [['p', 2]])],
      stockOf(product('p', 0, { holds: [['o', 2]] })),
    );
    expect(plan).toEqual({ verdicts: new Map([['o', { result: 'held' }]]), grants: [] });
  });

  it('keeps stock for VIP orders waiting elsewhere from every regular order', () => {
    const waiting = [claim('vip-elsewhere', [['p', 2]], { vip: true, at: 50 })];
    const plan = planReservations(
      [claim('regular', [['p', 2]], { at: 1 })],
      stockOf(product('p', 3)),
      waiting,
    );
    // 3 available, 2 kept for the waiting VIP: the regular order's 2 units are not free.
    expect(plan.verdicts.get('regular')).toEqual({ result: 'rejected', reason: 'OUT_OF_STOCK' });
    expect(
      planReservations(
        [claim('small', [['p', 1]])],
        stockOf(product('p', 3)),
        waiting,
      ).verdicts.get('small'),
    ).toEqual({ result: 'held' });
  });

  it('keeps stock for an earlier waiting VIP from a later VIP, but not from an earlier one', () => {
    const waiting = [claim('vip-waiting', [['p', 2]], { vip: true, at: 50 })];
    const stock = stockOf(product('p', 2));
    expect(
      planReservations([claim('vip-later', [['p', 1]], { vip: true, at: 60 })], stock, waiting)
        .verdicts,
    ).toEqual(new Map([['vip-later', { result: 'rejected', reason: 'OUT_OF_STOCK' }]]));
    expect(
      planReservations([claim('vip-earlier', [['p', 1]], { vip: true, at: 40 })], stock, waiting)
        .verdicts,
    ).toEqual(new Map([['vip-earlier', { result: 'held' }]]));
  });

  it('does not keep stock for a waiting VIP that already holds it, or that is in the batch itself', () => {
    const holding = [claim('vip-holding', [['p', 2]], { vip: true, at: 1 })];
    expect(
      planReservations(
        [claim('regular', [['p', 1]])],
        stockOf(product('p', 1, { holds: [['vip-holding', 2]] })),
        holding,
      ).verdicts.get('regular'),
    ).toEqual({ result: 'held' });
    const vipInBatch = claim('vip', [['p', 1]], { vip: true });
    const plan = planReservations(
      [vipInBatch, claim('regular', [['p', 1]])],
      stockOf(product('p', 2)),
      [vipInBatch],
    );
    expect([...plan.verdicts.values()]).toEqual([{ result: 'held' }, { result: 'held' }]);
  });

  it('counts a waiting VIP only on the products it needs', () => {
    const waiting = [claim('vip', [['other', 5]], { vip: true, at: 1 })];
    const plan = planReservations(
      [claim('regular', [['p', 3]], { at: 2 })],
      stockOf(product('p', 3), product('other', 5)),
      waiting,
    );
    expect(plan.verdicts.get('regular')).toEqual({ result: 'held' });
  });

  it('adds up lines of one order on the same product against its stock', () => {
    const plan = planReservations(
      [
        claim('o', [
          ['p', 2],
          ['p', 2],
        ]),
      ],
      stockOf(product('p', 3)),
    );
    expect(plan.verdicts.get('o')).toEqual({ result: 'rejected', reason: 'OUT_OF_STOCK' });
  });

  it('decides every order of a large batch exactly once and never grants more than is available', () => {
    const claims = Array.from({ length: 300 }, (_, i) =>
      claim(`o${String(i).padStart(3, '0')}`, [['p', 1 + (i % 3)]], { vip: i % 7 === 0, at: i }),
    );
    const plan = planReservations(claims, stockOf(product('p', 50)));
    expect(plan.verdicts.size).toBe(300);
    const units = plan.grants.reduce((sum, g) => sum + g.units, 0);
    expect(units).toBeLessThanOrEqual(50);
    // VIP orders were served first: among the grants no VIP follows a regular order, and a VIP
    // order was refused only if it needed more than the VIPs left over for the regular ones.
    const byId = new Map(claims.map((c) => [c.orderId, c]));
    const granted = (plan.grants[0]?.holds ?? []).map((h) => byId.get(h.orderId));
    const vipFlags = granted.map((c) => c?.vip);
    expect(vipFlags).toEqual([...vipFlags].sort((a, b) => Number(b) - Number(a)));
    const vipUnits = granted
      .filter((c) => c?.vip)
      .reduce((sum, c) => sum + (c?.lines[0]?.quantity ?? 0), 0);
    for (const c of claims.filter((c) => c.vip && plan.verdicts.get(c.orderId)?.result !== 'held'))
      expect(c.lines[0]?.quantity).toBeGreaterThan(50 - vipUnits);
  });
});

describe('withGrants', () => {
  it('applies the grants to the snapshots: less available, new holds, next version', () => {
    const stock = stockOf(product('p', 5, { version: 2, holds: [['a', 1]] }), product('q', 1));
    const after = withGrants(stock, [
      { productId: 'p', version: 2, holds: [{ orderId: 'b', quantity: 3 }], units: 3 },
    ]);
    expect(after.get('p')).toEqual(
      product('p', 2, {
        version: 3,
        holds: [
          ['a', 1],
          ['b', 3],
        ],
      }),
    );
    expect(after.get('q')).toBe(stock.get('q'));
    expect(stock.get('p')?.available).toBe(5);
  });
});

describe('planSettlements', () => {
  it('commits holds of confirmed orders and releases holds of failed ones, per product', () => {
    const stock = stockOf(
      product('p', 0, {
        holds: [
          ['confirmed', 2],
          ['failed', 1],
          ['someone-else', 4],
        ],
      }),
      product('q', 0, { holds: [['failed', 3]] }),
    );
    const settling = new Map([
      ['confirmed', 'commit' as const],
      ['failed', 'release' as const],
    ]);
    expect(planSettlements(stock, settling)).toEqual([
      { productId: 'p', commit: ['confirmed'], release: ['failed'] },
      { productId: 'q', commit: [], release: ['failed'] },
    ]);
  });

  it('sends nothing for orders that hold nothing', () => {
    const stock = stockOf(product('p', 3, { holds: [['other', 1]] }));
    expect(planSettlements(stock, new Map([['rejected', 'release' as const]]))).toEqual([]);
  });
});

describe('conflictRetryDelayMs', () => {
  it('retries at once with a little jitter, never a growing backoff', () => {
    expect(conflictRetryDelayMs(1, 0.999)).toBe(0);
    expect(conflictRetryDelayMs(2, 0.999)).toBeLessThan(2);
    expect(conflictRetryDelayMs(3, 0.5)).toBe(2);
    for (let round = 1; round <= MAX_CONFLICT_ROUNDS; round++) {
      expect(conflictRetryDelayMs(round, 0.999)).toBeLessThan(8);
      expect(conflictRetryDelayMs(round, 0)).toBe(0);
    }
  });
});

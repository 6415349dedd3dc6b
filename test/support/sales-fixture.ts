/**
 * The orders of the report tests, as the product stores them: deterministic (a seeded generator),
 * in every status and fate (cancelled from each status, dead-lettered and reopened), with decision
 * times across orders of magnitude, several currencies, VIP and regular, products renamed in the
 * catalog or gone from it, and acceptance times on the edges of local days and hours: local
 * midnights and the millisecond before in each zone, 2026's DST changes in Berlin and New York,
 * both sides of a fall-back's repeated hour.
 */
import { ObjectId } from 'mongodb';
import type { HistoryEvent } from '../../src/order/domain/history.js';
import type { FailureReason, OrderStatus } from '../../src/order/domain/order-state.js';
import type { Product } from '../../src/stock/product.schema.js';
import { HOUR, MINUTE, dayStart, localTime } from './local-time.js';
import type { StoredOrder } from './report-oracle.js';

export const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'];
const SYSTEM = 'system';
export const STAFF_ACTOR = new ObjectId('5eaff0000000000000000001').toHexString();

export type Fate =
  | 'PENDING'
  | 'CONFIRMED'
  | 'PREPARING'
  | 'SHIPPED'
  | 'DELIVERED'
  | FailureReason
  | 'CANCELLED_FROM_PENDING'
  | 'CANCELLED_FROM_CONFIRMED'
  | 'CANCELLED_FROM_PREPARING'
  /** Dead-lettered (PROCESSING_ERROR), reopened by an admin, then confirmed or still waiting. */
  | 'REOPENED_CONFIRMED'
  | 'REOPENED_PENDING';

/** Every fate, the common ones more often. */
export const FATES: Fate[] = [
  'CONFIRMED',
  'DELIVERED',
  'OUT_OF_STOCK',
  'CANCELLED_FROM_CONFIRMED',
  'PREPARING',
  'CONFIRMED',
  'SHIPPED',
  'PENDING',
  'DELIVERED',
  'PRODUCT_UNAVAILABLE',
  'CANCELLED_FROM_PENDING',
  'CONFIRMED',
  'PROCESSING_ERROR',
  'SHIPPED',
  'CANCELLED_FROM_PREPARING',
  'REOPENED_CONFIRMED',
  'DELIVERED',
  'OUT_OF_STOCK',
  'REOPENED_PENDING',
  'PREPARING',
];

/** Acceptance to decision, across orders of magnitude, with the round numbers a histogram may cut at. */
export const DECISION_MS = [
  0, 1, 2, 7, 19, 20, 21, 99, 100, 101, 480, 999, 1000, 2500, 10_000, 59_999, 60_000, 3_600_000,
  86_400_000,
];

export interface FixtureProduct {
  id: string;
  currency: string;
  price: number;
  /** The name its order lines carry. */
  lineName: string;
  /** Its name in the catalog now; none when it is gone from the catalog. */
  catalogName?: string;
}

const productId = (n: number) =>
  new ObjectId(`a0000000000000000000${n.toString(16).padStart(4, '0')}`).toHexString();

export const PRODUCTS: FixtureProduct[] = [
  {
    id: productId(1),
    currency: 'EUR',
    price: 1250,
    lineName: 'Espresso cup',
    catalogName: 'Espresso cup, porcelain',
  },
  { id: productId(2), currency: 'EUR', price: 3999, lineName: 'Teapot', catalogName: 'Teapot' },
  { id: productId(3), currency: 'EUR', price: 799, lineName: 'Old mug' },
  { id: productId(4), currency: 'EUR', price: 2, lineName: '@SUM(A1:A9)' },
  { id: productId(5), currency: 'USD', price: 15_000, lineName: 'Grinder', catalogName: 'Grinder' },
  { id: productId(6), currency: 'USD', price: 333, lineName: '-2+3 coupon' },
  { id: productId(7), currency: 'USD', price: 1001, lineName: '\tTabbed filter' },
  { id: productId(8), currency: 'USD', price: 45, lineName: '\rCarriage, "return"\r\nnext line' },
  { id: productId(9), currency: 'GBP', price: 2500, lineName: 'Kettle', catalogName: 'Kettle' },
  { id: productId(10), currency: 'GBP', price: 1, lineName: '+44 adapter' },
];
/** Two products sold in equal units on one day: their order is the tie-break's (product id). */
export const TIED = [
  { id: productId(0x21), currency: 'EUR', price: 500, lineName: 'Tie B', catalogName: 'Tie B' },
  { id: productId(0x20), currency: 'EUR', price: 700, lineName: 'Tie A', catalogName: 'Tie A' },
] satisfies FixtureProduct[];

/** A small deterministic generator (mulberry32): the same orders on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Step {
  event: HistoryEvent;
  status: OrderStatus;
  at: number;
  actor: string;
  reason?: string;
}

/** The history an order with this fate has, as the product writes it (src/order/domain/history.ts). */
function stepsOf(fate: Fate, at: number, decisionMs: number, owner: string): Step[] {
  const decided = at + decisionMs;
  const steps: Step[] = [{ event: 'ACCEPTED', status: 'PENDING', at, actor: owner }];
  const confirm = (reservedAt: number, confirmedAt: number) =>
    steps.push(
      { event: 'RESERVED', status: 'PENDING', at: reservedAt, actor: SYSTEM },
      { event: 'CONFIRMED', status: 'CONFIRMED', at: confirmedAt, actor: SYSTEM },
    );
  const fail = (reason: FailureReason) =>
    steps.push({ event: 'FAILED', status: 'FAILED', at: decided, actor: SYSTEM, reason });
  const move = (status: OrderStatus & HistoryEvent, t: number, actor = STAFF_ACTOR) =>
    steps.push({ event: status, status, at: t, actor });
  const reopen = () =>
    steps.push({
      event: 'REOPENED',
      status: 'PENDING',
      at: decided + HOUR,
      actor: STAFF_ACTOR,
      reason: 'PROCESSING_ERROR',
    });
  const reservedAt = at + Math.floor(decisionMs / 2);
  switch (fate) {
    case 'PENDING':
      break;
    case 'CONFIRMED':
      confirm(reservedAt, decided);
      break;
    case 'PREPARING':
    case 'SHIPPED':
    case 'DELIVERED':
      confirm(reservedAt, decided);
      move('PREPARING', decided + 2 * HOUR);
      if (fate !== 'PREPARING') move('SHIPPED', decided + 20 * HOUR);
      if (fate === 'DELIVERED') move('DELIVERED', decided + 50 * HOUR);
      break;
    case 'OUT_OF_STOCK':
    case 'PRODUCT_UNAVAILABLE':
    case 'PROCESSING_ERROR':
      fail(fate);
      break;
    case 'CANCELLED_FROM_PENDING':
      // The next day: a cancellation on Tuesday of Monday's order changes Monday.
      move('CANCELLED', at + 25 * HOUR, owner);
      break;
    case 'CANCELLED_FROM_CONFIRMED':
      confirm(reservedAt, decided);
      move('CANCELLED', decided + 26 * HOUR, owner);
      break;
    case 'CANCELLED_FROM_PREPARING':
      confirm(reservedAt, decided);
      move('PREPARING', decided + 2 * HOUR);
      move('CANCELLED', decided + 30 * HOUR);
      break;
    case 'REOPENED_CONFIRMED':
      fail('PROCESSING_ERROR');
      reopen();
      confirm(decided + HOUR + 1000, decided + HOUR + 2000);
      break;
    case 'REOPENED_PENDING':
      fail('PROCESSING_ERROR');
      reopen();
      break;
  }
  return steps;
}

export interface OrderPlan {
  at: number;
  fate: Fate;
  decisionMs: number;
  lines?: Array<{ product: FixtureProduct; quantity: number }>;
  priority?: 'VIP' | 'REGULAR';
}

export class OrderFactory {
  private count = 0;
  private readonly random: () => number;
  private readonly owners: string[];

  constructor(seed: number) {
    this.random = seeded(seed);
    this.owners = Array.from({ length: 12 }, (_, i) =>
      new ObjectId(`b00000000000000000000${i.toString(16).padStart(3, '0')}`).toHexString(),
    );
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.random() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** An order as the product stores it, with its history; `updatedAt` is its last change. */
  order(plan: OrderPlan): StoredOrder {
    const n = ++this.count;
    const owner = this.pick(this.owners);
    const lines = plan.lines ?? this.someLines();
    const currency = lines[0]?.product.currency ?? 'EUR';
    const items = lines.map(({ product, quantity }) => ({
      productId: product.id,
      name: product.lineName,
      unitPrice: product.price,
      quantity,
      lineTotal: product.price * quantity,
    }));
    const steps = stepsOf(plan.fate, plan.at, plan.decisionMs, owner);
    const last = steps[steps.length - 1];
    if (!last) throw new Error('no history');
    const decision = steps.findLast((s) => s.event === 'CONFIRMED' || s.event === 'FAILED');
    const status = last.status;
    const cancelledFrom = status === 'CANCELLED' ? (steps[steps.length - 2]?.status ?? null) : null;
    return {
      _id: new ObjectId(),
      orderNumber: `ORD-${new Date(plan.at).getUTCFullYear()}-${900_000 + n}`,
      userId: owner,
      items,
      total: items.reduce((sum, line) => sum + line.lineTotal, 0),
      currency,
      priority: plan.priority ?? (this.random() < 0.3 ? 'VIP' : 'REGULAR'),
      status,
      failureReason:
        status === 'FAILED' ? ((last.reason as FailureReason | undefined) ?? null) : null,
      attempts: decision ? 1 : 0,
      lastError: null,
      decidedAt:
        decision && status !== 'PENDING' && cancelledFrom !== 'PENDING'
          ? new Date(decision.at)
          : null,
      cancelledFrom,
      stockReturned: status === 'CANCELLED' ? true : null,
      history: steps.map((s, i) => ({ seq: i + 1, ...s, at: new Date(s.at) })),
      createdAt: new Date(plan.at),
      updatedAt: new Date(last.at),
    };
  }

  randomOrder(from: number, to: number): StoredOrder {
    return this.order({
      at: from + Math.floor(this.random() * (to - from)),
      fate: this.pick(FATES),
      decisionMs: Math.floor(10 ** (this.random() * 8)) - 1,
    });
  }

  private someLines(): Array<{ product: FixtureProduct; quantity: number }> {
    const currency = this.pick(['EUR', 'EUR', 'USD', 'USD', 'GBP']);
    const choices = PRODUCTS.filter((p) => p.currency === currency);
    const lines: Array<{ product: FixtureProduct; quantity: number }> = [];
    const count = 1 + Math.floor(this.random() * 3);
    for (let i = 0; i < count; i++) {
      const product = this.pick(choices);
      if (!lines.some((l) => l.product === product))
        lines.push({ product, quantity: 1 + Math.floor(this.random() * 5) });
    }
    return lines;
  }
}

/** The instants where a zone's offset changes in `year`: at a whole UTC hour in every zone used here. */
export function offsetChanges(tz: string, year: number): number[] {
  const changes: number[] = [];
  const end = Date.UTC(year + 1, 0, 1);
  for (let t = Date.UTC(year, 0, 1) + HOUR; t < end; t += HOUR) {
    if (localTime(t, tz).offset === localTime(t - HOUR, tz).offset) continue;
    if (localTime(t - 1, tz).offset === localTime(t, tz).offset)
      throw new Error(
        `${tz}: the offset does not change at a whole hour near ${new Date(t).toISOString()}`,
      );
    changes.push(t);
  }
  return changes;
}

/** Local midnights (and the millisecond before) around 2026's DST changes and month ends. */
export const EDGE_DATES = [
  '2026-02-28',
  '2026-03-01',
  '2026-03-08',
  '2026-03-09',
  '2026-03-29',
  '2026-03-30',
  '2026-04-01',
  '2026-10-25',
  '2026-10-26',
  '2026-11-01',
  '2026-11-02',
];

export function edgeInstants(): number[] {
  const instants: number[] = [];
  for (const tz of ZONES)
    for (const date of EDGE_DATES) instants.push(dayStart(date, tz), dayStart(date, tz) - 1);
  for (const tz of ['Europe/Berlin', 'America/New_York'])
    for (const t of offsetChanges(tz, 2026))
      // Either side of the change; after a fall-back ±30 minutes are the same wall-clock time.
      instants.push(t - 1, t, t - 30 * MINUTE, t + 30 * MINUTE, t + 30 * MINUTE + 1);
  return instants;
}

export function seedOrders(factory: OrderFactory): StoredOrder[] {
  const orders = edgeInstants().map((at, i) =>
    factory.order({
      at,
      fate: FATES[i % FATES.length] ?? 'CONFIRMED',
      decisionMs: DECISION_MS[i % DECISION_MS.length] ?? 0,
    }),
  );
  for (let i = 0; i < 240; i++)
    orders.push(factory.randomOrder(Date.UTC(2026, 0, 1), Date.UTC(2026, 10, 20)));
  // The tie: equal units of two products in one day, the larger id inserted first.
  for (const [i, product] of TIED.entries())
    orders.push(
      factory.order({
        at: Date.UTC(2026, 5, 15, 10, i * 5),
        fate: 'DELIVERED',
        decisionMs: 350,
        lines: [{ product, quantity: 4 }],
      }),
    );
  return orders;
}

export function catalogDocument(
  p: FixtureProduct & { catalogName: string },
): Product & { _id: ObjectId } {
  const at = new Date(Date.UTC(2025, 11, 1));
  return {
    _id: new ObjectId(p.id),
    name: p.catalogName,
    description: 'in the catalog for the report tests',
    price: p.price,
    currency: p.currency,
    active: true,
    available: 100,
    reserved: 0,
    sold: 0,
    received: 100,
    version: 0,
    holds: [],
    returns: [],
    createdAt: at,
    updatedAt: at,
  };
}

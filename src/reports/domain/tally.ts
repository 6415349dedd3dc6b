/**
 * What the reports count, per set of orders: figures that add up across sets (and subtract), so an
 * hour's tally is the sum of its quarters' and a range's the signed sum of its blocks (blocks.ts).
 * An order counts where it was accepted, with its current state (docs/REPORTS.md, What is counted).
 */
import type { FailureReason, OrderStatus, PriorityLabel } from '../../order/domain/order-state.js';
import { SOLD_STATUSES } from '../../order/domain/order-state.js';
import type { HistoryEvent } from '../../order/domain/history.js';
import { addDecision, percentile } from './decision-histogram.js';
import type { DecisionHistogram } from './decision-histogram.js';

/** An order as the reports read it (a projection of the stored order). */
export interface ReportedOrder {
  createdAt: Date;
  status: OrderStatus;
  failureReason?: FailureReason | null;
  cancelledFrom?: OrderStatus | null;
  priority: PriorityLabel;
  currency: string;
  total: number;
  items: Array<{ productId: string; name: string; quantity: number; lineTotal: number }>;
  history: Array<{ event: HistoryEvent; at: Date }>;
}

/** The projection that reads a ReportedOrder. */
export const REPORTED_FIELDS = {
  createdAt: 1,
  status: 1,
  failureReason: 1,
  cancelledFrom: 1,
  priority: 1,
  currency: 1,
  total: 1,
  'items.productId': 1,
  'items.name': 1,
  'items.quantity': 1,
  'items.lineTotal': 1,
  'history.event': 1,
  'history.at': 1,
} as const;

interface Served {
  orders: number;
  confirmed: number;
}

export interface Tally {
  orders: number;
  byStatus: Record<string, number>;
  byFailureReason: Record<string, number>;
  /** Cancelled orders by the status they left. */
  cancelledFrom: Record<string, number>;
  /** Kept orders (sold, not cancelled) per currency: how many, and their totals in minor units. */
  kept: Record<string, { orders: number; amount: number }>;
  /** Orders whose history has a confirmation (they got their stock). */
  confirmed: number;
  vip: Served;
  regular: Served;
  decisionMs: DecisionHistogram;
}

/** Units and line totals of kept orders, per product. */
export type ProductTally = Record<
  string,
  { name: string; units: number; revenue: Record<string, number> }
>;

export function emptyTally(): Tally {
  return {
    orders: 0,
    byStatus: {},
    byFailureReason: {},
    cancelledFrom: {},
    kept: {},
    confirmed: 0,
    vip: { orders: 0, confirmed: 0 },
    regular: { orders: 0, confirmed: 0 },
    decisionMs: {},
  };
}

const bump = (counts: Record<string, number>, key: string, by = 1) => {
  const value = (counts[key] ?? 0) + by;
  if (value === 0) delete counts[key];
  else counts[key] = value;
};

const isKept = (status: OrderStatus) => (SOLD_STATUSES as readonly string[]).includes(status);

/** Acceptance to the first decision, for an order decided at least once. */
export function decisionTime(order: ReportedOrder): number | undefined {
  const accepted = order.history.find((entry) => entry.event === 'ACCEPTED')?.at ?? order.createdAt;
  const decided = order.history.find(
    (entry) => entry.event === 'CONFIRMED' || entry.event === 'FAILED',
  );
  return decided ? Math.max(0, decided.at.getTime() - accepted.getTime()) : undefined;
}

export function addOrder(tally: Tally, order: ReportedOrder): void {
  tally.orders += 1;
  bump(tally.byStatus, order.status);
  if (order.status === 'FAILED' && order.failureReason)
    bump(tally.byFailureReason, order.failureReason);
  if (order.status === 'CANCELLED' && order.cancelledFrom)
    bump(tally.cancelledFrom, order.cancelledFrom);
  if (isKept(order.status)) {
    const kept = (tally.kept[order.currency] ??= { orders: 0, amount: 0 });
    kept.orders += 1;
    kept.amount += order.total;
  }
  const confirmed = order.history.some((entry) => entry.event === 'CONFIRMED') ? 1 : 0;
  tally.confirmed += confirmed;
  const served = order.priority === 'VIP' ? tally.vip : tally.regular;
  served.orders += 1;
  served.confirmed += confirmed;
  const ms = decisionTime(order);
  if (ms !== undefined) addDecision(tally.decisionMs, ms);
}

/** Adds `other` to `into` (sign 1) or takes it away (sign -1). */
export function addTally(into: Tally, other: Tally, sign: 1 | -1 = 1): void {
  into.orders += sign * other.orders;
  into.confirmed += sign * other.confirmed;
  for (const key of ['byStatus', 'byFailureReason', 'cancelledFrom', 'decisionMs'] as const)
    for (const [name, n] of Object.entries(other[key])) bump(into[key], name, sign * n);
  for (const [currency, kept] of Object.entries(other.kept)) {
    const target = (into.kept[currency] ??= { orders: 0, amount: 0 });
    target.orders += sign * kept.orders;
    target.amount += sign * kept.amount;
    if (target.orders === 0 && target.amount === 0) delete into.kept[currency];
  }
  for (const group of ['vip', 'regular'] as const) {
    into[group].orders += sign * other[group].orders;
    into[group].confirmed += sign * other[group].confirmed;
  }
}

export function addOrderProducts(products: ProductTally, order: ReportedOrder): void {
  if (!isKept(order.status)) return;
  for (const line of order.items) {
    const product = (products[line.productId] ??= { name: line.name, units: 0, revenue: {} });
    product.name = line.name;
    product.units += line.quantity;
    bump(product.revenue, order.currency, line.lineTotal);
  }
}

export function addProducts(into: ProductTally, other: ProductTally, sign: 1 | -1 = 1): void {
  for (const [productId, product] of Object.entries(other)) {
    const target = (into[productId] ??= { name: product.name, units: 0, revenue: {} });
    target.units += sign * product.units;
    for (const [currency, amount] of Object.entries(product.revenue))
      bump(target.revenue, currency, sign * amount);
    if (target.units === 0 && Object.keys(target.revenue).length === 0) delete into[productId];
  }
}

export interface Money {
  currency: string;
  amount: number;
}

const money = (amounts: Record<string, number>): Money[] =>
  Object.entries(amounts)
    .filter(([, amount]) => amount !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, amount]) => ({ currency, amount }));

const rate = (served: Served) =>
  served.orders === 0 ? null : Math.round((served.confirmed / served.orders) * 10_000) / 10_000;

export function revenueOf(tally: Tally): Money[] {
  return money(Object.fromEntries(Object.entries(tally.kept).map(([c, k]) => [c, k.amount])));
}

/** The summary route's figures (docs/REPORTS.md). */
export function summaryOf(tally: Tally) {
  return {
    orders: {
      total: tally.orders,
      byStatus: { ...tally.byStatus },
      byFailureReason: { ...tally.byFailureReason },
    },
    revenue: revenueOf(tally),
    averageOrderValue: money(
      Object.fromEntries(
        Object.entries(tally.kept)
          .filter(([, kept]) => kept.orders > 0)
          .map(([currency, kept]) => [currency, Math.round(kept.amount / kept.orders)]),
      ),
    ),
    vip: { ...tally.vip, rate: rate(tally.vip) },
    regular: { ...tally.regular, rate: rate(tally.regular) },
    cancellations: {
      total: tally.byStatus.CANCELLED ?? 0,
      byPreviousStatus: { ...tally.cancelledFrom },
    },
    decisionMs: {
      p50: percentile(tally.decisionMs, 0.5),
      p95: percentile(tally.decisionMs, 0.95),
      count: Object.values(tally.decisionMs).reduce((sum, n) => sum + n, 0),
    },
  };
}

export type Summary = ReturnType<typeof summaryOf>;

/** Products by units sold, most first, ties by id. */
export function topProducts(products: ProductTally, limit: number) {
  return Object.entries(products)
    .filter(([, product]) => product.units > 0)
    .sort(([a, x], [b, y]) => y.units - x.units || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit)
    .map(([productId, product]) => ({
      productId,
      name: product.name,
      units: product.units,
      revenue: money(product.revenue),
    }));
}

export { money };

/**
 * The sales reports of docs/REPORTS.md computed by brute force: every figure from every stored
 * order, nothing kept between calls, local days and hours from Intl (local-time.ts). It imports
 * nothing from src/reports; the one thing it takes from there is the precision of the decision
 * percentiles, passed in as `decisionBucketUpperMs`, since the contract defines that precision by
 * that function.
 */
import type { ObjectId } from 'mongodb';
import type { Order } from '../../src/order/order.schema.js';
import {
  bucketKey,
  bucketsOf,
  dayStart,
  isoWithOffset,
  localTime,
  nextDate,
} from './local-time.js';

/** An order as MongoDB holds it. */
export type StoredOrder = Order & { _id: ObjectId };

export interface ReportQuery {
  from: string;
  to: string;
  tz: string;
}

export interface Money {
  currency: string;
  amount: number;
}

export interface ReportRange {
  from: string;
  to: string;
  tz: string;
  start: string;
  end: string;
}

export interface Summary {
  range: ReportRange;
  orders: {
    total: number;
    byStatus: Record<string, number>;
    byFailureReason: Record<string, number>;
  };
  revenue: Money[];
  averageOrderValue: Money[];
  vip: PriorityFigures;
  regular: PriorityFigures;
  cancellations: { total: number; byPreviousStatus: Record<string, number> };
  decisionMs: { p50: number | null; p95: number | null; count: number };
}

export interface PriorityFigures {
  orders: number;
  confirmed: number;
  rate: number | null;
}

export interface SeriesItem {
  start: string;
  orders: number;
  confirmed: number;
  revenue: Money[];
}

export interface Series {
  range: ReportRange;
  interval: 'day' | 'hour';
  items: SeriesItem[];
}

export interface TopProduct {
  productId: string;
  name: string;
  units: number;
  revenue: Money[];
}

export interface TopProducts {
  range: ReportRange;
  items: TopProduct[];
}

/** What the contract calls kept: the orders whose revenue counts. */
const KEPT = new Set(['CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED']);

export function isKept(order: StoredOrder): boolean {
  return KEPT.has(order.status);
}

/** Got its stock once: the history has a CONFIRMED entry, whatever happened since. */
export function wasConfirmed(order: StoredOrder): boolean {
  return order.history.some((e) => e.event === 'CONFIRMED');
}

/** Milliseconds from acceptance to the first decision (CONFIRMED or FAILED), if there was one. */
export function decisionTime(order: StoredOrder): number | undefined {
  const accepted = order.history.find((e) => e.event === 'ACCEPTED');
  const decided = order.history.find((e) => e.event === 'CONFIRMED' || e.event === 'FAILED');
  if (!accepted || !decided) return undefined;
  return decided.at.getTime() - accepted.at.getTime();
}

function acceptedAt(order: StoredOrder): number {
  const accepted = order.history.find((e) => e.event === 'ACCEPTED');
  if (accepted?.at.getTime() !== order.createdAt.getTime())
    throw new Error(`order ${order._id.toHexString()}: createdAt is not its ACCEPTED entry`);
  return order.createdAt.getTime();
}

export function inRange(order: StoredOrder, q: ReportQuery): boolean {
  const date = localTime(acceptedAt(order), q.tz).date;
  return date >= q.from && date <= q.to;
}

export function rangeOf(q: ReportQuery): ReportRange {
  return {
    ...q,
    start: isoWithOffset(dayStart(q.from, q.tz), q.tz),
    end: isoWithOffset(dayStart(nextDate(q.to), q.tz), q.tz),
  };
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[keyOf(item)] = (counts[keyOf(item)] ?? 0) + 1;
  return counts;
}

function money(amounts: Map<string, number>): Money[] {
  return [...amounts]
    .filter(([, amount]) => amount !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, amount]) => ({ currency, amount }));
}

function add(amounts: Map<string, number>, currency: string, amount: number): void {
  amounts.set(currency, (amounts.get(currency) ?? 0) + amount);
}

/** `numerator / denominator` rounded half up, on integers: no float on the way. */
function roundedQuotient(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
export function nearestRank(sorted: readonly number[], percent: number): number {
  const rank = Math.max(1, Math.floor((percent * sorted.length + 99) / 100));
  const value = sorted[rank - 1];
  if (value === undefined) throw new Error('nearest rank of an empty list');
  return value;
}

function priorityFigures(orders: readonly StoredOrder[]): PriorityFigures {
  const confirmed = orders.filter(wasConfirmed).length;
  return {
    orders: orders.length,
    confirmed,
    rate: orders.length === 0 ? null : roundedQuotient(confirmed * 10_000, orders.length) / 10_000,
  };
}

export function summaryOf(
  all: readonly StoredOrder[],
  q: ReportQuery,
  decisionBucketUpperMs: (ms: number) => number,
): Summary {
  const orders = all.filter((o) => inRange(o, q));
  const kept = orders.filter(isKept);
  const revenue = new Map<string, number>();
  for (const o of kept) add(revenue, o.currency, o.total);
  const keptCount = countBy(kept, (o) => o.currency);
  const cancelled = orders.filter((o) => o.status === 'CANCELLED');
  const decisions = orders
    .map(decisionTime)
    .filter((ms): ms is number => ms !== undefined)
    .sort((a, b) => a - b);
  const percentile = (p: number) =>
    decisions.length === 0 ? null : decisionBucketUpperMs(nearestRank(decisions, p));
  return {
    range: rangeOf(q),
    orders: {
      total: orders.length,
      byStatus: countBy(orders, (o) => o.status),
      byFailureReason: countBy(
        orders.filter((o) => o.status === 'FAILED'),
        (o) => String(o.failureReason),
      ),
    },
    revenue: money(revenue),
    averageOrderValue: money(
      new Map([...revenue].map(([c, amount]) => [c, roundedQuotient(amount, keptCount[c] ?? 1)])),
    ),
    vip: priorityFigures(orders.filter((o) => o.priority === 'VIP')),
    regular: priorityFigures(orders.filter((o) => o.priority === 'REGULAR')),
    cancellations: {
      total: cancelled.length,
      byPreviousStatus: countBy(cancelled, (o) => String(o.cancelledFrom)),
    },
    decisionMs: { p50: percentile(50), p95: percentile(95), count: decisions.length },
  };
}

/** A series, and for each of its items the ids of the orders in it (to say which order a wrong item holds). */
export function seriesOf(
  all: readonly StoredOrder[],
  q: ReportQuery,
  interval: 'day' | 'hour',
): { series: Series; witnesses: string[][] } {
  const buckets = bucketsOf(q.from, q.to, q.tz, interval);
  const tally = new Map(
    buckets.map((b) => [
      b.key,
      { orders: 0, confirmed: 0, revenue: new Map<string, number>(), ids: [] as string[] },
    ]),
  );
  for (const o of all.filter((order) => inRange(order, q))) {
    const key = bucketKey(acceptedAt(o), q.tz, interval);
    const t = tally.get(key);
    if (!t) throw new Error(`oracle: order ${o._id.toHexString()} is in no bucket (${key})`);
    t.orders++;
    if (wasConfirmed(o)) t.confirmed++;
    if (isKept(o)) add(t.revenue, o.currency, o.total);
    t.ids.push(o._id.toHexString());
  }
  const counted = buckets.map((b) => ({ b, t: tally.get(b.key) }));
  return {
    series: {
      range: rangeOf(q),
      interval,
      items: counted.map(({ b, t }) => ({
        start: isoWithOffset(b.start, q.tz),
        orders: t?.orders ?? 0,
        confirmed: t?.confirmed ?? 0,
        revenue: money(t?.revenue ?? new Map()),
      })),
    },
    witnesses: counted.map(({ t }) => t?.ids ?? []),
  };
}

/**
 * Products by units sold in kept orders, most first, ties by product id; named as the catalog names
 * them now (`catalog`: product id → name), or as their order lines do when the catalog has no such
 * product.
 */
export function topProductsOf(
  all: readonly StoredOrder[],
  q: ReportQuery,
  limit: number,
  catalog: ReadonlyMap<string, string>,
): TopProducts {
  const sold = new Map<
    string,
    { lineNames: Set<string>; units: number; revenue: Map<string, number> }
  >();
  for (const o of all.filter((order) => inRange(order, q) && isKept(order))) {
    for (const line of o.items) {
      const p = sold.get(line.productId) ?? {
        lineNames: new Set<string>(),
        units: 0,
        revenue: new Map<string, number>(),
      };
      p.lineNames.add(line.name);
      p.units += line.quantity;
      add(p.revenue, o.currency, line.lineTotal);
      sold.set(line.productId, p);
    }
  }
  const items = [...sold].map(([productId, p]): TopProduct => {
    const current = catalog.get(productId);
    if (current === undefined && p.lineNames.size !== 1)
      throw new Error(`oracle: product ${productId} is gone and its lines disagree on its name`);
    return {
      productId,
      name: current ?? [...p.lineNames][0] ?? '',
      units: p.units,
      revenue: money(p.revenue),
    };
  });
  items.sort((a, b) =>
    a.units !== b.units ? b.units - a.units : a.productId < b.productId ? -1 : 1,
  );
  return { range: rangeOf(q), items: items.slice(0, limit) };
}

/**
 * What the contract leaves open, made equal on both sides before comparing: zero counts may be
 * listed or left out, a currency with nothing may be listed with 0 (or null, for an average) or
 * left out, currencies may come in any order, and `range.start`/`end` are instants whatever
 * offset they are written with. `asOf` cannot be brute-forced and is checked apart.
 */
export function comparable(report: unknown): unknown {
  if (Array.isArray(report)) {
    const items = report.map(comparable);
    if (items.every(isMoney))
      return items
        .filter((m) => m.amount !== 0 && m.amount !== null)
        .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
    return items;
  }
  if (report === null || typeof report !== 'object') return report;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(report)) {
    if (key === 'asOf') continue;
    if (COUNT_MAPS.has(key) && value !== null && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value).filter(([, n]) => n !== 0));
    } else if (key === 'range' && value !== null && typeof value === 'object') {
      const range = { ...(value as Record<string, unknown>) };
      for (const edge of ['start', 'end'])
        if (typeof range[edge] === 'string') range[edge] = instant(range[edge]);
      out[key] = range;
    } else {
      out[key] = comparable(value);
    }
  }
  return out;
}

const COUNT_MAPS = new Set(['byStatus', 'byFailureReason', 'byPreviousStatus']);

function isMoney(value: unknown): value is { currency: string; amount: number | null } {
  return (
    value !== null &&
    typeof value === 'object' &&
    'currency' in value &&
    'amount' in value &&
    Object.keys(value).length === 2
  );
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant with its zone (Z or an offset) as the same instant in UTC; anything else as is. */
function instant(text: string): string {
  return ISO_INSTANT.test(text) ? new Date(text).toISOString() : `not an ISO instant: ${text}`;
}

export function isIsoInstant(value: unknown): boolean {
  return typeof value === 'string' && ISO_INSTANT.test(value);
}

/** Where two JSON values differ, one line per difference: `items[3].orders: expected 2, got 3`. */
export function differences(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: string[] = [];
    if (expected.length !== actual.length)
      out.push(`${path}.length: expected ${expected.length}, got ${actual.length}`);
    for (let i = 0; i < Math.min(expected.length, actual.length); i++)
      out.push(...differences(expected[i], actual[i], `${path}[${i}]`));
    return out;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    return keys.flatMap((k) => differences(expected[k], actual[k], path ? `${path}.${k}` : k));
  }
  return Object.is(expected, actual)
    ? []
    : [`${path || '(root)'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

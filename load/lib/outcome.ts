/** What happened to the orders of a run, read straight from MongoDB, and the invariant checks. */
import { ObjectId } from 'mongodb';
import { Check, round } from './report.js';
import type { Stack } from '../../tools/harness/stack.js';
import { settledProblems } from '../../tools/invariants.js';
import { SOLD_STATUSES } from '../../src/order/domain/order-state.js';

const objectIds = (ids: string[]) => ids.map((id) => new ObjectId(id));

export interface Outcome {
  orders: number;
  pending: number;
  confirmed: number;
  failed: Record<string, number>;
  vip: { orders: number; confirmed: number };
  regular: { orders: number; confirmed: number };
  confirmedUnits: Record<string, number>;
}

/** Shares of VIP and of regular orders that were confirmed. */
export function successRates(outcome: Outcome): { vip: number; regular: number } {
  return {
    vip: outcome.vip.orders ? outcome.vip.confirmed / outcome.vip.orders : 0,
    regular: outcome.regular.orders ? outcome.regular.confirmed / outcome.regular.orders : 0,
  };
}

/** The decisions of a run, as report figures. */
export function decisionFigures(outcome: Outcome) {
  const rates = successRates(outcome);
  return {
    confirmed: outcome.confirmed,
    failed: outcome.failed,
    pending: outcome.pending,
    vipSuccessRate: round(rates.vip, 3),
    regularSuccessRate: round(rates.regular, 3),
  };
}

/** The decisions of a run, as one report line. */
export function decisionLine(outcome: Outcome): string {
  const rates = successRates(outcome);
  return `- confirmed ${outcome.confirmed}, failed ${JSON.stringify(outcome.failed)}; VIP success ${round(rates.vip * 100)}%, regular ${round(rates.regular * 100)}%`;
}

export async function outcomeOf(stack: Stack, ids: string[]): Promise<Outcome> {
  const docs = await stack.orders
    .find(
      { _id: { $in: objectIds(ids) } },
      { projection: { status: 1, failureReason: 1, priority: 1, items: 1 } },
    )
    .toArray();
  const outcome: Outcome = {
    orders: docs.length,
    pending: 0,
    confirmed: 0,
    failed: {},
    vip: { orders: 0, confirmed: 0 },
    regular: { orders: 0, confirmed: 0 },
    confirmedUnits: {},
  };
  for (const order of docs) {
    const group = order.priority === 'VIP' ? outcome.vip : outcome.regular;
    group.orders++;
    if (order.status === 'PENDING') outcome.pending++;
    if (order.status === 'FAILED')
      outcome.failed[order.failureReason ?? 'UNKNOWN'] =
        (outcome.failed[order.failureReason ?? 'UNKNOWN'] ?? 0) + 1;
    if (order.status === 'CONFIRMED') {
      outcome.confirmed++;
      group.confirmed++;
      for (const item of order.items)
        outcome.confirmedUnits[item.productId] =
          (outcome.confirmedUnits[item.productId] ?? 0) + item.quantity;
    }
  }
  return outcome;
}

/**
 * Polls until the run is at rest: no order PENDING, no stock still held (a decided order commits
 * or releases its holds just after its decision) and no cancelled order whose stock is not back.
 * Returns how long that took, or undefined on timeout. Each probe asks only whether one such
 * document exists (the first found through the status index, the partial index of cancellations
 * returning stock, a handful of products), so watching a backlog of thousands of pending orders
 * does not slow the run down, as counting them every time would.
 */
export async function waitUntilDecided(
  stack: Stack,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    const busy = await Promise.all([
      stack.orders.findOne({ status: 'PENDING' }, { projection: { _id: 1 } }),
      stack.orders.findOne({ stockReturned: false }, { projection: { _id: 1 } }),
      stack.products.findOne({ 'holds.0': { $exists: true } }, { projection: { _id: 1 } }),
    ]).then(
      (found) => found.some((doc) => doc !== null),
      () => true,
    );
    if (!busy) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Stock accounting for each product: available + reserved + sold = received, no hold left,
 * nothing negative, and sold equals the units of all orders that bought them (CONFIRMED or in
 * fulfilment; cancelled ones gave theirs back) in the database (no change
 * applied twice, none lost). All orders count, not only those whose 202 the load generator saw: a
 * request cut off at the end of a timed run may still have been accepted and processed.
 */
export async function stockChecks(stack: Stack, productIds: string[]): Promise<Check[]> {
  const products = await stack.products.find({ _id: { $in: objectIds(productIds) } }).toArray();
  const confirmedUnits = new Map<string, number>();
  for await (const order of stack.orders.find(
    { status: { $in: [...SOLD_STATUSES] } },
    { projection: { items: 1 } },
  )) {
    for (const item of order.items)
      confirmedUnits.set(item.productId, (confirmedUnits.get(item.productId) ?? 0) + item.quantity);
  }
  const problems = products.flatMap((p) =>
    settledProblems(p, confirmedUnits.get(p._id.toString()) ?? 0).map(
      (problem) => `${p._id.toString()}: ${problem}`,
    ),
  );
  return [
    {
      name: 'stock conservation, nothing negative, nothing held, sold = confirmed units',
      ok: problems.length === 0 && products.length === productIds.length,
      detail: problems.length
        ? problems.slice(0, 5).join('; ')
        : `${products.length} product(s) exact`,
    },
  ];
}

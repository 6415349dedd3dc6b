/**
 * `npm run chaos:cancel-race`: the hot-product run while owners cancel a share of their orders at
 * random moments (before, during and after the worker's reservation) and worker processes are
 * SIGKILLed. Afterwards: stock conserved with nothing held and sold = the units of orders still
 * sold, every cancellation's stock back exactly once, no order PENDING, every history whole (1, 2,
 * 3… with times that never go back) and ending in the order's status, and every cancel answered
 * 200 or 409.
 */
import { ObjectId } from 'mongodb';
import { isGapFree } from '../../src/order/domain/history.js';
import { stockChecks, waitUntilDecided } from '../lib/outcome.js';
import { Check, RunResult, round } from '../lib/report.js';
import { Shopper, createProducts, createShoppers } from '../lib/shoppers.js';
import { Stack, startStack } from '../../tools/harness/stack.js';
import { FAST_RECOVERY, killWorkers, pause } from './chaos.js';
import { orderBurst } from './contention.js';

export interface CancelRaceOptions {
  shoppers: number;
  stock: number;
  connections: number;
  /** Share of the orders their owners try to cancel. */
  cancelShare: number;
  /** A cancel is sent this long at most after its order is seen stored (uniformly at random). */
  cancelWithinMs: number;
  workers: number;
  kills: number;
  killEveryMs: number;
  settleTimeoutMs: number;
}

export const CANCEL_RACE_DEFAULTS: CancelRaceOptions = {
  shoppers: 1000,
  stock: 100,
  connections: 100,
  cancelShare: 1 / 3,
  cancelWithinMs: 400,
  workers: 2,
  kills: 2,
  killEveryMs: 600,
  settleTimeoutMs: 120_000,
};

interface Cancels {
  tried: number;
  statuses: Record<string, number>;
}

/**
 * Watches the orders as they are stored and has their owners cancel about `share` of them, each
 * at a random moment within `withinMs`, until `done` resolves and every cancel was answered.
 */
async function cancelSome(
  stack: Stack,
  shoppers: Map<string, Shopper>,
  options: CancelRaceOptions,
  done: Promise<unknown>,
): Promise<Cancels> {
  const seen = new Set<string>();
  const answers: Array<Promise<void>> = [];
  const cancels: Cancels = { tried: 0, statuses: {} };
  let finished = false;
  void done.then(() => (finished = true));
  const cancel = async (orderId: string, cookie: string) => {
    await pause(Math.random() * options.cancelWithinMs);
    const res = await fetch(`${stack.apiUrl}/order/${orderId}/cancel`, {
      method: 'POST',
      headers: { cookie },
    }).catch(() => undefined);
    const status = String(res?.status ?? 'connection error');
    cancels.statuses[status] = (cancels.statuses[status] ?? 0) + 1;
  };
  for (let lastRound = false; !lastRound;) {
    lastRound = finished;
    const orders = await stack.orders.find({}, { projection: { _id: 1, userId: 1 } }).toArray();
    for (const order of orders) {
      const id = order._id.toString();
      if (seen.has(id)) continue;
      seen.add(id);
      const owner = shoppers.get(order.userId);
      if (!owner || Math.random() >= options.cancelShare) continue;
      cancels.tried++;
      answers.push(cancel(id, owner.cookie));
    }
    if (!lastRound) await pause(20);
  }
  await Promise.all(answers);
  return cancels;
}

export async function cancelRace(partial: Partial<CancelRaceOptions> = {}): Promise<RunResult> {
  const options = { ...CANCEL_RACE_DEFAULTS, ...partial };
  const stack = await startStack({
    label: 'cancel-race',
    workers: options.workers,
    env: FAST_RECOVERY,
  });
  try {
    const run = Date.now().toString(36);
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, 0.1, run);
    const [productId] = await createProducts(stack.apiUrl, [options.stock]);
    const kills = killWorkers(stack, options.kills, options.killEveryMs);
    const burst = orderBurst(stack.apiUrl, shoppers, () => [{ productId, quantity: 1 }], {
      connections: options.connections,
    });
    const cancels = await cancelSome(
      stack,
      new Map(shoppers.map((s) => [s.id, s])),
      options,
      Promise.all([burst, kills]),
    );
    const { acknowledged, statuses } = await burst;
    const killed = await kills;
    const settleMs = await waitUntilDecided(stack, options.settleTimeoutMs);

    const orders = await stack.orders.find({}).toArray();
    const byStatus: Record<string, number> = {};
    const cancelledFrom: Record<string, number> = {};
    const brokenHistories: string[] = [];
    for (const order of orders) {
      byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
      if (order.status === 'CANCELLED')
        cancelledFrom[order.cancelledFrom ?? 'unknown'] =
          (cancelledFrom[order.cancelledFrom ?? 'unknown'] ?? 0) + 1;
      const history = order.history ?? [];
      if (!isGapFree(history) || history[history.length - 1]?.status !== order.status)
        brokenHistories.push(
          `${order._id.toString()} ${order.status} [${history.map((e) => `${e.seq} ${e.event} ${e.at.toISOString()}`).join(', ')}]`,
        );
    }
    const stored = new Set(orders.map((o) => o._id.toString()));
    const lost = acknowledged.filter((id) => !stored.has(new ObjectId(id).toString()));
    const unreturned = orders.filter((o) => o.status === 'CANCELLED' && o.stockReturned !== true);
    const cancelAnswers = Object.keys(cancels.statuses);
    const checks: Check[] = [
      {
        name: 'every order acknowledged (202) and stored',
        ok: acknowledged.length === options.shoppers && lost.length === 0,
        detail: `${acknowledged.length} of ${options.shoppers}, statuses ${JSON.stringify(statuses)}; ${lost.length} lost`,
      },
      {
        name: 'settled: nothing PENDING, nothing held, every cancellation returned',
        ok: settleMs !== undefined && (byStatus.PENDING ?? 0) === 0 && unreturned.length === 0,
        detail: `${settleMs === undefined ? 'timed out' : `${settleMs} ms after the load`}; ${unreturned.length} cancellation(s) not returned`,
      },
      ...(await stockChecks(stack, [productId])),
      {
        name: 'every cancel answered 200 (cancelled) or 409 (decided as FAILED first)',
        ok: cancelAnswers.every((s) => s === '200' || s === '409'),
        detail: JSON.stringify(cancels.statuses),
      },
      {
        name: 'the cancels answered 200 are exactly the CANCELLED orders',
        ok: (cancels.statuses['200'] ?? 0) === (byStatus.CANCELLED ?? 0),
        detail: `${cancels.statuses['200'] ?? 0} answered 200, ${byStatus.CANCELLED ?? 0} CANCELLED`,
      },
      {
        name: 'every history whole and ending in the order status',
        ok: brokenHistories.length === 0,
        detail: brokenHistories.length
          ? `broken: ${brokenHistories.slice(0, 3).join(', ')}`
          : `${orders.length} histories`,
      },
      { name: 'workers were killed', ok: killed === options.kills, detail: `${killed} SIGKILLs` },
    ];
    return {
      figures: {
        ...options,
        cancelShare: round(options.cancelShare, 3),
        accepted: acknowledged.length,
        byStatus,
        cancelsTried: cancels.tried,
        cancelAnswers: cancels.statuses,
        cancelledFrom,
        settleAfterLoadMs: settleMs,
      },
      checks,
      lines: [
        `Drill: ${options.shoppers} one-unit orders for ${options.stock} units; owners cancel about ${round(options.cancelShare * 100)}% of them, each within ${options.cancelWithinMs} ms of its order being stored; ${options.kills} SIGKILLs of a worker process, ${options.killEveryMs} ms apart, each replaced.`,
        '',
        `- orders by status: ${JSON.stringify(byStatus)}`,
        `- cancels tried ${cancels.tried}, answered ${JSON.stringify(cancels.statuses)}; cancelled from ${JSON.stringify(cancelledFrom)}`,
        `- settled ${settleMs ?? 'never'} ms after the load; ${killed} workers killed`,
      ],
    };
  } finally {
    await stack.stop();
  }
}

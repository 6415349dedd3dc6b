/**
 * A hot product: N shoppers (10% VIP), each signed in beforehand, each order 1 unit of a product
 * with S units, all as fast as autocannon can send. Checks that exactly S units are sold, nothing
 * goes negative, nothing stays PENDING, and VIPs succeed more often than regular shoppers.
 */
import autocannon from 'autocannon';
import {
  Outcome,
  decisionFigures,
  decisionLine,
  outcomeOf,
  stockChecks,
  successRates,
  waitUntilDecided,
} from '../lib/outcome.js';
import { coresUsed, describeCores, sampleCpu } from '../lib/cpu.js';
import { LoadRequest, warmBurst } from '../lib/http-load.js';
import { Check, RunResult, round } from '../lib/report.js';
import { Shopper, createProducts, createShoppers } from '../lib/shoppers.js';
import { Stack, StackOptions, startStack } from '../../tools/harness/stack.js';
import { BASELINE_DEFAULTS, measureCeilings, trivialBurstLatency } from './baseline.js';

export interface ContentionOptions {
  shoppers: number;
  stock: number;
  vipShare: number;
  connections: number;
  workers: number;
  settleTimeoutMs: number;
  /** Measure the ceilings in the same run, for the ratios. */
  baseline: boolean;
  stack?: Partial<StackOptions>;
  /** Starts with the load and runs as long as it likes (fault drills); settling is measured after it. */
  during?: (stack: Stack) => Promise<void>;
  /** Statuses a drill may see besides 202 (e.g. 503 while the database is down). */
  tolerated?: number[];
  /** Under faults, priority order is not promised; drills skip the VIP comparison. */
  checkPriority?: boolean;
  /** More checks on the live stack, run before it is stopped. */
  finalChecks?: (stack: Stack) => Check[];
}

export const CONTENTION_DEFAULTS: ContentionOptions = {
  shoppers: 1000,
  stock: 100,
  vipShare: 0.1,
  connections: 100,
  workers: 1,
  settleTimeoutMs: 120_000,
  baseline: true,
};

export interface OrderBurst {
  acknowledged: string[];
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  latency: { p50: number; p90: number; p99: number; max: number };
}

export interface BurstOptions {
  connections: number;
  /** Stop after this many requests (default: one per shopper)... */
  amount?: number;
  /** ...or after this many seconds. */
  seconds?: number;
}

/**
 * Shoppers place orders of `items(i)` in turn, as fast as the API takes them: for a number of
 * seconds with autocannon, or a counted burst over connections opened beforehand (see
 * load/lib/http-load.ts: a counted burst is short, and autocannon would count opening its
 * connections into a tenth of the latencies).
 */
export async function orderBurst(
  apiUrl: string,
  shoppers: Shopper[],
  items: (i: number) => Array<{ productId: string; quantity: number }>,
  options: BurstOptions,
): Promise<OrderBurst> {
  const connections = Math.min(options.connections, shoppers.length);
  const request = (i: number): LoadRequest => ({
    method: 'POST',
    path: '/order',
    headers: { 'content-type': 'application/json', cookie: shoppers[i % shoppers.length].cookie },
    body: JSON.stringify({ items: items(i) }),
  });
  if (!options.seconds) {
    const burst = await warmBurst(apiUrl, {
      connections,
      amount: options.amount ?? shoppers.length,
      request,
      keepBodies: true,
    });
    return {
      acknowledged: burst.bodies.map((body) => (JSON.parse(body) as { id: string }).id),
      statuses: burst.statuses,
      errors: burst.errors,
      seconds: burst.seconds,
      latency: burst.latency,
    };
  }
  const acknowledged: string[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  // autocannon reports its duration at its next one-second sample after the last answer: time
  // the run from the answers instead.
  const started = performance.now();
  let lastAnswer = started;
  const result = await autocannon({
    url: apiUrl,
    connections,
    duration: options.seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/order',
        setupRequest: (req) => {
          const { headers, body } = request(next++);
          return { ...req, headers, body };
        },
        onResponse: (status, body) => {
          lastAnswer = performance.now();
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === 202) acknowledged.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  });
  return {
    acknowledged,
    statuses,
    errors: result.errors + result.timeouts,
    seconds: (lastAnswer - started) / 1000,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

export interface BurstExpectations {
  /** Requests sent: one order of one unit each. */
  orders: number;
  stock: number;
  /** The run came to rest (waitUntilDecided) within its time. */
  settled: boolean;
  /** Statuses a drill may see besides 202 (e.g. 503 while the database is down). */
  tolerated?: number[];
  /** Under faults, priority order is not promised; drills skip the VIP comparison. */
  checkPriority?: boolean;
}

/**
 * The contention invariants of one burst on one product, read back from MongoDB once the run is at
 * rest: every request answered as expected, exactly the stock sold, every order decided, the
 * stock's accounts exact, VIP orders more successful than regular ones. Every order of the product
 * counts, also any whose 202 the load generator did not see.
 */
export async function checkBurst(
  stack: Stack,
  productId: string,
  burst: OrderBurst,
  expected: BurstExpectations,
): Promise<{ outcome: Outcome; checks: Check[] }> {
  const ids = (await stack.orders.distinct('_id', { 'items.productId': productId })).map((id) =>
    id.toString(),
  );
  const outcome = await outcomeOf(stack, ids);
  const stored = new Set(ids);
  const missing = burst.acknowledged.filter((id) => !stored.has(id)).length;
  const rates = successRates(outcome);
  const accepted = burst.acknowledged.length;
  const allowed = new Set([202, ...(expected.tolerated ?? [])]);
  const unexpected = Object.entries(burst.statuses).filter(
    ([status]) => !allowed.has(Number(status)),
  );
  const checks: Check[] = [
    {
      name: expected.tolerated
        ? `every request answered ${[...allowed].join(' or ')}`
        : 'every request acknowledged (202)',
      ok:
        unexpected.length === 0 &&
        burst.errors === 0 &&
        (expected.tolerated !== undefined || accepted === expected.orders),
      detail: `${accepted} of ${expected.orders} acknowledged, statuses ${JSON.stringify(burst.statuses)}, ${burst.errors} connection errors`,
    },
    {
      name: 'confirmed units = stock',
      ok: (outcome.confirmedUnits[productId] ?? 0) === Math.min(expected.stock, accepted),
      detail: `${outcome.confirmedUnits[productId] ?? 0} confirmed, stock ${expected.stock}`,
    },
    {
      name: 'every acknowledged order decided, none PENDING',
      ok: outcome.pending === 0 && expected.settled && missing === 0,
      detail: `${outcome.pending} pending; ${missing} of ${accepted} acknowledged orders missing; ${outcome.orders} orders stored`,
    },
    ...(await stockChecks(stack, [productId])),
    ...(expected.checkPriority === false
      ? []
      : [
          {
            name: 'VIP success rate above regular',
            ok: rates.vip > rates.regular,
            detail: `VIP ${round(rates.vip * 100)}% vs regular ${round(rates.regular * 100)}%`,
          },
        ]),
  ];
  return { outcome, checks };
}

export async function runContention(options: ContentionOptions): Promise<RunResult> {
  const stack = await startStack({
    label: 'contention',
    workers: options.workers,
    ...options.stack,
  });
  try {
    const ceilings = options.baseline ? await measureCeilings(stack, BASELINE_DEFAULTS) : undefined;
    const run = Date.now().toString(36);
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, options.vipShare, run);
    const [productId] = await createProducts(stack.apiUrl, [options.stock]);
    const trivialBurst = options.baseline
      ? await trivialBurstLatency(
          stack.apiUrl,
          shoppers[0].cookie,
          Math.min(options.connections, shoppers.length),
          options.shoppers,
        )
      : undefined;

    const faults = options.during?.(stack);
    const cpuBefore = sampleCpu(stack.pids());
    const burst = await orderBurst(stack.apiUrl, shoppers, () => [{ productId, quantity: 1 }], {
      connections: options.connections,
    });
    const loadEnded = Date.now();
    await faults;
    const settleMs = await waitUntilDecided(stack, options.settleTimeoutMs);
    const sinceLastRequestMs = settleMs === undefined ? undefined : Date.now() - loadEnded;
    const cores = coresUsed(cpuBefore, sampleCpu(stack.pids()));
    const { outcome, checks: burstChecks } = await checkBurst(stack, productId, burst, {
      orders: options.shoppers,
      stock: options.stock,
      settled: settleMs !== undefined,
      tolerated: options.tolerated,
      checkPriority: options.checkPriority,
    });
    const accepted = burst.acknowledged.length;

    const figures = {
      shoppers: options.shoppers,
      vipShoppers: shoppers.filter((s) => s.vip).length,
      stock: options.stock,
      connections: options.connections,
      workers: options.workers,
      mongo: stack.mongoDescription,
      redis: stack.redisDescription,
      accepted,
      ceilings,
      acceptedVsHttpCeiling: ceilings
        ? round(accepted / burst.seconds / ceilings.httpRequestsPerSecond, 3)
        : undefined,
      statuses: burst.statuses,
      errors: burst.errors,
      acceptedPerSecond: round(accepted / burst.seconds),
      latencyMs: burst.latency,
      trivialBurstLatencyMs: trivialBurst,
      p99VsTrivialBurst: trivialBurst ? round(burst.latency.p99 / trivialBurst.p99, 2) : undefined,
      settleAfterLastRequestMs: sinceLastRequestMs,
      coresUsed: cores,
      ...decisionFigures(outcome),
    };
    const checks: Check[] = [...burstChecks, ...(options.finalChecks?.(stack) ?? [])];
    const lines = [
      `${options.shoppers} shoppers (${figures.vipShoppers} VIP) order 1 unit each of a product with ${options.stock} units; ${options.connections} connections, ${options.workers} worker process(es).`,
      '',
      `- accepted: ${accepted} orders in ${round(burst.seconds, 2)} s = **${figures.acceptedPerSecond} orders/s**${ceilings ? ` = ${round((figures.acceptedVsHttpCeiling ?? 0) * 100)}% of the trivial-route ceiling (${ceilings.httpRequestsPerSecond} req/s)` : ''}`,
      `- POST /order latency: p50 ${burst.latency.p50} ms, p90 ${burst.latency.p90} ms, p99 ${burst.latency.p99} ms, max ${burst.latency.max} ms${trivialBurst ? `; the trivial route answering the same burst (${options.shoppers} requests, ${options.connections} connections): p50 ${trivialBurst.p50} ms, p99 ${trivialBurst.p99} ms, so p99 **${figures.p99VsTrivialBurst}×** the trivial route's` : ''}`,
      `- every order decided and settled ${sinceLastRequestMs ?? 'NOT'} ms after the last request`,
      decisionLine(outcome),
      `- cores used from the first request until every order was decided: ${describeCores(cores)}`,
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    await stack.stop();
  }
}

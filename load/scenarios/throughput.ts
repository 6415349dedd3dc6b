/**
 * No contention: shoppers order 1 unit of one of many well-stocked products for a fixed time, as
 * fast as the API accepts them, while the workers confirm. Then the same at half that rate, to see
 * latency when the API is not saturated. Figures are read against the ceilings of the same run.
 */
import { outcomeOf, stockChecks, waitUntilDecided } from '../lib/outcome.js';
import { coresUsed, describeCores, sampleCpu } from '../lib/cpu.js';
import { Check, round, RunResult } from '../lib/report.js';
import { createProducts, createShoppers } from '../lib/shoppers.js';
import { startStack } from '../../tools/harness/stack.js';
import { BASELINE_DEFAULTS, Ceilings, measureCeilings } from './baseline.js';
import { pacedLoad } from '../lib/http-load.js';
import { orderBurst } from './contention.js';

export interface ThroughputOptions {
  seconds: number;
  shoppers: number;
  products: number;
  connections: number;
  workers: number;
  /** Measure the ceilings in the same run (the report's ratios need them). */
  baseline: boolean;
}

export const THROUGHPUT_DEFAULTS: ThroughputOptions = {
  seconds: 30,
  shoppers: 200,
  products: 100,
  connections: 50,
  workers: 1,
  baseline: true,
};

export async function runThroughput(options: ThroughputOptions): Promise<RunResult> {
  const stack = await startStack({ label: 'throughput', workers: options.workers });
  try {
    const ceilings: Ceilings | undefined = options.baseline
      ? await measureCeilings(stack, BASELINE_DEFAULTS)
      : undefined;
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, 0.1);
    const productIds = await createProducts(
      stack.apiUrl,
      Array.from({ length: options.products }, () => 1_000_000),
    );

    const decidedBefore = await stack.orders.countDocuments({ status: { $ne: 'PENDING' } });
    const cpuBefore = sampleCpu(stack.pids());
    const oneUnitOfNext = (i: number) => [
      { productId: productIds[i % productIds.length], quantity: 1 },
    ];
    const full = await orderBurst(stack.apiUrl, shoppers, oneUnitOfNext, {
      connections: options.connections,
      seconds: options.seconds,
    });
    const cores = coresUsed(cpuBefore, sampleCpu(stack.pids()));
    const decidedDuring =
      (await stack.orders.countDocuments({ status: { $ne: 'PENDING' } })) - decidedBefore;
    const acceptedPerSecond = full.acknowledged.length / full.seconds;
    const confirmationsPerSecond = decidedDuring / full.seconds;
    const drainMs = await waitUntilDecided(stack, 300_000);

    // Half that rate, paced evenly (open loop): the latency of a server that is not saturated.
    const halfRate = Math.max(1, Math.round(acceptedPerSecond / 2));
    const halfSeconds = Math.max(5, Math.round(options.seconds / 2));
    const half = await pacedLoad(stack.apiUrl, {
      rate: halfRate,
      seconds: halfSeconds,
      connections: options.connections,
      keepBodies: true,
      request: (i) => ({
        method: 'POST',
        path: '/order',
        headers: {
          'content-type': 'application/json',
          cookie: shoppers[i % shoppers.length].cookie,
        },
        body: JSON.stringify({ items: oneUnitOfNext(i) }),
      }),
    });
    const halfAcknowledged = half.bodies.map((body) => (JSON.parse(body) as { id: string }).id);
    await waitUntilDecided(stack, 300_000);
    // The trivial route paced the same way, for reference: what this machine allows at that rate.
    const trivialHalf = await pacedLoad(stack.apiUrl, {
      rate: halfRate,
      seconds: halfSeconds,
      connections: options.connections,
      request: () => ({
        method: 'GET',
        path: '/auth/session',
        headers: { cookie: shoppers[0].cookie },
      }),
    });
    const all = [...full.acknowledged, ...halfAcknowledged];
    const outcome = await outcomeOf(stack, all);

    const ratio = (value: number, ceiling: number | undefined) =>
      ceiling ? round(value / ceiling, 3) : undefined;
    const figures = {
      ...options,
      acceptedPerSecond: round(acceptedPerSecond),
      latencyMs: full.latency,
      confirmationsPerSecond: round(confirmationsPerSecond),
      drainAfterLoadMs: drainMs,
      halfRate,
      halfRateLatencyMs: half.latency,
      trivialRouteAtHalfRateLatencyMs: trivialHalf.latency,
      coresUsed: cores,
      ceilings,
      acceptedVsHttpCeiling: ratio(acceptedPerSecond, ceilings?.httpRequestsPerSecond),
      confirmationsVsNoopWorker: ratio(confirmationsPerSecond, ceilings?.noopJobsPerSecond),
      confirmed: outcome.confirmed,
      failed: outcome.failed,
    };
    const checks: Check[] = [
      {
        name: 'every request accepted (202)',
        // Requests still in flight when a timed phase ends are cut off by the generator, not refused.
        ok: [full, half].every((p) => Object.keys(p.statuses).every((status) => status === '202')),
        detail: `full speed ${JSON.stringify(full.statuses)}, half rate ${JSON.stringify(half.statuses)}; cut off at the end: ${full.errors + half.errors}`,
      },
      {
        name: 'every order confirmed (no contention)',
        ok: outcome.confirmed === all.length,
        detail: `${outcome.confirmed} of ${all.length}`,
      },
      ...(await stockChecks(stack, productIds)),
    ];
    const lines = [
      `${options.shoppers} shoppers order 1 unit of one of ${options.products} products for ${options.seconds} s, ${options.connections} connections, ${options.workers} worker process(es).`,
      '',
      `- accepted: **${figures.acceptedPerSecond} orders/s**${ceilings ? ` = ${round((figures.acceptedVsHttpCeiling ?? 0) * 100)}% of the trivial-route ceiling (${ceilings.httpRequestsPerSecond} req/s)` : ''}`,
      `- POST /order latency at full speed: p50 ${full.latency.p50} ms, p90 ${full.latency.p90} ms, p99 ${full.latency.p99} ms, max ${full.latency.max} ms`,
      `- at half that rate (${halfRate}/s, evenly paced for ${halfSeconds} s): p50 ${half.latency.p50} ms, p90 ${half.latency.p90} ms, **p99 ${half.latency.p99} ms** (the trivial route paced the same: p50 ${trivialHalf.latency.p50} ms, p99 ${trivialHalf.latency.p99} ms)`,
      `- worker decisions during the run: **${figures.confirmationsPerSecond} orders/s**${ceilings ? ` = ${round((figures.confirmationsVsNoopWorker ?? 0) * 100)}% of the no-op worker ceiling (${ceilings.noopJobsPerSecond} jobs/s)` : ''}; backlog drained ${drainMs} ms after the load`,
      `- cores used during the full-speed phase: ${describeCores(cores)}`,
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    await stack.stop();
  }
}

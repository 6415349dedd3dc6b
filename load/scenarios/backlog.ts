/**
 * A flash sale's backlog: N one-unit orders (10% VIP) are accepted while no worker runs, then one
 * worker process drains them. Its decisions per second are read against the ceiling measured in
 * the same run: a no-op BullMQ worker at the same concurrency on as many prioritized jobs.
 */
import {
  decisionFigures,
  decisionLine,
  outcomeOf,
  stockChecks,
  successRates,
  waitUntilDecided,
} from '../lib/outcome.js';
import { coresUsed, describeCores, sampleCpu } from '../lib/cpu.js';
import { Check, round, RunResult } from '../lib/report.js';
import { createProducts, createShoppers } from '../lib/shoppers.js';
import { orderQueueOf, startStack } from '../../tools/harness/stack.js';
import { noopWorkerCeiling } from './baseline.js';
import { orderBurst } from './contention.js';

export interface BacklogOptions {
  orders: number;
  shoppers: number;
  products: number;
  /** Units of each product; by default half the orders can be served. */
  stock: number;
  connections: number;
  /** WORKER_CONCURRENCY of the draining worker, and of the no-op worker it is compared with. */
  concurrency: number;
  /** Measure the no-op worker in the same run (the ratio needs it). */
  baseline: boolean;
}

export const BACKLOG_DEFAULTS: BacklogOptions = {
  orders: 20_000,
  shoppers: 500,
  products: 20,
  stock: 500,
  connections: 32,
  concurrency: 50,
  baseline: true,
};

export async function runBacklog(options: BacklogOptions): Promise<RunResult> {
  const stack = await startStack({
    label: 'backlog',
    workers: 0,
    env: { WORKER_CONCURRENCY: String(options.concurrency) },
  });
  const queue = orderQueueOf(stack);
  try {
    const noopJobsPerSecond = options.baseline
      ? await noopWorkerCeiling(stack.env.REDIS_URL, options.orders, options.concurrency)
      : undefined;
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, 0.1);
    const productIds = await createProducts(
      stack.apiUrl,
      Array.from({ length: options.products }, () => options.stock),
    );
    const burst = await orderBurst(
      stack.apiUrl,
      shoppers,
      // Each round of all shoppers (10% VIP) orders one product, so every product gets its share
      // of VIP orders.
      (i) => [
        { productId: productIds[Math.floor(i / shoppers.length) % productIds.length], quantity: 1 },
      ],
      { connections: options.connections, amount: options.orders },
    );

    // The queue stays closed until the worker is up, so the drain is timed from its first job.
    await queue.pause();
    await stack.startWorker();
    const cpuBefore = sampleCpu(stack.pids());
    const started = Date.now();
    await queue.resume();
    const drainMs = await waitUntilDecided(stack, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const cores = coresUsed(cpuBefore, sampleCpu(stack.pids()));

    const batch = await meanBatchSize(stack.workers[0]?.url, 'reservation');
    const outcome = await outcomeOf(stack, burst.acknowledged);
    const decisionsPerSecond = (outcome.orders - outcome.pending) / seconds;
    const rates = successRates(outcome);
    const vsNoop = noopJobsPerSecond ? round(decisionsPerSecond / noopJobsPerSecond, 3) : undefined;
    const figures = {
      ...options,
      accepted: burst.acknowledged.length,
      acceptedPerSecond: round(burst.acknowledged.length / burst.seconds),
      drainSeconds: round(seconds, 2),
      decisionsPerSecond: round(decisionsPerSecond),
      noopJobsPerSecond,
      decisionsVsNoopWorker: vsNoop,
      meanReservationBatch: batch,
      coresUsed: cores,
      ...decisionFigures(outcome),
    };
    const units = options.products * options.stock;
    const checks: Check[] = [
      {
        name: 'every order accepted (202) and decided',
        ok:
          burst.acknowledged.length === options.orders &&
          drainMs !== undefined &&
          outcome.pending === 0,
        detail: `${burst.acknowledged.length} accepted, ${outcome.pending} pending, statuses ${JSON.stringify(burst.statuses)}`,
      },
      {
        name: 'confirmed = the stock (or every order, when there is enough)',
        ok: outcome.confirmed === Math.min(units, options.orders),
        detail: `${outcome.confirmed} confirmed, ${units} units`,
      },
      {
        name: 'VIP orders first: every VIP order confirmed while regular ones sell out',
        ok: rates.vip === 1 || units >= options.orders,
        detail: `VIP ${round(rates.vip * 100)}%, regular ${round(rates.regular * 100)}%`,
      },
      ...(await stockChecks(stack, productIds)),
    ];
    const lines = [
      `${options.orders} one-unit orders (10% VIP) for ${options.products} products with ${options.stock} units each, accepted while no worker runs; then one worker process (concurrency ${options.concurrency}) drains them.`,
      '',
      `- drained in ${figures.drainSeconds} s: **${figures.decisionsPerSecond} decisions/s**${noopJobsPerSecond ? ` = ${round((vsNoop ?? 0) * 100)}% of the no-op BullMQ worker at the same concurrency on ${options.orders} prioritized jobs (${noopJobsPerSecond} jobs/s)` : ''}`,
      `- orders per reservation batch: ${batch ?? 'unknown'} on average`,
      decisionLine(outcome),
      `- cores used while draining: ${describeCores(cores)}`,
      `- accepting the backlog: ${figures.acceptedPerSecond} orders/s (${options.connections} connections)`,
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    await queue.close();
    await stack.stop();
  }
}

/** Mean size of the process's group-commit batches of `stage`, from its /metrics. */
export async function meanBatchSize(
  processUrl: string | undefined,
  stage: 'acceptance' | 'reservation',
): Promise<number | undefined> {
  if (!processUrl) return undefined;
  const text = await (await fetch(`${processUrl}/metrics`)).text();
  const value = (suffix: string) =>
    Number(
      new RegExp(`^group_commit_batch_size_${suffix}\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(
        text,
      )?.[1],
    );
  const mean = value('sum') / value('count');
  return Number.isFinite(mean) ? round(mean) : undefined;
}

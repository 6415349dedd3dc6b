/**
 * The ceilings of this machine in this run, for the other reports to be read against:
 *   - HTTP: requests/s of a trivial authenticated route of this app (GET /auth/session: the
 *     access cookie is verified, no database call), same process layout and connections;
 *   - queue: jobs/s of a no-op BullMQ worker on the same Redis, with the app's worker concurrency
 *     and prioritized jobs like the app's.
 */
import autocannon from 'autocannon';
import { Queue, Worker } from 'bullmq';
import { warmBurst } from '../lib/http-load.js';
import { round, RunResult } from '../lib/report.js';
import { createShoppers } from '../lib/shoppers.js';
import { Stack, startStack } from '../../tools/harness/stack.js';

export interface BaselineOptions {
  connections: number;
  seconds: number;
  jobs: number;
  concurrency: number;
}

export const BASELINE_DEFAULTS: BaselineOptions = {
  connections: 100,
  seconds: 10,
  jobs: 20_000,
  concurrency: 10,
};

export interface Ceilings {
  httpRequestsPerSecond: number;
  httpLatencyMs: { p50: number; p90: number; p99: number; max: number };
  noopJobsPerSecond: number;
}

export async function httpCeiling(
  stack: Stack,
  connections: number,
  seconds: number,
): Promise<Pick<Ceilings, 'httpRequestsPerSecond' | 'httpLatencyMs'>> {
  const [shopper] = await createShoppers(stack.apiUrl, 1, 0, `baseline${Date.now().toString(36)}`);
  const result = await autocannon({
    url: `${stack.apiUrl}/auth/session`,
    connections,
    duration: seconds,
    headers: { cookie: shopper.cookie },
  });
  if (result.non2xx > 0)
    throw new Error(`baseline route answered ${result.non2xx} non-2xx responses`);
  return {
    httpRequestsPerSecond: round(result.requests.total / result.duration),
    httpLatencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

/**
 * The trivial route answering a burst shaped like the order bursts (`amount` requests over
 * `connections` connections opened beforehand), for an order burst to be read against.
 */
export async function trivialBurstLatency(
  apiUrl: string,
  cookie: string,
  connections: number,
  amount: number,
): Promise<Ceilings['httpLatencyMs']> {
  const result = await warmBurst(apiUrl, {
    connections,
    amount,
    request: () => ({ method: 'GET', path: '/auth/session', headers: { cookie } }),
  });
  if (Object.keys(result.statuses).some((status) => status !== '200') || result.errors > 0)
    throw new Error(`baseline route answered ${JSON.stringify(result.statuses)}`);
  return result.latency;
}

export async function noopWorkerCeiling(
  redisUrl: string,
  jobs: number,
  concurrency: number,
): Promise<number> {
  const prefix = `noop${Date.now().toString(36)}`;
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const queue = new Queue('noop', { connection, prefix });
  try {
    for (let i = 0; i < jobs; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
          name: 'noop',
          data: { n: i + k },
          opts: {
            jobId: `j${i + k}`,
            priority: (i + k) % 10 === 0 ? 1 : 10,
            removeOnComplete: true,
          },
        })),
      );
    }
    let done = 0;
    const started = Date.now();
    const finished = new Promise<void>((resolve) => {
      const worker = new Worker('noop', () => Promise.resolve(), {
        connection,
        prefix,
        concurrency,
      });
      worker.on('completed', () => {
        if (++done === jobs) void worker.close().then(resolve);
      });
    });
    await finished;
    return round(jobs / ((Date.now() - started) / 1000));
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function measureCeilings(stack: Stack, options: BaselineOptions): Promise<Ceilings> {
  const http = await httpCeiling(stack, options.connections, options.seconds);
  const noopJobsPerSecond = await noopWorkerCeiling(
    stack.env.REDIS_URL,
    options.jobs,
    options.concurrency,
  );
  return { ...http, noopJobsPerSecond };
}

export async function runBaseline(options: BaselineOptions): Promise<RunResult> {
  const stack = await startStack({ label: 'baseline', workers: 0 });
  try {
    const ceilings = await measureCeilings(stack, options);
    return {
      figures: { ...options, ...ceilings },
      checks: [
        {
          name: 'ceilings measured',
          ok: ceilings.httpRequestsPerSecond > 0 && ceilings.noopJobsPerSecond > 0,
          detail: 'see figures',
        },
      ],
      lines: [
        `- trivial authenticated route GET /auth/session, ${options.connections} connections, ${options.seconds} s: **${ceilings.httpRequestsPerSecond} requests/s**, p50 ${ceilings.httpLatencyMs.p50} ms, p99 ${ceilings.httpLatencyMs.p99} ms`,
        `- no-op BullMQ worker, concurrency ${options.concurrency}, ${options.jobs} prioritized jobs: **${ceilings.noopJobsPerSecond} jobs/s**`,
        `- Redis: ${stack.redisDescription}`,
      ],
    };
  } finally {
    await stack.stop();
  }
}

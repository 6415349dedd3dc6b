/**
 * Where the cores go at a steady, unsaturated rate: orders and the trivial route paced evenly at
 * the same rate, each phase reporting its latency and the CPU every process spent per request.
 * A bare Node HTTP server (no framework, no database) paced the same way shows what this machine
 * charges for a request at that rate before the application does anything: on a virtualised,
 * shared machine a request that wakes idle processes costs several times what it costs when they
 * are busy, so CPU per request at a low rate is not CPU per request at full speed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { coresUsed, describeCores, sampleCpu } from '../lib/cpu.js';
import { LoadRequest, LoadResult, pacedLoad } from '../lib/http-load.js';
import { waitUntilDecided } from '../lib/outcome.js';
import { Check, round, RunResult } from '../lib/report.js';
import { createProducts, createShoppers } from '../lib/shoppers.js';
import { startStack } from '../../tools/harness/stack.js';

export interface PacedOptions {
  /** Requests per second in every phase. */
  rate: number;
  seconds: number;
  connections: number;
  workers: number;
}

export const PACED_DEFAULTS: PacedOptions = { rate: 490, seconds: 10, connections: 50, workers: 1 };

interface Phase {
  latencyMs: LoadResult['latency'];
  statuses: Record<string, number>;
  cores: Record<string, number>;
  /** CPU milliseconds per request, per process. */
  cpuMsPerRequest: Record<string, number>;
}

async function pacedPhase(
  url: string,
  options: PacedOptions,
  pids: Record<string, number | undefined>,
  request: (i: number) => LoadRequest,
): Promise<Phase> {
  const before = sampleCpu(pids);
  const result = await pacedLoad(url, { ...options, request });
  const cores = coresUsed(before, sampleCpu(pids));
  const cpuMsPerRequest = Object.fromEntries(
    Object.entries(cores).map(([name, used]) => [name, round((used * 1000) / options.rate, 2)]),
  );
  return { latencyMs: result.latency, statuses: result.statuses, cores, cpuMsPerRequest };
}

/** A bare Node HTTP server in its own process: answers every request with a small JSON body. */
async function bareServer(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const source = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); }); }).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    url: `http://127.0.0.1:${chunk.toString().trim()}`,
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export async function runPaced(options: PacedOptions): Promise<RunResult> {
  const bare = await bareServer();
  const bareLoad = await pacedPhase(
    bare.url,
    options,
    { server: bare.pid, 'load generator': process.pid },
    () => ({
      method: 'GET',
      path: '/',
      headers: {},
    }),
  );
  await bare.stop();

  const stack = await startStack({ label: 'paced', workers: options.workers });
  try {
    const shoppers = await createShoppers(stack.apiUrl, 200, 0.1);
    const productIds = await createProducts(
      stack.apiUrl,
      Array.from({ length: 100 }, () => 1_000_000),
    );
    const order = (i: number): LoadRequest => ({
      method: 'POST',
      path: '/order',
      headers: { 'content-type': 'application/json', cookie: shoppers[i % shoppers.length].cookie },
      body: JSON.stringify({
        items: [{ productId: productIds[i % productIds.length], quantity: 1 }],
      }),
    });
    const trivial = (): LoadRequest => ({
      method: 'GET',
      path: '/auth/session',
      headers: { cookie: shoppers[0].cookie },
    });
    // A first phase warms the processes (JIT, caches, connection pools) and is not reported.
    await pacedPhase(stack.apiUrl, options, stack.pids(), order);
    await waitUntilDecided(stack, 120_000);
    const trivialRoute = await pacedPhase(stack.apiUrl, options, stack.pids(), trivial);
    const orders = await pacedPhase(stack.apiUrl, options, stack.pids(), order);
    await waitUntilDecided(stack, 120_000);

    const figures = { ...options, bareServer: bareLoad, trivialRoute, orders };
    const checks: Check[] = [
      {
        name: 'every paced request answered 2xx',
        ok: [bareLoad, trivialRoute, orders].every((phase) =>
          Object.keys(phase.statuses).every((status) => status.startsWith('2')),
        ),
        detail: `bare ${JSON.stringify(bareLoad.statuses)}, trivial ${JSON.stringify(trivialRoute.statuses)}, orders ${JSON.stringify(orders.statuses)}`,
      },
    ];
    const line = (name: string, phase: Phase) =>
      `- ${name}: p50 ${phase.latencyMs.p50} ms, p99 ${phase.latencyMs.p99} ms; cores ${describeCores(phase.cores)}; CPU ms per request ${describeCores(phase.cpuMsPerRequest)}`;
    const lines = [
      `Each phase: ${options.rate} requests/s, evenly paced, for ${options.seconds} s over ${options.connections} connections; ${options.workers} worker process(es) in the stack.`,
      '',
      line('bare Node HTTP server', bareLoad),
      line('trivial route (GET /auth/session)', trivialRoute),
      line('POST /order', orders),
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    await stack.stop();
  }
}

/**
 * The roles as separate processes of the built app (`node dist/main.js`), as production runs them:
 * an API process that only accepts, worker processes that decide, and what signals and crashes do.
 */
import { Queue } from 'bullmq';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import mongoose, { Connection, Model } from 'mongoose';
import request from 'supertest';
import { ORDER_QUEUE } from '../src/order/order.queue.js';
import { Order, OrderSchema } from '../src/order/order.schema.js';
import { Product, ProductSchema } from '../src/stock/product.schema.js';
import { ADMIN, testEnv } from './support/app.js';
import { freePort, removeDeploymentKeys } from '../tools/harness/services.js';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { ROOT } from '../tools/harness/processes.js';
import { conservationProblems, settledStock } from './support/inventory.js';
import { waitFor } from '../tools/harness/wait.js';
import { redisKeyPrefix } from '../src/config/config.js';

describe('api and worker processes', () => {
  const env = testEnv('procs', {
    WORKER_CONCURRENCY: '4',
    // Short locks so a killed worker's jobs are redelivered within the test.
    ORDER_LOCK_DURATION_MS: '1500',
    ORDER_STALLED_INTERVAL_MS: '500',
    ORDER_MAX_STALLED_COUNT: '5',
    SHUTDOWN_TIMEOUT_MS: '15000',
  });
  const running: AppProcess[] = [];
  let api: AppProcess;
  let admin: request.Agent;
  let connection: Connection;
  let orders: Model<Order>;
  let products: Model<Product>;
  let queue: Queue;

  const start = async (extra: Record<string, string>) => {
    const proc = await startAppProcess({ ...env, ...extra });
    running.push(proc);
    return proc;
  };
  const startWorker = () => start({ APP_ROLE: 'worker' });

  beforeAll(async () => {
    api = await start({ APP_ROLE: 'api' });
    admin = request.agent(api.url);
    await admin.post('/auth/login').send(ADMIN).expect(200);
    connection = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    orders = connection.model<Order>(Order.name, OrderSchema);
    products = connection.model<Product>(Product.name, ProductSchema);
    queue = new Queue(ORDER_QUEUE, {
      connection: { url: env.REDIS_URL },
      prefix: redisKeyPrefix(env.QUEUE_PREFIX),
    });
  });

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop('SIGKILL')));
    await queue.close();
    await connection.dropDatabase();
    await connection.close();
    await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
  });

  async function product(quantity: number): Promise<string> {
    const res = await admin
      .post('/stock/products')
      .send({ name: 'Burst', price: 100, currency: 'USD', quantity })
      .expect(201);
    return (res.body as { id: string }).id;
  }

  async function shoppers(count: number): Promise<request.Agent[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const agent = request.agent(api.url);
        const email = `p${i}.${Date.now()}.${Math.random().toString(36).slice(2)}@shop.test`;
        await agent
          .post('/auth/register')
          .send({ email, password: 'shopper-password', name: 'P' })
          .expect(201);
        return agent;
      }),
    );
  }

  async function burst(productId: string, count: number): Promise<string[]> {
    const agents = await shoppers(Math.min(count, 20));
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        agents[i % agents.length]
          .post('/order')
          .send({ items: [{ productId, quantity: 1 }] })
          .expect(202),
      ),
    );
    return responses.map((r) => (r.body as { id: string }).id);
  }

  const decided = (ids: string[]) =>
    orders.countDocuments({ _id: { $in: ids }, status: { $ne: 'PENDING' } });
  const allDecided = (ids: string[]) =>
    waitFor(async () => (await decided(ids)) === ids.length, {
      timeoutMs: 45_000,
      what: `${ids.length} orders to be decided`,
    });

  async function expectExactStock(productId: string, ids: string[], initial: number) {
    const confirmed = await orders.countDocuments({ _id: { $in: ids }, status: 'CONFIRMED' });
    expect(confirmed).toBe(Math.min(initial, ids.length));
    expect(await settledStock(products, productId)).toMatchObject({
      sold: confirmed,
      reserved: 0,
      holds: 0,
      available: initial - confirmed,
    });
    expect(await conservationProblems(products, productId)).toEqual([]);
  }

  it('an api process only accepts; a separate worker process decides', async () => {
    const productId = await product(50);
    const ids = await burst(productId, 10);
    // Queued in the background after the 202s (once their new_order events are published).
    await waitFor(async () => (await queue.getJobCounts('prioritized')).prioritized === 10, {
      what: 'the ten orders to be queued',
    });
    const counts = await queue.getJobCounts('prioritized', 'active', 'completed');
    expect(counts).toMatchObject({ prioritized: 10, active: 0, completed: 0 });

    const worker = await startWorker();
    await allDecided(ids);
    await expectExactStock(productId, ids, 50);
    // The worker serves health and metrics on its own port, and no API route.
    await request(worker.url).get('/health').expect(200);
    const metrics = await request(worker.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/orders_confirmed_total\{vip="false"\} 10/);
    await request(worker.url).get('/stock/products-with-stock').expect(404);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('a worker stopped with SIGTERM mid-burst exits 0, and the next worker leaves no order pending', async () => {
    const productId = await product(40);
    const first = await startWorker();
    const ids = await burst(productId, 80);
    await waitFor(async () => (await decided(ids)) >= 5, {
      what: 'the first orders to be decided',
    });
    expect(await first.stop('SIGTERM')).toBe(0);
    await startWorker();
    await allDecided(ids);
    await expectExactStock(productId, ids, 40);
  });

  it('jobs of a worker killed with SIGKILL come back as stalled and change stock once', async () => {
    const productId = await product(30);
    const victim = await startWorker();
    const ids = await burst(productId, 80);
    await waitFor(async () => (await decided(ids)) >= 5, {
      what: 'the first orders to be decided',
    });
    await victim.stop('SIGKILL');
    await startWorker();
    await allDecided(ids);
    await expectExactStock(productId, ids, 30);
  });

  it('an api process stopped with SIGTERM exits 0 and loses no acknowledged order', async () => {
    const productId = await product(100);
    const doomed = await start({ APP_ROLE: 'api' });
    const agents = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const agent = request.agent(doomed.url);
        await agent
          .post('/auth/register')
          .send({
            email: `term${i}.${Date.now()}@shop.test`,
            password: 'shopper-password',
            name: 'T',
          })
          .expect(201);
        return agent;
      }),
    );
    const attempts = Array.from({ length: 40 }, (_, i) =>
      agents[i % agents.length]
        .post('/order')
        .send({ items: [{ productId, quantity: 1 }] })
        .then(
          (res) => ({ status: res.status, id: (res.body as { id?: string }).id }),
          () => ({ status: 0, id: undefined }),
        ),
    );
    const exit = doomed.stop('SIGTERM');
    const results = await Promise.all(attempts);
    expect(await exit).toBe(0);
    // Every request either completed (202) or was refused before it was accepted; none failed midway.
    expect(results.filter((r) => r.status !== 202 && r.status !== 0)).toEqual([]);
    const acknowledged = results.flatMap((r) => (r.status === 202 && r.id ? [r.id] : []));
    await startWorker();
    await allDecided(acknowledged);
    expect(await orders.countDocuments({ _id: { $in: acknowledged }, status: 'CONFIRMED' })).toBe(
      acknowledged.length,
    );
    expect(await conservationProblems(products, productId)).toEqual([]);
  });
});

/** The addresses listening on `port`, from the kernel's socket tables (Linux). */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue;
      const [address, hexPort] = local.split(':');
      if (Number.parseInt(hexPort, 16) !== port) continue;
      if (address.length === 8) {
        const bytes = address.match(/../g) ?? [];
        found.push(
          bytes
            .reverse()
            .map((b) => Number.parseInt(b, 16))
            .join('.'),
        );
      } else {
        found.push(/^0+$/.test(address) ? '::' : /^0+10000000$/i.test(address) ? '::1' : address);
      }
    }
  }
  return found.sort();
}

describe('listen address', () => {
  const env = testEnv('listen');
  afterAll(() => removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX));

  it('binds HOST only, and every interface without it (it used to listen everywhere whatever was set)', async () => {
    const loopback = await startAppProcess({ ...env, APP_ROLE: 'api', HOST: '127.0.0.1' });
    try {
      expect(listeningAddresses(Number(new URL(loopback.url).port))).toEqual(['127.0.0.1']);
    } finally {
      await loopback.stop();
    }
    const everywhere = await startAppProcess({ ...env, APP_ROLE: 'api' });
    try {
      expect(listeningAddresses(Number(new URL(everywhere.url).port))).toEqual(['::']);
    } finally {
      await everywhere.stop();
    }
  });

  it('binds the metrics listener to METRICS_HOST, or to HOST without it', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const withHost = await startAppProcess({
      ...env,
      APP_ROLE: 'api',
      HOST: '127.0.0.1',
      METRICS_PORT: String(first),
    });
    try {
      expect(listeningAddresses(first)).toEqual(['127.0.0.1']);
    } finally {
      await withHost.stop();
    }
    const ownHost = await startAppProcess({
      ...env,
      APP_ROLE: 'api',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(second),
    });
    try {
      expect(listeningAddresses(second)).toEqual(['127.0.0.1']);
      expect(listeningAddresses(Number(new URL(ownHost.url).port))).toEqual(['::']);
    } finally {
      await ownHost.stop();
    }
  });
});

describe('production secrets', () => {
  it('refuses to start with equal or guessable JWT secrets, naming the variable (it used to start)', () => {
    const strong = randomBytes(48).toString('base64url');
    const cases: Array<[Record<string, string>, string]> = [
      [
        { JWT_ACCESS_SECRET: strong, JWT_REFRESH_SECRET: strong },
        'Invalid configuration: JWT_REFRESH_SECRET must differ from JWT_ACCESS_SECRET',
      ],
      [
        { JWT_ACCESS_SECRET: 'x'.repeat(64), JWT_REFRESH_SECRET: strong },
        'Invalid configuration: JWT_ACCESS_SECRET looks guessable',
      ],
    ];
    for (const [secrets, refusal] of cases) {
      const env = testEnv('secrets', { NODE_ENV: 'production', BCRYPT_ROUNDS: '10', ...secrets });
      const app = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', ...env, APP_ROLE: 'api', PORT: '0' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(app.status).toBe(1);
      expect(app.stderr).toContain(refusal);
    }
  });
});

/**
 * The application on a real 3-master Redis Cluster (REDIS_CLUSTER=true): the order flow through
 * the API, a worker deciding, rate limits counted by one multi-key script, cache invalidations
 * over pub/sub, readiness. Keys carry the hash-tagged prefix, so each queue's keys share a slot.
 */
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Product } from '../src/stock/product.schema.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { conservationProblems, settledStock } from './support/inventory.js';
import { RedisCluster, startRedisCluster } from '../tools/harness/redis-cluster.js';
import {
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signInAdmin,
} from './support/shop.js';
import { waitFor } from '../tools/harness/wait.js';

describe('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let app: TestApp;
  let replica: TestApp;
  let admin: request.Agent;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const env = testEnv('cluster', {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      RATE_LIMIT_ORDERS: '6',
      CACHE_TTL_MS: '600000',
    });
    app = await createTestApp('cluster', { env });
    // A second API replica on the same cluster, for what must hold across processes.
    replica = await createTestApp('cluster', { env: { ...env, APP_ROLE: 'api' } });
    admin = await signInAdmin(replica);
  }, 60_000);

  afterAll(async () => {
    await replica?.app.close();
    await app?.close();
    await cluster?.stop();
  });

  it('accepts, queues and decides orders, VIP first, with exact stock', async () => {
    const product = await createProduct(admin, { quantity: 2 });
    const regular = await registerShopper(app);
    const vip = await registerShopper(app, { vip: true, admin });
    const line = [{ productId: product.id, quantity: 1 }];
    const placed = [
      await placeOrder(regular, line),
      await placeOrder(vip, line),
      await placeOrder(regular, line),
    ];
    expect(placed.map((o) => o.priority)).toEqual(['REGULAR', 'VIP', 'REGULAR']);
    const decided = await Promise.all(
      placed.map((o, i) => settledOrder(i === 1 ? vip : regular, o.id)),
    );
    expect(decided[1]).toMatchObject({ status: 'CONFIRMED' });
    expect(decided.filter((o) => o.status === 'CONFIRMED')).toHaveLength(2);
    const products = app.get<Model<Product>>(getModelToken(Product.name));
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 0,
      sold: 2,
      reserved: 0,
    });
    expect(await conservationProblems(products, product.id)).toEqual([]);
  });

  it('counts rate limits on the cluster, shared by replicas: the 7th order in the window is refused', async () => {
    const product = await createProduct(admin, { quantity: 100 });
    const shopper = await registerShopper(app);
    const login = await app
      .agent()
      .post('/auth/login')
      .send({ email: shopper.email, password: 'shopper-password' })
      .expect(200);
    const cookie = (login.headers['set-cookie'] as unknown as string[])
      .map((c) => c.split(';')[0])
      .join('; ');
    const order = (on: TestApp) =>
      on
        .agent()
        .post('/order')
        .set('Cookie', cookie)
        .send({ items: [{ productId: product.id, quantity: 1 }] });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await order(i % 2 ? replica : app)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 429]);
  });

  it('invalidates caches across replicas over pub/sub', async () => {
    const product = await createProduct(admin, { quantity: 10 });
    const shopper = await registerShopper(app);
    const order = () =>
      shopper.http.post('/order').send({ items: [{ productId: product.id, quantity: 1 }] });
    await order().expect(202); // this replica caches the catalog entry
    await admin.delete(`/stock/products/${product.id}`).expect(204);
    await waitFor(async () => (await order()).status === 400, {
      timeoutMs: 3000,
      what: 'the discontinued product to be refused on the other replica',
    });
  });

  it('reports ready: the cluster and the queues answer', async () => {
    const res = await app.agent().get('/health/ready').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: { redis: { status: 'up' }, queues: { status: 'up' } },
    });
  });
});

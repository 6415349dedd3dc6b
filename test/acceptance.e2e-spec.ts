/**
 * The API side of the hot path, against real MongoDB and Redis: orders that arrive together are
 * stored together, and the caches that keep reads off the order route stay coherent across
 * replicas (pub/sub invalidation, reset when the subscription drops, TTL as the last resort).
 */
import { getModelToken } from '@nestjs/mongoose';
import { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { CacheInvalidation } from '../src/common/cache-invalidation.js';
import { Metrics } from '../src/metrics/metrics.service.js';
import { Order } from '../src/order/order.schema.js';
import { Product } from '../src/stock/product.schema.js';
import {
  MongoCountingProxy,
  startMongoCountingProxy,
} from '../tools/counting-proxy/counting-proxy.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { mongoUriFor, uniqueDbName } from './support/test-env.js';
import { createProduct, placeOrder, registerShopper, signInAdmin } from './support/shop.js';
import { settledStock } from './support/inventory.js';
import { waitFor } from '../tools/harness/wait.js';

async function acceptanceBatches(app: TestApp): Promise<{ batches: number; orders: number }> {
  const metric = await app.get(Metrics).batchSize.get();
  const value = (suffix: string) =>
    metric.values.find(
      (v) => v.metricName === `group_commit_batch_size${suffix}` && v.labels.stage === 'acceptance',
    )?.value ?? 0;
  return { batches: value('_count'), orders: value('_sum') };
}

describe('acceptance group commit', () => {
  let app: TestApp;
  beforeAll(async () => {
    // A generous linger, so the concurrent requests of this test surely share batches.
    app = await createTestApp('intake', { env: { ORDER_BATCH_LINGER_MS: '20' } });
  });
  afterAll(() => app.close());

  it('stores a burst of orders in fewer inserts than orders, each request answered with its own order', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 1000 });
    const shoppers = await Promise.all(Array.from({ length: 20 }, () => registerShopper(app)));
    const before = await acceptanceBatches(app);
    const placed = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        placeOrder(shoppers[i % shoppers.length], [
          { productId: product.id, quantity: 1 + (i % 3) },
        ]),
      ),
    );
    const after = await acceptanceBatches(app);
    expect(after.orders - before.orders).toBe(60);
    expect(after.batches - before.batches).toBeLessThan(60);
    expect(new Set(placed.map((o) => o.id)).size).toBe(60);
    // Each answer is that request's own order: its own lines, priced.
    placed.forEach((order, i) =>
      expect(order).toMatchObject({
        status: 'PENDING',
        items: [{ productId: product.id, quantity: 1 + (i % 3) }],
        total: 1000 * (1 + (i % 3)),
      }),
    );
  });
});

describe('the order path when MongoDB fails mid-batch', () => {
  let proxy: MongoCountingProxy;
  let app: TestApp;

  beforeAll(async () => {
    // The app reaches MongoDB through a proxy that can cut its connections or hold a command, as
    // a network would.
    proxy = await startMongoCountingProxy(mongoUriFor(uniqueDbName('intake-fault')));
    app = await createTestApp('intake-fault', {
      env: { MONGODB_URI: proxy.url, MONGODB_CALL_TIMEOUT_MS: '1000' },
    });
  });
  /** A shopper whose `order()` places one unit of a stocked product; one order went through already. */
  async function orderingShopper() {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 100 });
    const shopper = await registerShopper(app);
    const order = () =>
      shopper.http.post('/order').send({ items: [{ productId: product.id, quantity: 1 }] });
    await order().expect(202);
    return { order, shopper };
  }

  afterAll(async () => {
    proxy.setCommandHook(undefined);
    await app.close();
    await proxy.close();
  });

  it('answers 503, never 202, for the orders of a batch whose insert was cut off', async () => {
    const { order, shopper } = await orderingShopper();

    let cut = false;
    proxy.setCommandHook((command) => {
      if (cut || command.name !== 'insert' || command.collection !== 'orders') return undefined;
      cut = true;
      // The insert never reaches the server, and the connection it was sent on breaks.
      setImmediate(() => proxy.cutConnections());
      return new Promise<void>(() => undefined);
    });
    const answers = await Promise.all([order(), order(), order()]);
    expect(cut).toBe(true);
    proxy.setCommandHook(undefined);
    // The orders of the cut batch are refused as unavailable (a later batch may have gone through):
    // a 202 only ever answers an order that is stored.
    const refused = answers.filter((a) => a.status !== 202);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.body.message).toBe('The database cannot be reached right now; retry shortly');
    }
    const orders = app.get<Model<Order>>(getModelToken(Order.name));
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.id as string);
    expect(await orders.countDocuments({ userId: shopper.id })).toBe(1 + accepted.length);
    expect(await orders.countDocuments({ _id: { $in: accepted } })).toBe(accepted.length);
    // The connection pool recovers by itself.
    await waitFor(async () => (await order()).status === 202, {
      what: 'orders to be accepted again',
    });
  });

  /** Holds the first command of `name` on `collection` for good: MongoDB goes silent for it. */
  function silenceOnce(name: string, collection: string): { silenced: () => boolean } {
    let silenced = false;
    proxy.setCommandHook((command) => {
      if (silenced || command.name !== name || command.collection !== collection) return undefined;
      silenced = true;
      return new Promise<void>(() => undefined);
    });
    return { silenced: () => silenced };
  }

  it('answers 503 within MONGODB_CALL_TIMEOUT_MS when the insert of its batch gets no answer', async () => {
    const { order } = await orderingShopper();

    const hold = silenceOnce('insert', 'orders');
    const started = Date.now();
    const answer = await order();
    expect(hold.silenced()).toBe(true);
    expect(answer.status).toBe(503);
    expect(answer.body.message).toBe('The database did not answer within 1000 ms; retry shortly');
    expect(Date.now() - started).toBeLessThan(10_000);
    proxy.setCommandHook(undefined);
    await order().expect(202);
  });

  it('retries a job whose reservation step gets no answer, instead of holding it for good', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 5 });
    const shopper = await registerShopper(app);
    // The first decision write of the worker goes unanswered.
    const hold = silenceOnce('update', 'orders');
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 2 }]);
    const orders = app.get<Model<Order>>(getModelToken(Order.name));
    const decided = await waitFor(
      async () => {
        const o = await orders.findById(placed.id).lean().exec();
        return o?.status === 'PENDING' ? undefined : o;
      },
      { what: 'the order to be decided on a later attempt' },
    );
    expect(hold.silenced()).toBe(true);
    expect(decided).toMatchObject({ status: 'CONFIRMED', attempts: 2 });
    proxy.setCommandHook(undefined);
    const products = app.get<Model<Product>>(getModelToken(Product.name));
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 3,
      reserved: 0,
      sold: 2,
    });
  });
});

describe('caches across replicas', () => {
  const env = testEnv('replicas', { CACHE_TTL_MS: '600000' });
  let replicaA: TestApp;
  let replicaB: TestApp;
  let adminB: request.Agent;

  beforeAll(async () => {
    replicaA = await createTestApp('replicas', { env });
    replicaB = await createTestApp('replicas', { env });
    adminB = await signInAdmin(replicaB);
  });
  afterAll(async () => {
    await replicaB.app.close();
    await replicaA.close();
  });

  const orderOn = (shopper: Awaited<ReturnType<typeof registerShopper>>, productId: string) =>
    shopper.http.post('/order').send({ items: [{ productId, quantity: 1 }] });

  it('refuses on one replica a product taken off sale on another, without waiting for the TTL', async () => {
    const product = await createProduct(adminB, { quantity: 10 });
    const shopper = await registerShopper(replicaA);
    await orderOn(shopper, product.id).expect(202); // replica A now caches the entry
    await adminB.delete(`/stock/products/${product.id}`).expect(204);
    const refused = await waitFor(
      async () => {
        const res = await orderOn(shopper, product.id);
        return res.status === 400 ? res : undefined;
      },
      { timeoutMs: 3000, what: 'replica A to refuse the discontinued product' },
    );
    expect(refused.body.message).toContain('does not exist or is no longer sold');
  });

  it('gives the next order on one replica VIP priority after a promotion on another', async () => {
    const product = await createProduct(adminB, { quantity: 10 });
    const shopper = await registerShopper(replicaA);
    expect((await orderOn(shopper, product.id).expect(202)).body.priority).toBe('REGULAR');
    await adminB.post(`/users/${shopper.id}/vip`).expect(200);
    await waitFor(
      async () => (await orderOn(shopper, product.id).expect(202)).body.priority === 'VIP',
      { timeoutMs: 3000, what: 'replica A to see the promotion' },
    );
  });

  it('forgets everything when its subscription drops, since it may have missed invalidations', async () => {
    const product = await createProduct(adminB, { quantity: 10 });
    const shopper = await registerShopper(replicaA);
    await orderOn(shopper, product.id).expect(202);
    // Taken off sale behind the application's back: no invalidation is published.
    const products = replicaA.get<Model<Product>>(getModelToken(Product.name));
    await products.updateOne({ _id: product.id }, { $set: { active: false } }).exec();
    await orderOn(shopper, product.id).expect(202); // still cached, TTL is ten minutes

    const invalidation = replicaA.get(CacheInvalidation);
    const subscribedBefore = invalidation.subscribedCount;
    const redis = new Redis(replicaA.config.redis.url);
    try {
      await redis.client('KILL', 'TYPE', 'pubsub');
    } finally {
      redis.disconnect();
    }
    await waitFor(() => invalidation.subscribedCount > subscribedBefore && invalidation.live, {
      what: 'the subscription to come back',
    });
    await orderOn(shopper, product.id).expect(400);
  });
});

describe('cache TTL', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('cache-ttl', { env: { CACHE_TTL_MS: '300' } });
  });
  afterAll(() => app.close());

  it('serves an entry whose invalidation was lost for at most the TTL', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 10 });
    const shopper = await registerShopper(app);
    await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    const products = app.get<Model<Product>>(getModelToken(Product.name));
    await products.updateOne({ _id: product.id }, { $set: { active: false } }).exec();
    await waitFor(
      async () =>
        (
          await shopper.http
            .post('/order')
            .send({ items: [{ productId: product.id, quantity: 1 }] })
        ).status === 400,
      { timeoutMs: 5000, what: 'the cached entry to expire' },
    );
  });
});

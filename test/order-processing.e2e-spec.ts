import { getQueueToken } from '@nestjs/bullmq';
import { getModelToken } from '@nestjs/mongoose';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Metrics } from '../src/metrics/metrics.service.js';
import { OrderProcessingService } from '../src/order/order-processing.service.js';
import { OrderProcessor } from '../src/order/order.processor.js';
import { DEAD_LETTER_QUEUE, DeadLetterJobData, ORDER_QUEUE } from '../src/order/order.queue.js';
import { OrderRecoveryService } from '../src/order/order-recovery.service.js';
import { OrderRepository } from '../src/order/order.repository.js';
import { Order } from '../src/order/order.schema.js';
import { Product } from '../src/stock/product.schema.js';
import { StockRepository } from '../src/stock/stock.repository.js';
import { TestApp, createTestApp } from './support/app.js';
import { FlakyStockRepository } from './support/faults.js';
import { conservationProblems, settledStock, stockLevels } from './support/inventory.js';
import {
  OrderBody,
  Shopper,
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signInAdmin,
} from './support/shop.js';
import { waitFor } from '../tools/harness/wait.js';

describe('order processing', () => {
  let app: TestApp;
  let admin: request.Agent;
  let products: Model<Product>;
  let orders: Model<Order>;
  let processor: OrderProcessor;

  beforeAll(async () => {
    app = await createTestApp('processing', { env: { WORKER_CONCURRENCY: '8' } });
    admin = await signInAdmin(app);
    products = app.get<Model<Product>>(getModelToken(Product.name));
    orders = app.get<Model<Order>>(getModelToken(Order.name));
    processor = app.get(OrderProcessor);
  });
  afterAll(() => app.close());

  /** Runs `during` with the worker paused, so jobs wait in the queue; resumes it whatever happens. */
  async function whilePaused<T>(during: () => Promise<T>): Promise<T> {
    await processor.worker.pause();
    try {
      return await during();
    } finally {
      await processor.worker.resume();
    }
  }

  const allSettled = (ids: string[]) =>
    waitFor(
      async () => (await orders.countDocuments({ _id: { $in: ids }, status: 'PENDING' })) === 0,
      {
        timeoutMs: 60_000,
        what: `${ids.length} orders to leave PENDING`,
      },
    );

  it('under contention, 300 one-unit orders for 50 units confirm exactly 50 and never oversell', async () => {
    const product = await createProduct(admin, { quantity: 50 });
    const shoppers = await Promise.all(Array.from({ length: 30 }, () => registerShopper(app)));
    const metrics = app.get(Metrics);
    const conflictsSoFar = async () => (await metrics.versionConflicts.get()).values[0]?.value ?? 0;
    const conflictsBefore = await conflictsSoFar();
    const placed = await Promise.all(
      shoppers.flatMap((shopper) =>
        Array.from({ length: 10 }, () =>
          placeOrder(shopper, [{ productId: product.id, quantity: 1 }]),
        ),
      ),
    );
    const ids = placed.map((o) => o.id);
    await allSettled(ids);
    // Eight concurrent jobs of one process are reserved in batches by a single writer: they never
    // race each other for the product (cross-process races are tested below).
    expect(await conflictsSoFar()).toBe(conflictsBefore);

    const decided = await orders
      .find({ _id: { $in: ids } })
      .lean()
      .exec();
    expect(decided.filter((o) => o.status === 'CONFIRMED')).toHaveLength(50);
    const failed = decided.filter((o) => o.status === 'FAILED');
    expect(failed).toHaveLength(250);
    expect(new Set(failed.map((o) => o.failureReason))).toEqual(new Set(['OUT_OF_STOCK']));
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 0,
      reserved: 0,
      sold: 50,
      received: 50,
      holds: 0,
    });
    expect(await conservationProblems(products, product.id)).toEqual([]);
  });

  it('processes every waiting VIP order before any regular order', async () => {
    const product = await createProduct(admin, { quantity: 100 });
    const regulars = await Promise.all(Array.from({ length: 3 }, () => registerShopper(app)));
    const vips = await Promise.all(
      Array.from({ length: 3 }, () => registerShopper(app, { vip: true, admin })),
    );
    const queueEvents = new QueueEvents(ORDER_QUEUE, {
      connection: { url: app.config.redis.url },
      prefix: app.config.redis.keyPrefix,
    });
    await queueEvents.waitUntilReady();
    const activated: string[] = [];
    queueEvents.on('active', ({ jobId }) => activated.push(jobId));
    try {
      const { regularOrders, vipOrders } = await whilePaused(async () => {
        const regularOrders: OrderBody[] = [];
        for (const shopper of regulars)
          for (let i = 0; i < 4; i++)
            regularOrders.push(await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]));
        const vipOrders: OrderBody[] = [];
        for (const shopper of vips)
          for (let i = 0; i < 4; i++)
            vipOrders.push(await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]));
        return { regularOrders, vipOrders };
      });
      expect(vipOrders.every((o) => o.priority === 'VIP')).toBe(true);
      const all = [...regularOrders, ...vipOrders].map((o) => o.id);
      await waitFor(() => all.every((id) => activated.includes(id)), {
        what: 'every order to become active',
      });
      const lastVip = Math.max(...vipOrders.map((o) => activated.indexOf(o.id)));
      const firstRegular = Math.min(...regularOrders.map((o) => activated.indexOf(o.id)));
      expect(lastVip).toBeLessThan(firstRegular);
      await allSettled(all);
    } finally {
      await queueEvents.close();
    }
  });

  it('reserves lines all-or-nothing: one line short of stock holds no line', async () => {
    const plenty = await createProduct(admin, { quantity: 5 });
    const scarce = await createProduct(admin, { quantity: 1 });
    const shopper = await registerShopper(app);
    const order = await placeOrder(shopper, [
      { productId: plenty.id, quantity: 2 },
      { productId: scarce.id, quantity: 2 },
    ]);
    expect(await settledOrder(shopper, order.id)).toMatchObject({
      status: 'FAILED',
      failureReason: 'OUT_OF_STOCK',
    });
    expect(await settledStock(products, plenty.id)).toMatchObject({
      available: 5,
      reserved: 0,
      sold: 0,
      holds: 0,
    });
    expect(await settledStock(products, scarce.id)).toMatchObject({
      available: 1,
      reserved: 0,
      sold: 0,
      holds: 0,
    });
  });

  it('fails an order whose product was discontinued while it waited with PRODUCT_UNAVAILABLE', async () => {
    const product = await createProduct(admin, { quantity: 5 });
    const shopper = await registerShopper(app);
    const order = await whilePaused(async () => {
      const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
      await admin.delete(`/stock/products/${product.id}`).expect(204);
      return placed;
    });
    expect(await settledOrder(shopper, order.id)).toMatchObject({
      status: 'FAILED',
      failureReason: 'PRODUCT_UNAVAILABLE',
    });
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 5,
      reserved: 0,
      sold: 0,
    });
  });

  it('changes stock once when the same job runs again (redelivery after a crash)', async () => {
    const product = await createProduct(admin, { quantity: 10 });
    const shopper = await registerShopper(app);
    const stock = app.get(StockRepository);
    const processing = app.get(OrderProcessingService);
    const order = await whilePaused(async () => {
      const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 3 }]);
      // A first run held the stock, then its worker died before deciding the order.
      const { version } = await stockLevels(products, product.id);
      expect(
        await stock.grantHolds([
          {
            productId: product.id,
            version,
            holds: [{ orderId: placed.id, quantity: 3 }],
            units: 3,
          },
        ]),
      ).toBe(true);
      expect(await stockLevels(products, product.id)).toMatchObject({ available: 7, reserved: 3 });
      return placed;
    });
    expect(await settledOrder(shopper, order.id)).toMatchObject({ status: 'CONFIRMED' });
    const settled = await settledStock(products, product.id);
    expect(settled).toMatchObject({ available: 7, reserved: 0, sold: 3, holds: 0 });

    // Deliver the same job twice more, concurrently: nothing changes.
    const again = await Promise.all([
      processing.processOne(order.id, 2),
      processing.processOne(order.id, 3),
    ]);
    expect(again).toEqual([
      { status: 'CONFIRMED', failureReason: null, decidedNow: false },
      { status: 'CONFIRMED', failureReason: null, decidedNow: false },
    ]);
    expect(await stockLevels(products, product.id)).toEqual(settled);
    expect(await conservationProblems(products, product.id)).toEqual([]);
  });

  it('enqueues an accepted order whose job never reached Redis (recovery sweep)', async () => {
    const product = await createProduct(admin, { quantity: 4 });
    const shopper = await registerShopper(app);
    // Stored as the API stores it, but the enqueue never happened (Redis was unreachable).
    const stored = await app.get(OrderRepository).create({
      orderNumber: 'ORD-2026-900001',
      userId: shopper.id,
      items: [
        {
          productId: product.id,
          name: 'Test product',
          unitPrice: 1000,
          quantity: 2,
          lineTotal: 2000,
        },
      ],
      total: 2000,
      currency: 'USD',
      priority: 'REGULAR',
    });
    const id = stored.id;
    expect(await app.get<Queue>(getQueueToken(ORDER_QUEUE)).getJob(id)).toBeUndefined();
    const repaired = await app.get(OrderRecoveryService).sweep(new Date(Date.now() + 1000));
    expect(repaired).toBeGreaterThanOrEqual(1);
    expect(await settledOrder(shopper, id)).toMatchObject({ status: 'CONFIRMED' });
    expect(await settledStock(products, product.id)).toMatchObject({ available: 2, sold: 2 });
  });
});

describe('order processing: retries and the dead-letter queue', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp('dlq', {
      env: { ORDER_ATTEMPTS: '3', ORDER_BACKOFF_MS: '10' },
      override: (builder) =>
        builder.overrideProvider(StockRepository).useClass(FlakyStockRepository),
    });
  });
  afterAll(() => app.close());

  it('dead-letters an order whose transient failure outlives its retries and releases its holds', async () => {
    const admin = await signInAdmin(app);
    const healthy = await createProduct(admin, { quantity: 5 });
    const flaky = await createProduct(admin, { quantity: 5 });
    FlakyStockRepository.flakyProductId = flaky.id;
    const products = app.get<Model<Product>>(getModelToken(Product.name));
    const shopper: Shopper = await registerShopper(app);

    const order = await placeOrder(shopper, [
      { productId: healthy.id, quantity: 2 },
      { productId: flaky.id, quantity: 1 },
    ]);
    const failed = await settledOrder(shopper, order.id, 30_000);
    expect(failed).toMatchObject({
      status: 'FAILED',
      failureReason: 'PROCESSING_ERROR',
      attempts: 3,
    });

    const dlq = app.get<Queue<DeadLetterJobData>>(getQueueToken(DEAD_LETTER_QUEUE));
    const letter = await waitFor(async () => {
      const job: Job<DeadLetterJobData> | undefined = await dlq.getJob(order.id);
      return job && (await job.getState()) === 'completed' ? job : undefined;
    });
    expect(letter.data).toMatchObject({
      orderId: order.id,
      attempts: 3,
      lastError: 'simulated MongoDB network timeout',
    });
    // The first line was held on every attempt (once, idempotently) and is given back.
    await waitFor(async () => (await stockLevels(products, healthy.id)).reserved === 0, {
      what: 'holds to be released',
    });
    expect(await settledStock(products, healthy.id)).toMatchObject({
      available: 5,
      reserved: 0,
      sold: 0,
      holds: 0,
    });
    expect(await settledStock(products, flaky.id)).toMatchObject({
      available: 5,
      reserved: 0,
      sold: 0,
    });
    expect(await conservationProblems(products, healthy.id)).toEqual([]);
  });
});

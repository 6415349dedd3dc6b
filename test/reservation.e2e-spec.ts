/**
 * Reservation group commit in the worker, against real MongoDB and Redis: holds granted VIP first
 * within a batch, conflicts with other processes retried at once without failing an attempt, and
 * VIP priority kept under a hot-product backlog whatever the concurrency or number of processes.
 */
import { getQueueToken } from '@nestjs/bullmq';
import { getModelToken } from '@nestjs/mongoose';
import type { Queue } from 'bullmq';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Metrics } from '../src/metrics/metrics.service.js';
import { OrderProcessingService } from '../src/order/order-processing.service.js';
import { OrderProcessor } from '../src/order/order.processor.js';
import { ORDER_QUEUE } from '../src/order/order.queue.js';
import { Order } from '../src/order/order.schema.js';
import type { HoldGrant } from '../src/stock/domain/reservation.js';
import { Product } from '../src/stock/product.schema.js';
import { StockRepository } from '../src/stock/stock.repository.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { conservationProblems, settledStock } from './support/inventory.js';
import {
  OrderBody,
  createProduct,
  placeOrder,
  registerShopper,
  signInAdmin,
} from './support/shop.js';
import { waitFor } from '../tools/harness/wait.js';

/** Makes exactly one hold write lose its version race, as a write by another process would. */
class OnceConflictingStockRepository extends StockRepository {
  static armedFor = '';

  override async grantHolds(grants: readonly HoldGrant[]): Promise<boolean> {
    const target = grants.find((g) => g.productId === OnceConflictingStockRepository.armedFor);
    if (target) {
      OnceConflictingStockRepository.armedFor = '';
      // Another process restocks the product between our read and our write.
      await this.adjust(target.productId, 1);
    }
    return super.grantHolds(grants);
  }
}

describe('reservation batches', () => {
  let app: TestApp;
  let admin: request.Agent;
  let orders: Model<Order>;
  let products: Model<Product>;

  beforeAll(async () => {
    app = await createTestApp('reserve', {
      override: (b) => b.overrideProvider(StockRepository).useClass(OnceConflictingStockRepository),
    });
    admin = await signInAdmin(app);
    orders = app.get<Model<Order>>(getModelToken(Order.name));
    products = app.get<Model<Product>>(getModelToken(Product.name));
  });
  afterAll(() => app.close());

  it('grants holds within one batch VIP first, then by acceptance time', async () => {
    const product = await createProduct(admin, { quantity: 3 });
    const regular = await registerShopper(app);
    const vip = await registerShopper(app, { vip: true, admin });
    const processor = app.get(OrderProcessor);
    await processor.worker.pause();
    let placed: OrderBody[];
    try {
      placed = [];
      // Regular orders first: they were accepted before the VIP orders.
      for (let i = 0; i < 3; i++)
        placed.push(await placeOrder(regular, [{ productId: product.id, quantity: 1 }]));
      for (let i = 0; i < 2; i++)
        placed.push(await placeOrder(vip, [{ productId: product.id, quantity: 1 }]));
      // One batch, as a worker would gather these jobs.
      const results = await app
        .get(OrderProcessingService)
        .processBatch(placed.map((o) => ({ orderId: o.id, attempt: 1, productIds: [product.id] })));
      expect(results.map((r) => (r instanceof Error ? r.message : r.status))).toEqual([
        'CONFIRMED',
        'FAILED',
        'FAILED',
        'CONFIRMED',
        'CONFIRMED',
      ]);
    } finally {
      await processor.worker.resume();
    }
    const stored = await orders
      .find({ _id: { $in: placed.map((o) => o.id) } })
      .lean()
      .exec();
    const statusOf = (id: string) => stored.find((o) => o._id.toString() === id)?.status;
    // Both VIP orders and the earliest regular one hold the three units.
    expect(placed.map((o) => statusOf(o.id))).toEqual([
      'CONFIRMED',
      'FAILED',
      'FAILED',
      'CONFIRMED',
      'CONFIRMED',
    ]);
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 0,
      reserved: 0,
      sold: 3,
      holds: 0,
    });
  });

  it('re-reads and retries at once when another process wrote first, without failing the attempt', async () => {
    const product = await createProduct(admin, { quantity: 2 });
    const shopper = await registerShopper(app);
    const metrics = app.get(Metrics);
    const conflicts = async () => (await metrics.versionConflicts.get()).values[0]?.value ?? 0;
    const before = await conflicts();
    OnceConflictingStockRepository.armedFor = product.id;
    const order = await placeOrder(shopper, [{ productId: product.id, quantity: 2 }]);
    const decided = await waitFor(
      async () => {
        const o = await orders.findById(order.id).lean().exec();
        return o?.status === 'PENDING' ? undefined : o;
      },
      { what: 'the order to be decided' },
    );
    expect(OnceConflictingStockRepository.armedFor).toBe('');
    expect(await conflicts()).toBe(before + 1);
    // Decided on its first attempt: the lost race never became a retry with backoff.
    expect(decided).toMatchObject({ status: 'CONFIRMED', attempts: 1 });
    expect(await settledStock(products, product.id)).toMatchObject({
      available: 1,
      sold: 2,
      received: 3,
      reserved: 0,
    });
    expect(await conservationProblems(products, product.id)).toEqual([]);
  });
});

describe('VIP priority under a hot-product backlog', () => {
  const UNITS = 50;
  const VIP_ORDERS = 40;
  const ORDERS = 300;

  /**
   * Queues ORDERS one-unit orders (VIP_ORDERS of them VIP) for one product with UNITS units while
   * no worker runs, then lets `drain` start the workers, and checks every VIP order was confirmed.
   */
  async function backlogDrainedBy(
    label: string,
    drain: (env: Record<string, string>) => Promise<Array<{ stop(): Promise<unknown> }>>,
  ): Promise<void> {
    const env = testEnv(label);
    const api = await createTestApp(label, { env: { ...env, APP_ROLE: 'api' } });
    const workers: Array<{ stop(): Promise<unknown> }> = [];
    try {
      const admin = await signInAdmin(api);
      const product = await createProduct(admin, { quantity: UNITS });
      const regulars = await Promise.all(Array.from({ length: 26 }, () => registerShopper(api)));
      const vips = await Promise.all(
        Array.from({ length: 4 }, () => registerShopper(api, { vip: true, admin })),
      );
      const line = [{ productId: product.id, quantity: 1 }];
      // Interleaved, so VIP orders are accepted among and after regular ones.
      const placed = await Promise.all(
        Array.from({ length: ORDERS }, (_, i) =>
          i % 7 === 3 && i / 7 < VIP_ORDERS
            ? placeOrder(vips[i % vips.length], line)
            : placeOrder(regulars[i % regulars.length], line),
        ),
      );
      const vipIds = placed.filter((o) => o.priority === 'VIP').map((o) => o.id);
      expect(vipIds).toHaveLength(VIP_ORDERS);
      const orders = api.get<Model<Order>>(getModelToken(Order.name));
      const products = api.get<Model<Product>>(getModelToken(Product.name));
      expect(await orders.countDocuments({ status: 'PENDING' })).toBe(ORDERS);

      // Every worker is up before the queue opens, so they all compete from the first job.
      const queue = api.get<Queue>(getQueueToken(ORDER_QUEUE));
      await queue.pause();
      workers.push(...(await drain(env)));
      await queue.resume();
      await waitFor(async () => (await orders.countDocuments({ status: 'PENDING' })) === 0, {
        timeoutMs: 50_000,
        what: `${ORDERS} orders to be decided`,
      });
      const confirmedVip = await orders.countDocuments({
        _id: { $in: vipIds },
        status: 'CONFIRMED',
      });
      expect(confirmedVip).toBe(VIP_ORDERS);
      expect(await orders.countDocuments({ status: 'CONFIRMED' })).toBe(UNITS);
      expect(await settledStock(products, product.id)).toMatchObject({
        available: 0,
        reserved: 0,
        sold: UNITS,
        holds: 0,
      });
      expect(await conservationProblems(products, product.id)).toEqual([]);
    } finally {
      for (const worker of workers) await worker.stop();
      await api.close();
    }
  }

  const inProcessWorker = (concurrency: number) => async (env: Record<string, string>) => [
    await createTestApp(`drain-c${concurrency}`, {
      env: { ...env, APP_ROLE: 'worker', WORKER_CONCURRENCY: String(concurrency) },
    }).then((worker) => ({ stop: () => worker.app.close() })),
  ];

  it('confirms every VIP order with one worker at concurrency 1', () =>
    backlogDrainedBy('vip-c1', inProcessWorker(1)));

  it('confirms every VIP order with one worker at concurrency 10', () =>
    backlogDrainedBy('vip-c10', inProcessWorker(10)));

  it('confirms every VIP order with one worker at concurrency 50', () =>
    backlogDrainedBy('vip-c50', inProcessWorker(50)));

  it('confirms every VIP order with two worker processes', () =>
    backlogDrainedBy('vip-2p', async (env) => {
      const started: AppProcess[] = await Promise.all(
        [1, 2].map(() => startAppProcess({ ...env, APP_ROLE: 'worker', WORKER_CONCURRENCY: '50' })),
      );
      return started.map((p) => ({ stop: () => p.stop('SIGTERM') }));
    }));
});

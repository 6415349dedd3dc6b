import { getQueueToken } from '@nestjs/bullmq';
import { JwtService } from '@nestjs/jwt';
import { getModelToken } from '@nestjs/mongoose';
import type { Queue } from 'bullmq';
import type { Model } from 'mongoose';
import { Types } from 'mongoose';
import type request from 'supertest';
import { JWT_ISSUER, accessKeys, tokenCodec } from '../src/auth/jwt-keys.js';
import { OrderDeadLetterProcessor } from '../src/order/order-dlq.processor.js';
import { ORDER_QUEUE, OrderQueue } from '../src/order/order.queue.js';
import { Order } from '../src/order/order.schema.js';
import { Product } from '../src/stock/product.schema.js';
import { StockRepository } from '../src/stock/stock.repository.js';
import { TestApp, createTestApp } from './support/app.js';
import { cspViolations, scriptUrls } from './support/csp.js';
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

interface DeadLetterItem {
  jobId: string;
  orderId: string;
  lastError: string;
  attempts: number;
  failedAt: string;
  state: string;
  order: { status: string; failureReason: string | null } | null;
}

const UNAUTHORIZED = { statusCode: 401, error: 'Unauthorized', message: 'Authentication required' };
const FORBIDDEN = {
  statusCode: 403,
  error: 'Forbidden',
  message: 'This action requires the admin role',
};

describe('admin operations', () => {
  let app: TestApp;
  let admin: request.Agent;
  let customer: Shopper;
  let products: Model<Product>;
  let orders: Model<Order>;

  beforeAll(async () => {
    app = await createTestApp('admin', {
      env: { ORDER_ATTEMPTS: '3', ORDER_BACKOFF_MS: '10' },
      override: (builder) =>
        builder.overrideProvider(StockRepository).useClass(FlakyStockRepository),
    });
    admin = await signInAdmin(app);
    customer = await registerShopper(app);
    products = app.get<Model<Product>>(getModelToken(Product.name));
    orders = app.get<Model<Order>>(getModelToken(Order.name));
  });
  afterEach(() => {
    FlakyStockRepository.flakyProductId = '';
  });
  afterAll(() => app.close());

  async function deadLetters(limit = 100, page = 1): Promise<DeadLetterItem[]> {
    const res = await admin.get('/admin/dlq').query({ page, limit }).expect(200);
    return (res.body as { items: DeadLetterItem[] }).items;
  }

  /** Waits until the dead-letter worker has handled the order's letter and returns it. */
  function handledLetter(orderId: string): Promise<DeadLetterItem> {
    return waitFor(
      async () =>
        (await deadLetters()).find((l) => l.orderId === orderId && l.state === 'completed'),
      { timeoutMs: 30_000, what: `the dead letter of order ${orderId} to be handled` },
    );
  }

  /** Places an order that fails on every attempt and waits until it is dead-lettered and handled. */
  async function deadLetteredOrder(healthyId: string, flakyId: string): Promise<OrderBody> {
    FlakyStockRepository.flakyProductId = flakyId;
    const order = await placeOrder(customer, [
      { productId: healthyId, quantity: 2 },
      { productId: flakyId, quantity: 1 },
    ]);
    expect(await settledOrder(customer, order.id, 30_000)).toMatchObject({
      status: 'FAILED',
      failureReason: 'PROCESSING_ERROR',
    });
    await handledLetter(order.id);
    return order;
  }

  async function expectConserved(...productIds: string[]): Promise<void> {
    for (const id of productIds) expect(await conservationProblems(products, id)).toEqual([]);
  }

  describe('Bull Board at /admin/queues', () => {
    it('serves an admin the dashboard page and its scripts, all loadable under the CSP', async () => {
      const page = await admin.get('/admin/queues').expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('<base href="/admin/queues/"');
      const csp = page.headers['content-security-policy'];
      expect(csp).toBeDefined();
      expect(cspViolations(page.text, csp)).toEqual([]);

      const scripts = scriptUrls(page.text, '/admin/queues/');
      expect(scripts.length).toBeGreaterThan(0);
      for (const script of scripts) {
        const asset = await admin.get(script).expect(200);
        expect(asset.headers['content-type']).toMatch(/^(application|text)\/javascript/);
        expect(asset.text.length).toBeGreaterThan(0);
      }
    });

    it('reports both queues through its BullMQ adapter, read-only', async () => {
      const res = await admin.get('/admin/queues/api/queues').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const queues = (res.body as { queues: Array<Record<string, unknown>> }).queues;
      expect(queues.map((q) => q.name).sort()).toEqual(['orders', 'orders-dlq', 'reports']);
      for (const queue of queues) {
        expect(queue).toMatchObject({
          readOnlyMode: true,
          isPaused: false,
          counts: expect.objectContaining({ completed: expect.any(Number) }),
        });
      }
      // The dashboard's Redis panel reads INFO through the queue's v6 backend client.
      const stats = await admin.get('/admin/queues/api/redis/stats').expect(200);
      expect(stats.body).toMatchObject({ version: expect.any(String) });

      // Its job actions are refused: queue state changes go through the admin API.
      await admin.put('/admin/queues/api/queues/orders/pause').expect(405);
      expect(await app.get<Queue>(getQueueToken(ORDER_QUEUE)).isPaused()).toBe(false);
    });

    it('refuses page, assets and API to anonymous callers (401) and customers (403), revealing nothing', async () => {
      const page = await admin.get('/admin/queues').expect(200);
      const [script] = scriptUrls(page.text, '/admin/queues/');
      const forged = await new JwtService().signAsync(
        { sub: new Types.ObjectId().toString(), role: 'admin' },
        { secret: 'not-the-server-secret', issuer: JWT_ISSUER, algorithm: 'HS256' },
      );
      const requests: Array<[string, string]> = [
        ['get', '/admin/queues'],
        ['get', '/admin/queues/'],
        ['get', '/ADMIN/Queues'],
        ['get', script],
        ['get', '/admin/queues/api/queues'],
        ['get', '/admin/queues/api/redis/stats'],
        ['put', '/admin/queues/api/queues/orders/pause'],
      ];
      const anonymous = app.agent();
      for (const [method, path] of requests) {
        for (const [who, call, expected] of [
          ['anonymous', anonymous[method as 'get'](path), UNAUTHORIZED],
          [
            'forged',
            app.agent()[method as 'get'](path).set('Cookie', `access_token=${forged}`),
            UNAUTHORIZED,
          ],
          ['customer', customer.http[method as 'get'](path), FORBIDDEN],
        ] as const) {
          const res = await call;
          expect({ who, method, path, status: res.status, body: res.body as unknown }).toEqual({
            who,
            method,
            path,
            status: expected.statusCode,
            body: expected,
          });
          expect(res.headers['content-type']).toMatch(/^application\/json/);
          expect(res.text).not.toMatch(/bull|<html|queue/i);
        }
      }
    });

    it('sends a browser opening the board without a valid session to the dashboard’s sign-in, saying where it was going', async () => {
      const browser = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
      // Signed with the server's key, expired a minute ago.
      const expired = tokenCodec(accessKeys(app.config.jwt)).sign(
        {
          sub: new Types.ObjectId().toString(),
          role: 'admin',
          sid: 'expired',
          iat: Math.floor(Date.now() / 1000) - 120,
        },
        { expiresIn: 60 },
      );
      for (const [path, next] of [
        ['/admin/queues', '%2Fadmin%2Fqueues'],
        [
          '/admin/queues/queue/orders?status=failed',
          '%2Fadmin%2Fqueues%2Fqueue%2Forders%3Fstatus%3Dfailed',
        ],
      ]) {
        for (const call of [
          app.agent().get(path).set(browser),
          app.agent().get(path).set(browser).set('Cookie', `access_token=${expired}`),
        ]) {
          const res = await call;
          expect({ path, status: res.status, location: res.headers.location }).toEqual({
            path,
            status: 302,
            location: `/dashboard/?next=${next}`,
          });
        }
      }
      // Signed in without the role: signing in again would not help, so the 403 stays.
      const refused = await customer.http.get('/admin/queues').set(browser);
      expect({ status: refused.status, body: refused.body as unknown }).toEqual({
        status: 403,
        body: FORBIDDEN,
      });
      // What is not a page a browser opens keeps its JSON answer.
      for (const call of [
        app
          .agent()
          .get('/admin/queues/api/queues')
          .set('Accept', 'application/json, text/plain, */*'),
        app.agent().get('/admin/queues').set('Accept', '*/*'),
        app.agent().put('/admin/queues/api/queues/orders/pause').set(browser),
      ]) {
        const res = await call;
        expect({ status: res.status, body: res.body as unknown }).toEqual({
          status: 401,
          body: UNAUTHORIZED,
        });
      }
    });

    it('gives the board’s page the script that keeps its session alive, with the token lifetime', async () => {
      const page = await admin.get('/admin/queues/queue/orders').expect(200);
      expect(page.text).toContain(
        `<script type="module" src="/dashboard/board-session.js?access-ttl=${app.config.jwt.accessTtlSeconds}"></script></body>`,
      );
      // Only the page: the board's JSON keeps its bytes.
      const api = await admin.get('/admin/queues/api/queues').expect(200);
      expect(api.text).not.toContain('board-session');
    });
  });

  describe('Bull Board', () => {
    interface BoardJob {
      id: string;
      returnValue?: unknown;
    }
    async function boardJobs(status: 'completed' | 'failed'): Promise<BoardJob[]> {
      const res = await admin
        .get('/admin/queues/api/queues')
        .query({ activeQueue: 'orders', status, page: 1, jobsPerPage: 1000 })
        .expect(200);
      const orders = (
        res.body as { queues: Array<{ name: string; jobs: BoardJob[] }> }
      ).queues.find((q) => q.name === 'orders');
      return orders?.jobs ?? [];
    }

    it('shows sold-out orders as completed jobs with their outcome, never in the failed tab', async () => {
      const scarce = await createProduct(admin, { quantity: 2 });
      const placed = await Promise.all(
        Array.from({ length: 6 }, () =>
          placeOrder(customer, [{ productId: scarce.id, quantity: 1 }]),
        ),
      );
      const decided = await Promise.all(placed.map((order) => settledOrder(customer, order.id)));
      const soldOut = decided.filter((order) => order.failureReason === 'OUT_OF_STOCK');
      expect(decided.filter((order) => order.status === 'CONFIRMED')).toHaveLength(2);
      expect(soldOut).toHaveLength(4);

      const ids = new Set(decided.map((order) => order.id));
      const completed = await waitFor(
        async () => {
          const jobs = (await boardJobs('completed')).filter((job) => ids.has(job.id));
          return jobs.length === ids.size ? jobs : undefined;
        },
        { timeoutMs: 10_000, what: 'every job of the burst to be completed' },
      );
      for (const order of soldOut) {
        expect(completed.find((job) => job.id === order.id)?.returnValue).toMatchObject({
          status: 'FAILED',
          failureReason: 'OUT_OF_STOCK',
        });
      }
      expect((await boardJobs('failed')).filter((job) => ids.has(job.id))).toEqual([]);
    });
  });

  describe('dead-letter queue', () => {
    it('lists a dead-lettered order with its last error; once the fault is gone a retry confirms it with exact stock', async () => {
      const healthy = await createProduct(admin, { quantity: 5 });
      const flaky = await createProduct(admin, { quantity: 5 });
      const order = await deadLetteredOrder(healthy.id, flaky.id);

      const letter = (await deadLetters()).find((l) => l.orderId === order.id);
      expect(letter).toEqual({
        jobId: order.id,
        orderId: order.id,
        lastError: 'simulated MongoDB network timeout',
        attempts: 3,
        failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        state: 'completed',
        order: { status: 'FAILED', failureReason: 'PROCESSING_ERROR' },
      });
      // The dashboard shows the same letter.
      const board = await admin
        .get('/admin/queues/api/queues')
        .query({ activeQueue: 'orders-dlq', status: 'completed' })
        .expect(200);
      const dlq = (
        board.body as { queues: Array<{ name: string; jobs: Array<{ id: string }> }> }
      ).queues.find((q) => q.name === 'orders-dlq');
      expect(dlq?.jobs.map((j) => j.id)).toContain(order.id);
      const job = await admin.get(`/admin/queues/api/queues/orders-dlq/${order.id}`).expect(200);
      expect(job.body).toMatchObject({
        status: 'completed',
        job: { id: order.id, data: { orderId: order.id, lastError: letter?.lastError } },
      });
      // Dead-lettering gave back what the order held.
      expect(await settledStock(products, healthy.id)).toMatchObject({
        available: 5,
        reserved: 0,
        sold: 0,
      });

      // Only admins see or retry letters; refusals change nothing.
      await app.agent().get('/admin/dlq').expect(401);
      await customer.http.get('/admin/dlq').expect(403);
      expect((await app.agent().post(`/admin/dlq/${order.id}/retry`).expect(401)).body).toEqual(
        UNAUTHORIZED,
      );
      expect((await customer.http.post(`/admin/dlq/${order.id}/retry`).expect(403)).body).toEqual(
        FORBIDDEN,
      );
      expect(await orders.findById(order.id).lean().exec()).toMatchObject({ status: 'FAILED' });

      FlakyStockRepository.flakyProductId = '';
      const retried = await admin.post(`/admin/dlq/${order.id}/retry`).expect(202);
      expect(retried.body).toMatchObject({ id: order.id, status: 'PENDING', failureReason: null });
      expect(await settledOrder(customer, order.id, 30_000)).toMatchObject({
        status: 'CONFIRMED',
        failureReason: null,
        attempts: 1,
      });
      expect((await deadLetters()).map((l) => l.orderId)).not.toContain(order.id);
      expect(await settledStock(products, healthy.id)).toMatchObject({
        available: 3,
        reserved: 0,
        sold: 2,
        received: 5,
        holds: 0,
      });
      expect(await settledStock(products, flaky.id)).toMatchObject({
        available: 4,
        reserved: 0,
        sold: 1,
        received: 5,
        holds: 0,
      });
      await expectConserved(healthy.id, flaky.id);
      // The history tells the whole story, the admin's retry included.
      const history = await customer.http.get(`/order/${order.id}/history`).expect(200);
      const adminId = (await admin.get('/auth/profile').expect(200)).body.user.id as string;
      expect(
        (history.body.items as Array<{ event: string; actor: string; reason?: string }>).map(
          (e) => [
            e.event,
            e.actor === adminId ? 'admin' : e.actor === 'system' ? 'system' : 'owner',
            e.reason ?? null,
          ],
        ),
      ).toEqual([
        ['ACCEPTED', 'owner', null],
        ['FAILED', 'system', 'PROCESSING_ERROR'],
        ['REOPENED', 'admin', 'PROCESSING_ERROR'],
        ['RESERVED', 'system', null],
        ['CONFIRMED', 'system', null],
      ]);
    });

    it('retries a letter not handled yet: the order never left PENDING and is confirmed once', async () => {
      const deadLetterWorker = app.get(OrderDeadLetterProcessor).worker;
      const healthy = await createProduct(admin, { quantity: 4 });
      const flaky = await createProduct(admin, { quantity: 4 });
      await deadLetterWorker.pause();
      try {
        FlakyStockRepository.flakyProductId = flaky.id;
        const order = await placeOrder(customer, [
          { productId: healthy.id, quantity: 1 },
          { productId: flaky.id, quantity: 3 },
        ]);
        const letter = await waitFor(
          async () => (await deadLetters()).find((l) => l.orderId === order.id),
          { timeoutMs: 30_000, what: 'the order to be dead-lettered' },
        );
        expect(letter).toMatchObject({ state: 'waiting', order: { status: 'PENDING' } });
        // Its first line is still held: nothing has released it yet.
        expect(await stockLevels(products, healthy.id)).toMatchObject({ reserved: 1, holds: 1 });

        FlakyStockRepository.flakyProductId = '';
        const retried = await admin.post(`/admin/dlq/${order.id}/retry`).expect(202);
        expect(retried.body).toMatchObject({ id: order.id, status: 'PENDING' });
        expect(await settledOrder(customer, order.id, 30_000)).toMatchObject({
          status: 'CONFIRMED',
        });
      } finally {
        await deadLetterWorker.resume();
      }
      expect(await settledStock(products, healthy.id)).toMatchObject({
        available: 3,
        reserved: 0,
        sold: 1,
        holds: 0,
      });
      expect(await settledStock(products, flaky.id)).toMatchObject({
        available: 1,
        reserved: 0,
        sold: 3,
        holds: 0,
      });
      await expectConserved(healthy.id, flaky.id);
    });

    it('refuses (409) to retry the letter of a confirmed or business-failed order, and changes nothing', async () => {
      const product = await createProduct(admin, { quantity: 2 });
      const confirmed = await placeOrder(customer, [{ productId: product.id, quantity: 2 }]);
      expect(await settledOrder(customer, confirmed.id)).toMatchObject({ status: 'CONFIRMED' });
      const outOfStock = await placeOrder(customer, [{ productId: product.id, quantity: 1 }]);
      expect(await settledOrder(customer, outOfStock.id)).toMatchObject({
        status: 'FAILED',
        failureReason: 'OUT_OF_STOCK',
      });
      // Letters for decided orders: what the recovery sweep leaves when a run decides the order
      // after its job was given up on. Handling them is a no-op.
      const queue = app.get(OrderQueue);
      for (const order of [confirmed, outOfStock]) {
        await queue.deadLetter({
          orderId: order.id,
          lastError: 'stalled',
          attempts: 5,
          failedAt: new Date().toISOString(),
        });
        await handledLetter(order.id);
      }
      const stockBefore = await stockLevels(products, product.id);
      const ordersBefore = await orders
        .find({ _id: { $in: [confirmed.id, outOfStock.id] } })
        .lean()
        .exec();

      const refusedConfirmed = await admin.post(`/admin/dlq/${confirmed.id}/retry`).expect(409);
      expect(refusedConfirmed.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: `Order ${confirmed.id} is CONFIRMED; only orders that failed with PROCESSING_ERROR can be retried`,
      });
      const refusedFailed = await admin.post(`/admin/dlq/${outOfStock.id}/retry`).expect(409);
      expect(refusedFailed.body.message).toMatch(/failed with OUT_OF_STOCK/);

      expect(
        await orders
          .find({ _id: { $in: [confirmed.id, outOfStock.id] } })
          .lean()
          .exec(),
      ).toEqual(ordersBefore);
      expect(await stockLevels(products, product.id)).toEqual(stockBefore);
      const letters = await deadLetters();
      for (const order of [confirmed, outOfStock])
        expect(letters.find((l) => l.orderId === order.id)).toMatchObject({ state: 'completed' });
      await expectConserved(product.id);
    });

    it('answers 404 for an unknown letter and 400 for a malformed job id', async () => {
      const unknown = new Types.ObjectId().toString();
      expect((await admin.post(`/admin/dlq/${unknown}/retry`).expect(404)).body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'Dead letter not found',
      });
      expect((await admin.post('/admin/dlq/not-an-id/retry').expect(400)).body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'jobId must be a 24-character hexadecimal ObjectId',
        problems: [{ field: 'jobId', problem: 'must be a 24-character hexadecimal ObjectId' }],
        problemCount: 1,
      });
      expect((await admin.get('/admin/dlq?limit=101').expect(400)).body.message).toMatch(
        /limit must not be greater than 100/,
      );
    });

    it('pages through the letters without overlap or gaps', async () => {
      const product = await createProduct(admin, { quantity: 10 });
      const queue = app.get(OrderQueue);
      for (let i = 0; i < 3; i++) {
        const order = await placeOrder(customer, [{ productId: product.id, quantity: 1 }]);
        await settledOrder(customer, order.id);
        await queue.deadLetter({
          orderId: order.id,
          lastError: `error ${i}`,
          attempts: 1,
          failedAt: new Date().toISOString(),
        });
        await handledLetter(order.id);
      }
      const all = await admin.get('/admin/dlq?limit=100').expect(200);
      const { total, items } = all.body as { total: number; items: DeadLetterItem[] };
      expect(total).toBe(items.length);
      expect(total).toBeGreaterThanOrEqual(3);
      const paged: string[] = [];
      for (let page = 1; page <= Math.ceil(total / 2); page++) {
        const res = await admin.get('/admin/dlq').query({ page, limit: 2 }).expect(200);
        expect(res.body).toMatchObject({ total, page, limit: 2 });
        paged.push(...(res.body as { items: DeadLetterItem[] }).items.map((l) => l.jobId));
      }
      expect(paged).toEqual(items.map((l) => l.jobId));
      await expectConserved(product.id);
    });
  });
});

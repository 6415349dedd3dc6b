import { getQueueToken } from '@nestjs/bullmq';
import { getModelToken } from '@nestjs/mongoose';
import type { Queue } from 'bullmq';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { ORDER_QUEUE } from '../src/order/order.queue.js';
import { Order } from '../src/order/order.schema.js';
import { TestApp, createTestApp } from './support/app.js';
import {
  OrderBody,
  ProductBody,
  Shopper,
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signInAdmin,
} from './support/shop.js';

describe('orders API', () => {
  let app: TestApp;
  let admin: request.Agent;
  let orders: Model<Order>;
  let queue: Queue;
  let cup: ProductBody;
  let saucer: ProductBody;

  const jobCount = async () => {
    const counts = await queue.getJobCounts(
      'waiting',
      'prioritized',
      'active',
      'delayed',
      'completed',
      'failed',
    );
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };

  beforeAll(async () => {
    app = await createTestApp('orders');
    admin = await signInAdmin(app);
    orders = app.get<Model<Order>>(getModelToken(Order.name));
    queue = app.get<Queue>(getQueueToken(ORDER_QUEUE));
    cup = await createProduct(admin, { quantity: 1000, price: 1299, name: 'Cup' });
    saucer = await createProduct(admin, { quantity: 1000, price: 500, name: 'Saucer' });
  });
  afterAll(() => app.close());

  describe('POST /order', () => {
    it('takes a product id in any case wherever the API takes one, as the catalog does (an order refused it)', async () => {
      const shopper = await registerShopper(app);
      const upper = cup.id.toUpperCase();
      await admin.get(`/stock/products-with-stock/${upper}`).expect(200);
      const res = await shopper.http
        .post('/order')
        .send({ items: [{ productId: upper, quantity: 1 }] })
        .expect(202);
      expect(res.body.items[0].productId).toBe(cup.id);
      // Hexadecimal with a 0x prefix is not an ObjectId anywhere.
      const prefixed = `0x${cup.id.slice(2)}`;
      const refused = await shopper.http
        .post('/order')
        .send({ items: [{ productId: prefixed, quantity: 1 }] })
        .expect(400);
      expect(refused.body.message).toBe(
        'items.0.productId must be a 24-character hexadecimal ObjectId',
      );
      await admin.get(`/stock/products-with-stock/${prefixed}`).expect(400);
    });

    it('pages only with plain decimal numbers within bounds (1e300 and 0x10 were accepted)', async () => {
      for (const page of ['1e300', '0x10', '1.5', '0', '10001', ' 2'])
        await app.agent().get('/stock/products-with-stock').query({ page }).expect(400);
      for (const limit of ['1e2', '0x10', '101'])
        await app.agent().get('/stock/products-with-stock').query({ limit }).expect(400);
      const res = await app
        .agent()
        .get('/stock/products-with-stock')
        .query({ page: '1', limit: '1' })
        .expect(200);
      expect(res.body).toMatchObject({ page: 1, limit: 1 });
    });

    it('accepts an order with 202, priced from the catalog', async () => {
      const shopper = await registerShopper(app);
      const res = await shopper.http
        .post('/order')
        .send({
          items: [
            { productId: cup.id, quantity: 2 },
            { productId: saucer.id, quantity: 1 },
          ],
        })
        .expect(202);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^[a-f0-9]{24}$/),
        status: 'PENDING',
        priority: 'REGULAR',
        total: 2 * 1299 + 500,
        currency: 'USD',
        createdAt: expect.any(String),
        items: [
          { productId: cup.id, name: 'Cup', unitPrice: 1299, quantity: 2, lineTotal: 2598 },
          { productId: saucer.id, name: 'Saucer', unitPrice: 500, quantity: 1, lineTotal: 500 },
        ],
      });
      expect(res.headers.location).toBe(`/order/${res.body.id}`);
      expect((await queue.getJob(res.body.id))?.opts.priority).toBeGreaterThan(0);
    });

    it('gives VIP customers the VIP priority', async () => {
      const vip = await registerShopper(app, { vip: true, admin });
      const order = await placeOrder(vip, [{ productId: cup.id, quantity: 1 }]);
      expect(order.priority).toBe('VIP');
      const regular = await placeOrder(await registerShopper(app), [
        { productId: cup.id, quantity: 1 },
      ]);
      const [vipJob, regularJob] = await Promise.all([
        queue.getJob(order.id),
        queue.getJob(regular.id),
      ]);
      expect(vipJob?.opts.priority).toBeLessThan(regularJob?.opts.priority ?? 0);
    });

    it('requires a session', async () => {
      const res = await app
        .agent()
        .post('/order')
        .send({ items: [{ productId: cup.id, quantity: 1 }] })
        .expect(401);
      expect(res.body.message).toBe('Authentication required');
    });

    describe('bad input is refused with 400 naming the problem; nothing is stored or enqueued', () => {
      let shopper: Shopper;
      beforeAll(async () => {
        shopper = await registerShopper(app);
      });

      const cases: Array<[string, () => unknown, string]> = [
        ['no items', () => ({}), 'items'],
        [
          'items not an array',
          () => ({ items: { productId: cup.id, quantity: 1 } }),
          'items must be an array',
        ],
        ['empty items', () => ({ items: [] }), 'items must contain at least 1 elements'],
        [
          '21 lines',
          () => ({ items: Array.from({ length: 21 }, () => ({ productId: cup.id, quantity: 1 })) }),
          'items must contain no more than 20 elements',
        ],
        [
          'zero quantity',
          () => ({ items: [{ productId: cup.id, quantity: 0 }] }),
          'items.0.quantity must not be less than 1',
        ],
        [
          'negative quantity',
          () => ({ items: [{ productId: cup.id, quantity: -2 }] }),
          'items.0.quantity must not be less than 1',
        ],
        [
          'fractional quantity',
          () => ({ items: [{ productId: cup.id, quantity: 1.5 }] }),
          'items.0.quantity must be an integer number',
        ],
        [
          'huge quantity',
          () => ({ items: [{ productId: cup.id, quantity: 1_000_000_000 }] }),
          'items.0.quantity must not be greater than 1000',
        ],
        [
          'quantity as a string',
          () => ({ items: [{ productId: cup.id, quantity: '2' }] }),
          'items.0.quantity must be an integer number',
        ],
        [
          'operator object as productId',
          () => ({ items: [{ productId: { $gt: '' }, quantity: 1 }] }),
          'items.0.productId must be a 24-character hexadecimal ObjectId',
        ],
        [
          'malformed productId',
          () => ({ items: [{ productId: 'abc', quantity: 1 }] }),
          'items.0.productId must be a 24-character hexadecimal ObjectId',
        ],
        [
          'unknown product',
          () => ({ items: [{ productId: '0123456789abcdef01234567', quantity: 1 }] }),
          'items.0.productId names product 0123456789abcdef01234567, which does not exist',
        ],
        [
          'client-set price',
          () => ({ items: [{ productId: cup.id, quantity: 1, price: 1 }] }),
          'items.0.price should not exist',
        ],
        [
          'unknown top-level field',
          () => ({ items: [{ productId: cup.id, quantity: 1 }], total: 1 }),
          'total should not exist',
        ],
        [
          'same product twice',
          () => ({
            items: [
              { productId: cup.id, quantity: 1 },
              { productId: cup.id, quantity: 2 },
            ],
          }),
          'items must not list the same productId twice',
        ],
        ['a line that is not an object', () => ({ items: ['cup'] }), 'items.0'],
      ];

      it.each(cases)('%s', async (_name, body, message) => {
        const [ordersBefore, jobsBefore] = await Promise.all([orders.countDocuments(), jobCount()]);
        const res = await shopper.http
          .post('/order')
          .send(body() as object)
          .expect(400);
        expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
        expect(res.body.message).toContain(message);
        // Each problem also stands next to its field, and the message joins them.
        const [first, ...rest] = res.body.problems as Array<{ field: string; problem: string }>;
        expect(first).toBeDefined();
        expect(res.body.problemCount).toBeGreaterThanOrEqual(rest.length + 1);
        expect(res.body.message).toContain(`${first?.field} ${first?.problem}`);
        expect(await orders.countDocuments()).toBe(ordersBefore);
        expect(await jobCount()).toBe(jobsBefore);
      });

      it('mixed currencies', async () => {
        const euro = await createProduct(admin, { quantity: 5, currency: 'EUR' });
        const before = await orders.countDocuments();
        const res = await shopper.http
          .post('/order')
          .send({
            items: [
              { productId: cup.id, quantity: 1 },
              { productId: euro.id, quantity: 1 },
            ],
          })
          .expect(400);
        expect(res.body.message).toContain('same currency');
        expect(await orders.countDocuments()).toBe(before);
      });

      it('a discontinued product', async () => {
        const old = await createProduct(admin, { quantity: 5 });
        await admin.delete(`/stock/products/${old.id}`).expect(204);
        const res = await shopper.http
          .post('/order')
          .send({ items: [{ productId: old.id, quantity: 1 }] })
          .expect(400);
        expect(res.body.message).toContain('no longer sold');
      });

      it('a body that is not JSON', async () => {
        const res = await shopper.http
          .post('/order')
          .set('Content-Type', 'application/json')
          .send('{"items": [')
          .expect(400);
        expect(res.body.message).toBe('Request body is not valid JSON');
      });
    });
  });

  describe('Idempotency-Key', () => {
    it('returns the first order again for the same key and enqueues nothing new', async () => {
      const shopper = await registerShopper(app);
      const body = { items: [{ productId: cup.id, quantity: 1 }] };
      const first = await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'checkout-1')
        .send(body)
        .expect(202);
      const jobsAfterFirst = await jobCount();
      const again = await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'checkout-1')
        .send(body)
        .expect(202);
      expect(again.body.id).toBe(first.body.id);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await orders.countDocuments({ userId: shopper.id })).toBe(1);
      expect(await jobCount()).toBe(jobsAfterFirst);
    });

    it('deduplicates concurrent requests with the same key', async () => {
      const shopper = await registerShopper(app);
      const body = { items: [{ productId: cup.id, quantity: 1 }] };
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          shopper.http.post('/order').set('Idempotency-Key', 'burst').send(body).expect(202),
        ),
      );
      expect(new Set(responses.map((r) => r.body.id as string)).size).toBe(1);
      expect(await orders.countDocuments({ userId: shopper.id })).toBe(1);
      const order = await settledOrder(shopper, responses[0].body.id as string);
      expect(order.status).toBe('CONFIRMED');
    });

    it('keeps keys per user', async () => {
      const [a, b] = [await registerShopper(app), await registerShopper(app)];
      const body = { items: [{ productId: cup.id, quantity: 1 }] };
      const ra = await a.http.post('/order').set('Idempotency-Key', 'same').send(body).expect(202);
      const rb = await b.http.post('/order').set('Idempotency-Key', 'same').send(body).expect(202);
      expect(ra.body.id).not.toBe(rb.body.id);
    });

    it('refuses a reused key with a different body (422) and a malformed key (400)', async () => {
      const shopper = await registerShopper(app);
      await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'k-1')
        .send({ items: [{ productId: cup.id, quantity: 1 }] })
        .expect(202);
      const reused = await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'k-1')
        .send({ items: [{ productId: cup.id, quantity: 2 }] })
        .expect(422);
      expect(reused.body.message).toBe(
        'Idempotency-Key was already used with a different order body',
      );
      const malformed = await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'has space')
        .send({ items: [{ productId: cup.id, quantity: 1 }] })
        .expect(400);
      expect(malformed.body.message).toContain('Idempotency-Key');
      await shopper.http
        .post('/order')
        .set('Idempotency-Key', 'x'.repeat(256))
        .send({ items: [{ productId: cup.id, quantity: 1 }] })
        .expect(400);
      expect(await orders.countDocuments({ userId: shopper.id })).toBe(1);
    });
  });

  describe('GET /order and GET /order/:id', () => {
    it("lists the caller's own orders newest first, paginated", async () => {
      const shopper = await registerShopper(app);
      const placed: OrderBody[] = [];
      for (let i = 1; i <= 3; i++)
        placed.push(await placeOrder(shopper, [{ productId: cup.id, quantity: i }]));
      await placeOrder(await registerShopper(app), [{ productId: cup.id, quantity: 1 }]);
      const page1 = await shopper.http.get('/order').query({ limit: 2 }).expect(200);
      expect(page1.body).toMatchObject({ total: 3, page: 1, limit: 2 });
      expect(page1.body.items.map((o: OrderBody) => o.id)).toEqual([placed[2].id, placed[1].id]);
      const page2 = await shopper.http.get('/order').query({ limit: 2, page: 2 }).expect(200);
      expect(page2.body.items.map((o: OrderBody) => o.id)).toEqual([placed[0].id]);
      await shopper.http.get('/order').query({ limit: 500 }).expect(400);
    });

    it('shows an order to its owner and admins only', async () => {
      const owner = await registerShopper(app);
      const other = await registerShopper(app);
      const order = await placeOrder(owner, [{ productId: saucer.id, quantity: 1 }]);
      const settled = await settledOrder(owner, order.id);
      expect(settled).toMatchObject({
        id: order.id,
        status: 'CONFIRMED',
        failureReason: null,
        attempts: 1,
      });
      expect(settled).toHaveProperty('decidedAt');
      await other.http.get(`/order/${order.id}`).expect(404);
      await admin.get(`/order/${order.id}`).expect(200);
      await app.agent().get(`/order/${order.id}`).expect(401);
      await owner.http.get('/order/nope').expect(400);
      await owner.http.get('/order/0123456789abcdef01234567').expect(404);
    });
  });
});

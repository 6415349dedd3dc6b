/**
 * After the decision: cancellation (stock back exactly once, whatever the timing), fulfilment by
 * staff through the transition table, the order's history, and what the staff role may do.
 */
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Product } from '../src/stock/product.schema.js';
import { isGapFree } from '../src/order/domain/history.js';
import type { HistoryEntry } from '../src/order/domain/history.js';
import { Order } from '../src/order/order.schema.js';
import { OrderRecoveryService } from '../src/order/order-recovery.service.js';
import { OrderRepository } from '../src/order/order.repository.js';
import { waitFor } from '../tools/harness/wait.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { conservationProblems, stockLevels } from './support/inventory.js';
import {
  Shopper,
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signIn,
  signInAdmin,
} from './support/shop.js';

type Entry = Omit<HistoryEntry, 'at'> & { at: string };

async function historyOf(http: request.Agent, orderId: string): Promise<Entry[]> {
  const res = await http.get(`/order/${orderId}/history`).expect(200);
  return (res.body as { items: Entry[] }).items;
}

function wholeHistory(items: Entry[]): boolean {
  return isGapFree(items.map((e) => ({ ...e, at: new Date(e.at) })));
}

/** A registered account made staff by an admin, signed in again to carry the role. */
async function staffMember(app: TestApp, admin: request.Agent): Promise<request.Agent> {
  const account = await registerShopper(app);
  const res = await admin.patch(`/users/${account.id}/role`).send({ role: 'staff' }).expect(200);
  expect(res.body.user.role).toBe('staff');
  return signIn(app, account.email, 'shopper-password');
}

describe('order lifecycle', () => {
  let app: TestApp;
  let admin: request.Agent;
  let staff: request.Agent;
  let products: Model<Product>;
  let orders: Model<Order>;

  beforeAll(async () => {
    app = await createTestApp('lifecycle');
    admin = await signInAdmin(app);
    staff = await staffMember(app, admin);
    products = app.get<Model<Product>>(getModelToken(Product.name));
    orders = app.get<Model<Order>>(getModelToken(Order.name));
  });
  afterAll(() => app.close());

  /** Waits until the cancelled order's stock is back, and answers the order. */
  async function stockBack(orderId: string) {
    return waitFor(
      async () => {
        const order = await orders.findById(orderId).lean().exec();
        return order?.stockReturned === true ? order : undefined;
      },
      { what: `the stock of order ${orderId} to be back` },
    );
  }

  it('the owner cancels a confirmed order: its sold units go back to stock once, and the history says so', async () => {
    const product = await createProduct(admin, { quantity: 5 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 2 }]);
    expect((await settledOrder(shopper, placed.id)).status).toBe('CONFIRMED');
    await waitFor(async () => (await stockLevels(products, product.id)).sold === 2);

    const res = await shopper.http.post(`/order/${placed.id}/cancel`).expect(200);
    expect(res.body).toMatchObject({
      id: placed.id,
      status: 'CANCELLED',
      cancelledFrom: 'CONFIRMED',
    });
    await stockBack(placed.id);
    expect(await stockLevels(products, product.id)).toMatchObject({
      available: 5,
      reserved: 0,
      sold: 0,
      holds: 0,
    });

    // Again: the same answer, and the stock does not come back twice.
    const again = await shopper.http.post(`/order/${placed.id}/cancel`).expect(200);
    expect(again.body).toMatchObject({ status: 'CANCELLED', stockReturned: true });
    expect((await stockLevels(products, product.id)).available).toBe(5);
    expect(await conservationProblems(products, product.id)).toEqual([]);

    const history = await historyOf(shopper.http, placed.id);
    expect(history.map((e) => [e.seq, e.event, e.status])).toEqual([
      [1, 'ACCEPTED', 'PENDING'],
      [2, 'RESERVED', 'PENDING'],
      [3, 'CONFIRMED', 'CONFIRMED'],
      [4, 'CANCELLED', 'CANCELLED'],
    ]);
    expect(history[0]?.actor).toBe(shopper.id);
    expect(history[1]?.actor).toBe('system');
    expect(history[3]?.actor).toBe(shopper.id);
    // The cancellation's entry names the status it left.
    expect(history[3]?.reason).toBe('CONFIRMED');
    expect(history.slice(0, 3).map((e) => e.reason)).toEqual([undefined, undefined, undefined]);
    expect(wholeHistory(history)).toBe(true);
  });

  it('staff move a confirmed order through fulfilment; an illegal move answers 409 naming the status', async () => {
    const product = await createProduct(admin, { quantity: 3 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    await settledOrder(shopper, placed.id);

    const skip = await staff.patch(`/admin/orders/${placed.id}/status`).send({ status: 'SHIPPED' });
    expect(skip.status).toBe(409);
    expect(skip.body.message).toBe(
      'The order is CONFIRMED; it cannot move to SHIPPED (allowed: PREPARING, CANCELLED)',
    );
    for (const status of ['PREPARING', 'SHIPPED', 'DELIVERED']) {
      const res = await staff
        .patch(`/admin/orders/${placed.id}/status`)
        .send({ status })
        .expect(200);
      expect(res.body.status).toBe(status);
    }
    // Repeating a step answers the order as it is; nothing moves back.
    await staff
      .patch(`/admin/orders/${placed.id}/status`)
      .send({ status: 'DELIVERED' })
      .expect(200);
    const late = await staff
      .patch(`/admin/orders/${placed.id}/status`)
      .send({ status: 'CANCELLED' });
    expect(late.status).toBe(409);
    expect(late.body.message).toBe(
      'The order is DELIVERED; it cannot move to CANCELLED (no further change is allowed)',
    );
    const owner = await shopper.http.post(`/order/${placed.id}/cancel`);
    expect(owner.status).toBe(409);
    expect(owner.body.message).toMatch(/^The order is DELIVERED/);

    const history = await historyOf(staff, placed.id);
    expect(history.map((e) => e.event)).toEqual([
      'ACCEPTED',
      'RESERVED',
      'CONFIRMED',
      'PREPARING',
      'SHIPPED',
      'DELIVERED',
    ]);
    expect(wholeHistory(history)).toBe(true);
    // Sold stays sold.
    expect(await stockLevels(products, product.id)).toMatchObject({ available: 2, sold: 1 });
  });

  it('staff cancel an order being prepared; its owner may not', async () => {
    const product = await createProduct(admin, { quantity: 4 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 4 }]);
    await settledOrder(shopper, placed.id);
    await staff
      .patch(`/admin/orders/${placed.id}/status`)
      .send({ status: 'PREPARING' })
      .expect(200);

    const refused = await shopper.http.post(`/order/${placed.id}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(
      'The order is PREPARING; it cannot move to CANCELLED (no further change is allowed)',
    );
    const res = await staff
      .patch(`/admin/orders/${placed.id}/status`)
      .send({ status: 'CANCELLED' });
    expect(res.status).toBe(200);
    expect(res.body.cancelledFrom).toBe('PREPARING');
    await stockBack(placed.id);
    expect(await stockLevels(products, product.id)).toMatchObject({ available: 4, sold: 0 });
  });

  it('the recovery sweep gives back the stock of a cancellation whose job was never queued', async () => {
    const product = await createProduct(admin, { quantity: 3 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 3 }]);
    await settledOrder(shopper, placed.id);
    await waitFor(async () => (await stockLevels(products, product.id)).sold === 3);
    // Cancelled as the API cancels, but the return-stock job never reached Redis.
    const cancelled = await app
      .get(OrderRepository)
      .moveTo(placed.id, 'CANCELLED', ['CONFIRMED'], shopper.id, shopper.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', stockReturned: false });
    expect((await stockLevels(products, product.id)).sold).toBe(3);

    const acted = await app.get(OrderRecoveryService).sweep(new Date(Date.now() + 1000));
    expect(acted).toBeGreaterThanOrEqual(1);
    expect((await orders.findById(placed.id).lean().exec())?.stockReturned).toBe(true);
    expect(await stockLevels(products, product.id)).toMatchObject({
      available: 3,
      sold: 0,
      holds: 0,
    });
    // A second sweep finds nothing to do and gives nothing back twice.
    await app.get(OrderRecoveryService).sweep(new Date(Date.now() + 1000));
    expect((await stockLevels(products, product.id)).available).toBe(3);
    expect(await conservationProblems(products, product.id)).toEqual([]);
  });

  it("someone else's order answers 404, to cancelling and to its history", async () => {
    const product = await createProduct(admin, { quantity: 1 });
    const [owner, stranger] = [await registerShopper(app), await registerShopper(app)];
    const placed = await placeOrder(owner, [{ productId: product.id, quantity: 1 }]);
    await stranger.http.post(`/order/${placed.id}/cancel`).expect(404);
    await stranger.http.get(`/order/${placed.id}/history`).expect(404);
    await settledOrder(owner, placed.id);
    expect((await orders.findById(placed.id).lean().exec())?.status).toBe('CONFIRMED');
  });

  it('the staff role moves and reads orders, and nothing else an admin does', async () => {
    const product = await createProduct(admin, { quantity: 1 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    // Allowed: any order and its history.
    await staff.get(`/order/${placed.id}`).expect(200);
    await staff.get(`/order/${placed.id}/history`).expect(200);
    // Refused: products, users, roles, queues.
    const refusals: Array<[string, request.Test]> = [
      [
        'create a product',
        staff.post('/stock/products').send({ name: 'X', price: 1, currency: 'USD', quantity: 1 }),
      ],
      ['adjust stock', staff.patch(`/stock/products/${product.id}/stock`).send({ delta: 1 })],
      ['take a product off sale', staff.delete(`/stock/products/${product.id}`)],
      ['promote to VIP', staff.post(`/users/${shopper.id}/vip`)],
      ['demote a VIP', staff.delete(`/users/${shopper.id}/vip`)],
      ['set a role', staff.patch(`/users/${shopper.id}/role`).send({ role: 'admin' })],
      ['list dead letters', staff.get('/admin/dlq')],
      ['retry a dead letter', staff.post(`/admin/dlq/${placed.id}/retry`)],
      ['open Bull Board', staff.get('/admin/queues/api/queues')],
    ];
    for (const [what, req] of refusals)
      expect({ what, status: (await req).status }).toEqual({ what, status: 403 });
    // And a customer may not use the staff route.
    await shopper.http
      .patch(`/admin/orders/${placed.id}/status`)
      .send({ status: 'PREPARING' })
      .expect(403);
  });

  it('refuses a status staff may not set, naming the allowed ones', async () => {
    const res = await staff
      .patch(`/admin/orders/${'a'.repeat(24)}/status`)
      .send({ status: 'CONFIRMED' })
      .expect(400);
    expect(res.body.problems).toEqual([
      {
        field: 'status',
        problem: 'must be one of the following values: PREPARING, SHIPPED, DELIVERED, CANCELLED',
      },
    ]);
  });

  it('an admin cannot take away their own admin role', async () => {
    const me = (await admin.get('/auth/profile').expect(200)).body.user.id as string;
    const res = await admin.patch(`/users/${me}/role`).send({ role: 'customer' }).expect(409);
    expect(res.body.message).toMatch(/cannot take away their own admin role/);
  });
});

describe('cancelling a PENDING order, before a worker has decided it', () => {
  const env = testEnv('lifecycle-pending');
  let api: TestApp;
  let worker: TestApp | undefined;

  beforeAll(async () => {
    api = await createTestApp('lifecycle-pending', { env: { ...env, APP_ROLE: 'api' } });
  });
  afterAll(async () => {
    await worker?.app.close();
    await api.close();
  });

  it('is cancelled at once; the worker then neither confirms it nor leaves stock held', async () => {
    const admin = await signInAdmin(api);
    const product = await createProduct(admin, { quantity: 2 });
    const shopper: Shopper = await registerShopper(api);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 2 }]);
    const res = await shopper.http.post(`/order/${placed.id}/cancel`).expect(200);
    expect(res.body).toMatchObject({
      status: 'CANCELLED',
      cancelledFrom: 'PENDING',
      stockReturned: false,
    });

    // Now a worker runs the order's job and the stock-return job.
    worker = await createTestApp('lifecycle-pending', { env: { ...env, APP_ROLE: 'worker' } });
    const orders = api.get<Model<Order>>(getModelToken(Order.name));
    const products = api.get<Model<Product>>(getModelToken(Product.name));
    await waitFor(
      async () => (await orders.findById(placed.id).lean().exec())?.stockReturned === true,
      {
        what: 'the cancellation to be settled',
      },
    );
    const order = await orders.findById(placed.id).lean().exec();
    expect(order?.status).toBe('CANCELLED');
    expect(await stockLevels(products, product.id)).toMatchObject({
      available: 2,
      reserved: 0,
      sold: 0,
      holds: 0,
    });
    expect((order?.history ?? []).map((e) => [e.event, e.reason])).toEqual([
      ['ACCEPTED', undefined],
      ['CANCELLED', 'PENDING'],
    ]);
  });
});

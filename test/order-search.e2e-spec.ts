/**
 * Staff search of orders: each filter, newest first, and keyset pages that stay exact while
 * orders are being accepted.
 */
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Order } from '../src/order/order.schema.js';
import { TestApp, createTestApp } from './support/app.js';
import {
  Shopper,
  createProduct,
  placeOrder,
  registerShopper,
  signInAdmin,
} from './support/shop.js';

interface Found {
  id: string;
  orderNumber: string;
  userId?: string;
  status: string;
  priority: string;
  createdAt: string;
}

async function walk(staff: request.Agent, query: string, limit: number): Promise<Found[]> {
  const seen: Found[] = [];
  let cursor: string | null = null;
  do {
    const res = await staff
      .get(`/admin/orders?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
      .expect(200);
    seen.push(...(res.body.items as Found[]));
    cursor = res.body.nextCursor as string | null;
  } while (cursor);
  return seen;
}

describe('staff search of orders (GET /admin/orders)', () => {
  let app: TestApp;
  let admin: request.Agent;
  let orders: Model<Order>;
  let cup: { id: string };
  let pot: { id: string };
  let alice: Shopper;
  let vip: Shopper;

  beforeAll(async () => {
    // Orders stay PENDING: no worker, so every filter sees exactly what was placed.
    app = await createTestApp('search', { env: { APP_ROLE: 'api' } });
    admin = await signInAdmin(app);
    orders = app.get<Model<Order>>(getModelToken(Order.name));
    [cup, pot] = [
      await createProduct(admin, { quantity: 1000 }),
      await createProduct(admin, { quantity: 1000 }),
    ];
    alice = await registerShopper(app);
    vip = await registerShopper(app, { vip: true, admin });
    for (let i = 0; i < 10; i++) await placeOrder(alice, [{ productId: cup.id, quantity: 1 }]);
    for (let i = 0; i < 4; i++) await placeOrder(vip, [{ productId: pot.id, quantity: 1 }]);
  });
  afterAll(() => app.close());

  it('filters by customer, priority, product, status and number, newest first', async () => {
    const byAlice = await walk(admin, `userId=${alice.id}`, 4);
    expect(byAlice).toHaveLength(10);
    const times = byAlice.map((o) => Date.parse(o.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(await walk(admin, 'priority=VIP', 100)).toHaveLength(4);
    expect((await walk(admin, `productId=${pot.id}`, 100)).every((o) => o.priority === 'VIP')).toBe(
      true,
    );
    expect(await walk(admin, `productId=${pot.id}&userId=${alice.id}`, 100)).toHaveLength(0);
    expect(await walk(admin, 'status=PENDING', 100)).toHaveLength(14);
    expect(await walk(admin, 'status=CONFIRMED', 100)).toHaveLength(0);
    const one = byAlice[3];
    const byNumber = await walk(admin, `number=${one?.orderNumber}`, 100);
    expect(byNumber.map((o) => o.id)).toEqual([one?.id]);
  });

  it('filters by acceptance time: from inclusive, to exclusive', async () => {
    const all = await walk(admin, `userId=${alice.id}`, 100);
    const middle = all[5];
    const since = await walk(admin, `userId=${alice.id}&from=${middle?.createdAt}`, 100);
    expect(since.map((o) => o.id)).toContain(middle?.id);
    const before = await walk(admin, `userId=${alice.id}&to=${middle?.createdAt}`, 100);
    expect(before.map((o) => o.id)).not.toContain(middle?.id);
    expect(since.length + before.length).toBe(10);
  });

  it('refuses filters and cursors it does not understand, naming them', async () => {
    const cases: Array<[string, string]> = [
      ['status=LOST', 'status'],
      ['userId=nope', 'userId'],
      ['priority=GOLD', 'priority'],
      ['from=yesterday', 'from'],
      ['number=123', 'number'],
      ['limit=0', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('{"t":1,"id":"x"}').toString('base64url')}`, 'cursor'],
    ];
    for (const [query, field] of cases) {
      const res = await admin.get(`/admin/orders?${query}`).expect(400);
      expect({ query, field: res.body.problems?.[0]?.field }).toEqual({ query, field });
    }
  });

  it('pages stay exact while 500 orders are accepted: every order that existed comes exactly once', async () => {
    const existing = new Set(
      (await orders.find({}, { _id: 1 }).lean().exec()).map((o) => o._id.toString()),
    );
    const buyers = [await registerShopper(app), await registerShopper(app)];
    let placing = true;
    let next = 0;
    const placed = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 500) {
          const buyer = buyers[next++ % 2];
          if (buyer) await placeOrder(buyer, [{ productId: cup.id, quantity: 1 }]);
        }
      }),
    ).finally(() => (placing = false));
    // Walk small pages until the inserts are over, then once more from the start.
    const walks: Found[][] = [];
    do walks.push(await walk(admin, 'status=PENDING', 3));
    while (placing);
    await placed;
    expect(walks.length).toBeGreaterThan(1);
    for (const seen of walks) {
      const ids = seen.map((o) => o.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...existing].filter((id) => !ids.includes(id))).toEqual([]);
    }
    expect((await walk(admin, 'status=PENDING', 50)).length).toBe(existing.size + 500);
  });

  it('is for staff and admins only', async () => {
    await alice.http.get('/admin/orders').expect(403);
  });
});

describe('staff search of accounts (GET /admin/users)', () => {
  let app: TestApp;
  let admin: request.Agent;

  beforeAll(async () => {
    app = await createTestApp('user-search', { env: { APP_ROLE: 'api' } });
    admin = await signInAdmin(app);
    for (const name of ['ann', 'anna', 'annette', 'bob', 'a.n+n']) {
      await app
        .agent()
        .post('/auth/register')
        .send({ email: `${name}@search.test`, password: 'shopper-password', name })
        .expect(201);
    }
    const bob = await admin.get('/admin/users?email=BOB@').expect(200);
    await admin.post(`/users/${bob.body.items[0].id}/vip`).expect(200);
  });
  afterAll(() => app.close());

  const emails = async (query: string, limit = 100): Promise<string[]> => {
    const found: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin
        .get(`/admin/users?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      found.push(...(res.body.items as Array<{ email: string }>).map((u) => u.email));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    return found;
  };

  it('finds by email prefix in any case, A to Z, page by page', async () => {
    expect(await emails('email=ANN', 2)).toEqual([
      'ann@search.test',
      'anna@search.test',
      'annette@search.test',
    ]);
    // The prefix is text, not a pattern.
    expect(await emails('email=a.n')).toEqual(['a.n+n@search.test']);
    expect(await emails('email=.*')).toEqual([]);
  });

  it('filters by role and VIP flag', async () => {
    expect(await emails('vip=true')).toEqual(['bob@search.test']);
    expect(await emails('role=admin')).toEqual(['admin@shop.test']);
    expect((await emails('role=customer&vip=false')).length).toBe(4);
    await admin.get('/admin/users?vip=yes').expect(400);
    await admin.get('/admin/users?role=root').expect(400);
  });
});

/**
 * Order numbers: unique across API replicas, growing within each, allocated by blocks (one
 * MongoDB call per ORDER_NUMBER_BLOCK orders, none per order).
 */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { ORDER_NUMBER } from '../src/order/domain/order-number.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { createProduct, placeOrder, registerShopper, signInAdmin } from './support/shop.js';

describe('order numbers', () => {
  const env = testEnv('numbers', { APP_ROLE: 'api', ORDER_NUMBER_BLOCK: '7' });
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp('numbers', { env });
    b = await createTestApp('numbers', { env });
  });
  afterAll(async () => {
    await b.app.close();
    await a.close();
  });

  it('are unique across replicas, grow within each, and cost one counter call per block', async () => {
    const admin = await signInAdmin(a);
    const product = await createProduct(admin, { quantity: 1000 });
    const [onA, onB] = [await registerShopper(a), await registerShopper(b)];
    const place = (shopper: typeof onA) =>
      placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (let round = 0; round < 5; round++) {
      const placed = await Promise.all([
        ...Array.from({ length: 6 }, () => place(onA)),
        ...Array.from({ length: 6 }, () => place(onB)),
      ]);
      fromA.push(...placed.slice(0, 6).map((o) => o.orderNumber));
      fromB.push(...placed.slice(6).map((o) => o.orderNumber));
    }
    const all = [...fromA, ...fromB];
    expect(
      all.every((n) => ORDER_NUMBER.test(n) && n.startsWith(`ORD-${new Date().getUTCFullYear()}-`)),
    ).toBe(true);
    expect(new Set(all).size).toBe(60);
    // Within a replica, a later round never gets a smaller number.
    const sequence = (n: string) => Number(n.split('-')[2]);
    for (const numbers of [fromA, fromB])
      for (let round = 1; round < 5; round++)
        expect(Math.min(...numbers.slice(round * 6, round * 6 + 6).map(sequence))).toBeGreaterThan(
          Math.max(...numbers.slice((round - 1) * 6, round * 6).map(sequence)),
        );
    // Blocks of 7: the counter moved by whole blocks, at most one block ahead per replica.
    const counter = await a
      .get<Connection>(getConnectionToken())
      .collection<{ _id: string; value: number }>('counters')
      .findOne({ _id: 'orders' });
    const value = counter?.value ?? Number.NaN;
    expect(value % 7).toBe(0);
    expect(value).toBeLessThanOrEqual(60 + 2 * 2 * 7);
    // Searchable by staff.
    const found = await admin.get(`/admin/orders?number=${fromA[0]}`).expect(200);
    expect(found.body.items.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([fromA[0]]);
  });
});

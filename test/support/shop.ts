/**
 * Storefront actions through the HTTP API, for e2e tests: each shopper is a supertest agent with
 * its own cookie jar, so authentication runs exactly as in a browser.
 */
import request from 'supertest';
import { ADMIN, TestApp } from './app.js';
import { waitFor } from '../../tools/harness/wait.js';

let shopperCounter = 0;

export interface Shopper {
  id: string;
  email: string;
  http: request.Agent;
}

export async function signIn(
  app: TestApp,
  email: string,
  password: string,
): Promise<request.Agent> {
  const http = app.agent();
  await http.post('/auth/login').send({ email, password }).expect(200);
  return http;
}

export function signInAdmin(app: TestApp): Promise<request.Agent> {
  return signIn(app, ADMIN.email, ADMIN.password);
}

export async function registerShopper(
  app: TestApp,
  options: { vip?: boolean; admin?: request.Agent } = {},
): Promise<Shopper> {
  const http = app.agent();
  const email = `shopper${++shopperCounter}.${process.pid}@shop.test`;
  const res = await http
    .post('/auth/register')
    .send({ email, password: 'shopper-password', name: `Shopper ${shopperCounter}` })
    .expect(201);
  const id = (res.body as { user: { id: string } }).user.id;
  if (options.vip) {
    const admin = options.admin ?? (await signInAdmin(app));
    await admin.post(`/users/${id}/vip`).expect(200);
  }
  return { id, email, http };
}

export interface ProductBody {
  id: string;
  name: string;
  price: number;
  currency: string;
  available: number;
  reserved: number;
  version: number;
}

export async function createProduct(
  admin: request.Agent,
  fields: { quantity: number; price?: number; currency?: string; name?: string },
): Promise<ProductBody> {
  const res = await admin
    .post('/stock/products')
    .send({
      name: fields.name ?? 'Test product',
      description: 'for tests',
      price: fields.price ?? 1000,
      currency: fields.currency ?? 'USD',
      quantity: fields.quantity,
    })
    .expect(201);
  return res.body as ProductBody;
}

export interface OrderBody {
  id: string;
  status: 'PENDING' | 'CONFIRMED' | 'FAILED';
  failureReason: string | null;
  priority: 'VIP' | 'REGULAR';
  total: number;
  attempts: number;
  items: Array<{
    productId: string;
    quantity: number;
    unitPrice: number;
    lineTotal: number;
    name: string;
  }>;
}

export async function placeOrder(
  shopper: Shopper,
  items: Array<{ productId: string; quantity: number }>,
): Promise<OrderBody> {
  const res = await shopper.http.post('/order').send({ items }).expect(202);
  return res.body as OrderBody;
}

/** Waits until the order has left PENDING and returns it. */
export function settledOrder(
  shopper: Shopper,
  orderId: string,
  timeoutMs = 20_000,
): Promise<OrderBody> {
  return waitFor(
    async () => {
      const res = await shopper.http.get(`/order/${orderId}`).expect(200);
      const order = res.body as OrderBody;
      return order.status === 'PENDING' ? undefined : order;
    },
    { timeoutMs, what: `order ${orderId} to leave PENDING` },
  );
}

/**
 * The shared storefront client (tools/storefront.ts) over supertest agents, for e2e tests: each
 * shopper is an agent with its own cookie jar, so authentication runs exactly as in a browser, and
 * the agent stays at hand for requests a test makes itself.
 */
import request from 'supertest';
import * as storefront from '../../tools/storefront.js';
import { ADMIN, TestApp } from './app.js';

export type { OrderBody, ProductBody } from '../../tools/storefront.js';

let shopperCounter = 0;

export interface Shopper {
  id: string;
  email: string;
  http: request.Agent;
}

/** A supertest agent as the storefront client's HTTP. */
export function agentHttp(agent: request.Agent): storefront.CookieHttp {
  return {
    send: async (method, path, body) => {
      const req = method === 'GET' ? agent.get(path) : agent.post(path);
      const res = body === undefined ? await req : await req.send(body as object);
      return { status: res.status, body: res.body as unknown };
    },
  };
}

export async function signIn(
  app: TestApp,
  email: string,
  password: string,
): Promise<request.Agent> {
  const http = app.agent();
  await storefront.signIn(agentHttp(http), { email, password });
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
  const id = await storefront.register(agentHttp(http), {
    email,
    password: 'shopper-password',
    name: `Shopper ${shopperCounter}`,
  });
  if (options.vip) {
    const admin = options.admin ?? (await signInAdmin(app));
    await storefront.promoteToVip(agentHttp(admin), id);
  }
  return { id, email, http };
}

export function createProduct(
  admin: request.Agent,
  fields: storefront.NewProduct,
): Promise<storefront.ProductBody> {
  return storefront.createProduct(agentHttp(admin), fields);
}

export function placeOrder(
  shopper: Shopper,
  items: Array<{ productId: string; quantity: number }>,
): Promise<storefront.OrderBody> {
  return storefront.placeOrder(agentHttp(shopper.http), items);
}

/** Waits until the order has left PENDING and returns it. */
export function settledOrder(
  shopper: Shopper,
  orderId: string,
  timeoutMs = 20_000,
): Promise<storefront.OrderBody> {
  return storefront.decidedOrder(agentHttp(shopper.http), orderId, timeoutMs);
}

/**
 * The one storefront client: what a shop front does with the API (register, sign in, promote a
 * VIP, create a product, place an order, read it back), over any cookie-carrying HTTP client.
 * Load scenarios and the dev runner use `fetchHttp` (fetch plus a cookie jar); the e2e tests wrap
 * their supertest agents (test/support/shop.ts).
 */
import { waitFor } from './harness/wait.js';
import type { OrderStatus } from '../src/order/domain/order-state.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** One browser: requests carry the cookies earlier answers set. */
export interface CookieHttp {
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer>;
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

export interface OrderBody {
  id: string;
  orderNumber: string;
  status: OrderStatus;
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

export interface Credentials {
  email: string;
  password: string;
  name: string;
}

export interface NewProduct {
  quantity: number;
  name?: string;
  description?: string;
  price?: number;
  currency?: string;
}

/** fetch with a cookie jar of one site: the `Cookie` header a browser would send. */
export class FetchHttp implements CookieHttp {
  private readonly jar = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  /** The `Cookie` header of this session, e.g. for a load generator's raw requests. */
  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async send(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<HttpAnswer> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.jar.size > 0 ? { cookie: this.cookie } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      // An emptied cookie (logout) is gone, as in a browser.
      if (value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      // not JSON: the body as text
    }
    return { status: res.status, body: parsed };
  }
}

export function fetchHttp(baseUrl: string): FetchHttp {
  return new FetchHttp(baseUrl);
}

function expectStatus(answer: HttpAnswer, expected: number, what: string): unknown {
  if (answer.status !== expected) {
    throw new Error(
      `${what}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body;
}

/** Registers an account (and signs it in, as registration does); answers its user id. */
export async function register(http: CookieHttp, who: Credentials): Promise<string> {
  const body = expectStatus(
    await http.send('POST', '/auth/register', who),
    201,
    `register ${who.email}`,
  );
  return (body as { user: { id: string } }).user.id;
}

/** Signs in; answers the user id. */
export async function signIn(
  http: CookieHttp,
  who: Pick<Credentials, 'email' | 'password'>,
): Promise<string> {
  const body = expectStatus(
    await http.send('POST', '/auth/login', { email: who.email, password: who.password }),
    200,
    `sign in ${who.email}`,
  );
  return (body as { user: { id: string } }).user.id;
}

/** Signs in, registering the account first when it does not exist yet. */
export async function signInOrRegister(http: CookieHttp, who: Credentials): Promise<string> {
  const answer = await http.send('POST', '/auth/login', {
    email: who.email,
    password: who.password,
  });
  if (answer.status === 401) return register(http, who);
  return (expectStatus(answer, 200, `sign in ${who.email}`) as { user: { id: string } }).user.id;
}

/** An admin makes a user VIP. */
export async function promoteToVip(admin: CookieHttp, userId: string): Promise<void> {
  expectStatus(await admin.send('POST', `/users/${userId}/vip`), 200, `promote ${userId}`);
}

/** An admin adds a product with stock. */
export async function createProduct(admin: CookieHttp, fields: NewProduct): Promise<ProductBody> {
  const body = expectStatus(
    await admin.send('POST', '/stock/products', {
      name: fields.name ?? 'Test product',
      description: fields.description ?? 'for tests',
      price: fields.price ?? 1000,
      currency: fields.currency ?? 'USD',
      quantity: fields.quantity,
    }),
    201,
    'create product',
  );
  return body as ProductBody;
}

/** Places an order; answers the accepted order (202). */
export async function placeOrder(
  shopper: CookieHttp,
  items: Array<{ productId: string; quantity: number }>,
): Promise<OrderBody> {
  return expectStatus(
    await shopper.send('POST', '/order', { items }),
    202,
    'place order',
  ) as OrderBody;
}

/** Waits until the order has left PENDING and returns it. */
export function decidedOrder(
  shopper: CookieHttp,
  orderId: string,
  timeoutMs = 20_000,
): Promise<OrderBody> {
  return waitFor(
    async () => {
      const order = expectStatus(
        await shopper.send('GET', `/order/${orderId}`),
        200,
        `read order ${orderId}`,
      ) as OrderBody;
      return order.status === 'PENDING' ? undefined : order;
    },
    { timeoutMs, what: `order ${orderId} to leave PENDING` },
  );
}

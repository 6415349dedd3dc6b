/** Accounts for a scenario, signed in through the real cookie flow of the API. */
import { ADMIN } from '../../tools/harness/stack.js';

export interface Shopper {
  id: string;
  vip: boolean;
  /** The `Cookie` header a browser would send: the access and refresh cookies. */
  cookie: string;
}

async function post(url: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

function cookieHeader(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

export async function signInAdmin(apiUrl: string): Promise<string> {
  const res = await post(`${apiUrl}/auth/login`, ADMIN);
  if (!res.ok) throw new Error(`admin sign-in failed: ${res.status}`);
  return cookieHeader(res);
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * `count` accounts, every `1 / vipShare`-th promoted to VIP, each registered and then signed in
 * (POST /auth/login) so its cookies come from the login flow.
 */
export async function createShoppers(
  apiUrl: string,
  count: number,
  vipShare: number,
  /** Makes the e-mail addresses unique: by default the time of the call. */
  run = Date.now().toString(36),
): Promise<Shopper[]> {
  const admin = await signInAdmin(apiUrl);
  const vipEvery = vipShare > 0 ? Math.round(1 / vipShare) : 0;
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const email = `shopper${i}.${run}@load.test`;
      const password = `load-password-${i}`;
      const registered = await post(`${apiUrl}/auth/register`, {
        email,
        password,
        name: `Shopper ${i}`,
      });
      if (registered.status !== 201)
        throw new Error(`register ${email}: ${registered.status} ${await registered.text()}`);
      const id = ((await registered.json()) as { user: { id: string } }).user.id;
      const vip = vipEvery > 0 && i % vipEvery === 0;
      if (vip) {
        const promoted = await post(`${apiUrl}/users/${id}/vip`, {}, admin);
        if (!promoted.ok) throw new Error(`promote ${email}: ${promoted.status}`);
      }
      const login = await post(`${apiUrl}/auth/login`, { email, password });
      if (!login.ok) throw new Error(`login ${email}: ${login.status}`);
      return { id, vip, cookie: cookieHeader(login) };
    },
  );
}

export async function createProducts(apiUrl: string, quantities: number[]): Promise<string[]> {
  const admin = await signInAdmin(apiUrl);
  return inBatches(quantities, 8, async (quantity, i) => {
    const res = await post(
      `${apiUrl}/stock/products`,
      { name: `Load product ${i}`, price: 1000, currency: 'USD', quantity },
      admin,
    );
    if (res.status !== 201) throw new Error(`create product: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  });
}

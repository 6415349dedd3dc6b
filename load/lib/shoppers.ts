/** Accounts for a scenario, through the shared storefront client and the real cookie flow. */
import { ADMIN } from '../../tools/harness/stack.js';
import {
  createProduct,
  fetchHttp,
  promoteToVip,
  register,
  signIn,
} from '../../tools/storefront.js';

export interface Shopper {
  id: string;
  vip: boolean;
  /** The `Cookie` header a browser would send: the access and refresh cookies. */
  cookie: string;
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
  const admin = fetchHttp(apiUrl);
  await signIn(admin, ADMIN);
  const vipEvery = vipShare > 0 ? Math.round(1 / vipShare) : 0;
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const who = { email: `shopper${i}.${run}@load.test`, password: `load-password-${i}` };
      const id = await register(fetchHttp(apiUrl), { ...who, name: `Shopper ${i}` });
      const vip = vipEvery > 0 && i % vipEvery === 0;
      if (vip) await promoteToVip(admin, id);
      const http = fetchHttp(apiUrl);
      await signIn(http, who);
      return { id, vip, cookie: http.cookie };
    },
  );
}

export async function createProducts(apiUrl: string, quantities: number[]): Promise<string[]> {
  const admin = fetchHttp(apiUrl);
  await signIn(admin, ADMIN);
  return inBatches(quantities, 8, async (quantity, i) => {
    const product = await createProduct(admin, {
      name: `Load product ${i}`,
      description: 'for load scenarios',
      price: 1000,
      currency: 'USD',
      quantity,
    });
    return product.id;
  });
}

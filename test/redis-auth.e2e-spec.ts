/**
 * Redis with a password, as the compose stack runs it (requirepass): every connection the app
 * opens (commands, queues, workers, the cache-invalidation subscriber) takes the password from
 * REDIS_URL, and a REDIS_URL without it, or with a wrong one, stops start-up with a message
 * saying so instead of a process that runs and retries for ever.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { CacheInvalidation } from '../src/common/cache-invalidation.js';
import { ROOT } from '../tools/harness/processes.js';
import { startRedisServer } from '../tools/harness/services.js';
import { waitFor } from '../tools/harness/wait.js';
import { createTestApp, testEnv } from './support/app.js';
import {
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signInAdmin,
} from './support/shop.js';

describe('Redis that requires a password', () => {
  const password = randomBytes(24).toString('hex');
  let redis: Awaited<ReturnType<typeof startRedisServer>>;

  beforeAll(async () => {
    redis = await startRedisServer({ password });
  });
  afterAll(() => redis.stop());

  it('serves and processes orders with the password in REDIS_URL', async () => {
    expect(redis.url).toBe(`redis://:${password}@127.0.0.1:${redis.port}`);
    const app = await createTestApp('redis-auth', { env: { REDIS_URL: redis.url } });
    try {
      const ready = await app.agent().get('/health/ready').expect(200);
      expect(ready.body.details).toMatchObject({ redis: { status: 'up' }, queues: {} });
      const admin = await signInAdmin(app);
      const product = await createProduct(admin, { quantity: 1 });
      const shopper = await registerShopper(app, { vip: true, admin });
      const order = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
      expect(await settledOrder(shopper, order.id)).toMatchObject({ status: 'CONFIRMED' });
      // Placing the order read the catalog cache, which subscribes to invalidations.
      await waitFor(() => app.get(CacheInvalidation).live, {
        what: 'the cache-invalidation subscription',
      });
    } finally {
      await app.close();
    }
  });

  it('refuses to start without the password or with a wrong one, saying so and never printing it (it used to start and retry for ever)', () => {
    const withoutPassword = `redis://127.0.0.1:${redis.port}`;
    const wrongPassword = `redis://:${randomBytes(24).toString('hex')}@127.0.0.1:${redis.port}`;
    for (const [url, refusal] of [
      [withoutPassword, 'NOAUTH'],
      [wrongPassword, 'WRONGPASS'],
    ]) {
      for (const role of ['api', 'worker']) {
        const env = testEnv('redis-auth-refused', { REDIS_URL: url, APP_ROLE: role, PORT: '0' });
        const app = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
          env: { PATH: process.env.PATH ?? '', ...env },
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect({ url, role, status: app.status }).toEqual({ url, role, status: 1 });
        expect(app.stderr).toContain(
          `Invalid configuration: REDIS_URL was refused by Redis (${refusal}`,
        );
        expect(app.stderr + app.stdout).not.toContain(password);
      }
    }
  });
});

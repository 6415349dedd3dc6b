import { TestApp, createTestApp } from './support/app.js';
import { createProduct, registerShopper, signInAdmin } from './support/shop.js';

describe('rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('ratelimit', {
      env: {
        RATE_LIMIT_AUTH: '3',
        RATE_LIMIT_ORDERS: '2',
        RATE_LIMIT_PER_IP: '40',
        RATE_LIMIT_WINDOW: '60s',
        TRUST_PROXY: 'loopback',
      },
    });
  });
  afterAll(() => app.close());

  // Behind the trusted proxy (loopback) each test speaks for its own client address.
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });

  it('answers the N+1st login attempt in the window with 429 and Retry-After', async () => {
    const attempt = () =>
      app
        .agent()
        .post('/auth/login')
        .set(from('203.0.113.1'))
        .send({ email: 'nobody@shop.test', password: 'wrong-password' });
    for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/^Too many requests: retry after \d+ seconds$/),
    });
    // Another client is not affected.
    expect(
      (
        await app
          .agent()
          .post('/auth/login')
          .set(from('203.0.113.2'))
          .send({ email: 'nobody@shop.test', password: 'wrong-password' })
      ).status,
    ).toBe(401);
  });

  it('limits orders per user, not per address', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 100 });
    const [alice, bob] = [await registerShopper(app), await registerShopper(app)];
    const order = (who: typeof alice) =>
      who.http
        .post('/order')
        .set(from('203.0.113.3'))
        .send({ items: [{ productId: product.id, quantity: 1 }] });
    expect((await order(alice)).status).toBe(202);
    expect((await order(alice)).status).toBe(202);
    const limited = await order(alice);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await order(bob)).status).toBe(202);
  });

  it('limits every route together per client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++)
      statuses.push(
        (await app.agent().get('/stock/products-with-stock').set(from('203.0.113.4'))).status,
      );
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
    // Once blocked, a client is blocked on every route, health checks included.
    const health = await app.agent().get('/health').set(from('203.0.113.4')).expect(429);
    expect(Number(health.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('counts every request toward the per-address limit, whatever its answer or route (401, 403, 404, Swagger, Bull Board, Socket.IO handshakes were free)', async () => {
    const shopper = app.agent();
    await shopper
      .post('/auth/register')
      .set(from('203.0.113.7'))
      .send({ email: 'prober@shop.test', password: 'shopper-password', name: 'Prober' })
      .expect(201);
    const ip = from('203.0.113.5');
    const probes = [
      () => app.agent().get('/order').set(ip), // 401: no session
      () => shopper.get('/admin/dlq').set(ip), // 403: not an admin
      () => app.agent().get('/no-such-route').set(ip), // 404
      () => app.agent().get('/api/docs').set(ip), // Swagger UI
      () => app.agent().get('/api/docs-json').set(ip), // the OpenAPI document
      () => app.agent().get('/admin/queues').set(ip), // Bull Board, anonymous
      () => app.agent().get('/health').set(ip), // health check
      () => app.agent().options('/order').set(ip), // OPTIONS without CORS
      // A Socket.IO handshake, answered by the engine before Express sees it.
      () => app.agent().get('/socket.io/?EIO=4&transport=polling').set(ip),
    ];
    const answers: number[] = [];
    while (answers.length < 40)
      for (const probe of probes.slice(0, 40 - answers.length))
        answers.push((await probe()).status);
    expect(new Set(answers)).toEqual(new Set([401, 403, 404, 200]));
    // The 41st request of the window, whatever it is, is refused.
    for (const probe of probes.slice(0, -1)) {
      const limited = await probe();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // The engine refuses a handshake with its own 403, naming the limit.
    const handshake = await probes[probes.length - 1]?.();
    expect(handshake?.status).toBe(403);
    expect(handshake?.body).toMatchObject({ message: expect.stringMatching(/^Too many requests/) });
    // The same routes from another address still answer.
    await app.agent().get('/api/docs-json').set(from('203.0.113.6')).expect(200);
    await app
      .agent()
      .get('/socket.io/?EIO=4&transport=polling')
      .set(from('203.0.113.6'))
      .expect(200);
  });

  // Last: closing the replica removes the Redis keys under the shared prefix.
  it('counts in Redis, so a second API replica shares the limits', async () => {
    const replica = await createTestApp('ratelimit-replica', {
      env: { RATE_LIMIT_AUTH: '3', QUEUE_PREFIX: app.config.queue.prefix, TRUST_PROXY: 'loopback' },
    });
    try {
      const attempt = (on: TestApp) =>
        on
          .agent()
          .post('/auth/login')
          .set(from('203.0.113.9'))
          .send({ email: 'nobody@shop.test', password: 'wrong-password' });
      expect((await attempt(app)).status).toBe(401);
      expect((await attempt(replica)).status).toBe(401);
      expect((await attempt(app)).status).toBe(401);
      expect((await attempt(replica)).status).toBe(429);
    } finally {
      await replica.close();
    }
  });
});

/**
 * The project's Nginx configuration, rendered for loopback upstreams and run with Debian's nginx,
 * in front of two API processes and a worker of the built app: everything a storefront does goes
 * through Nginx only, its live order events (Socket.IO, both transports) included.
 */
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ADMIN, testEnv } from './support/app.js';
import { removeDeploymentKeys } from '../tools/harness/services.js';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { RunningNginx, accessLog, startNginx, testConfiguration } from '../tools/harness/nginx.js';
import { freePort } from '../tools/harness/services.js';
import { waitFor } from '../tools/harness/wait.js';
import {
  LiveEventsClient,
  LiveEventsOptions,
  connectLiveEvents,
  ready,
} from '../tools/live-events.js';
import {
  FetchHttp,
  createProduct,
  fetchHttp,
  placeOrder,
  register,
  signIn,
} from '../tools/storefront.js';
import mongoose from 'mongoose';

interface AccessLine {
  message?: string;
  requestId?: string;
  ip?: string;
  context?: string;
}

/** A GET whose path goes out exactly as written: no client-side normalisation or encoding. */
function rawGet(
  base: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, path: rawPath, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** /metrics as a client may spell it, in forms Nginx decodes and normalises to /metrics. */
const METRICS_SPELLINGS = [
  '/metrics',
  '/metrics/',
  '/metrics?format=text',
  '/METRICS',
  '/Metrics/',
  '/%6Detrics',
  '/%6d%65trics/',
  '//metrics',
  '/./metrics',
  '/stock/../metrics',
  '/metrics%2F',
];

/** A line of Nginx's access log (log_format upstream_json). */
interface ProxyLine {
  request_id: string;
  status: number;
  upstream: string;
}

function proxyLines(proxy: RunningNginx, requestId: string): ProxyLine[] {
  return accessLog(proxy)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ProxyLine)
    .filter((line) => line.request_id === requestId);
}

function accessLines(app: AppProcess): AccessLine[] {
  return app.process
    .output()
    .split('\n')
    .filter((line) => line.includes('"context":"HTTP"'))
    .map((line) => JSON.parse(line) as AccessLine);
}

describe('behind Nginx', () => {
  // The APIs would serve /metrics to a holder of this token: Nginx must not, even to one.
  const metricsToken = randomBytes(32).toString('base64url');
  const env = testEnv('nginx', {
    TRUST_PROXY: 'loopback',
    LOG_LEVEL: 'http',
    METRICS_TOKEN: metricsToken,
  });
  const apps: AppProcess[] = [];
  let nginx: RunningNginx;
  let variables: Record<string, string>;
  let admin: FetchHttp;
  const liveClients: LiveEventsClient[] = [];
  let serial = 0;

  /**
   * A live-events client through Nginx. Every request of its connection carries its own
   * X-Request-Id, so Nginx's access log shows which API process served each one.
   */
  const liveEvents = (options: LiveEventsOptions) => {
    const requestId = `live-${++serial}-${randomBytes(4).toString('hex')}`;
    const client = connectLiveEvents(nginx.url, {
      ...options,
      headers: { 'X-Request-Id': requestId },
    });
    liveClients.push(client);
    return { client, requestId };
  };

  /** A shopper registered through Nginx. */
  const shopper = async () => {
    const http = fetchHttp(nginx.url);
    await register(http, {
      email: `nginx-live${++serial}.${process.pid}@shop.test`,
      password: 'shopper-password',
      name: 'Live',
    });
    return http;
  };

  const outcomeOf = (client: LiveEventsClient, orderId: string) =>
    waitFor(
      () =>
        client.named('order_status_update').find((event) => event.payload.orderId === orderId)
          ?.payload,
      { what: `the outcome of ${orderId} over the live events` },
    );

  beforeAll(async () => {
    const [first, second] = [
      await startAppProcess({ ...env, APP_ROLE: 'api' }),
      await startAppProcess({ ...env, APP_ROLE: 'api' }),
    ];
    apps.push(first, second, await startAppProcess({ ...env, APP_ROLE: 'worker' }));
    variables = {
      NGINX_PORT: String(await freePort()),
      NGINX_API_SERVERS: [first, second].map((a) => `server ${new URL(a.url).host};`).join(' '),
      NGINX_RESOLVER: '',
      // The test client (loopback) is not an operator.
      NGINX_ADMIN_ALLOW: '10.255.255.254 1;',
      NGINX_REAL_IP_FROM: '',
      NGINX_RATE_LIMIT: '1000r/s',
    };
    nginx = await startNginx(variables);
    admin = fetchHttp(nginx.url);
    await signIn(admin, ADMIN);
  });

  afterEach(() => {
    for (const client of liveClients.splice(0)) client.close();
  });

  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
    const connection = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    await connection.dropDatabase();
    await connection.close();
    await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
  });

  it('has a configuration nginx -t accepts', () => {
    expect(testConfiguration(variables)).toBeDefined();
  });

  it('carries a storefront through register, login, catalog, order and status, cookies intact', async () => {
    const admin = request.agent(nginx.url);
    await admin.post('/auth/login').send(ADMIN).expect(200);
    const product = await admin
      .post('/stock/products')
      .send({ name: 'Via Nginx', price: 700, currency: 'USD', quantity: 5 })
      .expect(201);

    const shopper = request.agent(nginx.url);
    const registered = await shopper
      .post('/auth/register')
      .send({ email: 'nginx@shop.test', password: 'shopper-password', name: 'N' })
      .expect(201);
    const cookies = (registered.headers['set-cookie'] as unknown as string[]).map((c) =>
      c.toLowerCase(),
    );
    expect(cookies.find((c) => c.startsWith('access_token='))).toMatch(
      /httponly.*samesite=lax|samesite=lax.*httponly/,
    );
    expect(cookies.find((c) => c.startsWith('refresh_token='))).toContain('path=/auth');
    await shopper
      .post('/auth/login')
      .send({ email: 'nginx@shop.test', password: 'shopper-password' })
      .expect(200);
    await shopper.post('/auth/refresh').expect(200);
    const catalog = await shopper.get('/stock/products-with-stock').expect(200);
    expect((catalog.body as { items: Array<{ id: string }> }).items.map((i) => i.id)).toContain(
      product.body.id,
    );

    const placed = await shopper
      .post('/order')
      .send({ items: [{ productId: product.body.id as string, quantity: 2 }] })
      .expect(202);
    const decided = await waitFor(async () => {
      const res = await shopper.get(`/order/${placed.body.id as string}`).expect(200);
      return (res.body as { status: string }).status === 'PENDING'
        ? undefined
        : (res.body as { status: string });
    });
    expect(decided.status).toBe('CONFIRMED');
    // Decided first, then the hold is committed: wait for the stock to be at rest.
    const after = await waitFor(async () => {
      const res = await shopper
        .get(`/stock/products-with-stock/${product.body.id as string}`)
        .expect(200);
      return (res.body as { reserved: number }).reserved === 0 ? res.body : undefined;
    });
    expect(after).toMatchObject({ available: 3, reserved: 0 });
  });

  it('gives the app the client address Nginx saw, never one the client made up', async () => {
    const res = await request(nginx.url)
      .get('/health')
      .set('X-Forwarded-For', '203.0.113.50')
      .set('X-Request-Id', 'nginx-ip-check')
      .expect(200);
    expect(res.headers['x-request-id']).toBe('nginx-ip-check');
    const line = await waitFor(
      () => apps.flatMap(accessLines).find((l) => l.requestId === 'nginx-ip-check'),
      { what: 'the access line' },
    );
    expect(line.ip).toBe('127.0.0.1');
  });

  it('spreads requests over both API processes', async () => {
    await Promise.all(
      Array.from({ length: 40 }, () =>
        request(nginx.url).get('/stock/products-with-stock').expect(200),
      ),
    );
    const [first, second] = apps;
    expect(accessLines(first).length).toBeGreaterThan(5);
    expect(accessLines(second).length).toBeGreaterThan(5);
  });

  it('keeps /admin/queues from addresses that are not allowlisted', async () => {
    await request(nginx.url).get('/admin/queues').expect(403);
    await request(nginx.url).get('/admin/queues/api/queues').expect(403);
    // The refusal is Nginx's: the request never reached an API process.
    expect(apps.flatMap(accessLines).some((l) => l.message?.includes('/admin/queues'))).toBe(false);
    expect(accessLog(nginx)).toContain('"uri":"/admin/queues","status":403');
  });

  it('never exposes /metrics: 404 from Nginx in every spelling, token or not, operators included (it used to pass /metrics/ and /METRICS on)', async () => {
    const operatorNginx = await startNginx({
      ...variables,
      NGINX_PORT: String(await freePort()),
      NGINX_ADMIN_ALLOW: '127.0.0.1 1;',
    });
    try {
      // The second Nginx does count the test client as an operator.
      expect((await request(operatorNginx.url).get('/admin/queues')).status).not.toBe(403);
      for (const proxy of [nginx, operatorNginx]) {
        for (const path of METRICS_SPELLINGS) {
          const credentials: Array<Record<string, string>> = [
            {},
            { Authorization: `Bearer ${metricsToken}` },
          ];
          for (const headers of credentials) {
            const res = await rawGet(proxy.url, path, headers);
            expect({ path, headers, status: res.status }).toEqual({ path, headers, status: 404 });
            expect(res.body).not.toContain('process_cpu_user_seconds_total');
          }
        }
        expect(accessLog(proxy)).toContain('"uri":"/metrics","status":404');
      }
      // Nginx answered every one itself: none reached an API process.
      expect(apps.flatMap(accessLines).filter((l) => /trics/i.test(l.message ?? ''))).toEqual([]);
    } finally {
      await operatorNginx.stop();
    }
  });

  it('answers its own health check', async () => {
    const res = await request(nginx.url).get('/nginx-health').expect(200);
    expect(res.text).toBe('ok\n');
  });

  it('carries the live events over WebSocket: a shopper receives the outcome of an order placed through Nginx', async () => {
    const product = await createProduct(admin, { quantity: 1 });
    const buyer = await shopper();
    const { client } = liveEvents({ cookie: buyer.cookie, transports: ['websocket'] });
    await ready(client);
    expect(client.socket.io.engine.transport.name).toBe('websocket');

    const order = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    expect(await outcomeOf(client, order.id)).toMatchObject({ status: 'CONFIRMED', seq: 3 });
  });

  it('spreads WebSocket-only connections over both API processes: one request each, no affinity needed', async () => {
    const buyer = await shopper();
    const opened = Array.from({ length: 4 }, () =>
      liveEvents({ cookie: buyer.cookie, transports: ['websocket'] }),
    );
    await Promise.all(opened.map(({ client }) => ready(client)));
    for (const { client } of opened) client.close();
    // Nginx logs an upgraded connection (101) once it ends.
    const upstreams = await waitFor(
      () => {
        const lines = opened.flatMap(({ requestId }) => proxyLines(nginx, requestId));
        return lines.length === opened.length ? lines : undefined;
      },
      { what: 'the closed connections in the access log' },
    );
    expect(upstreams.map((line) => line.status)).toEqual([101, 101, 101, 101]);
    expect(new Set(upstreams.map((line) => line.upstream)).size).toBe(2);
  });

  it('keeps a long-polling session on the API process that holds it: events arrive across several polls', async () => {
    const product = await createProduct(admin, { quantity: 10 });
    const buyer = await shopper();
    const { client, requestId } = liveEvents({ cookie: buyer.cookie, transports: ['polling'] });
    await ready(client);
    const engine = client.socket.io.engine;
    const session = engine.id;
    let polls = 0;
    engine.transport.on('pollComplete', () => polls++);

    // One order at a time, each outcome awaited before the next: each arrives in a poll of its own.
    for (let i = 0; i < 3; i++) {
      const order = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
      expect(await outcomeOf(client, order.id)).toMatchObject({ status: 'CONFIRMED' });
    }
    expect(polls).toBeGreaterThanOrEqual(3);
    // One session all along: no "Session ID unknown", no reconnection, never upgraded.
    expect(engine.id).toBe(session);
    expect(engine.transport.name).toBe('polling');
    expect(client.named('events_ready')).toHaveLength(1);
    // The handshake, the namespace's CONNECT (a POST), its answer and a poll per outcome at least.
    const lines = proxyLines(nginx, requestId);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.filter((line) => line.status !== 200)).toEqual([]);
    expect(new Set(lines.map((line) => line.upstream)).size).toBe(1);
  });

  it('lets a client start with long-polling and upgrade to WebSocket, as browsers do, on the same process', async () => {
    const product = await createProduct(admin, { quantity: 1 });
    const buyer = await shopper();
    const { client, requestId } = liveEvents({
      cookie: buyer.cookie,
      transports: ['polling', 'websocket'],
    });
    await ready(client);
    const engine = client.socket.io.engine;
    const session = engine.id;
    await waitFor(() => engine.transport.name === 'websocket', {
      what: 'the upgrade to WebSocket',
    });
    expect(engine.id).toBe(session);

    const order = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    expect(await outcomeOf(client, order.id)).toMatchObject({ status: 'CONFIRMED' });
    client.close();
    // Polls and the upgrade, every one to the process that holds the session.
    const lines = await waitFor(
      () => {
        const logged = proxyLines(nginx, requestId);
        return logged.some((line) => line.status === 101) ? logged : undefined;
      },
      { what: 'the upgraded connection in the access log' },
    );
    expect(lines.filter((line) => line.status !== 200 && line.status !== 101)).toEqual([]);
    expect(new Set(lines.map((line) => line.upstream)).size).toBe(1);
  });

  it('refuses an anonymous handshake through Nginx with 401, on either transport', async () => {
    for (const transports of [['websocket'], ['polling']] as const) {
      const { client } = liveEvents({ transports: [...transports] });
      await expect(ready(client)).rejects.toMatchObject({
        data: { statusCode: 401, message: 'Authentication required' },
      });
    }
  });
});

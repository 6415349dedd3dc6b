/**
 * The project's Nginx configuration, rendered for loopback upstreams and run with Debian's nginx,
 * in front of two API processes and a worker of the built app: everything a storefront does goes
 * through Nginx only.
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
});

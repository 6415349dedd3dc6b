/**
 * Prometheus metrics, served only where operators reach them: on the API port only to a caller
 * presenting METRICS_TOKEN, or on a listener of their own (METRICS_PORT). Before issue 12 (finding
 * 9) anyone who reached the API port could read them.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import request from 'supertest';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { freePort, removeDeploymentKeys } from '../tools/harness/services.js';
import { waitFor } from '../tools/harness/wait.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import {
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signInAdmin,
} from './support/shop.js';

/** The value of one sample in Prometheus text format, 0 when the series does not exist yet. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const newToken = () => randomBytes(32).toString('base64url');
const PROMETHEUS_TEXT = /^text\/plain; version=0\.0\.4/;

describe('GET /metrics on the API port, by default', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('metrics-default');
  });
  afterAll(() => app.close());

  it('is not served: 404 as for any unknown route, in every spelling (it used to be public)', async () => {
    const unknown = await app.agent().get('/no-such-route').expect(404);
    for (const path of ['/metrics', '/metrics/', '/METRICS', '/Metrics?format=text']) {
      const res = await app.agent().get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.text).not.toContain('process_cpu_user_seconds_total');
      expect(Object.keys(res.body as object)).toEqual(Object.keys(unknown.body as object));
    }
  });
});

describe('GET /metrics on the API port with METRICS_TOKEN', () => {
  const token = newToken();
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('metrics', { env: { METRICS_TOKEN: token } });
  });
  afterAll(() => app.close());

  const scrape = async () =>
    (await app.agent().get('/metrics').set('Authorization', `Bearer ${token}`).expect(200)).text;

  it('answers 401 with WWW-Authenticate: Bearer to a caller without the token', async () => {
    const missing = await app.agent().get('/metrics').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(missing.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.stringContaining('METRICS_TOKEN') as unknown,
    });
    expect(missing.text).not.toContain('process_cpu_user_seconds_total');

    const wrong = [
      ['Authorization', `Bearer ${newToken()}`],
      ['Authorization', `Bearer ${token.slice(0, -1)}`],
      ['Authorization', `Bearer ${token}x`],
      ['Authorization', `Basic ${Buffer.from(`metrics:${token}`).toString('base64')}`],
      ['Authorization', token],
      ['X-Metrics-Token', token],
    ];
    for (const [header, value] of wrong) {
      const res = await app.agent().get('/metrics').set(header, value);
      expect({ header, value, status: res.status }).toEqual({ header, value, status: 401 });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="metrics"/);
      expect(res.text).not.toContain('process_cpu_user_seconds_total');
    }
    const invalid = await app.agent().get('/metrics').set('Authorization', `Bearer ${newToken()}`);
    expect(invalid.headers['www-authenticate']).toBe(
      'Bearer realm="metrics", error="invalid_token"',
    );
    // A token in the query string is not a credential: it would end up in access logs.
    await app.agent().get(`/metrics?access_token=${token}`).expect(401);
  });

  it('serves Prometheus text with the process defaults and queue depths', async () => {
    const res = await app
      .agent()
      .get('/metrics')
      // The scheme is case-insensitive (RFC 9110).
      .set('Authorization', `bearer ${token}`)
      .expect(200);
    expect(res.headers['content-type']).toMatch(PROMETHEUS_TEXT);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain('nodejs_eventloop_lag_seconds');
    expect(res.text).toMatch(/queue_jobs\{queue="orders",state="prioritized"\} \d+/);
    expect(res.text).toMatch(/queue_jobs\{queue="orders-dlq",state="failed"\} \d+/);
  });

  it('counts orders accepted, confirmed and failed, processing time and HTTP requests by route', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 1 });
    const regular = await registerShopper(app);
    const vip = await registerShopper(app, { vip: true, admin });
    const before = await scrape();

    const first = await placeOrder(vip, [{ productId: product.id, quantity: 1 }]);
    expect(await settledOrder(vip, first.id)).toMatchObject({ status: 'CONFIRMED' });
    const second = await placeOrder(regular, [{ productId: product.id, quantity: 1 }]);
    expect(await settledOrder(regular, second.id)).toMatchObject({
      status: 'FAILED',
      failureReason: 'OUT_OF_STOCK',
    });
    // The worker records a job's duration as the job ends, just after the order is visibly decided.
    const processed = (text: string) =>
      ['confirmed', 'failed'].every(
        (outcome) =>
          sample(text, `order_processing_duration_seconds_count{outcome="${outcome}"}`) >
          sample(before, `order_processing_duration_seconds_count{outcome="${outcome}"}`),
      );
    const after = await waitFor(
      async () => {
        const text = await scrape();
        return processed(text) ? text : undefined;
      },
      { what: 'both jobs to be recorded' },
    );

    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('orders_accepted_total{vip="true"}')).toBe(1);
    expect(delta('orders_accepted_total{vip="false"}')).toBe(1);
    expect(delta('orders_confirmed_total{vip="true"}')).toBe(1);
    expect(delta('orders_failed_total{reason="OUT_OF_STOCK",vip="false"}')).toBe(1);
    expect(delta('order_processing_duration_seconds_count{outcome="confirmed"}')).toBe(1);
    expect(delta('order_processing_duration_seconds_count{outcome="failed"}')).toBe(1);
    expect(
      delta('http_request_duration_seconds_count{method="POST",route="/order",status="202"}'),
    ).toBe(2);
    expect(
      sample(
        after,
        'http_request_duration_seconds_count{method="GET",route="/order/:id",status="200"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(after).toContain('stock_version_conflicts_total');
  });
});

describe('a metrics listener of its own (METRICS_PORT)', () => {
  const env = testEnv('metrics-port');
  const token = newToken();
  let api: AppProcess;
  let worker: AppProcess;
  let apiMetrics: string;
  let workerMetrics: string;

  beforeAll(async () => {
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    apiMetrics = `http://127.0.0.1:${apiPort}`;
    workerMetrics = `http://127.0.0.1:${workerPort}`;
    api = await startAppProcess({ ...env, APP_ROLE: 'api', METRICS_PORT: String(apiPort) });
    worker = await startAppProcess({
      ...env,
      APP_ROLE: 'worker',
      METRICS_PORT: String(workerPort),
      METRICS_TOKEN: token,
    });
  });
  afterAll(async () => {
    await Promise.all([api, worker].map((p) => p?.stop()));
    const connection = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    await connection.dropDatabase();
    await connection.close();
    await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
  });

  it('serves /metrics there and only there: the API port and the worker health port answer 404', async () => {
    const res = await request(apiMetrics).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(PROMETHEUS_TEXT);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain('# TYPE orders_accepted_total counter');
    await request(api.url).get('/metrics').expect(404);
    await request(worker.url).get('/metrics').expect(404);
    // The worker's health port still answers health checks.
    await request(worker.url).get('/health').expect(200);
  });

  it('serves nothing else: no API route, no health check, no other method', async () => {
    for (const path of ['/', '/health', '/stock/products-with-stock', '/metrics/x', '/api/docs'])
      expect({ path, status: (await request(apiMetrics).get(path)).status }).toEqual({
        path,
        status: 404,
      });
    const post = await request(apiMetrics).post('/metrics').expect(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('asks for METRICS_TOKEN there too when it is set', async () => {
    const missing = await request(workerMetrics).get('/metrics').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(missing.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await request(workerMetrics)
      .get('/metrics')
      .set('Authorization', `Bearer ${newToken()}`)
      .expect(401);
    const res = await request(workerMetrics)
      .get('/metrics')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(res.text).toMatch(/queue_jobs\{queue="orders",state="waiting"\} \d+/);
  });
});

import { waitFor } from '../tools/harness/wait.js';
import { TestApp, createTestApp } from './support/app.js';
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

describe('GET /metrics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('metrics');
  });
  afterAll(() => app.close());

  const scrape = async () => (await app.agent().get('/metrics').expect(200)).text;

  it('serves Prometheus text with the process defaults and queue depths', async () => {
    const res = await app.agent().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
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

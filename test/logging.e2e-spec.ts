import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TestApp, createTestApp } from './support/app.js';
import { createProduct, settledOrder, signInAdmin } from './support/shop.js';
import { waitFor } from '../tools/harness/wait.js';

interface LogLine {
  timestamp: string;
  level: string;
  message: string;
  context?: string;
  requestId?: string;
  userId?: string;
  jobId?: string;
  orderId?: string;
}

describe('structured logs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'order-logs-'));
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp('logging', { env: { LOG_DIR: dir, LOG_LEVEL: 'http' } });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (file: string): string =>
    existsSync(path.join(dir, file)) ? readFileSync(path.join(dir, file), 'utf8') : '';
  const lines = (file = 'combined.log'): LogLine[] =>
    read(file)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  it('writes JSON lines with request ids, user ids and job ids, and never a secret', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 3 });
    const browser = app.agent();
    const password = 'very-secret-password';
    const registered = await browser
      .post('/auth/register')
      .set('X-Request-Id', 'trace-register-1')
      .send({ email: 'logged@shop.test', password, name: 'Logged' })
      .expect(201);
    const userId = (registered.body as { user: { id: string } }).user.id;
    const cookies = (registered.headers['set-cookie'] as unknown as string[]).map(
      (c) => c.split(';')[0].split('=')[1],
    );
    await browser.post('/auth/login').send({ email: 'logged@shop.test', password }).expect(200);
    await browser.post('/auth/refresh').expect(200);
    await browser
      .post('/auth/login')
      .send({ email: 'logged@shop.test', password: 'wrong-password' })
      .expect(401);
    const placed = await browser
      .post('/order')
      .set('X-Request-Id', 'trace-order-1')
      .send({ items: [{ productId: product.id, quantity: 1 }] })
      .expect(202);
    const orderId = (placed.body as { id: string }).id;
    await settledOrder({ id: userId, email: 'logged@shop.test', http: browser }, orderId);

    const decision = await waitFor(
      () => lines().find((l) => l.orderId === orderId && l.level === 'info'),
      { what: 'the order decision log line' },
    );
    expect(decision).toMatchObject({
      context: 'OrderProcessingService',
      jobId: orderId,
      message: expect.stringContaining('CONFIRMED'),
    });
    // At most one line per order at info level from the worker.
    expect(lines().filter((l) => l.orderId === orderId && l.level === 'info')).toHaveLength(1);

    const all = lines();
    for (const line of all) {
      expect(typeof line.timestamp).toBe('string');
      expect(typeof line.level).toBe('string');
    }
    const access = all.filter((l) => l.context === 'HTTP');
    expect(access.length).toBeGreaterThan(5);
    expect(access.every((l) => typeof l.requestId === 'string' && l.requestId.length > 0)).toBe(
      true,
    );
    expect(access.find((l) => l.requestId === 'trace-register-1')).toMatchObject({
      level: 'http',
      message: 'POST /auth/register 201',
    });
    expect(access.find((l) => l.requestId === 'trace-order-1')).toMatchObject({
      message: 'POST /order 202',
      userId,
    });

    const text = read('combined.log');
    expect(text).not.toContain(password);
    expect(text).not.toMatch(/eyJ[\w-]{5,}\./);
    for (const cookie of cookies) expect(text).not.toContain(cookie);
    expect(text).not.toMatch(/passwordHash|\$2[aby]\$/);
  });

  it('keeps error.log to errors', () => {
    for (const line of lines('error.log')) expect(line.level).toBe('error');
  });
});

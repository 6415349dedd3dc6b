/**
 * The staff dashboard (/dashboard/) and Bull Board's way in, in real Chromium against the real
 * API: signing in with the cookie flow, refusing non-staff, orders appearing and being decided
 * live, stock and queue figures, hostile product names shown as text, resuming after the server
 * ends an expired session, and the board's sign-in round trip and session keeper. Access tokens
 * live 3 s here, so sessions expire again and again while the page runs. Then the same dashboard
 * flow through the project's Nginx template with two API replicas and a worker process. Last, the
 * Today panel against the sales reports (docs/REPORTS.md), in a browser of another time zone.
 */
import { getConnectionToken } from '@nestjs/mongoose';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import mongoose, { Connection } from 'mongoose';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { RunningNginx, startNginx } from '../tools/harness/nginx.js';
import { freePort, removeDeploymentKeys } from '../tools/harness/services.js';
import { chromiumBinary } from '../tools/harness/system.js';
import { seedOrders } from '../tools/seed-orders.js';
import { waitFor } from '../tools/harness/wait.js';
import {
  FetchHttp,
  OrderBody,
  createProduct,
  fetchHttp,
  placeOrder,
  register,
  signIn,
} from '../tools/storefront.js';
import { cspViolations, scriptUrls } from './support/csp.js';
import { ADMIN, TestApp, createTestApp, testEnv } from './support/app.js';

/** Markup that would run if the page ever inserted a name as HTML. */
const HOSTILE_NAME = '<img src=x onerror=window.__pwned=1>';
const ACCESS_TTL_SECONDS = 3;

let accounts = 0;

/** What the browser saw a page do. */
interface PageLog {
  /** Main-frame navigations, URLs in order. */
  navigations: string[];
  /** Uncaught errors in the page. */
  errors: string[];
  /** The Socket.IO CONNECT packets of /events the page sent, with their `auth` JSON. */
  connects: string[];
  /** The handshakes of /events the server refused (CONNECT_ERROR packets). */
  refusals: string[];
  /** WebSocket connections opened. */
  websockets: number;
  responses: Array<{ method: string; path: string; status: number; at: number }>;
}

function watch(page: Page): PageLog {
  const log: PageLog = {
    navigations: [],
    errors: [],
    connects: [],
    refusals: [],
    websockets: 0,
    responses: [],
  };
  // Socket.IO packets: CONNECT is `40/events,{auth}`, CONNECT_ERROR `44/events,{data}`; polling
  // sends several in one body, separated by \x1e.
  const collect = (into: string[], type: string) => (payload: string) => {
    for (const packet of payload.split('\x1e'))
      if (packet.startsWith(`${type}/events,`)) into.push(packet.slice(type.length + 8));
  };
  const connectPackets = collect(log.connects, '40');
  const refusalPackets = collect(log.refusals, '44');
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) log.navigations.push(frame.url());
  });
  page.on('pageerror', (error) => log.errors.push(error.message));
  page.on('request', (request) => {
    if (request.url().includes('/socket.io/') && request.method() === 'POST')
      connectPackets(request.postData() ?? '');
  });
  page.on('websocket', (socket) => {
    log.websockets += 1;
    socket.on('framesent', (frame) => connectPackets(String(frame.payload)));
    socket.on('framereceived', (frame) => refusalPackets(String(frame.payload)));
  });
  page.on('response', (response) => {
    const { pathname } = new URL(response.url());
    log.responses.push({
      method: response.request().method(),
      path: pathname,
      status: response.status(),
      at: Date.now(),
    });
    if (pathname.startsWith('/socket.io/') && response.request().method() === 'GET')
      response.text().then(refusalPackets, () => undefined);
  });
  return log;
}

/** A new account, signed in (registration signs in). */
async function newAccount(base: string): Promise<{ id: string; email: string; http: FetchHttp }> {
  const http = fetchHttp(base);
  const email = `dashboard${++accounts}.${process.pid}@shop.test`;
  const id = await register(http, {
    email,
    password: 'shopper-password',
    name: `Buyer ${accounts}`,
  });
  return { id, email, http };
}

/** A fresh admin session: access tokens may outlive a few seconds only. */
async function admin(base: string): Promise<FetchHttp> {
  const http = fetchHttp(base);
  await signIn(http, ADMIN);
  return http;
}

/** An admin call the storefront client does not make (it sends GET and POST only). */
async function adminPatch(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', cookie: (await admin(base)).cookie },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PATCH ${path}: ${res.status} ${await res.text()}`);
}

async function signInOnPage(page: Page, email: string, password: string): Promise<void> {
  const form = page.locator('#sign-in');
  await form.waitFor();
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
}

const orderCell = (page: Page, orderId: string, field: string) =>
  page.locator(`#orders tr[data-order-id="${orderId}"] td[data-field="${field}"]`);
const stockCell = (page: Page, productId: string, field: string) =>
  page.locator(`#stock tr[data-product-id="${productId}"] td[data-field="${field}"]`);

/** Waits until the page shows `text` in the cell. */
async function shows(cell: ReturnType<Page['locator']>, text: string): Promise<void> {
  await waitFor(async () => (await cell.count()) === 1 && (await cell.textContent()) === text, {
    what: `"${text}" on the page`,
    timeoutMs: 15_000,
  });
}

/**
 * The dashboard as staff use it, against `base`: a customer is refused, an admin signs in and
 * watches three orders for two units be accepted and decided, stock fall and come back, the queue
 * summary; names are text. Answers the page, still open, with what it did.
 */
async function watchOrdersOnDashboard(
  browser: Browser,
  base: string,
): Promise<{ page: Page; log: PageLog; productId: string }> {
  const product = await createProduct(await admin(base), { name: HOSTILE_NAME, quantity: 1 });
  // The second unit comes by restock: an event, so the event stream has a position before the page
  // connects and the page resumes from there after every reconnection (a page that saw no
  // event at all would be told to re-read everything).
  await adminPatch(base, `/stock/products/${product.id}/stock`, { delta: 1 });
  const customer = await newAccount(base);
  const page = await (await browser.newContext()).newPage();
  const log = watch(page);
  await page.goto(`${base}/dashboard/`);

  // A customer signs in and is told, clearly, that this is not for them; nothing is shown.
  await signInOnPage(page, customer.email, 'shopper-password');
  await page.locator('#notice', { hasText: 'this dashboard is for staff and admins' }).waitFor();
  expect(await page.locator('#dashboard').isHidden()).toBe(true);
  await page.locator('#sign-out').click();

  await signInOnPage(page, ADMIN.email, ADMIN.password);
  await page.locator('#connection[data-state=live]').waitFor();
  await shows(stockCell(page, product.id, 'available'), '2');
  expect(await stockCell(page, product.id, 'name').textContent()).toBe(HOSTILE_NAME);

  // Three shoppers want the last two units at once.
  const buyers = await Promise.all([1, 2, 3].map(() => newAccount(base)));
  const placed = await Promise.all(
    buyers.map((buyer) => placeOrder(buyer.http, [{ productId: product.id, quantity: 1 }])),
  );
  for (const order of placed) {
    await shows(orderCell(page, order.id, 'number'), order.orderNumber);
    expect(await orderCell(page, order.id, 'lines').textContent()).toBe(`${HOSTILE_NAME} × 1`);
  }
  const decided = await decidedOnPage(page, placed);
  expect(decided.map((d) => `${d.status} ${d.reason}`).sort()).toEqual([
    'CONFIRMED ',
    'CONFIRMED ',
    'FAILED OUT_OF_STOCK',
  ]);
  // What the page shows is what the API says.
  const listed = (await (await admin(base)).send('GET', `/admin/orders?productId=${product.id}`))
    .body as { items: OrderBody[] };
  expect(
    listed.items.map((o) => ({ id: o.id, status: o.status, reason: o.failureReason ?? '' })).sort(),
  ).toEqual(
    expect.arrayContaining(decided.map((d) => ({ id: d.id, status: d.status, reason: d.reason }))),
  );
  await shows(stockCell(page, product.id, 'available'), '0');

  // A restock reaches the page too.
  await adminPatch(base, `/stock/products/${product.id}/stock`, { delta: 5 });
  await shows(stockCell(page, product.id, 'available'), '5');

  // Queue summaries arrive; every figure is a number.
  await waitFor(
    async () =>
      /^\d+$/.test((await page.locator('#queue [data-field=waiting]').textContent()) ?? ''),
    { what: 'a queue summary' },
  );

  // The hostile name was shown as text everywhere and never ran.
  expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
  expect(await page.locator('img').count()).toBe(0);
  // All of it live: the page was not reloaded, and read the orders over REST once, as it opened.
  expect(log.navigations).toEqual([`${base}/dashboard/`]);
  expect(log.responses.filter((r) => r.path === '/admin/orders')).toHaveLength(1);
  expect(log.errors).toEqual([]);
  return { page, log, productId: product.id };
}

/**
 * A browser without a session opens a board page: it is sent to the dashboard's sign-in, signs
 * in as the admin and is back where it was going, the board showing.
 */
async function openBoardSigningIn(
  browser: Browser,
  base: string,
): Promise<{ page: Page; log: PageLog; board: string }> {
  const page = await (await browser.newContext()).newPage();
  const log = watch(page);
  const board = `${base}/admin/queues/queue/orders`;
  await page.goto(board);
  expect(page.url()).toBe(`${base}/dashboard/?next=%2Fadmin%2Fqueues%2Fqueue%2Forders`);
  await signInOnPage(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(board);
  await page.getByText('Order queues').first().waitFor();
  return { page, log, board };
}

/** Waits until every order's row is decided; answers what the rows say. */
async function decidedOnPage(
  page: Page,
  orders: OrderBody[],
): Promise<Array<{ id: string; status: string; reason: string }>> {
  return Promise.all(
    orders.map(async (order) => {
      const status = await waitFor(
        async () => {
          const text = await orderCell(page, order.id, 'status').textContent();
          return text && text !== 'PENDING' ? text : undefined;
        },
        { what: `order ${order.orderNumber} to be decided on the page`, timeoutMs: 15_000 },
      );
      const reason = (await orderCell(page, order.id, 'reason').textContent()) ?? '';
      return { id: order.id, status, reason };
    }),
  );
}

/** An app listening on a loopback port, with `env`, and a Chromium to look at it with. */
async function servedWithBrowser(
  label: string,
  env: Record<string, string>,
): Promise<{ app: TestApp; base: string; browser: Browser }> {
  const app = await createTestApp(label, { env });
  await app.app.listen(0);
  const { port } = app.app.getHttpServer().address() as AddressInfo;
  const browser = await chromium.launch({
    executablePath: chromiumBinary(),
    args: ['--no-sandbox'],
  });
  return { app, base: `http://127.0.0.1:${port}`, browser };
}

describe('the staff dashboard and the queue board, in real Chromium', () => {
  let app: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ app, base, browser } = await servedWithBrowser('dashboard', {
      JWT_ACCESS_TTL: `${ACCESS_TTL_SECONDS}s`,
      EVENTS_SUMMARY_INTERVAL_MS: '300',
    }));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('is served as static files that load under the CSP, its scripts included', async () => {
    const page = await fetch(`${base}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(cspViolations(html, page.headers.get('content-security-policy') ?? '')).toEqual([]);
    const scripts = scriptUrls(html, '/dashboard/');
    expect(scripts).toEqual(['/socket.io/socket.io.min.js', '/dashboard/dashboard.js']);
    for (const script of scripts) {
      const asset = await fetch(`${base}${script}`);
      expect({ script, status: asset.status }).toEqual({ script, status: 200 });
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
    }
    // Without the trailing slash too (the page names its files by absolute paths).
    const bare = await fetch(`${base}/dashboard`);
    expect({ status: bare.status, html: await bare.text() }).toEqual({ status: 200, html });
    // A file that is not there is the API's 404.
    const missing = await fetch(`${base}/dashboard/nothing.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ statusCode: 404 });
  });

  it('follows orders, stock and the queue live, and resumes where it was after each expired session', async () => {
    const { page, log, productId } = await watchOrdersOnDashboard(browser, base);

    // The server ends the socket as the 3 s token expires; the page refreshes the session and
    // connects again, naming the last event it saw, and misses nothing placed meanwhile.
    await waitFor(
      () => log.connects.some((auth) => /"lastEventId":"[1-9]\d*-\d+:\d+"/.test(auth)),
      {
        what: 'a reconnection resuming from an event',
        timeoutMs: 15_000,
      },
    );
    const buyer = await newAccount(base);
    const order = await placeOrder(buyer.http, [{ productId, quantity: 1 }]);
    expect(await decidedOnPage(page, [order])).toEqual([
      { id: order.id, status: 'CONFIRMED', reason: '' },
    ]);
    expect(
      log.responses.filter((r) => r.path === '/auth/refresh' && r.status === 200).length,
    ).toBeGreaterThan(0);
    // It refreshed on `session_expired`, before connecting again: no handshake was refused.
    expect(log.refusals).toEqual([]);
    expect(await page.locator('#sign-in').isHidden()).toBe(true);
    expect(log.navigations).toHaveLength(1);
    expect(log.responses.filter((r) => r.path === '/admin/orders')).toHaveLength(1);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('sends a browser without a session from the board to sign in and back, and keeps the open board signed in', async () => {
    const { page, log, board } = await openBoardSigningIn(browser, base);
    const context = page.context();
    const signedInAt = Date.now();

    // The access token the board opened with expires; the board goes on working with new ones.
    const first = await accessCookie(context);
    await waitFor(async () => (await sessionWith(first)) === 401, {
      what: 'the first access token to expire',
      timeoutMs: 10_000,
    });
    const expiredAt = Date.now();
    const buyer = await newAccount(base);
    const order = await placeOrder(buyer.http, [
      { productId: (await createProduct(await admin(base), { quantity: 1 })).id, quantity: 1 },
    ]);
    await waitFor(
      () =>
        log.responses.some(
          (r) => r.path.startsWith('/admin/queues/api/') && r.status === 200 && r.at > expiredAt,
        ),
      { what: 'the board to read its API after the expiry', timeoutMs: 10_000 },
    );
    await page.getByText(order.id).first().waitFor({ timeout: 15_000 });
    expect(
      log.responses.filter(
        (r) => r.path.startsWith('/admin/queues') && r.status !== 200 && r.at > signedInAt,
      ),
    ).toEqual([]);
    expect(await accessCookie(context)).not.toBe(first);
    expect(page.url()).toBe(board);

    // Once the session ends (signed out elsewhere), the open board sends the browser to sign in.
    await page.evaluate(() => fetch('/auth/logout', { method: 'POST' }));
    await page.waitForURL(`${base}/dashboard/?next=%2Fadmin%2Fqueues%2Fqueue%2Forders`, {
      timeout: 10_000,
    });
    await page.locator('#sign-in').waitFor();
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('follows `next` only to the queue board, and only for admins', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/`);
    await signInOnPage(page, ADMIN.email, ADMIN.password);
    await page.locator('#connection[data-state=live]').waitFor();
    for (const next of [
      'https://evil.example/admin/queues',
      '//evil.example/admin/queues',
      '/\\evil.example/admin/queues',
      'javascript:alert(1)//admin/queues',
      '/admin/queues/../../auth/profile',
      '/admin/queuesX',
      '/auth/profile',
    ]) {
      const url = `${base}/dashboard/?next=${encodeURIComponent(next)}`;
      await page.goto(url);
      await page.locator('#connection[data-state=live]').waitFor();
      expect({ next, at: page.url() }).toEqual({ next, at: url });
    }
    await page.goto(
      `${base}/dashboard/?next=${encodeURIComponent('/admin/queues/queue/orders-dlq?x=1#y')}`,
    );
    await page.waitForURL(`${base}/admin/queues/queue/orders-dlq?x=1#y`);
    await context.close();

    // Staff may use the dashboard, not the board: they stay, and are told why.
    const staff = await newAccount(base);
    await adminPatch(base, `/users/${staff.id}/role`, { role: 'staff' });
    const staffPage = await (await browser.newContext()).newPage();
    const url = `${base}/dashboard/?next=%2Fadmin%2Fqueues`;
    await staffPage.goto(url);
    await signInOnPage(staffPage, staff.email, 'shopper-password');
    await staffPage
      .locator('#notice', { hasText: 'The queue board is for admins only.' })
      .waitFor();
    await staffPage.locator('#connection[data-state=live]').waitFor();
    expect(staffPage.url()).toBe(url);
    await staffPage.context().close();
  });

  it('stops showing anything to a staff member demoted meanwhile, and to a session signed out elsewhere', async () => {
    const staff = await newAccount(base);
    await adminPatch(base, `/users/${staff.id}/role`, { role: 'staff' });
    const demoted = await (await browser.newContext()).newPage();
    await demoted.goto(`${base}/dashboard/`);
    await signInOnPage(demoted, staff.email, 'shopper-password');
    await demoted.locator('#connection[data-state=live]').waitFor();
    await adminPatch(base, `/users/${staff.id}/role`, { role: 'customer' });
    await demoted.locator('#notice', { hasText: `${staff.email} is no longer staff.` }).waitFor();
    expect(await demoted.locator('#dashboard').isHidden()).toBe(true);
    expect(await demoted.locator('#orders tbody tr, #stock tbody tr').count()).toBe(0);
    await demoted.context().close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/`);
    await signInOnPage(page, ADMIN.email, ADMIN.password);
    await page.locator('#connection[data-state=live]').waitFor();
    const elsewhere = await context.newPage();
    await elsewhere.goto(`${base}/dashboard/`);
    await elsewhere.locator('#sign-out').click();
    await page.locator('#notice', { hasText: 'Your session has ended: sign in again.' }).waitFor();
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    await context.close();
  });

  async function accessCookie(context: BrowserContext): Promise<string | undefined> {
    return (await context.cookies()).find((cookie) => cookie.name === 'access_token')?.value;
  }

  /** GET /auth/session's status with only this access token. */
  async function sessionWith(token: string | undefined): Promise<number> {
    return (await fetch(`${base}/auth/session`, { headers: { cookie: `access_token=${token}` } }))
      .status;
  }
});

describe('the staff dashboard behind Nginx (two API replicas, a worker process)', () => {
  const env = testEnv('dashboard-nginx', { TRUST_PROXY: 'loopback' });
  const apps: AppProcess[] = [];
  let nginx: RunningNginx;
  let browser: Browser;

  beforeAll(async () => {
    const [first, second] = [
      await startAppProcess({ ...env, APP_ROLE: 'api' }),
      await startAppProcess({ ...env, APP_ROLE: 'api' }),
    ];
    apps.push(first, second, await startAppProcess({ ...env, APP_ROLE: 'worker' }));
    nginx = await startNginx({
      NGINX_PORT: String(await freePort()),
      NGINX_API_SERVERS: [first, second].map((a) => `server ${new URL(a.url).host};`).join(' '),
      NGINX_RESOLVER: '',
      NGINX_ADMIN_ALLOW: '127.0.0.1 1;',
      NGINX_REAL_IP_FROM: '',
      NGINX_RATE_LIMIT: '1000r/s',
    });
    browser = await chromium.launch({ executablePath: chromiumBinary(), args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await nginx?.stop();
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
    const connection = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    await connection.dropDatabase();
    await connection.close();
    await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
  });

  it('follows orders, stock and the queue live through Nginx, over WebSocket', async () => {
    const { page, log } = await watchOrdersOnDashboard(browser, nginx.url);
    expect(log.websockets).toBeGreaterThan(0);
    await page.context().close();
    // Served by the API roles only: a worker's listener has health and metrics, nothing else.
    expect((await fetch(`${apps[2]?.url}/dashboard/`)).status).toBe(404);
  });

  it('takes an operator from the board to sign in and back through Nginx', async () => {
    const { page, log } = await openBoardSigningIn(browser, nginx.url);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });
});

/** The zone of the browser that reads the Today panel: its day is not the test machine's UTC day. */
const ZONE = 'Europe/Berlin';

type Amounts = Array<{ currency: string; amount: number }>;

/** What the test reads of the page's elements (the specs are compiled without the DOM's types). */
interface Shown {
  getAttribute(name: string): string | null;
  querySelector(selectors: string): Shown | null;
  textContent: string | null;
}

interface ReportSummary {
  range: { start: string };
  orders: {
    total: number;
    byStatus: Record<string, number>;
    byFailureReason: Record<string, number>;
  };
  revenue: Amounts;
  vip: { orders: number; confirmed: number; rate: number | null };
  regular: { orders: number; confirmed: number; rate: number | null };
  decisionMs: { p50: number | null; p95: number | null; count: number };
}

interface HourSeries {
  items: Array<{ start: string; orders: number; confirmed: number; revenue: Amounts }>;
}

describe("the dashboard's Today panel, from the sales reports", () => {
  let app: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // The rollups run on the workers' schedule: here often, and up to the present but for the
    // least lag the configuration allows.
    ({ app, base, browser } = await servedWithBrowser('dashboard-today', {
      REPORTS_ROLLUP_INTERVAL_MS: '500',
      REPORTS_ROLLUP_LAG_MS: '100',
    }));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("draws today's hours in the browser's zone as the reports give them, and counts a new order live", async () => {
    const http = await admin(base);
    // Today in ZONE: the routes' default day.
    const report = async <T>(route: string, query: Record<string, string> = {}): Promise<T> => {
      const params = new URLSearchParams({ tz: ZONE, ...query });
      const answer = await http.send('GET', `/admin/reports/${route}?${params.toString()}`);
      if (answer.status !== 200) throw new Error(`${route}: ${answer.status}`);
      return answer.body as T;
    };
    const summary = () => report<ReportSummary>('summary');
    const hours = () => report<HourSeries>('series', { interval: 'hour' });

    // A couple of thousand orders over today in the zone, from its first instant until now.
    const db = app.get<Connection>(getConnectionToken()).db;
    if (!db) throw new Error('no database');
    const seeded = await seedOrders(db, {
      orders: 2000,
      from: new Date((await summary()).range.start),
      to: new Date(),
      seed: 15,
      currencies: ['EUR', 'USD'],
    });
    // Written straight into the database, like a restore: the rollups follow changes made after
    // their last run, so they are rebuilt, as after a restore.
    expect((await http.send('POST', '/admin/reports/rollup?rebuild=true')).status).toBe(202);
    await waitFor(async () => (await summary()).orders.total === seeded.inserted, {
      what: 'the rollups to cover the seeded orders',
      timeoutMs: 30_000,
    });
    const series = await hours();
    expect(series.items.reduce((sum, hour) => sum + hour.orders, 0)).toBe(seeded.inserted);

    const page = await (await browser.newContext({ timezoneId: ZONE, locale: 'en-US' })).newPage();
    const log = watch(page);
    await page.goto(`${base}/dashboard/`);
    await signInOnPage(page, ADMIN.email, ADMIN.password);
    const reports = async () => ({
      hours: (await hours()).items,
      figures: figures(await summary()),
    });
    const shown = await panelShows(page, reports);
    expect(shown.figures.total).toBe(String(seeded.inserted));
    // Every hour of today there, the first one at the zone's midnight.
    expect(shown.hours.length).toBeGreaterThanOrEqual(23);
    expect(shown.hours[0]?.start).toMatch(/T00:00:00\+0[12]:00$/);

    // One more order, placed through the API: the panel counts it, without a reload.
    const product = await createProduct(http, { quantity: 1 });
    const buyer = await newAccount(base);
    await placeOrder(buyer.http, [{ productId: product.id, quantity: 1 }]);
    await shows(page.locator('#today [data-field=total]'), String(seeded.inserted + 1));
    await panelShows(page, reports);
    expect(log.navigations).toHaveLength(1);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  /** The panel's figures as the page writes them (en-US), from the summary route's answer. */
  function figures(summary: ReportSummary): Record<string, string> {
    const { orders, revenue, vip, regular, decisionMs } = summary;
    const money = ({ currency, amount }: Amounts[number]) => {
      const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
      return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
    };
    const rate = (group: ReportSummary['vip']) =>
      group.rate === null ? '–' : `${(group.rate * 100).toFixed(1)} % of ${group.orders}`;
    const reasons = Object.entries(orders.byFailureReason).map(([reason, n]) => `${reason} ${n}`);
    return {
      total: String(orders.total),
      confirmed: String(vip.confirmed + regular.confirmed),
      failed: `${orders.byStatus.FAILED ?? 0}${reasons.length ? ` (${reasons.join(', ')})` : ''}`,
      revenue: revenue.map(money).join(' · ') || '–',
      vip: rate(vip),
      regular: rate(regular),
      decision: decisionMs.count ? `${decisionMs.p50} / ${decisionMs.p95} ms` : '–',
    };
  }

  /**
   * Waits until the panel shows what the routes answer (read again at each try, as the rollups
   * move on): its figures, and a column per hour whose data attributes are the series' item and
   * whose orders bar is as tall, relative to the tallest, as its orders relative to the most.
   */
  async function panelShows(
    page: Page,
    reports: () => Promise<{ hours: HourSeries['items']; figures: Record<string, string> }>,
  ): Promise<{ hours: HourSeries['items']; figures: Record<string, string> }> {
    let last: { page: unknown; routes: unknown } | undefined;
    const drawn = async () => ({
      hours: await page.locator('#today-chart g.hour').evaluateAll((columns: Shown[]) => {
        const height = (column: Shown) =>
          Number(column.querySelector('rect.orders')?.getAttribute('height'));
        const tallest = Math.max(...columns.map(height));
        return columns.map((column) => ({
          start: column.getAttribute('data-start'),
          orders: Number(column.getAttribute('data-orders')),
          confirmed: Number(column.getAttribute('data-confirmed')),
          revenue: JSON.parse(column.getAttribute('data-revenue') ?? 'null') as unknown,
          titled: column
            .querySelector('title')
            ?.textContent?.includes(` ${column.getAttribute('data-orders')} orders`),
          height: Math.round((1000 * height(column)) / tallest),
        }));
      }),
      figures: Object.fromEntries(
        await page
          .locator('#today [data-field]')
          .evaluateAll((cells: Shown[]) =>
            cells.map((cell) => [cell.getAttribute('data-field'), cell.textContent]),
          ),
      ) as Record<string, string>,
    });
    try {
      return await waitFor(
        async () => {
          const routes = await reports();
          const most = Math.max(...routes.hours.map((hour) => hour.orders));
          const expected = {
            hours: routes.hours.map((hour) => ({
              ...hour,
              titled: true,
              height: Math.round((1000 * hour.orders) / most),
            })),
            figures: routes.figures,
          };
          last = { page: await drawn(), routes: expected };
          return isDeepStrictEqual(last.page, last.routes) && routes;
        },
        {
          what: 'the Today panel to show what the reports answer',
          timeoutMs: 20_000,
          intervalMs: 250,
        },
      );
    } catch (error) {
      expect(last?.page).toEqual(last?.routes); // says where they differ
      throw error;
    }
  }
});

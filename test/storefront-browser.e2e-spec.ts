/**
 * docs/STOREFRONT.md, run as written in real Chromium: its JavaScript blocks are loaded into a page
 * served on one origin and call the API on another origin of the same site (localhost), with the
 * cookies, CORS and headers a browser really applies. Then the failure the document warns of: the
 * same page on 127.0.0.1, another site, signs in and is refused at the next call.
 */
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import type request from 'supertest';
import { ROOT } from '../tools/harness/processes.js';
import { chromiumBinary } from '../tools/harness/system.js';
import { TestApp, createTestApp } from './support/app.js';
import { createProduct, registerShopper, signInAdmin } from './support/shop.js';

/** The JavaScript blocks of the document, with `API` pointed at `api`. */
function storefrontScript(api: string): string {
  const doc = readFileSync(path.join(ROOT, 'docs', 'STOREFRONT.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const script = blocks.join('\n');
  const placeholder = "const API = 'https://api.example.com';";
  if (!script.includes(placeholder)) throw new Error('STOREFRONT.md no longer defines API');
  return script.replace(placeholder, `const API = ${JSON.stringify(api)};`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('a web storefront, in real Chromium (docs/STOREFRONT.md)', () => {
  let pages: Server;
  let pagePort: number;
  let app: TestApp;
  let api: string;
  let browser: Browser;
  let admin: request.Agent;

  beforeAll(async () => {
    pages = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>shop</title><p>shop</p>');
    });
    pagePort = await listen(pages);
    app = await createTestApp('storefront', {
      env: { CORS_ORIGINS: `http://localhost:${pagePort},http://127.0.0.1:${pagePort}` },
    });
    await app.app.listen(0);
    const { port } = app.app.getHttpServer().address() as AddressInfo;
    api = `http://localhost:${port}`;
    admin = await signInAdmin(app);
    browser = await chromium.launch({ executablePath: chromiumBinary(), args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise((resolve) => pages?.close(resolve));
  });

  it('signs in, places an order once however often it is sent, shows problems by field, refreshes, follows the outcome', async () => {
    const product = await createProduct(admin, { quantity: 5 });
    const shopper = await registerShopper(app);
    const page = await browser.newPage();
    await page.goto(`http://localhost:${pagePort}/`);
    await page.addScriptTag({ content: storefrontScript(api) });

    const placed = await page.evaluate(
      async ({ email, productId }) => {
        const w = globalThis as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
        const user = (await w.signIn(email, 'shopper-password')) as { email: string };
        // Live events first, so the outcome cannot arrive before the page listens.
        const socket = (w.followOrders as unknown as (io: unknown) => { connected: boolean })(
          await w.loadSocketClient(),
        );
        (globalThis as unknown as { liveSocket: unknown }).liveSocket = socket;
        const key = 'order-key-1';
        const first = (await w.placeOrder([{ productId, quantity: 2 }], key)) as {
          order: { id: string; status: string };
          replayed: boolean;
          location: string | null;
        };
        const again = (await w.placeOrder([{ productId, quantity: 2 }], key)) as typeof first;
        let problems: Record<string, string> = {};
        try {
          await w.placeOrder([{ productId, quantity: 0 }]);
        } catch (error) {
          problems = (
            globalThis as unknown as { problemsByField(e: unknown): Record<string, string> }
          ).problemsByField(error);
        }
        return { user, first, again, problems };
      },
      { email: shopper.email, productId: product.id },
    );
    expect(placed.user.email).toBe(shopper.email);
    expect(placed.first.order.status).toBe('PENDING');
    expect(placed.first.replayed).toBe(false);
    expect(placed.first.location).toBe(`/order/${placed.first.order.id}`);
    expect(placed.again.order.id).toBe(placed.first.order.id);
    expect(placed.again.replayed).toBe(true);
    expect(placed.problems).toEqual({ 'items.0.quantity': 'must not be less than 1' });

    // The outcome arrives on the socket, as the order's history records it.
    const live = await page.evaluate(
      ({ orderId }) =>
        (
          globalThis as unknown as { nextOutcome(id: string): Promise<Record<string, unknown>> }
        ).nextOutcome(orderId),
      { orderId: placed.first.order.id },
    );
    expect(live).toMatchObject({
      orderId: placed.first.order.id,
      status: 'CONFIRMED',
      seq: 3,
      id: expect.any(String),
    });
    const history = await shopper.http.get(`/order/${placed.first.order.id}/history`).expect(200);
    expect((history.body as { items: Array<{ seq: number; at: string }> }).items[2]).toMatchObject({
      seq: 3,
      at: live.at,
    });

    // The account's access tokens are outdated (a role change): the next call refreshes once.
    await admin.patch(`/users/${shopper.id}/role`).send({ role: 'staff' }).expect(200);
    const after = await page.evaluate(
      async ({ orderId }) => {
        const w = globalThis as unknown as Record<
          string,
          (...args: unknown[]) => Promise<Response>
        >;
        const profile = (await (await w.api('/auth/profile')).json()) as { user: { role: string } };
        const outcome = (await w.outcomeOf(orderId)) as unknown as { status: string };
        return { role: profile.user.role, outcome: outcome.status };
      },
      { orderId: placed.first.order.id },
    );
    expect(after).toEqual({ role: 'staff', outcome: 'CONFIRMED' });
    await page.close();
  });

  it('a page on another site signs in with 200 and is refused at the next call (the cookie was never kept)', async () => {
    const shopper = await registerShopper(app);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    await page.addScriptTag({ content: storefrontScript(api) });
    const seen = await page.evaluate(
      async ({ email }) => {
        const w = globalThis as unknown as Record<
          string,
          (...args: unknown[]) => Promise<Response>
        >;
        const login = await w.api('/auth/login', {
          method: 'POST',
          body: { email, password: 'shopper-password' },
        });
        const profile = await w.api('/auth/profile');
        return { login: login.status, profile: profile.status };
      },
      { email: shopper.email },
    );
    expect(seen).toEqual({ login: 200, profile: 401 });
    await page.close();
  });

  it('keeps following orders live across an access token’s expiry: refresh, then reconnect', async () => {
    // Access tokens of 3 s; the same secrets (passport keeps one JWT strategy per process).
    const shortLived = await createTestApp('storefront-ttl', {
      env: {
        CORS_ORIGINS: `http://localhost:${pagePort}`,
        JWT_ACCESS_SECRET: app.config.jwt.accessSecret,
        JWT_REFRESH_SECRET: app.config.jwt.refreshSecret,
        JWT_ACCESS_TTL: '3s',
      },
    });
    try {
      await shortLived.app.listen(0);
      const { port } = shortLived.app.getHttpServer().address() as AddressInfo;
      const shortApi = `http://localhost:${port}`;
      const product = await createProduct(await signInAdmin(shortLived), { quantity: 5 });
      const shopper = await registerShopper(shortLived);
      const page = await browser.newPage();
      await page.goto(`http://localhost:${pagePort}/`);
      await page.addScriptTag({ content: storefrontScript(shortApi) });
      await page.evaluate(
        async ({ email }) => {
          const w = globalThis as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
          await w.signIn(email, 'shopper-password');
          const socket = (
            w.followOrders as unknown as (io: unknown) => {
              on(event: string, listener: () => void): void;
            }
          )(await w.loadSocketClient());
          const seen = { expired: 0, connects: 0 };
          socket.on('session_expired', () => (seen.expired += 1));
          socket.on('connect', () => (seen.connects += 1));
          Object.assign(globalThis, { seen });
        },
        { email: shopper.email },
      );
      // The token expires, the server ends the socket, the page refreshes and connects again.
      await page.waitForFunction(
        () => {
          const { seen } = globalThis as unknown as { seen: { expired: number; connects: number } };
          return seen.expired >= 1 && seen.connects >= 2;
        },
        undefined,
        { timeout: 15_000 },
      );
      const outcome = await page.evaluate(
        async ({ productId }) => {
          const w = globalThis as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
          const placed = (await w.placeOrder([{ productId, quantity: 1 }])) as {
            order: { id: string };
          };
          const next: Promise<unknown> = w.nextOutcome(placed.order.id);
          return next;
        },
        { productId: product.id },
      );
      expect(outcome).toMatchObject({ status: 'CONFIRMED' });
      await page.close();
    } finally {
      await shortLived.close();
    }
  });
});

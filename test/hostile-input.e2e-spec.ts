/**
 * Property-based: fast-check generates hostile requests for every route the OpenAPI document
 * lists (bodies of any shape and size, malformed JSON, odd content types, ids and query strings,
 * headers, forged cookies) and sends each as an anonymous client, a shopper, an admin or a client
 * with a forged session. Whatever it sends:
 * - the answer is never a 5xx;
 * - the answer is small (errors under ERROR_BOUND bytes, anything under ANSWER_BOUND), and an
 *   error has the API's error shape with at most ten problems;
 * - a refused request (4xx) writes nothing to MongoDB and enqueues nothing: every collection's
 *   documents and the queues' job counts are the same before and after it.
 * A failure prints fast-check's seed and the shrunk request, to replay with `{ seed, path }`.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import type { OpenAPIObject } from '@nestjs/swagger';
import request from 'supertest';
import { OrderQueue } from '../src/order/order.queue.js';
import { waitFor } from '../tools/harness/wait.js';
import type { AddressInfo } from 'node:net';
import { connectLiveEvents, ready } from '../tools/live-events.js';
import * as storefront from '../tools/storefront.js';
import { fetchHttp } from '../tools/storefront.js';
import { TestApp, createTestApp, ADMIN } from './support/app.js';
import { createProduct, placeOrder, registerShopper, signIn, signInAdmin } from './support/shop.js';

const ERROR_BOUND = 4 * 1024;
const ANSWER_BOUND = 32 * 1024;
const RUNS = Number(process.env.HOSTILE_RUNS ?? 200);

type Caller = 'anonymous' | 'shopper' | 'admin' | 'forged';
interface Route {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string; // OpenAPI form: /order/{id}
}
interface HostileRequest {
  route: Route;
  caller: Caller;
  ids: string[];
  query: string;
  body: { text: string; contentType: string | undefined } | undefined;
  headers: Record<string, string>;
}

describe('hostile input (fast-check, every route)', () => {
  let app: TestApp;
  let routes: Route[];
  let known: { productId: string; orderId: string; userId: string };
  let shopperEmail: string;

  beforeAll(async () => {
    app = await createTestApp('hostile');
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 50 });
    const shopper = await registerShopper(app);
    const order = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    known = { productId: product.id, orderId: order.id, userId: shopper.id };
    shopperEmail = shopper.email;
    const doc = (await app.agent().get('/api/docs-json').expect(200)).body as OpenAPIObject;
    routes = Object.entries(doc.paths).flatMap(([path, item]) =>
      (['get', 'post', 'patch', 'put', 'delete'] as const)
        .filter((method) => item[method] !== undefined)
        .map((method) => ({ method, path })),
    );
    await settled();
  }, 60_000);
  afterAll(() => app.close());

  /**
   * A digest of every document of every collection, and of the queues' job counts, by name: two
   * snapshots differ exactly where something was written or enqueued.
   */
  async function snapshot(): Promise<Record<string, string>> {
    const db = app.get<Connection>(getConnectionToken()).db;
    if (!db) throw new Error('no database');
    const digest = (value: unknown) =>
      createHash('sha256').update(JSON.stringify(value)).digest('hex');
    // The reports' rollups are derived from the orders by a scheduled worker job, which writes its
    // progress on every run whatever the requests do; the orders they come from are compared.
    const names = (await db.listCollections().toArray())
      .map((c) => c.name)
      .filter((name) => !name.startsWith('report_'));
    const entries = await Promise.all(
      names.map(
        async (name) => [name, digest(await db.collection(name).find({}).toArray())] as const,
      ),
    );
    return { ...Object.fromEntries(entries), queues: digest(await app.get(OrderQueue).counts()) };
  }

  /** No order waits to be decided: what the worker does next cannot be mistaken for a write. */
  async function settled(): Promise<void> {
    const db = app.get<Connection>(getConnectionToken()).db;
    await waitFor(
      async () => {
        const { orders } = await app.get(OrderQueue).counts();
        const busy =
          (orders?.waiting ?? 0) +
          (orders?.prioritized ?? 0) +
          (orders?.active ?? 0) +
          (orders?.delayed ?? 0);
        return (
          busy === 0 && (await db?.collection('orders').countDocuments({ status: 'PENDING' })) === 0
        );
      },
      { what: 'the queue to drain' },
    );
  }

  async function agentFor(caller: Caller): Promise<request.Agent> {
    if (caller === 'admin') return signIn(app, ADMIN.email, ADMIN.password);
    if (caller === 'shopper') return signIn(app, shopperEmail, 'shopper-password');
    return app.agent();
  }

  async function send(agent: request.Agent, hostile: HostileRequest): Promise<request.Response> {
    const ids = [...hostile.ids];
    const path = hostile.route.path.replace(/\{[^}]+\}/g, () => ids.shift() ?? 'x');
    let req = agent[hostile.route.method](`${path}${hostile.query}`);
    if (hostile.caller === 'forged')
      req = req.set('Cookie', hostile.headers.cookie ?? 'access_token=x');
    for (const [name, value] of Object.entries(hostile.headers))
      if (name !== 'cookie') req = req.set(name, value);
    if (hostile.body) {
      if (hostile.body.contentType !== undefined)
        req = req.set('Content-Type', hostile.body.contentType);
      req = req.send(hostile.body.text);
    }
    return req;
  }

  async function check(hostile: HostileRequest): Promise<void> {
    const agent = await agentFor(hostile.caller); // signing in writes a session: before the snapshot
    const before = await snapshot();
    const res = await send(agent, hostile);
    const size = Buffer.byteLength(res.text ?? '');
    const where = `${hostile.route.method.toUpperCase()} ${hostile.route.path} as ${hostile.caller}: ${res.status}`;
    expect({ where, serverError: res.status >= 500 }).toEqual({ where, serverError: false });
    expect({ where, size: size <= (res.status >= 400 ? ERROR_BOUND : ANSWER_BOUND) }).toEqual({
      where,
      size: true,
    });
    if (res.status >= 400) {
      const body = res.body as {
        statusCode?: unknown;
        error?: unknown;
        message?: unknown;
        problems?: unknown[];
      };
      expect(body.statusCode).toBe(res.status);
      expect(typeof body.error).toBe('string');
      expect(typeof body.message).toBe('string');
      expect((body.problems ?? []).length).toBeLessThanOrEqual(10);
      expect({ where, after: await snapshot() }).toEqual({ where, after: before });
    } else {
      await settled();
    }
  }

  // ---- arbitraries ------------------------------------------------------------------------

  const routeArb = () => fc.constantFrom(...routes);
  const callerArb = fc.constantFrom<Caller>('anonymous', 'shopper', 'admin', 'forged');

  /** A path segment: the real ids, near-misses, encodings, traversal, huge and odd text. */
  const idArb = () =>
    fc.oneof(
      fc.constantFrom(known.productId, known.orderId, known.userId, known.productId.toUpperCase()),
      fc.stringMatching(/^[0-9a-fA-F]{0,30}$/),
      fc.constantFrom(
        '..',
        '%2e%2e%2f',
        '%00',
        '%',
        '%zz',
        '%ff%fe',
        '0x1',
        '-1',
        '1e300',
        'null',
        '__proto__',
      ),
      fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
      fc.integer({ min: 1000, max: 9000 }).map((n) => 'a'.repeat(n)),
    );

  const queryArb = fc.oneof(
    fc.constant(''),
    fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              'page',
              'limit',
              'status',
              'page[$gt]',
              'limit[]',
              '__proto__[x]',
              'sort',
            ),
            fc.string({ maxLength: 20 }),
          ),
          fc.oneof(
            fc.constantFrom(
              '1',
              '0',
              '-1',
              '1e300',
              '0x10',
              '1.5',
              ' 1',
              '999999999999',
              '',
              'PENDING',
              '[object Object]',
            ),
            fc.string({ maxLength: 50 }),
          ),
        ),
        { maxLength: 6 },
      )
      .map(
        (pairs) =>
          `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
      ),
    fc.constantFrom('?%', '?page=%zz', `?${'a=1&'.repeat(2000)}`),
  );

  const FIELDS = [
    'email',
    'password',
    'name',
    'price',
    'currency',
    'quantity',
    'delta',
    'role',
    'items',
    'productId',
    'isVip',
    'status',
  ];
  const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '$where', '$gt', 'toString', ''];

  const valueArb: fc.Arbitrary<unknown> = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(
      { $gt: '' },
      { $ne: null },
      [],
      {},
      -0,
      1e308,
      -1,
      2 ** 53,
      'x'.repeat(5000),
      '\u0000',
      '\u202e',
    ),
  );

  const objectBody = fc.dictionary(
    fc.oneof(fc.constantFrom(...FIELDS, ...HOSTILE_KEYS), fc.string({ maxLength: 30 })),
    valueArb,
    {
      maxKeys: 8,
    },
  );

  const orderBody = () =>
    fc.record({
      items: fc.array(
        fc.record(
          {
            productId: fc.oneof(fc.constant(known.productId), idArb(), valueArb),
            quantity: fc.oneof(fc.integer({ min: -5, max: 2000 }), valueArb),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 25 },
      ),
    });

  const bodyTextArb = () =>
    fc.oneof(
      objectBody.map((o) => JSON.stringify(o)),
      orderBody().map((o) => JSON.stringify(o)),
      fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }), // mostly not JSON at all
      fc.integer({ min: 1, max: 33_000 }).map((n) => `{"items":[${'{},'.repeat(n - 1)}{}]}`),
      fc.integer({ min: 20, max: 3000 }).map((d) => `{"items":${'['.repeat(d)}${']'.repeat(d)}}`),
      fc
        .integer({ min: 1, max: 9000 })
        .map((n) =>
          JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
        ),
      fc.integer({ min: 90_000, max: 120_000 }).map((n) => JSON.stringify({ name: 'x'.repeat(n) })),
      fc.constantFrom(
        '{"a":1,"a":2}',
        '{"__proto__":{"isAdmin":true}}',
        '\ufeff{}',
        '{"items":[1,2,3]',
        'null',
        '"string"',
        '[]',
        '1',
      ),
    );

  const contentTypeArb = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/vnd.api+json',
    undefined,
  );

  const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,300}$/);
  const headersArb = fc.record(
    {
      'Idempotency-Key': headerValue,
      'X-Request-Id': headerValue,
      'X-Forwarded-For': fc.oneof(headerValue, fc.constant('1.2.3.4, 5.6.7.8')),
      Accept: fc.constantFrom('text/csv', '*/*', 'application/xml', 'garbage'),
      Origin: fc.constantFrom('https://evil.example', 'null'),
      cookie: fc.oneof(
        headerValue.map((v) => `access_token=${v}`),
        fc.constant('access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.'),
        headerValue.map((v) => `refresh_token=${v}; access_token=${v}`),
      ),
    },
    { requiredKeys: [] },
  );

  const requestArb = (parts: { body: boolean; ids: boolean; query: boolean; headers: boolean }) =>
    fc.record({
      route: routeArb(),
      caller: callerArb,
      ids: parts.ids
        ? fc.array(idArb(), { minLength: 1, maxLength: 2 })
        : fc.constant<string[]>([]),
      query: parts.query ? queryArb : fc.constant(''),
      body: parts.body
        ? fc.option(fc.record({ text: bodyTextArb(), contentType: contentTypeArb }), {
            nil: undefined,
          })
        : fc.constant(undefined),
      headers: parts.headers ? headersArb : fc.constant<Record<string, string>>({}),
    });

  const run = (arb: fc.Arbitrary<HostileRequest>) =>
    fc.assert(
      fc.asyncProperty(arb, (hostile) => check(hostile)),
      { numRuns: RUNS },
    );

  it(
    'bodies of any shape and size, on every route',
    () => run(requestArb({ body: true, ids: false, query: false, headers: false })),
    180_000,
  );

  it(
    'ids and query strings, on every route',
    () => run(requestArb({ body: false, ids: true, query: true, headers: false })),
    180_000,
  );

  it(
    'headers and forged cookies, with anything else, on every route',
    () => run(requestArb({ body: true, ids: true, query: true, headers: true })),
    180_000,
  );

  it('Socket.IO handshakes with any cookie and any auth payload: admitted or refused with 401, never a crash, nothing written', async () => {
    await app.app.listen(0);
    const base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    const session = fetchHttp(base);
    await storefront.signIn(session, { email: shopperEmail, password: 'shopper-password' });
    const validCookie = session.cookie;
    const cookieArb = fc.oneof(
      fc.constant(validCookie),
      headerValue.map((v) => `access_token=${v}`),
      headerValue,
      fc.constant('access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.'),
    );
    const authArb = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      fc.record({
        lastEventId: fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.constant(`${Date.now()}-0:0`),
          fc.constant(`${Date.now() - 3_600_000}-0:0`),
          fc.constant('9999999999999-0:999999'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      }),
    );
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(cookieArb, authArb, async (cookie, auth) => {
        const client = connectLiveEvents(base, { cookie, auth });
        try {
          await ready(client);
          expect(cookie).toBe(validCookie);
        } catch (err) {
          expect({ cookie, data: (err as { data?: unknown }).data }).toEqual({
            cookie,
            data: { statusCode: 401, message: expect.any(String) },
          });
        } finally {
          client.close();
        }
      }),
      { numRuns: Math.min(RUNS, 100) },
    );
    // Still serving: a valid client connects; and nothing was written or enqueued.
    const after = connectLiveEvents(base, { cookie: validCookie });
    await ready(after);
    after.close();
    expect(await snapshot()).toEqual(before);
  }, 120_000);
});

import { Logger } from '@nestjs/common';
import { TestApp, createTestApp } from './support/app.js';
import {
  MAX_JSON_VALUES,
  MAX_JSON_DEPTH,
  MAX_JSON_OBJECT_FIELDS,
} from '../src/common/json-shape.js';
import { registerShopper, signInAdmin } from './support/shop.js';

describe('HTTP hardening', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('hardening', {
      env: { CORS_ORIGINS: 'https://shop.example.com,http://localhost:3000' },
    });
  });
  afterAll(() => app.close());

  it('sends helmet security headers', async () => {
    const res = await app.agent().get('/health').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('allows credentialed CORS for listed origins only', async () => {
    const allowed = await app
      .agent()
      .options('/auth/login')
      .set('Origin', 'https://shop.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const refused = await app
      .agent()
      .options('/auth/login')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets cross-origin pages read the headers the API sends them, and cache the preflight (neither was possible)', async () => {
    const preflight = await app
      .agent()
      .options('/order')
      .set('Origin', 'https://shop.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,idempotency-key')
      .expect(204);
    expect(Number(preflight.headers['access-control-max-age'])).toBeGreaterThanOrEqual(600);
    const answer = await app
      .agent()
      .get('/health')
      .set('Origin', 'https://shop.example.com')
      .expect(200);
    const exposed = String(answer.headers['access-control-expose-headers'])
      .split(',')
      .map((h) => h.trim().toLowerCase());
    for (const header of ['idempotent-replayed', 'location', 'retry-after', 'x-request-id'])
      expect(exposed).toContain(header);
  });

  it('warns once when an allowed origin is on another site than the API (its cookies would never stick)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const from = (origin: string, host: string) =>
        app.agent().get('/health').set('Origin', origin).set('Host', host).expect(200);
      // Same site: page on localhost:3000, API on localhost.
      await from('http://localhost:3000', 'localhost:8000');
      const crossSite = () =>
        warn.mock.calls.filter(([message]) => String(message).includes('another site'));
      expect(crossSite()).toEqual([]);
      // Another site: the API reached as 127.0.0.1. Said once, however many requests follow.
      await from('http://localhost:3000', '127.0.0.1:8000');
      await from('http://localhost:3000', '127.0.0.1:8000');
      expect(crossSite()).toHaveLength(1);
      expect(String(crossSite()[0]?.[0])).toContain(
        'Requests from http://localhost:3000 come from another site than this API (http://127.0.0.1)',
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('returns the X-Request-Id it was given, or a new one', async () => {
    const given = await app.agent().get('/health').set('X-Request-Id', 'req-123.abc').expect(200);
    expect(given.headers['x-request-id']).toBe('req-123.abc');
    const generated = await app.agent().get('/health').expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await app
      .agent()
      .get('/health')
      .set('X-Request-Id', 'bad id\twith spaces')
      .expect(200);
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses bodies over the size limit with 413', async () => {
    const huge = { email: 'x@shop.test', password: 'p'.repeat(200 * 1024), name: 'X' };
    const res = await app.agent().post('/auth/register').send(huge).expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large',
    });
  });

  it('refuses JSON nested past the depth limit with 400, before anything reads it (was a 500)', async () => {
    // 40 KB nested inside a field each route declares: transforming it overflowed the stack and
    // answered 500 (the review found it at 1,300 levels against the built server; jest's
    // in-process app has a deeper stack).
    const nested = `${'['.repeat(20000)}${']'.repeat(20000)}`;
    const hostile: Array<[string, string]> = [
      ['/auth/login', `{"email":${nested},"password":"pppppppppppp"}`],
      ['/auth/register', `{"email":"deep@shop.test","password":"pppppppppppp","name":${nested}}`],
      ['/order', `{"items":${nested}}`],
    ];
    const expected = {
      statusCode: 400,
      error: 'Bad Request',
      message: `Request body is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`,
    };
    for (const [path, body] of hostile) {
      const res = await app
        .agent()
        .post(path)
        .set('content-type', 'application/json')
        .send(body)
        .expect(400);
      expect(res.body).toEqual(expected);
    }
    // Nothing was written: the account of the refused registration does not exist.
    await app
      .agent()
      .post('/auth/login')
      .send({ email: 'deep@shop.test', password: 'pppppppppppp' })
      .expect(401);
    // At the limit the body is parsed and validated as usual.
    const atLimit = `{"items":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
    const validated = await app
      .agent()
      .post('/auth/login')
      .set('content-type', 'application/json')
      .send(atLimit)
      .expect(400);
    expect(validated.body.message).not.toContain('nested deeper');
  });

  it('refuses an order over the line limit for its length alone, in a short answer (33,000 empty lines took 856 ms and answered 6.2 MB)', async () => {
    const shopper = await registerShopper(app);
    // 33,000 lines: refused on the raw bytes, before they are parsed.
    const body = `{"items":[${Array.from({ length: 33_000 }, () => '{}').join(',')}]}`;
    const huge = await shopper.http
      .post('/order')
      .set('content-type', 'application/json')
      .send(body)
      .expect(400);
    expect(huge.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `Request body has more than ${MAX_JSON_VALUES} values (object fields and array elements)`,
    });
    // 500 lines: parsed, and refused for their number before anything transforms them.
    const line = { productId: 'a'.repeat(24), quantity: 1 };
    const res = await shopper.http
      .post('/order')
      .send({ items: Array.from({ length: 500 }, () => line) })
      .expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'items must contain no more than 20 elements (500 given)',
      problems: [{ field: 'items', problem: 'must contain no more than 20 elements (500 given)' }],
      problemCount: 1,
    });
    expect(res.text.length).toBeLessThan(1024);
    // Nothing was written or enqueued for the shopper.
    expect((await shopper.http.get('/order').expect(200)).body.total).toBe(0);

    // The limit is the deployment's: ORDER_MAX_LINES.
    // Same secrets: passport keeps one 'jwt' strategy per process, the last app's.
    const { accessSecret, refreshSecret } = app.config.jwt;
    const strict = await createTestApp('hardening-lines', {
      env: {
        ORDER_MAX_LINES: '2',
        JWT_ACCESS_SECRET: accessSecret,
        JWT_REFRESH_SECRET: refreshSecret,
      },
    });
    try {
      const buyer = await registerShopper(strict);
      const ids = ['a', 'b', 'c'].map((c) => c.repeat(24));
      const three = await buyer.http
        .post('/order')
        .send({ items: ids.map((productId) => ({ productId, quantity: 1 })) })
        .expect(400);
      expect(three.body.message).toBe('items must contain no more than 2 elements (3 given)');
      const docs = await strict.agent().get('/api/docs-json').expect(200);
      expect(docs.body.components.schemas.PlaceOrderDto.properties.items.maxItems).toBe(2);
    } finally {
      await strict.close();
    }
  });

  it('answers validation errors with the first problems next to their fields and a count, bounded (8,000 unknown keys answered 318 KB)', async () => {
    // 8,000 unknown keys: refused for the object's width, before anything walks it (class-
    // transformer's duplicate-key check is quadratic: that body cost 50 ms of CPU).
    const keys = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
    const wide = await app
      .agent()
      .post('/auth/login')
      .send({ email: 'x@shop.test', password: 'pppppppppppp', ...keys(8000) })
      .expect(400);
    expect(wide.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `Request body has an object with more than ${MAX_JSON_OBJECT_FIELDS} fields`,
    });
    // Within that limit, the first ten problems and their count.
    const res = await app
      .agent()
      .post('/auth/login')
      .send({ email: 'x@shop.test', password: 'pppppppppppp', ...keys(60) })
      .expect(400);
    expect(res.text.length).toBeLessThan(2048);
    expect(res.body.problemCount).toBe(60);
    expect(res.body.problems).toHaveLength(10);
    expect(res.body.problems[0]).toEqual({ field: 'k0', problem: 'should not exist' });
    expect(res.body.message).toMatch(
      /^k0 should not exist; k1 should not exist; .*; k9 should not exist; and 50 more problems$/,
    );

    // A field named by the client is cut short in the answer.
    const longName = 'x'.repeat(50_000);
    const long = await app
      .agent()
      .post('/auth/login')
      .send({ email: 'x@shop.test', password: 'pppppppppppp', [longName]: 1 })
      .expect(400);
    expect(long.text.length).toBeLessThan(1024);
    expect(long.body.problems[0].field).toBe(`${'x'.repeat(99)}…`);

    // Several problems of one body, each in place: what a storefront form shows beside its fields.
    const shopper = await registerShopper(app);
    const order = await shopper.http
      .post('/order')
      .send({ coupon: 'FREE', items: [{ productId: 'nope', quantity: 0 }] })
      .expect(400);
    expect(order.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message:
        'coupon should not exist; items.0.productId must be a 24-character hexadecimal ObjectId; items.0.quantity must not be less than 1',
      problems: [
        { field: 'coupon', problem: 'should not exist' },
        { field: 'items.0.productId', problem: 'must be a 24-character hexadecimal ObjectId' },
        { field: 'items.0.quantity', problem: 'must not be less than 1' },
      ],
      problemCount: 3,
    });
  });

  it('refuses names with control or bidi override characters, keeps other Unicode (they were stored raw)', async () => {
    const email = `names.${Date.now()}@shop.test`;
    for (const name of ['Ada\u0000Lovelace', 'evil\u202Etxt.exe', 'tab\there', 'del\u007f']) {
      const res = await app
        .agent()
        .post('/auth/register')
        .send({ email, password: 'shopper-password', name })
        .expect(400);
      expect(res.body.message).toBe(
        'name must not contain control or bidirectional override characters',
      );
    }
    const admin = await signInAdmin(app);
    const product = await admin
      .post('/stock/products')
      .send({ name: 'cup\u2066hidden', price: 100, currency: 'USD', quantity: 1 })
      .expect(400);
    expect(product.body.message).toBe(
      'name must not contain control or bidirectional override characters',
    );
    // Nothing was stored; a name in any script, with markup, is kept as given.
    const kept = await app
      .agent()
      .post('/auth/register')
      .send({ email, password: 'shopper-password', name: 'Zoë <b>Ωμέγα</b> 山田' })
      .expect(201);
    expect(kept.body.user.name).toBe('Zoë <b>Ωμέγα</b> 山田');
  });

  it('asks browsers to upgrade to https only where the deployment is served over HTTPS (it always did)', async () => {
    const plain = await app.agent().get('/api/docs').expect(200);
    expect(plain.headers['content-security-policy']).toContain("default-src 'self'");
    expect(plain.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');

    const https = await createTestApp('hardening-https', { env: { COOKIE_SECURE: 'true' } });
    try {
      const res = await https.agent().get('/api/docs').expect(200);
      expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
    } finally {
      await https.close();
    }
  });

  it('answers requests the HTTP parser refuses in the error shape, and keeps quoted paths short', async () => {
    const big = await app.agent().get('/health').set('X-Padding', 'p'.repeat(20_000)).expect(431);
    expect(big.body).toEqual({
      statusCode: 431,
      error: 'Request Header Fields Too Large',
      message: expect.stringMatching(/^Request headers are too large: at most \d+ bytes in all$/),
    });
    const long = await app
      .agent()
      .get(`/nope?${'a=1&'.repeat(1000)}`)
      .expect(404);
    expect(long.body.message.length).toBeLessThanOrEqual(300);
  });

  it('answers unknown routes with 404 in the API error shape', async () => {
    const res = await app.agent().get('/nope').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

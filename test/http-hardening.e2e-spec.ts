import { TestApp, createTestApp } from './support/app.js';
import { MAX_JSON_DEPTH } from '../src/common/json-depth.js';
import { signInAdmin } from './support/shop.js';

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

  it('answers unknown routes with 404 in the API error shape', async () => {
    const res = await app.agent().get('/nope').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

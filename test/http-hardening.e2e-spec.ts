import { TestApp, createTestApp } from './support/app.js';

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

  it('answers unknown routes with 404 in the API error shape', async () => {
    const res = await app.agent().get('/nope').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

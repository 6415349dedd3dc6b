import { TestApp, createTestApp } from './support/app.js';

describe('health', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('health');
  });
  afterAll(() => app.close());

  it('GET /health answers liveness without touching dependencies', async () => {
    const res = await app.agent().get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it('GET /health/ready reports MongoDB, Redis and both order queues', async () => {
    const res = await app.agent().get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details).toMatchObject({
      mongodb: { status: 'up' },
      redis: { status: 'up' },
      queues: {
        status: 'up',
        orders: expect.objectContaining({ prioritized: expect.any(Number) }),
        'orders-dlq': expect.any(Object),
      },
    });
  });
});

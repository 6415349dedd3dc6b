import { TestApp, createTestApp } from './support/app.js';
import {
  OfflineMongo,
  freePort,
  startOfflineMongo,
  startRedisServer,
} from '../tools/harness/services.js';
import { waitFor } from '../tools/harness/wait.js';

/** Readiness follows its dependencies: 503 naming the one that is down, 200 once it is back. */
describe('GET /health/ready during outages', () => {
  let app: TestApp;
  let mongo: OfflineMongo;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let mongoPort: number;
  let redisPort: number;

  beforeAll(async () => {
    [mongoPort, redisPort] = [await freePort(), await freePort()];
    mongo = await startOfflineMongo({ port: mongoPort });
    redis = await startRedisServer({ port: redisPort });
    app = await createTestApp('outage', {
      env: { MONGODB_URI: `${mongo.url}/outage`, REDIS_URL: redis.url },
    });
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
    await mongo.stop();
  });

  const ready = () => app.agent().get('/health/ready');
  const becomes = (status: number, what: string) =>
    waitFor(
      async () => {
        const res = await ready();
        return res.status === status ? res : undefined;
      },
      { timeoutMs: 30_000, what },
    );

  it('goes 503 naming Redis while Redis is stopped, and 200 when it returns', async () => {
    await ready().expect(200);
    await redis.stop();
    const down = await becomes(503, 'readiness to fail without Redis');
    expect(down.body.status).toBe('error');
    expect(down.body.error).toHaveProperty('redis');
    expect(down.body.error.redis.status).toBe('down');
    expect(down.body.details.mongodb.status).toBe('up');
    await app.agent().get('/health').expect(200);

    redis = await startRedisServer({ port: redisPort });
    await becomes(200, 'readiness to recover with Redis');
  });

  it('goes 503 naming MongoDB while MongoDB is stopped, and 200 when it returns', async () => {
    await mongo.stop();
    const down = await becomes(503, 'readiness to fail without MongoDB');
    expect(down.body.error).toHaveProperty('mongodb');
    expect(down.body.error.mongodb.status).toBe('down');
    expect(down.body.details.redis.status).toBe('up');

    mongo = await startOfflineMongo({ port: mongoPort });
    await becomes(200, 'readiness to recover with MongoDB');
  });
});

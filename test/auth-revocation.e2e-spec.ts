/**
 * Issue 12, finding 4: an access token outlived its session. Logout, refresh-token reuse, a role
 * change and a password change must take effect at the next request on every API replica, not
 * when the token expires. Two API processes share one database, one Redis prefix and the secrets,
 * as replicas behind a load balancer do; the cache TTL is long, so only the revocation itself can
 * make a replica stop trusting what it cached. No test waits: the next request must already fail.
 * The last suite counts what the check costs, through counting proxies: no MongoDB command, and
 * no Redis read once a session's state is cached.
 */
import {
  MongoCountingProxy,
  RedisCountingProxy,
  diffSnapshots,
  startMongoCountingProxy,
  startRedisCountingProxy,
} from '../tools/counting-proxy/counting-proxy.js';
import { ADMIN, TestApp, createTestApp, testEnv } from './support/app.js';
import { authCookies, refreshOn, sessionOn, withAccess } from './support/cookies.js';
import { createProduct, signInAdmin } from './support/shop.js';
import { mongoUriFor, testRedisUrl, uniqueDbName } from './support/test-env.js';

const PASSWORD = 'revocation-password';
let accounts = 0;

interface Session {
  id: string;
  email: string;
  access: string;
  refresh: string;
}

async function register(app: TestApp): Promise<Session> {
  const email = `revocation${++accounts}.${process.pid}@shop.test`;
  const res = await app
    .agent()
    .post('/auth/register')
    .send({ email, password: PASSWORD, name: 'Revocation' })
    .expect(201);
  return { id: (res.body as { user: { id: string } }).user.id, email, ...authCookies(res) };
}

async function signIn(app: TestApp, email: string, password: string): Promise<Session> {
  const res = await app.agent().post('/auth/login').send({ email, password }).expect(200);
  return { id: (res.body as { user: { id: string } }).user.id, email, ...authCookies(res) };
}

describe('immediate revocation across API replicas', () => {
  const env = testEnv('revocation', {
    APP_ROLE: 'api',
    CACHE_TTL_MS: '600000',
    // Any second presentation of a refresh token is reuse here; the grace window has its own suite.
    REFRESH_GRACE_SECONDS: '0',
  });
  let replicaA: TestApp;
  let replicaB: TestApp;

  beforeAll(async () => {
    replicaA = await createTestApp('revocation', { env });
    replicaB = await createTestApp('revocation', { env });
  });
  afterAll(async () => {
    await replicaB.app.close();
    await replicaA.close();
  });

  it('logout on one replica: the other refuses the access token at its next request', async () => {
    const session = await register(replicaA);
    // Replica B has checked this token, and may have cached that its session is live.
    await sessionOn(replicaB, session.access).expect(200);
    await sessionOn(replicaA, session.access).expect(200);

    await replicaA
      .agent()
      .post('/auth/logout')
      .set('Cookie', `refresh_token=${session.refresh}`)
      .expect(204);

    const refused = await sessionOn(replicaB, session.access).expect(401);
    expect(refused.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'The session has ended; sign in again',
    });
    await sessionOn(replicaA, session.access).expect(401);
    await withAccess(replicaB.agent().get('/order'), session.access).expect(401);
  });

  it('refresh-token reuse revokes the session: every access token of it is refused everywhere', async () => {
    const session = await register(replicaA);
    const rotated = authCookies(await refreshOn(replicaB, session.refresh).expect(200));
    await sessionOn(replicaB, rotated.access).expect(200);
    await sessionOn(replicaB, session.access).expect(200);

    // The spent refresh token comes back: someone copied it. The whole session ends.
    await refreshOn(replicaA, session.refresh).expect(401);

    await sessionOn(replicaB, rotated.access).expect(401);
    await sessionOn(replicaB, session.access).expect(401);
    await sessionOn(replicaA, rotated.access).expect(401);
    await refreshOn(replicaB, rotated.refresh).expect(401);
  });

  it("logout ends an admin's access to Bull Board on every replica", async () => {
    const admin = await signIn(replicaA, ADMIN.email, ADMIN.password);
    await withAccess(replicaB.agent().get('/admin/queues/api/queues'), admin.access).expect(200);
    await replicaB
      .agent()
      .post('/auth/logout')
      .set('Cookie', `refresh_token=${admin.refresh}`)
      .expect(204);
    const refused = await withAccess(
      replicaA.agent().get('/admin/queues/api/queues'),
      admin.access,
    ).expect(401);
    expect(refused.body.message).toBe('The session has ended; sign in again');
    await withAccess(replicaB.agent().get('/admin/queues/api/queues'), admin.access).expect(401);
  });

  it('a role change refuses the old token at once; a refresh, without signing in, carries the new role', async () => {
    const session = await register(replicaA);
    expect((await sessionOn(replicaB, session.access).expect(200)).body.role).toBe('customer');

    // A replica starts with ADMIN_EMAIL naming this account and its own password: the account
    // becomes an admin (a role change, not a password change).
    const promoting = await createTestApp('revocation', {
      env: { ...env, ADMIN_EMAIL: session.email, ADMIN_PASSWORD: PASSWORD },
    });
    try {
      const refused = await sessionOn(replicaB, session.access).expect(401);
      expect(refused.body.message).toBe('The access token is outdated; refresh it');
      await sessionOn(replicaA, session.access).expect(401);

      const refreshed = await refreshOn(replicaB, session.refresh).expect(200);
      expect(refreshed.body.user).toMatchObject({ id: session.id, role: 'admin' });
      const renewed = authCookies(refreshed);
      expect((await sessionOn(replicaA, renewed.access).expect(200)).body.role).toBe('admin');
      await withAccess(replicaA.agent().get('/admin/queues/api/queues'), renewed.access).expect(
        200,
      );
    } finally {
      await promoting.app.close();
    }
  });

  it('a password change (ADMIN_PASSWORD at start-up) ends every session of the account', async () => {
    const first = await register(replicaA);
    const second = await signIn(replicaB, first.email, PASSWORD);
    await sessionOn(replicaB, first.access).expect(200);
    await sessionOn(replicaA, second.access).expect(200);

    const resetting = await createTestApp('revocation', {
      env: { ...env, ADMIN_EMAIL: first.email, ADMIN_PASSWORD: 'a-new-password-9' },
    });
    try {
      for (const session of [first, second]) {
        await sessionOn(replicaA, session.access).expect(401);
        await sessionOn(replicaB, session.access).expect(401);
        await refreshOn(replicaA, session.refresh).expect(401);
      }
      await replicaB
        .agent()
        .post('/auth/login')
        .send({ email: first.email, password: PASSWORD })
        .expect(401);
      const fresh = await signIn(replicaB, first.email, 'a-new-password-9');
      expect((await sessionOn(replicaA, fresh.access).expect(200)).body.role).toBe('admin');
    } finally {
      await resetting.app.close();
    }
  });

  it('a VIP promotion on one replica gives the next order on the other VIP priority, the token unchanged', async () => {
    const admin = await signInAdmin(replicaA);
    const product = await createProduct(admin, { quantity: 10 });
    const shopper = await register(replicaA);
    const order = () =>
      withAccess(replicaB.agent().post('/order'), shopper.access).send({
        items: [{ productId: product.id, quantity: 1 }],
      });
    // Replica B caches the flag with the first order.
    expect((await order().expect(202)).body.priority).toBe('REGULAR');
    await admin.post(`/users/${shopper.id}/vip`).expect(200);
    expect((await order().expect(202)).body.priority).toBe('VIP');
    await admin.delete(`/users/${shopper.id}/vip`).expect(200);
    expect((await order().expect(202)).body.priority).toBe('REGULAR');
  });
});

describe('the cost of the revocation check', () => {
  let mongo: MongoCountingProxy;
  let redis: RedisCountingProxy;
  let app: TestApp;

  beforeAll(async () => {
    mongo = await startMongoCountingProxy(mongoUriFor(uniqueDbName('revocation-cost')));
    redis = await startRedisCountingProxy(testRedisUrl());
    app = await createTestApp('revocation-cost', {
      env: { APP_ROLE: 'api', MONGODB_URI: mongo.url, REDIS_URL: redis.url },
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([mongo.close(), redis.close()]);
  });

  it('reads no MongoDB and, once a session is cached, no Redis key per request; an order stays one insert', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 100 });
    const session = await register(app);
    const order = () =>
      withAccess(app.agent().post('/order'), session.access).send({
        items: [{ productId: product.id, quantity: 1 }],
      });
    // The first request of a session loads its revocation state (one MGET) and the VIP flag.
    await order().expect(202);

    const [mongoBefore, redisBefore] = [mongo.snapshot(), redis.snapshot()];
    for (let i = 0; i < 10; i++) {
      await sessionOn(app, session.access).expect(200);
      await order().expect(202);
    }
    const mongoWork = diffSnapshots(mongoBefore, mongo.snapshot());
    const redisWork = diffSnapshots(redisBefore, redis.snapshot());
    // Ten orders: ten inserts at most (group commit may join some), nothing read.
    expect(Object.keys(mongoWork.data)).toEqual(['insert']);
    expect(mongoWork.data.insert).toBeLessThanOrEqual(10);
    // Rate limits and BullMQ as before; no key of the revocation state is read.
    expect(redisWork.commands).not.toHaveProperty('MGET');
    expect(redisWork.commands).not.toHaveProperty('GET');

    // Ending the session drops the cached state: the next check reads it again, once.
    await app.agent().post('/auth/logout').set('Cookie', `refresh_token=${session.refresh}`);
    const beforeCheck = redis.snapshot();
    await sessionOn(app, session.access).expect(401);
    expect(diffSnapshots(beforeCheck, redis.snapshot()).commands.MGET).toBe(1);
  });
});

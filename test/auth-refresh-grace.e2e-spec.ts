/**
 * Issue 12, finding 5: two tabs refreshing at once logged the user out, because the second
 * presentation of the refresh token was taken for reuse. Within REFRESH_GRACE_SECONDS of its
 * rotation a refresh token answers with the pair its rotation issued (the same tokens, so the
 * family does not fork); after the window, presenting it again still ends the session.
 */
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { RefreshToken } from '../src/auth/refresh-token.schema.js';
import { TestApp, createTestApp } from './support/app.js';
import { authCookies } from './support/cookies.js';

let accounts = 0;

describe('refresh grace window', () => {
  let app: TestApp;
  let refreshTokens: Model<RefreshToken>;

  beforeAll(async () => {
    app = await createTestApp('refresh-grace', { env: { REFRESH_GRACE_SECONDS: '5' } });
    refreshTokens = app.get<Model<RefreshToken>>(getModelToken(RefreshToken.name));
  });
  afterAll(() => app.close());

  async function register(): Promise<{ access: string; refresh: string }> {
    const res = await app
      .agent()
      .post('/auth/register')
      .send({
        email: `grace${++accounts}.${process.pid}@shop.test`,
        password: 'grace-password',
        name: 'G',
      })
      .expect(201);
    return authCookies(res);
  }
  const refresh = (token: string) =>
    app.agent().post('/auth/refresh').set('Cookie', `refresh_token=${token}`);
  const session = (access: string) =>
    app.agent().get('/auth/session').set('Cookie', `access_token=${access}`);
  /** The id (jti) a refresh token names. */
  const jtiOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti;

  it('answers two concurrent refreshes with one cookie (two tabs) with the same new pair, and the session goes on', async () => {
    const first = await register();
    const [one, two] = await Promise.all([refresh(first.refresh), refresh(first.refresh)]);
    expect([one.status, two.status]).toEqual([200, 200]);
    const pair = authCookies(one);
    expect(authCookies(two)).toEqual(pair);
    expect(pair.refresh).not.toBe(first.refresh);

    await session(pair.access).expect(200);
    const next = authCookies(await refresh(pair.refresh).expect(200));
    await session(next.access).expect(200);
  });

  it('answers a repeat within the window with the pair of the first rotation', async () => {
    const first = await register();
    const pair = authCookies(await refresh(first.refresh).expect(200));
    const again = await refresh(first.refresh).expect(200);
    expect(authCookies(again)).toEqual(pair);
    await session(pair.access).expect(200);
    await refresh(pair.refresh).expect(200);
  });

  it('answers a late tab with the newest pair when the successor has itself been rotated, never with a spent token', async () => {
    const first = await register();
    const second = authCookies(await refresh(first.refresh).expect(200));
    const third = authCookies(await refresh(second.refresh).expect(200));
    // A tab that still sent the first cookie: handing it `second` would put a spent token back
    // in the browser, and the next refresh would end the session.
    const late = authCookies(await refresh(first.refresh).expect(200));
    expect(late).toEqual(third);
    await refresh(third.refresh).expect(200);
  });

  it('still ends the session when a rotated token comes back after the window', async () => {
    const first = await register();
    const pair = authCookies(await refresh(first.refresh).expect(200));
    // Its rotation six seconds ago, as the clock would have it: past the five-second window.
    await refreshTokens
      .updateOne(
        { _id: jtiOf(first.refresh) },
        { $set: { rotatedAt: new Date(Date.now() - 6000) } },
      )
      .exec();
    const reuse = await refresh(first.refresh).expect(401);
    expect(reuse.body.message).toBe('Refresh token was already used; the session has been revoked');
    await refresh(pair.refresh).expect(401);
    await session(pair.access).expect(401);
  });

  it('does not revive a session that ended within the window', async () => {
    const first = await register();
    const pair = authCookies(await refresh(first.refresh).expect(200));
    await app
      .agent()
      .post('/auth/logout')
      .set('Cookie', `refresh_token=${pair.refresh}`)
      .expect(204);
    const refused = await refresh(first.refresh).expect(401);
    expect(refused.body.message).toBe('The session has ended; sign in again');
  });
});

describe('refresh grace window turned off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('refresh-grace-off', { env: { REFRESH_GRACE_SECONDS: '0' } });
  });
  afterAll(() => app.close());

  it('treats any second presentation as reuse', async () => {
    const res = await app
      .agent()
      .post('/auth/register')
      .send({ email: `nograce.${process.pid}@shop.test`, password: 'grace-password', name: 'G' })
      .expect(201);
    const first = authCookies(res);
    const pair = authCookies(
      await app
        .agent()
        .post('/auth/refresh')
        .set('Cookie', `refresh_token=${first.refresh}`)
        .expect(200),
    );
    await app
      .agent()
      .post('/auth/refresh')
      .set('Cookie', `refresh_token=${first.refresh}`)
      .expect(401);
    await app
      .agent()
      .post('/auth/refresh')
      .set('Cookie', `refresh_token=${pair.refresh}`)
      .expect(401);
  });
});

/**
 * Issue 12, secret rotation: changing JWT_ACCESS_SECRET or JWT_REFRESH_SECRET used to end every
 * session. Tokens now name their key (`kid`, derived from the secret), and a replica verifies
 * with the current secret or, by its key id only, with JWT_*_SECRET_PREVIOUS.
 */
import { JwtService } from '@nestjs/jwt';
import { createHash, randomBytes } from 'node:crypto';
import { JWT_ISSUER } from '../src/auth/jwt-keys.js';
import { ADMIN, TestApp, createTestApp, testEnv } from './support/app.js';
import { authCookies, refreshOn, sessionOn, withAccess } from './support/cookies.js';

const secret = () => randomBytes(32).toString('base64url');
const OLD = { access: secret(), refresh: secret() };
const NEW = { access: secret(), refresh: secret() };

/** What a token's `kid` must be: the first 8 bytes of the secret's SHA-256, never the secret. */
const keyIdOf = (value: string) =>
  createHash('sha256').update(value, 'utf8').digest().subarray(0, 8).toString('base64url');

const jwt = new JwtService();
interface DecodedToken {
  header: { kid?: string };
  payload: Record<string, unknown>;
}
const decoded = (token: string): DecodedToken => jwt.decode(token, { complete: true });

/** The token's claims signed again with `key`, naming `kid` (or no key id at all). */
function resigned(token: string, key: string, kid: string | undefined): string {
  // Signed again with the same issuer, which the claims must not carry twice.
  const claims = { ...decoded(token).payload };
  delete claims.iss;
  return jwt.sign(claims, {
    secret: key,
    issuer: JWT_ISSUER,
    algorithm: 'HS256',
    ...(kid === undefined ? {} : { keyid: kid }),
  });
}

let accounts = 0;

describe('JWT secret rotation', () => {
  const before = testEnv('rotation', {
    APP_ROLE: 'api',
    JWT_ACCESS_SECRET: OLD.access,
    JWT_REFRESH_SECRET: OLD.refresh,
  });
  const after = {
    ...before,
    JWT_ACCESS_SECRET: NEW.access,
    JWT_ACCESS_SECRET_PREVIOUS: OLD.access,
    JWT_REFRESH_SECRET: NEW.refresh,
    JWT_REFRESH_SECRET_PREVIOUS: OLD.refresh,
  };
  let oldReplica: TestApp;
  let newReplica: TestApp;

  beforeAll(async () => {
    oldReplica = await createTestApp('rotation', { env: before });
    newReplica = await createTestApp('rotation', { env: after });
  });
  afterAll(async () => {
    await newReplica.app.close();
    await oldReplica.close();
  });

  async function register(app: TestApp): Promise<{ access: string; refresh: string }> {
    const res = await app
      .agent()
      .post('/auth/register')
      .send({
        email: `rotation${++accounts}.${process.pid}@shop.test`,
        password: 'rotation-pw',
        name: 'R',
      })
      .expect(201);
    return authCookies(res);
  }

  it('names the signing key in every token by an id derived from the secret, never the secret', async () => {
    const session = await register(oldReplica);
    expect(decoded(session.access).header.kid).toBe(keyIdOf(OLD.access));
    expect(decoded(session.refresh).header.kid).toBe(keyIdOf(OLD.refresh));
    for (const token of [session.access, session.refresh])
      for (const value of [OLD.access, OLD.refresh]) expect(token).not.toContain(value);
  });

  it('keeps sessions of the previous secrets: their tokens work, and a refresh moves them to the new keys', async () => {
    const session = await register(oldReplica);
    await sessionOn(newReplica, session.access).expect(200);

    const renewed = authCookies(await refreshOn(newReplica, session.refresh).expect(200));
    expect(decoded(renewed.access).header.kid).toBe(keyIdOf(NEW.access));
    expect(decoded(renewed.refresh).header.kid).toBe(keyIdOf(NEW.refresh));
    await sessionOn(newReplica, renewed.access).expect(200);
    await refreshOn(newReplica, renewed.refresh).expect(200);
  });

  it('lets an admin of the previous key into Bull Board', async () => {
    const res = await oldReplica
      .agent()
      .post('/auth/login')
      .send({ email: ADMIN.email, password: ADMIN.password })
      .expect(200);
    await withAccess(
      newReplica.agent().get('/admin/queues/api/queues'),
      authCookies(res).access,
    ).expect(200);
  });

  it('accepts the previous secret only under its own key id; an unknown key id fails', async () => {
    const session = await register(newReplica);
    const access = session.access;
    const refused = [
      ['previous secret, no key id', resigned(access, OLD.access, undefined)],
      ['previous secret, current key id', resigned(access, OLD.access, keyIdOf(NEW.access))],
      ['current secret, previous key id', resigned(access, NEW.access, keyIdOf(OLD.access))],
      ['unknown secret, its own key id', resigned(access, secret(), 'unknown-kid')],
      ['the refresh secret, its key id', resigned(access, NEW.refresh, keyIdOf(NEW.refresh))],
    ] as const;
    for (const [what, token] of refused)
      expect({ what, status: (await sessionOn(newReplica, token)).status }).toEqual({
        what,
        status: 401,
      });
    await sessionOn(newReplica, resigned(access, OLD.access, keyIdOf(OLD.access))).expect(200);
    await refreshOn(
      newReplica,
      resigned(session.refresh, OLD.refresh, keyIdOf(NEW.refresh)),
    ).expect(401);
  });

  it('accepts a token of the current secret without key id, as issued before key ids existed', async () => {
    const session = await register(newReplica);
    await sessionOn(newReplica, resigned(session.access, NEW.access, undefined)).expect(200);
    await refreshOn(newReplica, resigned(session.refresh, NEW.refresh, undefined)).expect(200);
  });

  it('refuses the previous secret once it is no longer configured', async () => {
    const session = await register(oldReplica);
    const { JWT_ACCESS_SECRET_PREVIOUS: _a, JWT_REFRESH_SECRET_PREVIOUS: _r, ...done } = after;
    const rotated = await createTestApp('rotation', { env: done });
    try {
      await sessionOn(rotated, session.access).expect(401);
      await refreshOn(rotated, session.refresh).expect(401);
    } finally {
      await rotated.app.close();
    }
  });

  it('stages the next key first: a replica still signing with the old key accepts the new one', async () => {
    const staged = await createTestApp('rotation', {
      env: {
        ...before,
        JWT_ACCESS_SECRET_PREVIOUS: NEW.access,
        JWT_REFRESH_SECRET_PREVIOUS: NEW.refresh,
      },
    });
    try {
      const session = await register(newReplica);
      await sessionOn(staged, session.access).expect(200);
      const renewed = authCookies(await refreshOn(staged, session.refresh).expect(200));
      expect(decoded(renewed.access).header.kid).toBe(keyIdOf(OLD.access));
      await sessionOn(newReplica, renewed.access).expect(200);
    } finally {
      await staged.app.close();
    }
  });
});

import { JwtService } from '@nestjs/jwt';
import { AuthenticationError } from '../common/errors.js';
import { loadConfig } from '../config/config.js';
import {
  AccessTokenVerifier,
  SESSION_ENDED,
  TOKEN_OUTDATED,
  accessClaims,
} from './access-token.js';
import { JWT_ISSUER } from './jwt-keys.js';
import type { SessionClaims, SessionRevocation, SessionVerdict } from './session-revocation.js';

const config = loadConfig({
  MONGODB_URI: 'mongodb://127.0.0.1:27017/shop',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_ACCESS_SECRET: 'a'.repeat(32),
  JWT_REFRESH_SECRET: 'b'.repeat(32),
});
const jwt = new JwtService();
const caller = { sub: '665f1c2e9b1e8a3d4c5b6a79', role: 'admin', sid: 'family-1' };

function sign(
  claims: object,
  options: { secret?: string; issuer?: string; expiresIn?: number; algorithm?: 'HS256' | 'HS512' },
): string {
  return jwt.sign(claims, {
    secret: options.secret ?? config.jwt.accessSecret,
    issuer: options.issuer ?? JWT_ISSUER,
    expiresIn: options.expiresIn ?? 60,
    algorithm: options.algorithm ?? 'HS256',
  });
}

/** The revocation state as a table: what each session's verdict is. */
function verifierWith(verdict: (session: SessionClaims) => SessionVerdict) {
  const asked: SessionClaims[] = [];
  const revocation = {
    verdict: (session: SessionClaims) => {
      asked.push(session);
      return Promise.resolve(verdict(session));
    },
  } as unknown as SessionRevocation;
  return { verifier: new AccessTokenVerifier(revocation, config), asked };
}

describe('AccessTokenVerifier.verify', () => {
  it('returns the caller of a token the server signed, once its session is known live', async () => {
    const { verifier, asked } = verifierWith(() => 'live');
    expect(await verifier.verify(sign({ ...caller, sv: 'v1' }, {}))).toEqual({
      id: '665f1c2e9b1e8a3d4c5b6a79',
      role: 'admin',
    });
    expect(asked).toEqual([{ userId: caller.sub, family: 'family-1', version: 'v1' }]);
  });

  it.each([
    ['ended', SESSION_ENDED],
    ['outdated', TOKEN_OUTDATED],
  ] as const)('refuses a token whose session is %s, saying so', async (verdict, message) => {
    const { verifier } = verifierWith(() => verdict);
    await expect(verifier.verify(sign(caller, {}))).rejects.toEqual(
      new AuthenticationError(message),
    );
  });

  it.each([
    ['no token', undefined],
    ['garbage', 'not-a-jwt'],
    ['another secret', sign(caller, { secret: 'c'.repeat(32) })],
    ['the refresh secret', sign(caller, { secret: config.jwt.refreshSecret })],
    ['another issuer', sign(caller, { issuer: 'someone-else' })],
    ['another algorithm', sign(caller, { algorithm: 'HS512' })],
    ['an expired token', sign(caller, { expiresIn: -10 })],
    [
      'an unsigned token',
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...caller, iss: JWT_ISSUER })).toString('base64url')}.`,
    ],
    ['claims without a role', sign({ sub: caller.sub, sid: caller.sid }, {})],
    ['an unknown role', sign({ ...caller, role: 'root' }, {})],
    [
      'claims without a session (issued before revocation existed)',
      sign({ sub: caller.sub, role: 'admin' }, {}),
    ],
  ])('refuses %s without asking for its session', async (_case, token) => {
    const { verifier, asked } = verifierWith(() => 'live');
    await expect(verifier.verify(token)).rejects.toEqual(new AuthenticationError());
    expect(asked).toEqual([]);
  });
});

describe('accessClaims', () => {
  it('maps access-token claims and refuses anything else', () => {
    expect(accessClaims({ sub: 'u1', role: 'customer', sid: 'f1', iat: 1 })).toEqual({
      sub: 'u1',
      role: 'customer',
      sid: 'f1',
    });
    expect(accessClaims({ sub: 'u1', role: 'customer', sid: 'f1', sv: 'v' })).toMatchObject({
      sv: 'v',
    });
    expect(accessClaims({ sub: 'u1', role: 'customer', sid: 'f1', sv: 7 })).toBeUndefined();
    expect(accessClaims({ sub: 1, role: 'customer', sid: 'f1' })).toBeUndefined();
    expect(accessClaims({ sub: 'u1', role: 'customer' })).toBeUndefined();
    expect(accessClaims(null)).toBeUndefined();
    expect(accessClaims('admin')).toBeUndefined();
  });
});

import { JwtService } from '@nestjs/jwt';
import { loadConfig } from '../config/config.js';
import { callerFromClaims, verifyAccessToken } from './access-token.js';
import { JWT_ISSUER } from './jwt-keys.js';

const config = loadConfig({
  MONGODB_URI: 'mongodb://127.0.0.1:27017/shop',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_ACCESS_SECRET: 'a'.repeat(32),
  JWT_REFRESH_SECRET: 'b'.repeat(32),
});
const jwt = new JwtService();
const caller = { sub: '665f1c2e9b1e8a3d4c5b6a79', role: 'admin' };

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

describe('verifyAccessToken', () => {
  it('returns the caller of a token the server signed', () => {
    expect(verifyAccessToken(sign(caller, {}), config)).toEqual({
      id: '665f1c2e9b1e8a3d4c5b6a79',
      role: 'admin',
    });
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
    ['claims without a role', sign({ sub: caller.sub }, {})],
    ['an unknown role', sign({ sub: caller.sub, role: 'root' }, {})],
  ])('refuses %s', (_case, token) => {
    expect(verifyAccessToken(token, config)).toBeUndefined();
  });
});

describe('callerFromClaims', () => {
  it('maps access-token claims and refuses anything else', () => {
    expect(callerFromClaims({ sub: 'u1', role: 'customer', iat: 1 })).toEqual({
      id: 'u1',
      role: 'customer',
    });
    expect(callerFromClaims({ sub: 1, role: 'customer' })).toBeUndefined();
    expect(callerFromClaims(null)).toBeUndefined();
    expect(callerFromClaims('admin')).toBeUndefined();
  });
});

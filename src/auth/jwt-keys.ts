/**
 * JWTs of one kind (access or refresh): HS256 with their own secret, issuer checked. jsonwebtoken
 * turns a string secret into a key object on every call, first trying (and failing, with a thrown
 * error) to parse it as a public key; that cost a third of a request's CPU. So each secret becomes
 * a KeyObject once.
 */
import { JwtService } from '@nestjs/jwt';
import { KeyObject, createSecretKey } from 'node:crypto';

export const JWT_ISSUER = 'order-backend';

const keys = new Map<string, KeyObject>();

export function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return key;
}

/** Signs and verifies one kind of token; `expiresIn` in seconds. */
export function tokenCodec(secret: string, expiresIn?: number): JwtService {
  return new JwtService({
    secret: hmacKey(secret),
    signOptions: { issuer: JWT_ISSUER, algorithm: 'HS256', ...(expiresIn ? { expiresIn } : {}) },
    verifyOptions: { issuer: JWT_ISSUER, algorithms: ['HS256'] },
  });
}

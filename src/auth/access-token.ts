/**
 * How an access token is checked, in one place for both gates: the passport strategy that guards
 * the Nest routes and `verifyAccessToken`, which guards what is mounted on Express directly (the
 * queue dashboard). Same secret, issuer, algorithm and claims, so neither can drift.
 */
import { JwtService } from '@nestjs/jwt';
import type { KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/config.js';
import { ROLES } from '../users/user.schema.js';
import type { Role } from '../users/user.schema.js';
import type { AuthUser } from './auth-user.js';
import { JWT_ISSUER, hmacKey, tokenCodec } from './jwt-keys.js';

export interface AccessTokenVerification {
  secret: KeyObject;
  issuer: string;
  algorithms: Array<'HS256'>;
}

export function accessTokenVerification(config: AppConfig): AccessTokenVerification {
  return { secret: hmacKey(config.jwt.accessSecret), issuer: JWT_ISSUER, algorithms: ['HS256'] };
}

/** The caller verified claims name, or undefined when they are not access-token claims. */
export function callerFromClaims(claims: unknown): AuthUser | undefined {
  if (typeof claims !== 'object' || claims === null) return undefined;
  const { sub, role } = claims as { sub?: unknown; role?: unknown };
  if (typeof sub !== 'string' || !ROLES.includes(role as Role)) return undefined;
  return { id: sub, role: role as Role };
}

const codecs = new Map<string, JwtService>();

/** The caller of a valid access token; undefined when it is missing, forged, expired or malformed. */
export function verifyAccessToken(
  token: string | undefined,
  config: AppConfig,
): AuthUser | undefined {
  if (!token) return undefined;
  try {
    let codec = codecs.get(config.jwt.accessSecret);
    if (!codec) codecs.set(config.jwt.accessSecret, (codec = tokenCodec(config.jwt.accessSecret)));
    return callerFromClaims(codec.verify<object>(token));
  } catch {
    return undefined;
  }
}

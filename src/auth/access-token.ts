/**
 * How an access token is checked, in one place for both gates: the passport strategy that guards
 * the Nest routes and `AccessTokenVerifier.verify`, which guards what is mounted on Express
 * directly (the queue dashboard). Same keys (chosen by the token's key id), issuer, algorithm,
 * claims and revocation check, so neither can drift.
 */
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AuthenticationError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ROLES } from '../users/user.schema.js';
import type { Role } from '../users/user.schema.js';
import type { AuthUser } from './auth-user.js';
import { JWT_ISSUER, JwtKeyring, accessKeys, tokenCodec } from './jwt-keys.js';
import { SessionRevocation } from './session-revocation.js';

/** What an access token says. */
export interface AccessClaims {
  sub: string;
  role: Role;
  /** The session: the refresh-token family the token was issued in. */
  sid: string;
  /** The account's token version when the token was issued (SessionRevocation), if it had one. */
  sv?: string;
}

export const SESSION_ENDED = 'The session has ended; sign in again';
export const TOKEN_OUTDATED = 'The access token is outdated; refresh it';

/** How both gates verify an access token, besides the key (AccessTokenVerifier.keys). */
export const ACCESS_TOKEN_VERIFICATION = { issuer: JWT_ISSUER, algorithms: ['HS256' as const] };

/** The claims of an access token, or undefined when verified claims are not an access token's. */
export function accessClaims(claims: unknown): AccessClaims | undefined {
  if (typeof claims !== 'object' || claims === null) return undefined;
  const { sub, role, sid, sv } = claims as Record<string, unknown>;
  if (typeof sub !== 'string' || !ROLES.includes(role as Role) || typeof sid !== 'string')
    return undefined;
  if (sv !== undefined && typeof sv !== 'string') return undefined;
  return { sub, role: role as Role, sid, ...(sv === undefined ? {} : { sv }) };
}

@Injectable()
export class AccessTokenVerifier {
  /** JWT_ACCESS_SECRET, and JWT_ACCESS_SECRET_PREVIOUS under its own key id. */
  readonly keys: JwtKeyring;
  private readonly codec: JwtService;

  constructor(
    private readonly revocation: SessionRevocation,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = accessKeys(config.jwt);
    this.codec = tokenCodec(this.keys);
  }

  /**
   * The caller named by claims whose signature and expiry were verified, once their session is
   * known not to be revoked. Throws AuthenticationError naming why not.
   */
  async admit(verified: unknown): Promise<AuthUser> {
    const claims = accessClaims(verified);
    if (!claims) throw new AuthenticationError();
    return this.admitClaims(claims);
  }

  /** `admit` for claims already read: checked again whenever their session changes (a socket). */
  async admitClaims(claims: AccessClaims): Promise<AuthUser> {
    const verdict = await this.revocation.verdict({
      userId: claims.sub,
      family: claims.sid,
      ...(claims.sv === undefined ? {} : { version: claims.sv }),
    });
    if (verdict === 'ended') throw new AuthenticationError(SESSION_ENDED);
    if (verdict === 'outdated') throw new AuthenticationError(TOKEN_OUTDATED);
    return { id: claims.sub, role: claims.role };
  }

  /** The caller of a valid access token; AuthenticationError when missing, forged, expired or revoked. */
  async verify(token: string | undefined): Promise<AuthUser> {
    return (await this.verifySession(token)).user;
  }

  /**
   * `verify`, with the token's claims (to check them again with `admit` when the session changes)
   * and when it expires (epoch milliseconds): what holds a session open, a socket, ends then.
   */
  async verifySession(
    token: string | undefined,
  ): Promise<{ user: AuthUser; claims: AccessClaims; expiresAt: number }> {
    if (!token) throw new AuthenticationError();
    let verified: { exp?: unknown };
    try {
      verified = this.codec.verify<object>(token);
    } catch {
      throw new AuthenticationError();
    }
    const claims = accessClaims(verified);
    if (!claims) throw new AuthenticationError();
    const user = await this.admitClaims(claims);
    return {
      user,
      claims,
      expiresAt: typeof verified.exp === 'number' ? verified.exp * 1000 : Infinity,
    };
  }
}

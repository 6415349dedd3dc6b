import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AccessTokenVerifier, accessTokenVerification } from './access-token.js';
import type { AuthUser } from './auth-user.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';

/** Access tokens come only from the HTTP-only cookie, never from a header or the body. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly verifier: AccessTokenVerifier,
  ) {
    const { secret, issuer, algorithms } = accessTokenVerification(config);
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([
        (req: Request) => readCookie(req, ACCESS_COOKIE) ?? null,
      ]),
      // jsonwebtoken (under passport-jwt) takes a KeyObject; passport-jwt's types predate that.
      secretOrKey: secret as unknown as Buffer,
      issuer,
      algorithms,
      ignoreExpiration: false,
    });
  }

  /**
   * A correctly signed, unexpired token: admitted unless its claims are not an access token's or
   * its session was revoked (AuthenticationError naming which, → 401).
   */
  validate(claims: unknown): Promise<AuthUser> {
    return this.verifier.admit(claims);
  }
}

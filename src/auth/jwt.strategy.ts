import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ACCESS_TOKEN_VERIFICATION, AccessTokenVerifier } from './access-token.js';
import type { AuthUser } from './auth-user.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';
import { UnknownKeyError } from './jwt-keys.js';

/** Access tokens come only from the HTTP-only cookie, never from a header or the body. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly verifier: AccessTokenVerifier) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([
        (req: Request) => readCookie(req, ACCESS_COOKIE) ?? null,
      ]),
      // The key the token's kid names (the current or the previous secret); none → 401.
      secretOrKeyProvider: (
        _req: Request,
        token: string,
        done: (err: Error | null, key?: Buffer) => void,
      ) => {
        const key = verifier.keys.verificationKey(token);
        // jsonwebtoken (under passport-jwt) takes a KeyObject; passport-jwt's types predate that.
        if (key) done(null, key as unknown as Buffer);
        else done(new UnknownKeyError());
      },
      ...ACCESS_TOKEN_VERIFICATION,
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

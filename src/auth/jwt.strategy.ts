import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AuthUser } from './auth-user.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';
import { AccessClaims, JWT_ISSUER } from './tokens.service.js';

/** Access tokens come only from the HTTP-only cookie, never from a header or the body. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([
        (req: Request) => readCookie(req, ACCESS_COOKIE) ?? null,
      ]),
      secretOrKey: config.jwt.accessSecret,
      issuer: JWT_ISSUER,
      algorithms: ['HS256'],
      ignoreExpiration: false,
    });
  }

  validate(claims: AccessClaims): AuthUser {
    return { id: claims.sub, role: claims.role };
  }
}

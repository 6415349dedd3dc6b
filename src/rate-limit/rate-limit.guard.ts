import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user.js';
import { AppError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { LimitHit, RateLimiter } from './rate-limiter.js';

/** Limits a route asks for, on top of the per-address limit every request counts toward. */
export type RouteLimit = 'auth' | 'orders';
export const RATE_LIMIT_KEY = 'rateLimit';
export const RateLimit = (limit: RouteLimit) => SetMetadata(RATE_LIMIT_KEY, limit);

export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many requests: retry after ${retryAfterSeconds} seconds`);
  }
}

/**
 * The route limits of this API: a stricter per-address limit on sign-in and registration, and a
 * per-user limit on placing orders, counted by one Redis call (the per-address limit on every
 * request is counted earlier, by `perAddressLimit`). Runs after authentication so the per-user
 * limit knows the user. Over a limit: 429 with Retry-After.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const routeLimit = this.reflector.getAllAndOverride<RouteLimit | undefined>(RATE_LIMIT_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!routeLimit) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const limits = this.config.rateLimit;
    const hits: LimitHit[] = [];
    if (routeLimit === 'auth')
      hits.push({ counter: `auth:ip:${request.ip ?? 'unknown'}`, limit: limits.auth });
    const user = request.user as AuthUser | undefined;
    if (routeLimit === 'orders' && user)
      hits.push({ counter: `orders:user:${user.id}`, limit: limits.orders });
    if (hits.length === 0) return true;
    const retryAfter = await this.limiter.check(hits);
    if (retryAfter === 0) return true;
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retryAfter));
    throw new RateLimitedError(retryAfter);
  }
}

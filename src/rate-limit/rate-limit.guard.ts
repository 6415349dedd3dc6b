import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user.js';
import { AppError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { LimitHit, RateLimiter } from './rate-limiter.js';

/** Named limits: `per-ip` applies to every route; the others only where a route asks for them. */
export type RouteLimit = 'auth' | 'orders';
export const RATE_LIMIT_KEY = 'rateLimit';
export const SKIP_RATE_LIMIT_KEY = 'skipRateLimit';
export const RateLimit = (limit: RouteLimit) => SetMetadata(RATE_LIMIT_KEY, limit);
/** Health checks and metrics scrapes: never limited. */
export const SkipRateLimit = () => SetMetadata(SKIP_RATE_LIMIT_KEY, true);

export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many requests: retry after ${retryAfterSeconds} seconds`);
  }
}

/**
 * This API's policy: a per-IP limit across all routes, a stricter per-IP limit on sign-in and
 * registration, and a per-user limit on placing orders, all counted by one Redis call. Runs after
 * authentication so the per-user limit knows the user. Over a limit: 429 with Retry-After.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(SKIP_RATE_LIMIT_KEY, targets))
      return true;
    const request = context.switchToHttp().getRequest<Request>();
    const ip = `ip:${request.ip ?? 'unknown'}`;
    const limits = this.config.rateLimit;
    const hits: LimitHit[] = [{ counter: `per-ip:${ip}`, limit: limits.perIp }];
    const routeLimit = this.reflector.getAllAndOverride<RouteLimit | undefined>(
      RATE_LIMIT_KEY,
      targets,
    );
    if (routeLimit === 'auth') hits.push({ counter: `auth:${ip}`, limit: limits.auth });
    const user = request.user as AuthUser | undefined;
    if (routeLimit === 'orders' && user)
      hits.push({ counter: `orders:user:${user.id}`, limit: limits.orders });
    const retryAfter = await this.limiter.check(hits);
    if (retryAfter === 0) return true;
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retryAfter));
    throw new RateLimitedError(retryAfter);
  }
}

import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerLimitDetail, ThrottlerRequest } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user.js';

/** Named limits: `per-ip` applies to every route; the others only where a route asks for them. */
export type RouteLimit = 'auth' | 'orders';
export const RATE_LIMIT_KEY = 'rateLimit';
export const RateLimit = (limit: RouteLimit) => SetMetadata(RATE_LIMIT_KEY, limit);

/** The client a limit counts: the user for per-user limits, otherwise the client IP (`trust proxy` aware). */
export function trackerFor(limit: string, req: Request): string {
  const user = req.user as AuthUser | undefined;
  if (limit === 'orders' && user) return `user:${user.id}`;
  return `ip:${req.ip ?? 'unknown'}`;
}

/**
 * @nestjs/throttler's guard with this API's policy: a per-IP limit across all routes, a stricter
 * per-IP limit on sign-in and registration, and a per-user limit on placing orders. Runs after
 * authentication so the per-user limit knows the user. Over the limit: 429 with Retry-After.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const name = request.throttler.name;
    if (name !== 'per-ip') {
      const wanted = this.reflector.getAllAndOverride<RouteLimit | undefined>(RATE_LIMIT_KEY, [
        request.context.getHandler(),
        request.context.getClass(),
      ]);
      if (wanted !== name) return true;
    }
    return super.handleRequest(request);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    // One counter per client and limit, shared by every route the limit covers.
    return tracker;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retryAfter));
    return Promise.reject(
      new ThrottlerException(`Too many requests: retry after ${retryAfter} seconds`),
    );
  }
}

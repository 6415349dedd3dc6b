/**
 * The per-address limit, counted for every request the API receives before anything else reads it:
 * whatever route it asks for (Swagger, Bull Board and health checks included) and whatever it would
 * be answered (401, 403 and 404 included), so unauthenticated probing is limited like the rest.
 * Route limits (sign-in, orders per user) are counted later by RateLimitGuard, which knows the
 * route and the caller.
 */
import type { RequestHandler } from 'express';
import { appErrorResponse } from '../common/http-exception.filter.js';
import { RateLimiter } from './rate-limiter.js';
import { RateLimitedError } from './rate-limit.guard.js';

export function perAddressLimit(limiter: RateLimiter, limit: number): RequestHandler {
  return (req, res, next) => {
    // check() never rejects: without Redis it lets requests through.
    void limiter
      .check([{ counter: `per-ip:ip:${req.ip ?? 'unknown'}`, limit }])
      .then((retryAfter) => {
        if (retryAfter === 0) return next();
        res.setHeader('Retry-After', String(retryAfter));
        res.status(429).json(appErrorResponse(new RateLimitedError(retryAfter)));
      });
  };
}

/**
 * The per-address limit, counted for every request the API receives before anything else reads it:
 * whatever route it asks for (Swagger, Bull Board and health checks included) and whatever it would
 * be answered (401, 403 and 404 included), so unauthenticated probing is limited like the rest.
 * Route limits (sign-in, orders per user) are counted later by RateLimitGuard, which knows the
 * route and the caller.
 */
import type { RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { appErrorResponse } from '../common/http-exception.filter.js';
import { RateLimiter } from './rate-limiter.js';
import { RateLimitedError } from './rate-limit.guard.js';

export function perAddressLimit(limiter: RateLimiter, limit: number): RequestHandler {
  return (req, res, next) => {
    // check() never rejects: without Redis it lets requests through.
    void limiter.check([{ counter: counterOf(req.ip ?? 'unknown'), limit }]).then((retryAfter) => {
      if (retryAfter === 0) return next();
      res.setHeader('Retry-After', String(retryAfter));
      res.status(429).json(appErrorResponse(new RateLimitedError(retryAfter)));
    });
  };
}

/** Trusted proxies, as Express compiled TRUST_PROXY (`app.get('trust proxy fn')`). */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * The same limit for Socket.IO's handshakes, which the engine answers before Express sees them:
 * counted on the same counter, for the address Express would give the request. Refused
 * handshakes get the engine's 403.
 */
export function perAddressHandshakes(
  limiter: RateLimiter,
  limit: number,
  trust: ProxyTrust,
): (req: IncomingMessage, allow: (message: string | null, success: boolean) => void) => void {
  return (req, allow) => {
    void limiter
      .check([{ counter: counterOf(proxyaddr(req, trust)), limit }])
      .then((retryAfter) =>
        retryAfter === 0
          ? allow(null, true)
          : allow(`Too many requests; retry in ${retryAfter} s`, false),
      );
  };
}

function counterOf(address: string): string {
  return `per-ip:ip:${address}`;
}

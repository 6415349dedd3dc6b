/**
 * Browsers keep SameSite=Lax cookies to their own site: a storefront page on another *site* than
 * the API (page on `localhost`, API on `127.0.0.1`; or two unrelated domains) signs in with 200,
 * yet the browser stores no cookie, and every later call answers 401 with nothing saying why. A
 * site is the scheme and the registrable domain (`https://shop.example.com` and
 * `https://api.example.com` are one site); an IP address or a single-label host is its own site.
 * The API cannot fix that, but it can say so: once per origin, a warning names both sites and
 * what to do (docs/STOREFRONT.md).
 */
import { Logger } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { getDomain } from 'tldts';

/** `https://example.com` for `https://shop.example.com:8443`; the host itself for IPs and `localhost`. */
export function siteOf(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  const domain = getDomain(url.hostname, { allowPrivateDomains: true }) ?? url.hostname;
  return `${url.protocol}//${domain}`;
}

export function sameSite(a: string, b: string): boolean {
  const [siteA, siteB] = [siteOf(a), siteOf(b)];
  return siteA !== undefined && siteA === siteB;
}

/** Warns once per allowed origin whose site is not the API's. */
export function warnCrossSiteOrigins(allowed: readonly string[]): RequestHandler {
  const logger = new Logger('CrossSite');
  const warned = new Set<string>();
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin && allowed.includes(origin) && !warned.has(origin)) {
      const api = `${req.protocol}://${req.host}`;
      if (!sameSite(origin, api)) {
        warned.add(origin);
        logger.warn(
          `Requests from ${origin} come from another site than this API (${siteOf(api) ?? api}): ` +
            'browsers do not keep SameSite=Lax cookies across sites, so sign-in will answer 200 and every later ' +
            'call 401. Serve the storefront and the API on one site (shop.example.com and api.example.com), or both ' +
            'through one origin behind Nginx; see docs/STOREFRONT.md.',
        );
      }
    }
    next();
  };
}

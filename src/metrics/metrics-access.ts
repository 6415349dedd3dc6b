/**
 * Who may read /metrics, and where: the one rule of both places that serve it, the process's HTTP
 * listener (MetricsController) and the metrics listener of its own (METRICS_PORT).
 *
 * - With METRICS_PORT, metrics are served there only; the HTTP listener answers 404.
 * - Without it they are served on the HTTP listener: on a worker's health port, which serves no
 *   API route, to whoever reaches it; on the API port only with METRICS_TOKEN, otherwise 404, as
 *   for a route that does not exist (the API port is public).
 * - With METRICS_TOKEN, every place that serves metrics asks for it as a bearer token: 401 with
 *   `WWW-Authenticate: Bearer` without it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { MAX_MESSAGE_CHARS } from '../common/http-exception.filter.js';
import type { ErrorBody } from '../common/http-exception.filter.js';
import { cut } from '../common/validation.js';
import type { AppConfig } from '../config/config.js';
import type { Metrics } from './metrics.service.js';

/** Where a scrape arrived: the process's HTTP listener (API or worker health port), or METRICS_PORT. */
export type MetricsListener = 'http' | 'metrics-port';

export type ScrapeVerdict = 'serve' | 'hidden' | 'token-missing' | 'token-invalid';

export function scrapeVerdict(
  config: Pick<AppConfig, 'role' | 'metrics'>,
  listener: MetricsListener,
  authorization: string | undefined,
): ScrapeVerdict {
  const { port, token } = config.metrics;
  if (listener === 'http' && port !== undefined) return 'hidden';
  if (token === undefined)
    return listener === 'metrics-port' || config.role === 'worker' ? 'serve' : 'hidden';
  const presented = bearerCredentials(authorization);
  if (presented === undefined) return 'token-missing';
  return sameSecret(presented, token) ? 'serve' : 'token-invalid';
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case), if any. */
export function bearerCredentials(header: string | undefined): string | undefined {
  return /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '')?.[1];
}

/**
 * Compares in time that depends on neither value: both are hashed to 32 bytes first, so not even
 * the length of the expected token shows.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export interface ScrapeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The whole answer to `GET /metrics` on `listener`: the metrics, or the error body and headers. */
export async function answerScrape(
  metrics: Metrics,
  config: Pick<AppConfig, 'role' | 'metrics'>,
  listener: MetricsListener,
  request: { method: string; url: string; authorization?: string },
): Promise<ScrapeAnswer> {
  const verdict = scrapeVerdict(config, listener, request.authorization);
  switch (verdict) {
    case 'serve':
      return {
        status: 200,
        headers: { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' },
        body: await metrics.render(),
      };
    case 'hidden':
      // Word for word what the API answers for a route it does not have.
      return errorAnswer(404, cut(`Cannot ${request.method} ${request.url}`, MAX_MESSAGE_CHARS));
    case 'token-missing':
      return errorAnswer(401, 'Metrics require METRICS_TOKEN as a bearer token', {
        'WWW-Authenticate': 'Bearer realm="metrics"',
      });
    case 'token-invalid':
      return errorAnswer(401, 'The bearer token is not METRICS_TOKEN', {
        'WWW-Authenticate': 'Bearer realm="metrics", error="invalid_token"',
      });
  }
}

/** An answer in the API's one error shape. */
export function errorAnswer(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): ScrapeAnswer {
  const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import { json } from 'express';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type winston from 'winston';
import { mountQueueBoard } from './admin/queue-board.js';
import type { AppConfig } from './config/config.js';
import { httpMetrics } from './metrics/http-metrics.js';
import { Metrics } from './metrics/metrics.service.js';
import { mountApiDocs } from './api-docs.js';
import { BOARD_SESSION_SCRIPT, DASHBOARD_PATH, mountDashboard } from './dashboard.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { refuseOversizedJson } from './common/json-shape.js';
import { warnCrossSiteOrigins } from './common/cross-site.js';
import { answerMalformedRequests } from './common/malformed-requests.js';
import { requestLogging } from './common/logging/http-logging.js';
import { BoundedValidationPipe } from './common/validation.js';
import { LiveEventsAdapter } from './events/socket-server.js';
import { ORDER_LINES_LIMIT } from './order/dto/order.dto.js';
import { perAddressHandshakes, perAddressLimit } from './rate-limit/per-address-limit.js';
import type { ProxyTrust } from './rate-limit/per-address-limit.js';
import { RateLimiter } from './rate-limit/rate-limiter.js';

export const BODY_LIMIT = '100kb';
export const CORS_PREFLIGHT_MAX_AGE_SECONDS = 7200;

/** HTTP behaviour shared by the server and the e2e tests: one place, so tests see what runs. */
export function configureHttp(
  app: NestExpressApplication,
  config: AppConfig,
  logger: winston.Logger,
): void {
  app.set('trust proxy', config.http.trustProxy);
  answerMalformedRequests(app.getHttpServer());
  app.use(requestLogging(logger));
  app.use(httpMetrics(app.get(Metrics)));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Only where the deployment says it is served over HTTPS (its cookies are Secure):
          // over plain HTTP the directive would rewrite the operator pages' assets to https and
          // leave Swagger UI and Bull Board blank.
          upgradeInsecureRequests: config.cookieSecure ? [] : null,
        },
      },
    }),
  );
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins,
      credentials: true,
      // What a storefront on another origin may read of an answer.
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'Location'],
      // Browsers may reuse a preflight this long (Chromium caps it at 2 hours), instead of
      // sending one before every POST.
      maxAge: CORS_PREFLIGHT_MAX_AGE_SECONDS,
      // The preflight is answered below, once it has counted toward the per-address limit.
      preflightContinue: true,
    });
  }
  // Before the body is read: a client over its limit costs one Redis call and a short answer.
  // (The worker role's listener serves only health and metrics to the operators' probes.)
  if (config.role !== 'worker')
    app.use(perAddressLimit(app.get(RateLimiter), config.rateLimit.perIp));
  if (config.http.corsOrigins.length > 0) {
    app.use(warnCrossSiteOrigins(config.http.corsOrigins));
    app.use(answerPreflight);
  }
  // express.json rather than app.useBodyParser: Nest's options type leaves out `verify`.
  app.use(json({ limit: BODY_LIMIT, verify: refuseOversizedJson }));
  app.use(cookieParser());
  mountDashboard(app, config);
  mountQueueBoard(app, config, { page: DASHBOARD_PATH, sessionScript: BOARD_SESSION_SCRIPT });
  mountApiDocs(app, config);
  app.useGlobalPipes(new BoundedValidationPipe({ [ORDER_LINES_LIMIT]: config.limits.orderLines }));
  app.useGlobalFilters(new HttpExceptionFilter());
  if (config.role !== 'worker') {
    const trust = (app.getHttpAdapter().getInstance() as { get(setting: string): ProxyTrust }).get(
      'trust proxy fn',
    );
    const handshakes = perAddressHandshakes(app.get(RateLimiter), config.rateLimit.perIp, trust);
    app.useWebSocketAdapter(new LiveEventsAdapter(app, config, handshakes));
  }
}

/** A CORS preflight (the cors middleware has set its headers): 204, as the middleware would. */
const answerPreflight: RequestHandler = (req, res, next) => {
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    res.setHeader('Content-Length', '0');
    res.status(204).end();
    return;
  }
  next();
};

/**
 * The OpenAPI document of the HTTP API, built from the controllers' decorators: the UI at
 * /api/docs, the JSON at /api/docs-json. Public, like the routes it describes: it lists what the
 * API accepts, and every route still checks its caller. The UI loads under helmet's default CSP:
 * all its scripts, the initializer included, are same-origin files.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './auth/cookies.js';
import type { AppConfig } from './config/config.js';
import { METRICS_TOKEN_SCHEME } from './metrics/metrics.controller.js';
import { PlaceOrderDto } from './order/dto/order.dto.js';

export const API_DOCS_PATH = 'api/docs';

/** Mounts the document and its UI in the roles that serve the API. */
export function mountApiDocs(app: NestExpressApplication, config: AppConfig): void {
  if (config.role === 'worker') return;
  const info = new DocumentBuilder()
    .setTitle('Order backend API')
    .setDescription(
      'Storefront and admin API of the order-processing backend. Authentication is by HTTP-only ' +
        'cookies: sign in with POST /auth/login (also from this page, with "Try it out") and the ' +
        'browser sends the `access_token` cookie with every later request. Errors are ' +
        '`{statusCode, error, message}`; validation errors add `problems` (`{field, problem}`, the ' +
        'first ten) and `problemCount`. Admins also reach the queue dashboard at /admin/queues.',
    )
    .setVersion(packageVersion())
    .addCookieAuth(ACCESS_COOKIE, { type: 'apiKey' }, ACCESS_COOKIE)
    .addCookieAuth(REFRESH_COOKIE, { type: 'apiKey' }, REFRESH_COOKIE)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, for GET /metrics only' },
      METRICS_TOKEN_SCHEME,
    )
    .build();
  const document = () =>
    withOrderLineLimit(
      withResponseDescriptions(SwaggerModule.createDocument(app, info)),
      config.limits.orderLines,
    );
  SwaggerModule.setup(API_DOCS_PATH, app, document, {
    customSiteTitle: 'Order backend API',
  });
}

/** What an answer means where a route's decorator says no more than its status. */
const GENERIC_DESCRIPTIONS: Record<string, string> = {
  '400': 'Invalid input; the message names the offending field or parameter',
  '401': 'Not signed in: the access cookie is missing, invalid or expired',
  '403': 'Signed in without the role this route requires',
  '404': 'Not found',
};

/** Every response gets a description (OpenAPI requires one; the UI shows it beside the status). */
function withResponseDescriptions(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.patch]) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        if (response && 'description' in response && !response.description.trim())
          response.description = GENERIC_DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? status;
      }
    }
  }
  return document;
}

/** The deployment's ORDER_MAX_LINES as the `maxItems` of an order's lines. */
function withOrderLineLimit(document: OpenAPIObject, maxLines: number): OpenAPIObject {
  type Schema = { properties?: Record<string, Schema>; maxItems?: number };
  const order = document.components?.schemas?.[PlaceOrderDto.name] as Schema | undefined;
  const items = order?.properties?.items;
  if (items) items.maxItems = maxLines;
  return document;
}

/** The version in package.json, which sits two levels above this file in src/ and in dist/. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    // An image that ships dist/ without package.json still serves its documentation.
    return 'unknown';
  }
}

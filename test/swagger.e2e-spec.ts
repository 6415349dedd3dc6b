import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { OpenAPIObject, OperationObject, ParameterObject } from '@nestjs/swagger';
import { IS_PUBLIC_KEY, ROLES_KEY } from '../src/auth/auth-user.js';
import { TestApp, createTestApp } from './support/app.js';
import { cspViolations, scriptUrls } from './support/csp.js';

/** A route as Nest serves it, from the controllers' own metadata, with what guards it. */
interface ServedRoute {
  key: string; // "GET /order/{id}"
  isPublic: boolean;
  roles: string[];
}

/** Every route the application's controllers serve, read from the Nest container. */
function servedRoutes(app: TestApp): ServedRoute[] {
  const routes: ServedRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string | undefined;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string;
        const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`
          .replace(/\/+/g, '/')
          .replace(/:(\w+)/g, '{$1}');
        const meta = <T>(key: string): T | undefined =>
          (Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller)) as
            T | undefined;
        routes.push({
          key: `${RequestMethod[method]} ${full}`,
          isPublic: meta<boolean>(IS_PUBLIC_KEY) === true,
          roles: meta<string[]>(ROLES_KEY) ?? [],
        });
      }
    }
  }
  return routes;
}

/** The routes this API is known to serve; the derived list must contain at least these. */
const KNOWN_ROUTES = [
  'POST /auth/register',
  'POST /auth/login',
  'POST /auth/refresh',
  'POST /auth/logout',
  'GET /auth/profile',
  'POST /users/{id}/vip',
  'DELETE /users/{id}/vip',
  'GET /stock/products-with-stock',
  'GET /stock/products-with-stock/{id}',
  'POST /stock/products',
  'PATCH /stock/products/{id}/stock',
  'DELETE /stock/products/{id}',
  'POST /order',
  'GET /order',
  'GET /order/{id}',
  'GET /health',
  'GET /health/ready',
  'GET /admin/dlq',
  'POST /admin/dlq/{jobId}/retry',
  'GET /metrics',
];

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('API documentation (OpenAPI)', () => {
  let app: TestApp;
  let doc: OpenAPIObject;
  let routes: ServedRoute[];
  const operations = new Map<string, OperationObject>();

  beforeAll(async () => {
    app = await createTestApp('swagger');
    const res = await app.agent().get('/api/docs-json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.body as OpenAPIObject;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (operation) operations.set(`${method.toUpperCase()} ${path}`, operation);
      }
    }
    routes = servedRoutes(app);
  });
  afterAll(() => app.close());

  function each(check: (route: ServedRoute, op: OperationObject) => string | undefined): string[] {
    return routes
      .map((route) => {
        const op = operations.get(route.key);
        return op ? check(route, op) : `${route.key} is not documented`;
      })
      .filter((problem): problem is string => problem !== undefined);
  }

  const documents = (op: OperationObject, status: string) => op.responses[status] !== undefined;

  it('describes the API, its version and cookie authentication', () => {
    expect(doc.info).toMatchObject({
      title: 'Order backend API',
      version: '0.1.0',
      description: expect.stringContaining('access_token'),
    });
    expect(doc.components?.securitySchemes).toMatchObject({
      access_token: { type: 'apiKey', in: 'cookie', name: 'access_token' },
      refresh_token: { type: 'apiKey', in: 'cookie', name: 'refresh_token' },
    });
  });

  it('documents every route the app serves, and only those', () => {
    expect(routes.map((r) => r.key)).toEqual(expect.arrayContaining(KNOWN_ROUTES));
    expect([...operations.keys()].sort()).toEqual(routes.map((r) => r.key).sort());
  });

  it('gives every operation a summary, a tag and a documented success response', () => {
    expect(
      each((route, op) => {
        if (!op.summary?.trim()) return `${route.key} has no summary`;
        if (!op.tags?.length) return `${route.key} has no tag`;
        if (!Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)))
          return `${route.key} documents no 2xx response`;
        const bare = Object.entries(op.responses)
          .filter(([, r]) => !(r as { description?: string }).description?.trim())
          .map(([status]) => status);
        if (bare.length) return `${route.key}: ${bare.join(', ')} without a description`;
        return undefined;
      }),
    ).toEqual([]);
  });

  it('documents the 4xx answers of every operation that can fail', () => {
    expect(
      each((route, op) => {
        const missing: string[] = [];
        const params = (op.parameters ?? []) as ParameterObject[];
        const needs = (status: string, why: string) => {
          if (!documents(op, status)) missing.push(`${status} (${why})`);
        };
        if (params.some((p) => p.in === 'path')) {
          needs('400', 'malformed id');
          needs('404', 'unknown id');
        }
        if (op.requestBody || params.some((p) => p.in === 'query')) needs('400', 'validation');
        if (!route.isPublic || op.security?.length) needs('401', 'authentication');
        if (route.roles.length) needs('403', `roles ${route.roles.join(', ')}`);
        // The per-address limit counts every request, whatever the route.
        needs('429', 'rate limit');
        return missing.length ? `${route.key} lacks ${missing.join(', ')}` : undefined;
      }),
    ).toEqual([]);
  });

  it('gives every 4xx response the error body and every JSON response a schema', () => {
    const schemas = doc.components?.schemas ?? {};
    expect(schemas.ErrorResponse).toMatchObject({
      properties: { statusCode: {}, error: {}, message: {} },
    });
    expect(
      each((route, op) => {
        for (const [status, response] of Object.entries(op.responses)) {
          const content = (response as { content?: Record<string, { schema?: { $ref?: string } }> })
            .content;
          const json = content?.['application/json'];
          // 5xx is left out: the health checks' 503 carries terminus's report, not an error body.
          if (/^4\d\d$/.test(status)) {
            if (json?.schema?.$ref !== '#/components/schemas/ErrorResponse')
              return `${route.key} ${status} does not use ErrorResponse`;
          }
          if (json && !json.schema) return `${route.key} ${status} has no schema`;
        }
        const body = (
          op.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> }
        )?.content?.['application/json']?.schema?.$ref;
        if (op.requestBody && !body) return `${route.key} has an undocumented request body`;
        return undefined;
      }),
    ).toEqual([]);
    // Every schema a document refers to is defined, with its properties described.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
    for (const [, name] of refs) {
      expect({ name, defined: schemas[name] !== undefined }).toEqual({ name, defined: true });
    }
  });

  it('describes every path parameter', () => {
    expect(
      each((route, op) => {
        const params = (op.parameters ?? []) as ParameterObject[];
        const undescribed = params.filter((p) => p.in === 'path' && !p.description?.trim());
        return undescribed.length
          ? `${route.key}: ${undescribed.map((p) => p.name).join(', ')} undescribed`
          : undefined;
      }),
    ).toEqual([]);
  });

  it('has protected operations require the access cookie', () => {
    expect(
      each((route, op) => {
        if (route.isPublic) return undefined;
        return op.security?.some((requirement) => 'access_token' in requirement)
          ? undefined
          : `${route.key} does not reference the access_token scheme`;
      }),
    ).toEqual([]);
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    for (const op of operations.values())
      for (const requirement of op.security ?? [])
        for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
  });

  it('serves the Swagger UI page and its assets, all loadable under the CSP', async () => {
    const page = await app.agent().get('/api/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<div id="swagger-ui"></div>');
    const csp = page.headers['content-security-policy'];
    expect(csp).toBeDefined();
    expect(cspViolations(page.text, csp)).toEqual([]);

    const scripts = scriptUrls(page.text, '/api/');
    expect(scripts).toEqual(expect.arrayContaining(['/api/docs/swagger-ui-init.js']));
    for (const script of scripts) {
      const asset = await app.agent().get(script).expect(200);
      expect(asset.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    }
    const init = await app.agent().get('/api/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/admin/dlq/{jobId}/retry');
    const css = await app.agent().get('/api/docs/swagger-ui.css').expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });
});

describe('API documentation and queue dashboard in the worker role', () => {
  let worker: TestApp;
  beforeAll(async () => {
    worker = await createTestApp('swagger-worker', { env: { APP_ROLE: 'worker' } });
  });
  afterAll(() => worker.close());

  it('are not served where the API is not', async () => {
    for (const path of ['/api/docs', '/api/docs-json', '/admin/queues', '/admin/queues/api/queues'])
      expect({ path, status: (await worker.agent().get(path)).status }).toEqual({
        path,
        status: 404,
      });
    // The process still answers: this is a worker's health listener.
    await worker.agent().get('/health').expect(200);
  });
});

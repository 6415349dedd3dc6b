/** The cookies an answer sets, as a browser reads its Set-Cookie headers. */
import type request from 'supertest';
import type { TestApp } from './app.js';

export interface Cookie {
  name: string;
  value: string;
  /** Lower-cased, e.g. `httponly`, `path=/auth`. */
  attributes: string[];
}

export function cookiesOf(res: request.Response): Map<string, Cookie> {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  const cookies = new Map<string, Cookie>();
  for (const line of header ?? []) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const [name, ...value] = pair.split('=');
    cookies.set(name, {
      name,
      value: value.join('='),
      attributes: attributes.map((a) => a.toLowerCase()),
    });
  }
  return cookies;
}

/** The two auth cookies an answer sets; fails when either is missing. */
export function authCookies(res: request.Response): { access: string; refresh: string } {
  const cookies = cookiesOf(res);
  const access = cookies.get('access_token')?.value;
  const refresh = cookies.get('refresh_token')?.value;
  if (!access || !refresh)
    throw new Error(`expected both auth cookies, got ${[...cookies.keys()].join(', ') || 'none'}`);
  return { access, refresh };
}

/** A request carrying only this access token, as a client holding it would send it. */
export const withAccess = (req: request.Test, access: string) =>
  req.set('Cookie', `access_token=${access}`);

/** GET /auth/session on `app` with only this access token. */
export const sessionOn = (app: TestApp, access: string) =>
  withAccess(app.agent().get('/auth/session'), access);

/** POST /auth/refresh on `app` with only this refresh token. */
export const refreshOn = (app: TestApp, refresh: string) =>
  app.agent().post('/auth/refresh').set('Cookie', `refresh_token=${refresh}`);

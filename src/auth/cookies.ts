import type { CookieOptions, Request, Response } from 'express';
import type { AppConfig } from '../config/config.js';

export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';
/** The refresh cookie only travels to the auth routes that use it. */
export const REFRESH_COOKIE_PATH = '/auth';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

function base(config: AppConfig): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure };
}

export function setAuthCookies(res: Response, tokens: TokenPair, config: AppConfig): void {
  res.cookie(ACCESS_COOKIE, tokens.accessToken, {
    ...base(config),
    path: '/',
    maxAge: config.jwt.accessTtlSeconds * 1000,
  });
  res.cookie(REFRESH_COOKIE, tokens.refreshToken, {
    ...base(config),
    path: REFRESH_COOKIE_PATH,
    maxAge: config.jwt.refreshTtlSeconds * 1000,
  });
}

export function clearAuthCookies(res: Response, config: AppConfig): void {
  res.clearCookie(ACCESS_COOKIE, { ...base(config), path: '/' });
  res.clearCookie(REFRESH_COOKIE, { ...base(config), path: REFRESH_COOKIE_PATH });
}

export function readCookie(req: Request, name: string): string | undefined {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

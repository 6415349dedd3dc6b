import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, AuthenticationError } from '../common/errors.js';
import { appErrorResponse } from '../common/http-exception.filter.js';
import { currentLogContext } from '../common/logging/request-context.js';
import type { Role } from '../users/user.schema.js';
import type { AccessTokenVerifier } from './access-token.js';
import type { AuthUser } from './auth-user.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';
import { requiredRoleError } from './guards.js';

export interface RoleGateOptions {
  /**
   * A sign-in page: a browser opening a page here without a valid session is sent there, with
   * `next` naming where it was going, instead of reading a JSON 401. The page decides whether to
   * follow `next` (it must accept same-origin paths it knows only: no open redirect).
   */
  signInPage?: string;
}

/**
 * JwtAuthGuard + RolesGuard for what is mounted on Express outside Nest's router, where guards and
 * the exception filter do not run: the access cookie must be valid and name one of `roles`,
 * otherwise the request ends here with the API's 401 / 403 body. Needs cookie-parser before it.
 */
export function requireRole(
  verifier: AccessTokenVerifier,
  roles: Role[],
  options: RoleGateOptions = {},
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void refusalFor(verifier, readCookie(req, ACCESS_COOKIE), roles).then((refusal) => {
      if (!refusal) next();
      // Only without a valid session: a caller signed in without the role keeps the 403, as
      // signing in again would not change it.
      else if (options.signInPage && refusal.kind === 'unauthenticated' && opensPage(req))
        res.redirect(`${options.signInPage}?next=${encodeURIComponent(req.originalUrl)}`);
      else refuse(res, refusal);
    });
  };
}

/**
 * A browser navigating to a page: a GET preferring HTML. The page's own scripts and XHRs (which
 * accept anything, or JSON first) and API clients keep the JSON answer.
 */
function opensPage(req: Request): boolean {
  return req.method === 'GET' && req.accepts(['json', 'html']) === 'html';
}

/** Undefined when the caller may pass; otherwise the error to answer with. */
async function refusalFor(
  verifier: AccessTokenVerifier,
  token: string | undefined,
  roles: Role[],
): Promise<AppError | undefined> {
  let caller: AuthUser;
  try {
    caller = await verifier.verify(token);
  } catch (err) {
    return err instanceof AppError ? err : new AuthenticationError();
  }
  const logContext = currentLogContext();
  if (logContext) logContext.userId = caller.id;
  return roles.includes(caller.role) ? undefined : requiredRoleError(roles);
}

function refuse(res: Response, error: AppError): void {
  const body = appErrorResponse(error);
  res.status(body.statusCode).json(body);
}

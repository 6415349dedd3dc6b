import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, AuthenticationError } from '../common/errors.js';
import { appErrorResponse } from '../common/http-exception.filter.js';
import { currentLogContext } from '../common/logging/request-context.js';
import type { Role } from '../users/user.schema.js';
import type { AccessTokenVerifier } from './access-token.js';
import type { AuthUser } from './auth-user.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';
import { requiredRoleError } from './guards.js';

/**
 * JwtAuthGuard + RolesGuard for what is mounted on Express outside Nest's router, where guards and
 * the exception filter do not run: the access cookie must be valid and name one of `roles`,
 * otherwise the request ends here with the API's 401 / 403 body. Needs cookie-parser before it.
 */
export function requireRole(verifier: AccessTokenVerifier, ...roles: Role[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void refusalFor(verifier, readCookie(req, ACCESS_COOKIE), roles).then((refusal) =>
      refusal ? refuse(res, refusal) : next(),
    );
  };
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

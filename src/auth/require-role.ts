import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, AuthenticationError } from '../common/errors.js';
import { appErrorResponse } from '../common/http-exception.filter.js';
import { currentLogContext } from '../common/logging/request-context.js';
import type { AppConfig } from '../config/config.js';
import type { Role } from '../users/user.schema.js';
import { verifyAccessToken } from './access-token.js';
import { ACCESS_COOKIE, readCookie } from './cookies.js';
import { requiredRoleError } from './guards.js';

/**
 * JwtAuthGuard + RolesGuard for what is mounted on Express outside Nest's router, where guards and
 * the exception filter do not run: the access cookie must be valid and name one of `roles`,
 * otherwise the request ends here with the API's 401 / 403 body. Needs cookie-parser before it.
 */
export function requireRole(config: AppConfig, ...roles: Role[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const caller = verifyAccessToken(readCookie(req, ACCESS_COOKIE), config);
    if (!caller) return refuse(res, new AuthenticationError());
    const logContext = currentLogContext();
    if (logContext) logContext.userId = caller.id;
    if (!roles.includes(caller.role)) return refuse(res, requiredRoleError(roles));
    next();
  };
}

function refuse(res: Response, error: AppError): void {
  const body = appErrorResponse(error);
  res.status(body.statusCode).json(body);
}

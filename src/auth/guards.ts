import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { AuthenticationError, ForbiddenError } from '../common/errors.js';
import { currentLogContext } from '../common/logging/request-context.js';
import type { Role } from '../users/user.schema.js';
import { AuthUser, IS_PUBLIC_KEY, ROLES_KEY } from './auth-user.js';

/** Global: every route needs a valid access cookie unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<TUser extends AuthUser = AuthUser>(
    err: unknown,
    user: TUser | false,
  ): TUser {
    // The strategy's own refusals name their reason (the session ended, the token is outdated).
    if (err instanceof AuthenticationError) throw err;
    if (err || !user) throw new AuthenticationError();
    const logContext = currentLogContext();
    if (logContext) logContext.userId = user.id;
    return user;
  }
}

/** Global: routes marked @Roles(...) admit only those roles. */
@Injectable()
export class RolesGuard {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const user = context.switchToHttp().getRequest<Request & { user?: AuthUser }>().user;
    if (!user) throw new AuthenticationError();
    if (!roles.includes(user.role)) throw requiredRoleError(roles);
    return true;
  }
}

export function requiredRoleError(roles: readonly Role[]): ForbiddenError {
  return new ForbiddenError(`This action requires the ${roles.join(' or ')} role`);
}

import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import { Role } from '../users/user.schema.js';

/** Who is calling, as the access token says. */
export interface AuthUser {
  id: string;
  role: Role;
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthUser => {
    const request = ctx.switchToHttp().getRequest<Request & { user: AuthUser }>();
    return request.user;
  },
);

export const ROLES_KEY = 'roles';
/** Restricts a route to the given roles; use with JwtAuthGuard and RolesGuard. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export const IS_PUBLIC_KEY = 'isPublic';
/** Opens a route to anonymous callers; every other route requires a valid access cookie. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { Roles } from '../auth/auth-user.js';
import { decodeCursor, encodeCursor } from '../common/cursor.js';
import { ApiErrors } from '../common/error-response.js';
import { CursorPageOf, CursorQueryDto } from '../common/pagination.js';
import { PlainName } from '../common/validation.js';
import { UserView, toUserView } from './dto/user.view.js';
import { ROLES } from './user.schema.js';
import type { Role } from './user.schema.js';
import { UsersService } from './users.service.js';

export class UserSearchQuery extends CursorQueryDto {
  @ApiPropertyOptional({ description: 'Emails starting with this (any case)', example: 'ada@' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @PlainName()
  email?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ enum: ['true', 'false'] })
  @IsOptional()
  @IsIn(['true', 'false'])
  vip?: 'true' | 'false';
}

export class UserSearchPage extends CursorPageOf(UserView) {}

/** Staff find customers (whom to promote, whose order this is); admins too. */
@ApiTags('staff')
@ApiCookieAuth('access_token')
@ApiErrors(401, [403, 'Staff and admins only'], 429)
@Roles('staff', 'admin')
@Controller('admin/users')
export class UserSearchController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({
    summary: 'Find accounts by email prefix, role and VIP flag (staff, admin)',
    description: 'By email, A to Z. Pages by cursor: pass `nextCursor` back as `cursor`.',
  })
  @ApiOkResponse({ type: UserSearchPage })
  @ApiErrors(400)
  async search(@Query() query: UserSearchQuery): Promise<UserSearchPage> {
    const after = query.cursor
      ? decodeCursor<{ e: string }>(query.cursor, { e: 'string' }).e
      : undefined;
    const found = await this.users.search(
      {
        ...(query.email ? { emailPrefix: query.email } : {}),
        ...(query.role ? { role: query.role } : {}),
        ...(query.vip ? { isVip: query.vip === 'true' } : {}),
      },
      after,
      query.limit + 1,
    );
    const items = found.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toUserView),
      nextCursor: found.length > query.limit && last ? encodeCursor({ e: last.email }) : null,
    };
  }
}

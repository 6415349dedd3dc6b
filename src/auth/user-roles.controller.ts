import { Body, Controller, Param, Patch } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { ConflictError } from '../common/errors.js';
import { ApiErrors } from '../common/error-response.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { UserEnvelope, toUserView } from '../users/dto/user.view.js';
import { ROLES } from '../users/user.schema.js';
import type { Role } from '../users/user.schema.js';
import { UsersService } from '../users/users.service.js';
import { CurrentUser, Roles } from './auth-user.js';
import type { AuthUser } from './auth-user.js';
import { SessionRevocation } from './session-revocation.js';

export class SetRoleDto {
  @ApiProperty({ enum: ROLES, example: 'staff' })
  @IsIn(ROLES)
  role!: Role;
}

/**
 * Roles are access control: changing one outdates the account's access tokens on every replica
 * before the answer (docs/SECURITY.md), so this route lives with authentication. The account is
 * not signed out: its next refresh issues tokens with the new role.
 */
@ApiTags('users')
@ApiCookieAuth('access_token')
@ApiErrors(401, [403, 'Admins only'], 429)
@Roles('admin')
@Controller('users')
export class UserRolesController {
  constructor(
    private readonly users: UsersService,
    private readonly revocation: SessionRevocation,
  ) {}

  @Patch(':id/role')
  @ApiOperation({
    summary:
      "Set a user's role: customer, staff (moves orders, finds orders and customers) or admin",
  })
  @ApiParam({ name: 'id', description: 'User id (ObjectId)' })
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(400, 404, [409, 'An admin cannot take away their own admin role'])
  async setRole(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseObjectIdPipe) id: string,
    @Body() body: SetRoleDto,
  ): Promise<UserEnvelope> {
    if (id === caller.id && body.role !== 'admin')
      throw new ConflictError('An admin cannot take away their own admin role; ask another admin');
    const { user, changed } = await this.users.setRole(id, body.role);
    if (changed) await this.revocation.outdateTokens(id);
    return { user: toUserView(user) };
  }
}

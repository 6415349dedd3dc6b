import { Controller, Delete, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { UserEnvelope, toUserView } from './dto/user.view.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiCookieAuth('access_token')
@ApiErrors([400, 'Malformed id'], 401, [403, 'Admins only'], 404, 429)
@ApiParam({ name: 'id', description: 'User id (ObjectId)' })
@Controller('users')
@Roles('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post(':id/vip')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Promote a customer to VIP: their next orders get queue priority' })
  @ApiOkResponse({ type: UserEnvelope })
  async promote(@Param('id', ParseObjectIdPipe) id: string): Promise<UserEnvelope> {
    return { user: toUserView(await this.users.setVip(id, true)) };
  }

  @Delete(':id/vip')
  @ApiOperation({ summary: 'Demote a VIP customer' })
  @ApiOkResponse({ type: UserEnvelope })
  async demote(@Param('id', ParseObjectIdPipe) id: string): Promise<UserEnvelope> {
    return { user: toUserView(await this.users.setVip(id, false)) };
  }
}

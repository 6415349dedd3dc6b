import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Patch,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors } from '../common/error-response.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { UsersService } from '../users/users.service.js';
import { SessionView, UserEnvelope, toUserView } from '../users/dto/user.view.js';
import { AuthService } from './auth.service.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { CurrentUser, Public } from './auth-user.js';
import type { AuthUser } from './auth-user.js';
import { REFRESH_COOKIE, clearAuthCookies, readCookie, setAuthCookies } from './cookies.js';
import {
  DeleteAccountDto,
  LoginDto,
  RegisterDto,
  UpdateProfileDto,
} from './dto/credentials.dto.js';
import { RequestValidationError } from '../common/validation.js';

@ApiTags('auth')
@ApiErrors(429)
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('register')
  @Public()
  @RateLimit('auth')
  @ApiOperation({
    summary: 'Create a customer account and start a session (sets the auth cookies)',
  })
  @ApiCreatedResponse({ type: UserEnvelope })
  @ApiErrors(400, [409, 'Email is already registered'])
  async register(
    @Body() dto: RegisterDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserEnvelope> {
    const session = await this.auth.register(dto);
    setAuthCookies(res, session.tokens, this.config);
    return { user: toUserView(session.user) };
  }

  @Post('login')
  @Public()
  @RateLimit('auth')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Start a session (sets the auth cookies)' })
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(400, [401, 'Invalid email or password'])
  async login(
    @Body() dto: LoginDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserEnvelope> {
    const session = await this.auth.login(dto);
    setAuthCookies(res, session.tokens, this.config);
    return { user: toUserView(session.user) };
  }

  @Post('refresh')
  @Public()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate both auth cookies using the refresh cookie',
    description:
      'Refresh tokens are single-use: presenting one again more than REFRESH_GRACE_SECONDS (default 5) after its rotation revokes the whole session. Within that window (two tabs refreshing at once) it is answered with the same new pair as the first time.',
  })
  @ApiCookieAuth('refresh_token')
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(401)
  async refresh(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserEnvelope> {
    const session = await this.auth.refresh(readCookie(req, REFRESH_COOKIE));
    setAuthCookies(res, session.tokens, this.config);
    return { user: toUserView(session.user) };
  }

  @Post('logout')
  @Public()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'End the session: revokes its refresh and access tokens and clears the cookies',
    description:
      'The access token of the session is refused from the next request on, on every API replica.',
  })
  @ApiNoContentResponse()
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.auth.logout(readCookie(req, REFRESH_COOKIE));
    clearAuthCookies(res, this.config);
  }

  @Get('session')
  @ApiCookieAuth('access_token')
  @ApiOperation({
    summary: 'Who the access cookie names, without touching the database',
    description:
      'A cheap check for storefronts: 200 while the session is valid, 401 once it is not.',
  })
  @ApiOkResponse({ type: SessionView })
  @ApiErrors(401)
  session(@CurrentUser() caller: AuthUser): SessionView {
    return { userId: caller.id, role: caller.role };
  }

  @Patch('profile')
  @RateLimit('auth')
  @ApiCookieAuth('access_token')
  @ApiOperation({
    summary: 'Change your name and/or password',
    description:
      'A new password needs the current one, ends every session of the account (on every device) and starts a new ' +
      'one here: the answer sets new auth cookies.',
  })
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(
    400,
    401,
    [403, 'The current password is not correct'],
    [404, 'The account no longer exists'],
  )
  async updateProfile(
    @CurrentUser() caller: AuthUser,
    @Body() dto: UpdateProfileDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserEnvelope> {
    if (dto.name === undefined && dto.newPassword === undefined)
      throw new RequestValidationError([
        { field: '(body)', problem: 'must change name or newPassword (or both)' },
      ]);
    const updated = await this.auth.updateProfile(caller.id, dto);
    if (updated.tokens) setAuthCookies(res, updated.tokens, this.config);
    return { user: toUserView(updated.user) };
  }

  @Delete('profile')
  @RateLimit('auth')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiCookieAuth('access_token')
  @ApiOperation({
    summary: 'Delete your account',
    description:
      'Confirmed by the password. Every session ends at once; the email, name and password are removed. Orders are ' +
      'kept for accounting, naming the account only by an id that then belongs to nobody.',
  })
  @ApiNoContentResponse()
  @ApiErrors(400, 401, [403, 'The password is not correct'], [404, 'The account no longer exists'])
  async deleteAccount(
    @CurrentUser() caller: AuthUser,
    @Body() dto: DeleteAccountDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.auth.deleteAccount(caller.id, dto.password);
    clearAuthCookies(res, this.config);
  }

  @Get('profile')
  @ApiCookieAuth('access_token')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(401, [404, 'The account no longer exists'])
  async profile(@CurrentUser() caller: AuthUser): Promise<UserEnvelope> {
    return { user: toUserView(await this.users.getById(caller.id)) };
  }
}

import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
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
import { LoginDto, RegisterDto } from './dto/credentials.dto.js';

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

  @Get('profile')
  @ApiCookieAuth('access_token')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserEnvelope })
  @ApiErrors(401, [404, 'The account no longer exists'])
  async profile(@CurrentUser() caller: AuthUser): Promise<UserEnvelope> {
    return { user: toUserView(await this.users.getById(caller.id)) };
  }
}

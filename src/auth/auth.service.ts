import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AuthenticationError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { UsersService } from '../users/users.service.js';
import { UserDocument } from '../users/user.schema.js';
import { TokenPair } from './cookies.js';
import { RegisterDto, LoginDto } from './dto/credentials.dto.js';
import { SessionRevocation } from './session-revocation.js';
import { TokensService } from './tokens.service.js';
import type { Rotation } from './tokens.service.js';

export interface Session {
  user: UserDocument;
  tokens: TokenPair;
}

const INVALID_CREDENTIALS = 'Invalid email or password';

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly revocation: SessionRevocation,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * `ADMIN_EMAIL` + `ADMIN_PASSWORD` (in the roles that serve the API, the only ones with this
   * module): the account is an admin with that password. If it was not, its sessions follow: a
   * new password ends them all (whoever knew the old one is out); a new role only outdates its
   * access tokens, and the next refresh carries the admin role.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.admin) return;
    const change = await this.users.ensureAdmin(this.config.admin);
    if (change?.passwordChanged) {
      await this.tokens.endSessionsOf(change.userId);
      this.logger.log('admin account: password changed, its sessions were ended');
    } else if (change?.roleChanged) {
      await this.revocation.outdateTokens(change.userId);
      this.logger.log('admin account: made an admin, its access tokens were outdated');
    }
  }

  async register(dto: RegisterDto): Promise<Session> {
    const user = await this.users.create({
      email: dto.email,
      password: dto.password,
      name: dto.name,
    });
    // A new account has no token version yet.
    return { user, tokens: await this.tokens.start({ id: user.id, role: user.role }) };
  }

  async login(dto: LoginDto): Promise<Session> {
    const user = await this.users.authenticate(dto.email, dto.password);
    if (!user) throw new AuthenticationError(INVALID_CREDENTIALS);
    return this.issue(user.id, INVALID_CREDENTIALS);
  }

  /**
   * Rotates the session: the presented refresh token is spent, a new pair is issued in its family
   * (or, for a repeat within the grace window, the pair its rotation issued).
   */
  async refresh(refreshToken: string | undefined): Promise<Session> {
    const rotation = await this.tokens.rotate(refreshToken);
    return this.issue(rotation.userId, 'Invalid refresh token', rotation);
  }

  /**
   * The signed-in user changes their name and/or password. A new password ends every session of
   * the account, this one included, and starts a new one for the caller: whoever knew the old
   * password is signed out everywhere, the caller stays signed in.
   */
  async updateProfile(
    userId: string,
    change: { name?: string; currentPassword?: string; newPassword?: string },
  ): Promise<{ user: UserDocument; tokens?: TokenPair }> {
    if (change.newPassword !== undefined) {
      await this.users.changePassword(userId, change.currentPassword ?? '', change.newPassword);
    }
    const renamed =
      change.name === undefined ? undefined : await this.users.rename(userId, change.name);
    if (change.newPassword === undefined)
      return { user: renamed ?? (await this.users.getById(userId)) };
    await this.tokens.endSessionsOf(userId);
    return this.issue(userId, 'The account no longer exists');
  }

  /** Deletes the account (password confirmed) and ends all its sessions at once. */
  async deleteAccount(userId: string, password: string): Promise<void> {
    await this.users.deleteAccount(userId, password);
    await this.tokens.endSessionsOf(userId);
  }

  logout(refreshToken: string | undefined): Promise<void> {
    return this.tokens.revoke(refreshToken);
  }

  /**
   * Tokens for the account as it is now. Its token version is read before the account itself
   * (see SessionRevocation.currentVersion), so a token never carries a role older than its version:
   * a role change that lands in between makes the token outdated, never wrongly current.
   */
  private async issue(userId: string, missing: string, rotation?: Rotation): Promise<Session> {
    const version = await this.revocation.currentVersion(userId);
    const user = await this.users.findById(userId);
    if (!user) throw new AuthenticationError(missing);
    const account = { id: user.id, role: user.role };
    return {
      user,
      tokens: rotation
        ? await this.tokens.continue(account, rotation, version)
        : await this.tokens.start(account, version),
    };
  }
}

import { Injectable } from '@nestjs/common';
import { AuthenticationError } from '../common/errors.js';
import { UsersService } from '../users/users.service.js';
import { UserDocument } from '../users/user.schema.js';
import { TokenPair } from './cookies.js';
import { RegisterDto, LoginDto } from './dto/credentials.dto.js';
import { TokensService } from './tokens.service.js';

export interface Session {
  user: UserDocument;
  tokens: TokenPair;
}

const INVALID_CREDENTIALS = 'Invalid email or password';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
  ) {}

  async register(dto: RegisterDto): Promise<Session> {
    const user = await this.users.create({
      email: dto.email,
      password: dto.password,
      name: dto.name,
    });
    return { user, tokens: await this.tokens.issue({ id: user.id, role: user.role }) };
  }

  async login(dto: LoginDto): Promise<Session> {
    const user = await this.users.authenticate(dto.email, dto.password);
    if (!user) throw new AuthenticationError(INVALID_CREDENTIALS);
    return { user, tokens: await this.tokens.issue({ id: user.id, role: user.role }) };
  }

  /** Rotates the session: the presented refresh token is spent, a new pair is issued in its family. */
  async refresh(refreshToken: string | undefined): Promise<Session> {
    const { userId, family } = await this.tokens.consume(refreshToken);
    const user = await this.users.findById(userId);
    if (!user) throw new AuthenticationError('Invalid refresh token');
    return { user, tokens: await this.tokens.issue({ id: user.id, role: user.role }, family) };
  }

  logout(refreshToken: string | undefined): Promise<void> {
    return this.tokens.revoke(refreshToken);
  }
}

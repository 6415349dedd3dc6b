import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { AuthenticationError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Role } from '../users/user.schema.js';
import type { AccessClaims } from './access-token.js';
import { TokenPair } from './cookies.js';
import { tokenCodec } from './jwt-keys.js';
import { RefreshToken } from './refresh-token.schema.js';
import { SessionRevocation } from './session-revocation.js';

interface RefreshClaims {
  sub: string;
  jti: string;
  fam: string;
}

/** Signs access and refresh JWTs and keeps the refresh-token families that make rotation safe. */
@Injectable()
export class TokensService {
  private readonly accessTokens: JwtService;
  private readonly refreshTokenCodec: JwtService;

  constructor(
    @InjectModel(RefreshToken.name) private readonly refreshTokens: Model<RefreshToken>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revocation: SessionRevocation,
  ) {
    this.accessTokens = tokenCodec(config.jwt.accessSecret, config.jwt.accessTtlSeconds);
    this.refreshTokenCodec = tokenCodec(config.jwt.refreshSecret, config.jwt.refreshTtlSeconds);
  }

  /**
   * Starts a session (new family) or continues one (rotation). `version`: the account's token
   * version, read before the account was (SessionRevocation.currentVersion).
   */
  async issue(
    user: { id: string; role: Role },
    { family = randomUUID(), version }: { family?: string; version?: string } = {},
  ): Promise<TokenPair> {
    const jti = randomUUID();
    const { refreshTtlSeconds } = this.config.jwt;
    await this.refreshTokens.create({
      _id: jti,
      family,
      userId: user.id,
      expiresAt: new Date(Date.now() + refreshTtlSeconds * 1000),
    });
    const accessToken = await this.accessTokens.signAsync({
      sub: user.id,
      role: user.role,
      sid: family,
      ...(version === undefined ? {} : { sv: version }),
    } satisfies AccessClaims);
    const refreshToken = await this.refreshTokenCodec.signAsync({
      sub: user.id,
      jti,
      fam: family,
    } satisfies RefreshClaims);
    return { accessToken, refreshToken };
  }

  /**
   * Marks the presented refresh token used and returns its claims. A token that was already used
   * or revoked means someone replays it: the whole family is revoked and the caller gets 401.
   */
  async consume(token: string | undefined): Promise<{ userId: string; family: string }> {
    const claims = await this.verifyRefresh(token);
    const now = new Date();
    const claimed = await this.refreshTokens
      .findOneAndUpdate(
        {
          _id: claims.jti,
          family: claims.fam,
          rotatedAt: null,
          revokedAt: null,
          expiresAt: { $gt: now },
        },
        { $set: { rotatedAt: now } },
      )
      .lean()
      .exec();
    if (claimed) return { userId: claims.sub, family: claims.fam };
    const known = await this.refreshTokens.exists({ _id: claims.jti }).exec();
    if (known) {
      await this.revokeFamily(claims.fam);
      throw new AuthenticationError('Refresh token was already used; the session has been revoked');
    }
    throw new AuthenticationError('Invalid refresh token');
  }

  /** Ends the session the refresh token belongs to; unknown or invalid tokens are ignored. */
  async revoke(token: string | undefined): Promise<void> {
    const claims = await this.verifyRefresh(token).catch(() => undefined);
    if (claims) await this.revokeFamily(claims.fam);
  }

  /**
   * Ends every session of the account (its password changed): no refresh token of it works any
   * more, and its access tokens are refused from the next request on.
   */
  async endSessionsOf(userId: string): Promise<void> {
    await this.refreshTokens
      .updateMany({ userId, revokedAt: null }, { $set: { revokedAt: new Date() } })
      .exec();
    await this.revocation.outdateTokens(userId);
  }

  private async revokeFamily(family: string): Promise<void> {
    await this.refreshTokens
      .updateMany({ family, revokedAt: null }, { $set: { revokedAt: new Date() } })
      .exec();
    await this.revocation.endSession(family);
  }

  private async verifyRefresh(token: string | undefined): Promise<RefreshClaims> {
    if (!token) throw new AuthenticationError('Refresh token missing');
    try {
      const claims = await this.refreshTokenCodec.verifyAsync<RefreshClaims>(token);
      if (
        typeof claims.jti !== 'string' ||
        typeof claims.fam !== 'string' ||
        typeof claims.sub !== 'string'
      ) {
        throw new Error('malformed claims');
      }
      return claims;
    } catch {
      throw new AuthenticationError('Invalid refresh token');
    }
  }
}

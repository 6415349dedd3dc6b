import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { AuthenticationError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Role } from '../users/user.schema.js';
import { SESSION_ENDED } from './access-token.js';
import type { AccessClaims } from './access-token.js';
import { MAX_GRACE_CHAIN, chainStep, repeatedPresentation } from './domain/refresh-rotation.js';
import { TokenPair } from './cookies.js';
import { accessKeys, refreshKeys, tokenCodec } from './jwt-keys.js';
import { RefreshToken } from './refresh-token.schema.js';
import { SessionRevocation } from './session-revocation.js';

interface RefreshClaims {
  sub: string;
  jti: string;
  fam: string;
}

/** A rotation's outcome: the successor refresh token to sign, in the presented token's family. */
export interface Rotation {
  userId: string;
  family: string;
  jti: string;
  /** Seconds since the epoch: the time of the rotation that issued it, the tokens' `iat`. */
  issuedAt: number;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
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
    this.accessTokens = tokenCodec(accessKeys(config.jwt), config.jwt.accessTtlSeconds);
    this.refreshTokenCodec = tokenCodec(refreshKeys(config.jwt), config.jwt.refreshTtlSeconds);
  }

  /**
   * Starts a session: a new family and its first refresh token. `version`: the account's token
   * version, read before the account was (SessionRevocation.currentVersion).
   */
  async start(user: { id: string; role: Role }, version?: string): Promise<TokenPair> {
    const jti = randomUUID();
    const family = randomUUID();
    await this.refreshTokens.create({
      _id: jti,
      family,
      userId: user.id,
      expiresAt: new Date(Date.now() + this.config.jwt.refreshTtlSeconds * 1000),
    });
    return this.sign(user, { family, jti, version });
  }

  /**
   * The pair a rotation issued. Both tokens are stamped with the time of the rotation, so signing
   * the same successor again (a repeat within the grace window) gives the same tokens, unless the
   * account's role or token version changed in between.
   */
  continue(
    user: { id: string; role: Role },
    rotation: Rotation,
    version?: string,
  ): Promise<TokenPair> {
    return this.sign(user, { ...rotation, version });
  }

  /**
   * Spends the presented refresh token and names its successor. A token already spent is
   * answered within the grace window with the successor its rotation issued (see
   * domain/refresh-rotation.ts); past the window it means someone replays it: the whole family
   * is revoked and the caller gets 401.
   */
  async rotate(token: string | undefined): Promise<Rotation> {
    const claims = await this.verifyRefresh(token);
    const now = new Date();
    const successor = randomUUID();
    const claimed = await this.refreshTokens
      .findOneAndUpdate(
        {
          _id: claims.jti,
          family: claims.fam,
          rotatedAt: null,
          revokedAt: null,
          expiresAt: { $gt: now },
        },
        { $set: { rotatedAt: now, successor } },
      )
      .lean()
      .exec();
    if (claimed) {
      // Written after the claim: a concurrent repeat may name this successor a moment before its
      // record exists, which is harmless (chainStep hands it out).
      await this.refreshTokens.create({
        _id: successor,
        family: claims.fam,
        userId: claims.sub,
        expiresAt: new Date(now.getTime() + this.config.jwt.refreshTtlSeconds * 1000),
      });
      return { userId: claims.sub, family: claims.fam, jti: successor, issuedAt: seconds(now) };
    }
    return this.repeated(claims, now);
  }

  private async repeated(claims: RefreshClaims, now: Date): Promise<Rotation> {
    const presented = await this.record(claims.jti);
    const decision = repeatedPresentation(
      presented?.family === claims.fam ? presented : undefined,
      now,
      this.config.jwt.refreshGraceSeconds * 1000,
    );
    if (decision.kind === 'invalid') throw new AuthenticationError('Invalid refresh token');
    if (decision.kind === 'ended') throw new AuthenticationError(SESSION_ENDED);
    if (decision.kind === 'grace') {
      let { successor, rotatedAt } = decision;
      for (let hop = 0; hop < MAX_GRACE_CHAIN; hop++) {
        const step = chainStep(await this.record(successor));
        if (step.kind === 'ended') throw new AuthenticationError(SESSION_ENDED);
        if (step.kind === 'hand-out')
          return {
            userId: claims.sub,
            family: claims.fam,
            jti: successor,
            issuedAt: seconds(rotatedAt),
          };
        if (step.kind === 'reuse') break;
        ({ successor, rotatedAt } = step);
      }
    }
    await this.revokeFamily(claims.fam);
    throw new AuthenticationError('Refresh token was already used; the session has been revoked');
  }

  private async record(jti: string) {
    return (
      (await this.refreshTokens
        .findById(jti, { family: 1, rotatedAt: 1, revokedAt: 1, successor: 1 })
        .lean()
        .exec()) ?? undefined
    );
  }

  private async sign(
    user: { id: string; role: Role },
    token: { family: string; jti: string; issuedAt?: number; version?: string | undefined },
  ): Promise<TokenPair> {
    const iat = token.issuedAt === undefined ? {} : { iat: token.issuedAt };
    const accessToken = await this.accessTokens.signAsync({
      sub: user.id,
      role: user.role,
      sid: token.family,
      ...(token.version === undefined ? {} : { sv: token.version }),
      ...iat,
    } satisfies AccessClaims & { iat?: number });
    const refreshToken = await this.refreshTokenCodec.signAsync({
      sub: user.id,
      jti: token.jti,
      fam: token.family,
      ...iat,
    } satisfies RefreshClaims & { iat?: number });
    return { accessToken, refreshToken };
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

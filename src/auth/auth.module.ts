import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { MongooseModule } from '@nestjs/mongoose';
import { PassportModule } from '@nestjs/passport';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenVerifier } from './access-token.js';
import { AuthService } from './auth.service.js';
import { JwtStrategy } from './jwt.strategy.js';
import { RefreshToken, RefreshTokenSchema } from './refresh-token.schema.js';
import { SessionRevocation } from './session-revocation.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [
    PassportModule,
    JwtModule.register({}),
    UsersModule,
    MongooseModule.forFeature([{ name: RefreshToken.name, schema: RefreshTokenSchema }]),
  ],
  providers: [AuthService, TokensService, JwtStrategy, SessionRevocation, AccessTokenVerifier],
  exports: [AuthService, AccessTokenVerifier, SessionRevocation],
})
export class AuthModule {}

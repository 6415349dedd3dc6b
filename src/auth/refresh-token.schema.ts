import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One issued refresh token. Tokens of one login form a family; each is used once (rotation), and
 * presenting a used one past REFRESH_GRACE_SECONDS revokes the whole family, ending a session
 * whose token was stolen (within the window it gets its successor: two tabs refreshing at once).
 */
@Schema({ collection: 'refresh_tokens', versionKey: false })
export class RefreshToken {
  /** The token's `jti`. */
  @Prop({ type: String, required: true })
  _id!: string;

  @Prop({ required: true, index: true })
  family!: string;

  /** Indexed: a password change revokes every family of the account. */
  @Prop({ required: true, index: true })
  userId!: string;

  /** MongoDB's TTL monitor removes the record once the token could no longer be used anyway. */
  @Prop({ required: true, expires: 0 })
  expiresAt!: Date;

  @Prop({ type: Date, default: null })
  rotatedAt!: Date | null;

  /** The jti of the token its rotation issued: what a repeat within the grace window gets. */
  @Prop({ type: String, default: null })
  successor!: string | null;

  @Prop({ type: Date, default: null })
  revokedAt!: Date | null;
}

export const RefreshTokenSchema = SchemaFactory.createForClass(RefreshToken);

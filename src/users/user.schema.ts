import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';

/** customer: shops; staff: moves orders through fulfilment and finds orders and customers; admin: everything. */
export const ROLES = ['customer', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

@Schema({ collection: 'users', timestamps: true, versionKey: false })
export class User {
  @Prop({ required: true, unique: true, lowercase: true, trim: true })
  email!: string;

  @Prop({ required: true })
  passwordHash!: string;

  @Prop({ required: true, trim: true })
  name!: string;

  @Prop({ type: String, required: true, enum: ROLES, default: 'customer' })
  role!: Role;

  @Prop({ required: true, default: false })
  isVip!: boolean;

  createdAt!: Date;
  updatedAt!: Date;
}

export type UserDocument = HydratedDocument<User>;
export const UserSchema = SchemaFactory.createForClass(User);
// Staff search (GET /admin/users): by email prefix (the unique email index), by role, by VIP flag.
UserSchema.index({ role: 1, email: 1 });
UserSchema.index({ isVip: 1, email: 1 });

import { ApiProperty } from '@nestjs/swagger';
import { ROLES } from '../user.schema.js';
import type { Role } from '../user.schema.js';

/** A user as the API shows it: never the password hash. */
export class UserView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a79' })
  id!: string;

  @ApiProperty({ example: 'ada@example.com' })
  email!: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  name!: string;

  @ApiProperty({ enum: ROLES })
  role!: Role;

  @ApiProperty({ description: 'VIP customers get priority in the order queue' })
  isVip!: boolean;

  @ApiProperty()
  createdAt!: Date;
}

export class SessionView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a79' })
  userId!: string;

  @ApiProperty({ enum: ROLES })
  role!: Role;
}

export class UserEnvelope {
  @ApiProperty({ type: UserView })
  user!: UserView;
}

export function toUserView(user: {
  _id: { toString(): string };
  email: string;
  name: string;
  role: Role;
  isVip: boolean;
  createdAt: Date;
}): UserView {
  return {
    id: user._id.toString(),
    email: user.email,
    name: user.name,
    role: user.role,
    isVip: user.isVip,
    createdAt: user.createdAt,
  };
}

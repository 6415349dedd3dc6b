import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsEmail,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { Trim } from '../../common/trim.js';
import { MAX_PASSWORD_BYTES, passwordFits } from '../../users/password-hasher.js';
import { PlainName } from '../../common/validation.js';

/** At most 72 bytes in UTF-8, what bcrypt reads: characters are not bytes ("é" is two). */
const FitsBcrypt = () =>
  ValidateBy({
    name: 'fitsBcrypt',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && passwordFits(value),
      defaultMessage: () =>
        `password must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt reads no more; a character such as "é" is 2 bytes)`,
    },
  });

const EmailField = () =>
  applyDecorators(
    ApiProperty({ example: 'ada@example.com', maxLength: 254 }),
    Trim(),
    IsString(),
    MaxLength(254),
    IsEmail(),
  );

export class LoginDto {
  @EmailField()
  email!: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 1, maxLength: 72 })
  @IsString()
  @Length(1, 72)
  password!: string;
}

export class RegisterDto {
  @EmailField()
  email!: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: 8,
    maxLength: 72,
    description: 'At least 8 characters and at most 72 bytes in UTF-8 (bcrypt reads no more)',
  })
  @IsString()
  @Length(8, 72)
  @FitsBcrypt()
  password!: string;

  @ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 100 })
  @Trim()
  @IsString()
  @Length(1, 100)
  @PlainName()
  name!: string;
}

/** PATCH /auth/profile: a new name, a new password (with the current one), or both. */
export class UpdateProfileDto {
  @ApiPropertyOptional({ example: 'Ada King', minLength: 1, maxLength: 100 })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  @PlainName()
  name?: string;

  @ApiPropertyOptional({ description: 'Required with newPassword' })
  @ValidateIf((dto: UpdateProfileDto) => dto.newPassword !== undefined)
  @IsString()
  @Length(1, 72)
  currentPassword?: string;

  @ApiPropertyOptional({
    minLength: 8,
    maxLength: 72,
    description:
      'At least 8 characters and at most 72 bytes in UTF-8. Ends every other session of the account.',
  })
  @IsOptional()
  @IsString()
  @Length(8, 72)
  @FitsBcrypt()
  newPassword?: string;
}

/** DELETE /auth/profile: the password confirms it. */
export class DeleteAccountDto {
  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 72)
  password!: string;
}

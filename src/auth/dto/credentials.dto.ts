import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { Trim } from '../../common/trim.js';

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
    description: '8 to 72 characters (bcrypt reads at most 72 bytes)',
  })
  @IsString()
  @Length(8, 72)
  password!: string;

  @ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 100 })
  @Trim()
  @IsString()
  @Length(1, 100)
  name!: string;
}

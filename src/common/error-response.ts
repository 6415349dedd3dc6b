import { ApiProperty } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'items.0.quantity must not be greater than 1000' })
  message!: string;
}

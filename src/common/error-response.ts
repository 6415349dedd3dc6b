import { ApiProperty, ApiTooManyRequestsResponse } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'items.0.quantity must not be greater than 1000' })
  message!: string;
}

/** 429 from the rate limits (every route but health and metrics counts toward the per-IP limit). */
export const ApiRateLimitedResponse = () =>
  ApiTooManyRequestsResponse({
    type: ErrorResponse,
    description: 'Too many requests from this client; retry after the seconds in Retry-After',
  });

import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { MAX_LISTED_PROBLEMS } from './validation.js';

export class ProblemView {
  @ApiProperty({ example: 'items.0.quantity', description: 'Full path of the field' })
  field!: string;

  @ApiProperty({ example: 'must not be greater than 1000' })
  problem!: string;
}

/** The body of every error response. */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'items.0.quantity must not be greater than 1000' })
  message!: string;

  @ApiPropertyOptional({
    type: [ProblemView],
    maxItems: MAX_LISTED_PROBLEMS,
    description: `Validation errors: the first ${MAX_LISTED_PROBLEMS} problems, each next to its field`,
  })
  problems?: ProblemView[];

  @ApiPropertyOptional({
    example: 1,
    description: 'Validation errors: how many problems there are',
  })
  problemCount?: number;
}

/** The statuses an error answer of this API can have, with what each says by default. */
const ERROR_DESCRIPTIONS = {
  400: 'The request is invalid; the message names the problem',
  401: 'Authentication required',
  403: 'The role of this account does not allow it',
  404: 'Not found',
  409: 'Conflicts with the current state',
  422: 'Cannot be processed as sent',
  429: 'Too many requests from this client; retry after the seconds in Retry-After',
  503: 'A dependency is unavailable; retry shortly',
} as const;

export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/**
 * Documents the error answers of a route or a whole controller, each with the one error body:
 * `@ApiErrors(400, [404, 'No such order'], 429)`.
 */
export function ApiErrors(
  ...answers: Array<ErrorStatus | [ErrorStatus, string]>
): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ...answers.map((answer) => {
      const [status, description] = Array.isArray(answer)
        ? answer
        : [answer, ERROR_DESCRIPTIONS[answer]];
      return ApiResponse({ status, type: ErrorResponse, description });
    }),
  );
}

import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { AppError, ErrorKind } from './errors.js';
import { MAX_JSON_VALUES, MAX_JSON_DEPTH, MAX_JSON_OBJECT_FIELDS } from './json-shape.js';
import { Problem, RequestValidationError, cut } from './validation.js';

/** Messages that may quote the request are cut to this length. */
export const MAX_MESSAGE_CHARS = 300;

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** Validation errors: the first problems, each next to its field, and how many there are. */
  problems?: Problem[];
  problemCount?: number;
}

/** The response an AppError becomes; also for Express middleware, where this filter does not run. */
export function appErrorResponse(error: AppError): ErrorBody {
  const status = STATUS_BY_KIND[error.kind];
  const body: ErrorBody = {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message: error.message,
  };
  if (error instanceof RequestValidationError) {
    body.problems = error.problems;
    body.problemCount = error.problemCount;
  }
  return body;
}

/**
 * The one error shape of the API: `{statusCode, error, message}`, message a single sentence, plus
 * `problems` and `problemCount` for validation errors.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    if (exception instanceof AppError) {
      const body = appErrorResponse(exception);
      response.status(body.statusCode).json(body);
      return;
    }
    const { status, message } = this.describe(exception);
    if (status >= 500)
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    response.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; message: string } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const bodyProblem = describeBodyParserError(exception.cause);
      if (bodyProblem) return { status, message: bodyProblem };
      const payload = exception.getResponse();
      const raw =
        typeof payload === 'object' && payload !== null
          ? (payload as { message?: unknown }).message
          : payload;
      const message = Array.isArray(raw)
        ? raw.join('; ')
        : typeof raw === 'string'
          ? raw
          : exception.message;
      // Such messages may quote the request ("Cannot GET /<path>?<query>"): keep the answer short.
      return { status, message: cut(message, MAX_MESSAGE_CHARS) };
    }
    if (isDatabaseUnreachable(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        message: 'The database cannot be reached right now; retry shortly',
      };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
  }
}

const UNREACHABLE = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
]);

/** The driver's errors for a MongoDB it cannot reach: a 503 the client may retry, not a bug. */
function isDatabaseUnreachable(exception: unknown): boolean {
  const name = (exception as { name?: unknown } | null)?.name;
  return typeof name === 'string' && UNREACHABLE.has(name);
}

/** Express's body parser errors (Nest wraps them as HttpExceptions) in words a client can act on. */
function describeBodyParserError(cause: unknown): string | undefined {
  const type = (cause as { type?: unknown } | null | undefined)?.type;
  if (type === 'entity.parse.failed') return 'Request body is not valid JSON';
  if (type === 'entity.too.large') return 'Request body is too large';
  if (type === 'entity.too.deep')
    return `Request body is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`;
  if (type === 'entity.too.wide')
    return `Request body has an object with more than ${MAX_JSON_OBJECT_FIELDS} fields`;
  if (type === 'entity.too.many')
    return `Request body has more than ${MAX_JSON_VALUES} values (object fields and array elements)`;
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return 'Request body encoding is not supported';
  return undefined;
}

/**
 * Errors the application raises on purpose. Each names what went wrong in terms a client can act
 * on; the exception filter turns its kind into the HTTP status.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable';

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

export class InvalidInputError extends AppError {
  constructor(message: string) {
    super('invalid', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class AuthenticationError extends AppError {
  constructor(message = 'Authentication required') {
    super('unauthenticated', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** MongoDB's duplicate-key error, as the driver reports it through mongoose. */
export function isDuplicateKeyError(
  err: unknown,
): err is { code: 11000; keyValue?: Record<string, unknown> } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

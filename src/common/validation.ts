import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/**
 * Whitelisting validation for every body, query and parameter: unknown fields are rejected, types
 * are never coerced implicitly, and the message names each offending field by its full path
 * (`items.0.quantity must not be greater than 1000`).
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new BadRequestException(describeValidationErrors(errors)),
  });
}

export function describeValidationErrors(errors: ValidationError[], parent = ''): string {
  const messages: string[] = [];
  const walk = (list: ValidationError[], prefix: string): void => {
    for (const error of list) {
      const path = prefix ? `${prefix}.${error.property}` : error.property;
      for (const message of Object.values(error.constraints ?? {})) {
        messages.push(
          message.startsWith(`${error.property} `)
            ? `${path}${message.slice(error.property.length)}`
            : `${path}: ${message}`,
        );
      }
      if (error.children?.length) walk(error.children, path);
    }
  };
  walk(errors, parent);
  return messages.length ? messages.join('; ') : 'Invalid request';
}

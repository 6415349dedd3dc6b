import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateBy, ValidationArguments } from 'class-validator';

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

/**
 * Control characters (C0, DEL, C1) and the bidirectional embedding, override and isolate controls,
 * which make a name display as something else ("txt.exe" shown as "exe.txt"). Other Unicode,
 * markup included, is kept: output escapes it.
 */
// eslint-disable-next-line no-control-regex
const HIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/** A name shown to people: no control or bidi override characters. */
export const PlainName = () =>
  ValidateBy({
    name: 'plainName',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !HIDDEN_CHARACTERS.test(value),
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property ?? 'name'} must not contain control or bidirectional override characters`,
    },
  });

import { Injectable, PipeTransform, ArgumentMetadata } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy } from 'class-validator';
import { RequestValidationError } from './validation.js';

const OBJECT_ID = /^[a-f0-9]{24}$/i;

export function isObjectIdString(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID.test(value);
}

/** Rejects a malformed `:id` path parameter with 400 before any query runs. */
@Injectable()
export class ParseObjectIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (!isObjectIdString(value)) {
      throw new RequestValidationError([
        { field: metadata.data ?? 'id', problem: 'must be a 24-character hexadecimal ObjectId' },
      ]);
    }
    return value.toLowerCase();
  }
}

/**
 * A body field holding an ObjectId: the same rule as ParseObjectIdPipe (24 hexadecimal digits, any
 * case, normalised to lower case), so an id the API gave out is accepted in every place it fits.
 */
export const IsObjectIdField = (): PropertyDecorator => {
  const normalise = Transform(({ value }: { value: unknown }) =>
    isObjectIdString(value) ? value.toLowerCase() : value,
  );
  const validate = ValidateBy({
    name: 'isObjectId',
    validator: {
      validate: (value: unknown) => isObjectIdString(value),
      defaultMessage: (args) =>
        `${args?.property ?? 'id'} must be a 24-character hexadecimal ObjectId`,
    },
  });
  return (target, key) => {
    normalise(target, key);
    validate(target, key);
  };
};

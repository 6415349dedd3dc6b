import { Injectable, PipeTransform, ArgumentMetadata } from '@nestjs/common';
import { InvalidInputError } from './errors.js';

const OBJECT_ID = /^[a-f0-9]{24}$/i;

export function isObjectIdString(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID.test(value);
}

/** Rejects a malformed `:id` path parameter with 400 before any query runs. */
@Injectable()
export class ParseObjectIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (!isObjectIdString(value)) {
      throw new InvalidInputError(
        `${metadata.data ?? 'id'} must be a 24-character hexadecimal ObjectId`,
      );
    }
    return value.toLowerCase();
  }
}

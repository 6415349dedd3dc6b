import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateBy, ValidationArguments } from 'class-validator';
import { AppError } from './errors.js';

/** One thing wrong with a request, next to the field it is about: for a form to show in place. */
export interface Problem {
  /** Full path of the field: `items.0.quantity`; the parameter's name for a path or query value. */
  field: string;
  problem: string;
}

/** At most this many problems are listed (and joined into the message); the count says how many. */
export const MAX_LISTED_PROBLEMS = 10;
/** Field paths and problems are cut to these lengths: a field name comes from the client. */
const MAX_FIELD_CHARS = 100;
const MAX_PROBLEM_CHARS = 200;

/** A request that failed validation: 400 listing the first problems, with their total. */
export class RequestValidationError extends AppError {
  readonly problems: Problem[];

  constructor(
    problems: Problem[],
    readonly problemCount = problems.length,
  ) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map(boundProblem);
    const more = problemCount - listed.length;
    super(
      'invalid',
      listed.length === 0
        ? 'Invalid request'
        : listed.map(({ field, problem }) => `${field} ${problem}`).join('; ') +
            (more > 0 ? `; and ${more} more problem${more === 1 ? '' : 's'}` : ''),
    );
    this.problems = listed;
  }
}

/** `text`, cut to `max` characters with an ellipsis. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function boundProblem({ field, problem }: Problem): Problem {
  return { field: cut(field, MAX_FIELD_CHARS), problem: cut(problem, MAX_PROBLEM_CHARS) };
}

/** Limits of array fields that come from configuration, by name: `{ orderLines: 20 }`. */
export type ArrayLimits = Record<string, number>;

/** The DTO classes with such fields: class → its limited fields. */
const limitedArrays = new WeakMap<object, Array<{ property: string; limit: string }>>();

/**
 * An array field whose length is bounded by the configured limit `limit` names. The bound is
 * checked on the body as parsed, before it is transformed or validated: a body listing 30,000
 * elements is refused for its length alone, at the cost of reading one number.
 */
export const MaxItemsFromConfig =
  (limit: string): PropertyDecorator =>
  (target, property) => {
    const fields = limitedArrays.get(target.constructor) ?? [];
    limitedArrays.set(target.constructor, [...fields, { property: String(property), limit }]);
  };

/**
 * Whitelisting validation for every body, query and parameter: unknown fields are rejected, types
 * are never coerced implicitly, and each problem names its field by its full path
 * (`items.0.quantity must not be greater than 1000`). Bounded: array limits are checked before
 * anything else, and the answer lists at most MAX_LISTED_PROBLEMS problems with their count.
 */
export class BoundedValidationPipe extends ValidationPipe {
  constructor(private readonly arrayLimits: ArrayLimits) {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const problems = describeValidationErrors(errors);
        return new RequestValidationError(problems);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const limited = metadata.metatype ? limitedArrays.get(metadata.metatype) : undefined;
    if (limited && typeof value === 'object' && value !== null) {
      const problems: Problem[] = [];
      for (const { property, limit } of limited) {
        const items: unknown = (value as Record<string, unknown>)[property];
        const max = this.arrayLimits[limit];
        if (max === undefined) throw new Error(`No configured limit named ${limit}`);
        if (Array.isArray(items) && items.length > max)
          problems.push({
            field: property,
            problem: `must contain no more than ${max} elements (${items.length} given)`,
          });
      }
      if (problems.length > 0) throw new RequestValidationError(problems);
    }
    return super.transform(value, metadata);
  }
}

/** class-validator's errors as problems, each named by its full path, in the order found. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): Problem[] {
  const problems: Problem[] = [];
  const walk = (list: ValidationError[], prefix: string): void => {
    for (const error of list) {
      const field = (prefix ? `${prefix}.${error.property}` : error.property) || '(body)';
      for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
        problems.push({ field, problem: problemOf(error.property, constraint, message) });
      }
      if (error.children?.length) walk(error.children, field);
    }
  };
  walk(errors, parent);
  return problems;
}

/** "quantity must be an integer" → "must be an integer"; an unknown field → "should not exist". */
function problemOf(property: string, constraint: string, message: string): string {
  if (constraint === 'whitelistValidation') return 'should not exist';
  if (constraint === 'nestedValidation') return 'must be an object';
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
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

/**
 * Server-side errors in the shape a real mongod reports them: `{ok: 0, errmsg, code, codeName}`
 * for commands and `{index, code, errmsg}` entries in `writeErrors` for write batches.
 */
export const ErrorCodes = {
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  NoSuchTransaction: 251,
  DuplicateKey: 11000,
  BSONObjectTooLarge: 10334,
  Location40324: 40324,
} as const;

const codeNames = new Map<number, string>(
  Object.entries(ErrorCodes).map(([name, code]) => [code, name]),
);

export class MongoServerError extends Error {
  readonly codeName: string;

  constructor(
    readonly code: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.codeName = codeNames.get(code) ?? `Location${code}`;
  }

  toReply(): Record<string, unknown> {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }

  toWriteError(index: number): Record<string, unknown> {
    return { index, code: this.code, errmsg: this.message, ...this.extra };
  }
}

export function badValue(message: string): MongoServerError {
  return new MongoServerError(ErrorCodes.BadValue, message);
}

export function failedToParse(message: string): MongoServerError {
  return new MongoServerError(ErrorCodes.FailedToParse, message);
}

/**
 * mingo reports invalid updates, queries and pipelines as plain errors; give them the code mongod
 * would.
 */
export function fromEngineError(err: unknown): MongoServerError {
  if (err instanceof MongoServerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/immutable field/i.test(message))
    return new MongoServerError(ErrorCodes.ImmutableField, message);
  const queryOperator = /^unknown (?:query |top level )operator:? (\S+)/.exec(message);
  if (queryOperator) return badValue(`unknown operator: ${queryOperator[1]}`);
  const stage = /^unregistered pipeline operator (\$\w+)/.exec(message);
  if (stage) {
    const text = `Unrecognized pipeline stage name: '${stage[1]}'`;
    return new MongoServerError(ErrorCodes.Location40324, text);
  }
  if (/^\$group specification must include an '_id'/.test(message)) {
    return new MongoServerError(15955, 'a group specification must include an _id');
  }
  if (/unknown (update )?operator|unknown modifier|invalid|unsupported/i.test(message)) {
    return failedToParse(message);
  }
  return badValue(message);
}

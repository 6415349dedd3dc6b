/**
 * Update documents as mongod reads them: operator updates, replacements and pipelines, their
 * validation errors, and the document an upsert inserts. mingo applies the operators.
 */
import { ObjectId, Timestamp } from 'bson';
import { Aggregator, update as applyOperators } from 'mingo';
import * as updateOperators from 'mingo/operators/update';
import {
  ErrorCodes,
  MongoServerError,
  badValue,
  failedToParse,
  fromEngineError,
} from './errors.js';
import { equalityConditions } from './planner.js';
import { QUERY_OPTIONS } from './query-options.js';
import { bsonBuffer } from './wire.js';
import {
  Document,
  cloneValue,
  isBsonValue,
  isNumeric,
  isPlainObject,
  keyOf,
  setPath,
  typeName,
  withIdFirst,
} from './values.js';

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$currentDate',
  '$bit',
  '$setOnInsert',
]);
const PIPELINE_STAGES = new Set([
  '$addFields',
  '$set',
  '$project',
  '$unset',
  '$replaceRoot',
  '$replaceWith',
]);

export type UpdateSpec =
  | { kind: 'operators'; modifier: Document; setOnInsert: Document | undefined }
  | { kind: 'replacement'; doc: Document }
  | { kind: 'pipeline'; stages: Document[] };

export function parseUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || !PIPELINE_STAGES.has(name)) {
        throw new MongoServerError(
          ErrorCodes.InvalidOptions,
          `${String(name)} is not allowed to be used within an update`,
        );
      }
    }
    return { kind: 'pipeline', stages: u as Document[] };
  }
  if (!isPlainObject(u))
    throw failedToParse('Update argument must be either an object or an array');
  const keys = Object.keys(u);
  if (keys.length === 0 || !keys[0].startsWith('$')) {
    const dollar = keys.find((k) => k.startsWith('$'));
    if (dollar) {
      throw new MongoServerError(
        52,
        `The dollar ($) prefixed field '${dollar}' in '${dollar}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
      );
    }
    return { kind: 'replacement', doc: u };
  }
  const modifier: Document = {};
  let setOnInsert: Document | undefined;
  for (const [op, args] of Object.entries(u)) {
    if (!OPERATORS.has(op)) {
      throw failedToParse(
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (!isPlainObject(args)) {
      throw failedToParse(
        `Modifiers operate on fields but we found type ${typeName(args)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${typeName(args)}}`,
      );
    }
    if (op === '$inc' || op === '$mul') {
      for (const [path, value] of Object.entries(args)) {
        if (!isNumeric(value)) {
          const verb = op === '$inc' ? 'increment' : 'multiply';
          throw new MongoServerError(
            ErrorCodes.TypeMismatch,
            `Cannot ${verb} with non-numeric argument: {${path}: ${JSON.stringify(value)}}`,
          );
        }
      }
    }
    if (op === '$setOnInsert') setOnInsert = args;
    else if (Object.keys(args).length > 0) modifier[op] = args;
  }
  checkConflicts(u);
  return { kind: 'operators', modifier, setOnInsert };
}

function checkConflicts(update: Document): void {
  const paths: string[] = [];
  for (const [op, args] of Object.entries(update)) {
    for (const [path, value] of Object.entries(args as Document)) {
      paths.push(path);
      if (op === '$rename' && typeof value === 'string') paths.push(value);
    }
  }
  const normalized = paths.map((p) => p.replace(/\.\$(\[[^\]]*\])?/g, ''));
  for (let i = 0; i < normalized.length; i++) {
    for (let j = i + 1; j < normalized.length; j++) {
      const [a, b] = [normalized[i], normalized[j]];
      if (a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)) {
        throw new MongoServerError(
          ErrorCodes.ConflictingUpdateOperators,
          `Updating the path '${paths[j]}' would create a conflict at '${paths[i]}'`,
        );
      }
    }
  }
}

export interface ApplyOptions {
  query: Document;
  arrayFilters?: Document[];
  /** The update runs as part of an upsert's insert: `$setOnInsert` applies. */
  inserting: boolean;
}

/** Returns the updated document as a new object; `current` is left untouched. */
/**
 * The top-level fields an update may change, when the update says so: an operator update names
 * its targets. Undefined for a replacement or a pipeline, which may change anything.
 */
export function touchedFields(spec: UpdateSpec): Set<string> | undefined {
  if (spec.kind !== 'operators') return undefined;
  const fields = new Set<string>();
  for (const [op, args] of Object.entries(spec.modifier)) {
    for (const path of Object.keys(args as Document)) fields.add(path.split('.')[0] ?? path);
    // $rename also writes its target.
    if (op === '$rename')
      for (const to of Object.values(args as Document))
        if (typeof to === 'string') fields.add(to.split('.')[0] ?? to);
  }
  return fields;
}

export function applyUpdate(current: Document, spec: UpdateSpec, options: ApplyOptions): Document {
  const id = current._id;
  let next: Document;
  try {
    switch (spec.kind) {
      case 'replacement':
        if (
          '_id' in spec.doc &&
          current._id !== undefined &&
          keyOf(spec.doc._id) !== keyOf(current._id)
        ) {
          throw new MongoServerError(
            ErrorCodes.ImmutableField,
            `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(spec.doc._id)}`,
          );
        }
        next = cloneValue(spec.doc);
        break;
      case 'pipeline': {
        const [result] = new Aggregator(spec.stages, QUERY_OPTIONS).run<Document>([
          cloneValue(current),
        ]);
        next = result;
        break;
      }
      case 'operators': {
        next = cloneValue(current);
        const modifier =
          options.inserting && spec.setOnInsert
            ? {
                ...spec.modifier,
                $set: { ...(spec.modifier.$set as Document | undefined), ...spec.setOnInsert },
              }
            : spec.modifier;
        checkTargets(next, modifier);
        applyModifier(next, withCurrentDates(setIdApart(next, modifier)), options);
        break;
      }
    }
  } catch (err) {
    throw fromEngineError(err);
  }
  if (id !== undefined && '_id' in next && keyOf(next._id) !== keyOf(id)) {
    throw new MongoServerError(
      ErrorCodes.ImmutableField,
      `Performing an update on the path '_id' would modify the immutable field '_id'`,
    );
  }
  return withIdFirst(next, id ?? next._id);
}

/**
 * mingo's `update()` rebuilds its operator context on every call, which dominated the cost of a
 * point update. Only the positional `$` operator needs the query, so every other update calls
 * mingo's operator functions directly.
 */
function applyModifier(doc: Document, modifier: Document, options: ApplyOptions): void {
  const positional = Object.values(modifier).some((args) =>
    Object.keys(args as Document).some((path) => /(^|\.)\$(\.|$)/.test(path)),
  );
  if (positional) {
    applyOperators(doc, modifier, options.arrayFilters, options.query, {
      cloneMode: 'deep',
      queryOptions: QUERY_OPTIONS,
    });
    return;
  }
  for (const [op, args] of Object.entries(modifier)) {
    const operator = UPDATE_OPERATORS[op];
    if (!operator) throw failedToParse(`Unknown modifier: ${op}`);
    operator(args as Record<string, never>, options.arrayFilters ?? [])(doc);
  }
}

type UpdateOperator = (
  expr: Record<string, never>,
  arrayFilters: Document[],
) => (doc: Document) => string[];

const UPDATE_OPERATORS: Record<string, UpdateOperator> = Object.fromEntries(
  Object.entries(updateOperators).filter(([name]) => name.startsWith('$')),
) as Record<string, UpdateOperator>;

/** `$currentDate` becomes a `$set` of the server's clock, read once per update as in mongod. */
function withCurrentDates(modifier: Document): Document {
  const fields = modifier.$currentDate as Document | undefined;
  if (!fields) return modifier;
  const now = new Date();
  const values: Document = {};
  for (const [path, spec] of Object.entries(fields)) {
    const wantsTimestamp = isPlainObject(spec) && spec.$type === 'timestamp';
    values[path] = wantsTimestamp
      ? new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 })
      : now;
  }
  const { $currentDate: _dates, ...rest } = modifier;
  return { ...rest, $set: { ...(rest.$set as Document | undefined), ...values } };
}

/**
 * mingo refuses any operator on `_id`, but mongod lets `$set` (and so `$setOnInsert`) give a
 * document the `_id` it already has, or an upserted document its first one. Applies such an
 * `_id` to `doc` and returns the modifier without it; a different `_id` fails afterwards.
 */
function setIdApart(doc: Document, modifier: Document): Document {
  const set = modifier.$set as Document | undefined;
  if (!set || !('_id' in set)) return modifier;
  const { _id: id, ...rest } = set;
  if (doc._id === undefined) doc._id = cloneValue(id);
  else if (keyOf(id) !== keyOf(doc._id)) {
    throw new MongoServerError(
      ErrorCodes.ImmutableField,
      `Performing an update on the path '_id' would modify the immutable field '_id'`,
    );
  }
  return { ...modifier, $set: rest };
}

/** Operators that create the field they name when it is missing. */
const CREATING_OPERATORS = new Set([
  '$set',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$currentDate',
  '$bit',
  '$rename',
]);

/**
 * mingo skips an operator whose target has the wrong type or cannot exist (a field inside a
 * number, null or array), where mongod fails the update: check the targets first and answer
 * with mongod's errors. Positional paths are left to mingo.
 */
function checkTargets(doc: Document, modifier: Document): void {
  for (const [op, args] of Object.entries(modifier)) {
    for (const [path, arg] of Object.entries(args as Document)) {
      // $rename creates its destination, unless a missing source makes it a no-op.
      const renaming = op === '$rename' && typeof arg === 'string';
      if (renaming && !exists(lookUp(doc, path))) continue;
      const target = renaming ? arg : path;
      if (target.includes('$')) continue;
      const found = lookUp(doc, target);
      if ('blockedBy' in found) {
        if (!CREATING_OPERATORS.has(op)) continue;
        const { field, parent, value } = found.blockedBy;
        throw new MongoServerError(
          ErrorCodes.PathNotViable,
          `Cannot create field '${field}' in element {${parent}: ${JSON.stringify(value)}}`,
        );
      }
      if (!found.exists || op === '$rename') continue;
      checkTargetType(op, path, found.value, arg, doc._id);
    }
  }
}

function checkTargetType(
  op: string,
  path: string,
  value: unknown,
  arg: unknown,
  id: unknown,
): void {
  const type = typeName(value);
  switch (op) {
    case '$inc':
    case '$mul':
      if (!isNumeric(value)) {
        throw new MongoServerError(
          ErrorCodes.TypeMismatch,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${JSON.stringify(id)}} has the field '${path}' of non-numeric type ${type}`,
        );
      }
      break;
    case '$push':
      if (!Array.isArray(value)) {
        throw badValue(
          `The field '${path}' must be an array but is of type ${type} in document {_id: ${JSON.stringify(id)}}`,
        );
      }
      break;
    case '$addToSet':
      if (!Array.isArray(value)) {
        throw badValue(
          `Cannot apply $addToSet to non-array field. Field named '${path}' has non-array type ${type}`,
        );
      }
      break;
    case '$pull':
    case '$pullAll':
      if (!Array.isArray(value)) throw badValue('Cannot apply $pull to a non-array value');
      break;
    case '$pop':
      if (!Array.isArray(value)) {
        throw new MongoServerError(
          ErrorCodes.TypeMismatch,
          `Path '${path}' contains an element of non-array type '${type}'`,
        );
      }
      break;
  }
  // mingo does arithmetic and ordering on JS numbers only: it would skip the update silently.
  if (['$inc', '$mul', '$min', '$max'].includes(op) && (isWideNumber(value) || isWideNumber(arg))) {
    throw badValue(`${op} on long or decimal values is not supported by the offline server`);
  }
}

function isWideNumber(value: unknown): boolean {
  return isBsonValue(value) && (value._bsontype === 'Long' || value._bsontype === 'Decimal128');
}

type LookUp =
  | { exists: boolean; value?: unknown }
  | { blockedBy: { field: string; parent: string; value: unknown } };

function exists(found: LookUp): boolean {
  return 'exists' in found && found.exists;
}

/** The value at a dotted path without array expansion, or what stops the path from existing. */
function lookUp(doc: Document, path: string): LookUp {
  const parts = path.split('.');
  let value: unknown = doc;
  for (const [i, part] of parts.entries()) {
    if (isPlainObject(value)) {
      if (!(part in value)) return { exists: false };
      value = value[part];
    } else if (Array.isArray(value) && /^\d+$/.test(part)) {
      if (Number(part) >= value.length) return { exists: false };
      value = value[Number(part)];
    } else {
      return { blockedBy: { field: part, parent: parts[i - 1] ?? '', value } };
    }
  }
  return { exists: true, value };
}

export function sameDocument(a: Document, b: Document): boolean {
  return bsonBuffer(a).equals(bsonBuffer(b));
}

/** The document an upsert inserts: equality fields of the query, then the update. */
export function upsertDocument(
  query: Document,
  spec: UpdateSpec,
  arrayFilters?: Document[],
): Document {
  const seed: Document = {};
  if (spec.kind === 'replacement') {
    if (!('_id' in spec.doc)) {
      const queryId = equalityConditions(query).get('_id');
      if (queryId?.length === 1) seed._id = cloneValue(queryId[0]);
    }
  } else {
    for (const [path, values] of equalityConditions(query)) {
      if (values.length === 1 && !path.includes('$')) setPath(seed, path, cloneValue(values[0]));
    }
  }
  const id = seed._id ?? (spec.kind === 'replacement' ? spec.doc._id : undefined);
  const doc = applyUpdate(id === undefined ? seed : withIdFirst(seed, id), spec, {
    query,
    arrayFilters,
    inserting: true,
  });
  return doc._id === undefined ? withIdFirst(doc, new ObjectId()) : doc;
}

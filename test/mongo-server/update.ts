/**
 * Update documents as mongod reads them: operator updates, replacements and pipelines, their
 * validation errors, and the document an upsert inserts. mingo applies the operators.
 */
import { ObjectId } from 'bson';
import { Aggregator, update as applyOperators } from 'mingo';
import { ErrorCodes, MongoServerError, failedToParse, fromEngineError } from './errors';
import { equalityConditions } from './collection';
import { QUERY_OPTIONS } from './query-options';
import { bsonBuffer } from './wire';
import {
  Document,
  cloneValue,
  getPath,
  isNumeric,
  isPlainObject,
  keyOf,
  setPath,
  typeName,
  withIdFirst,
} from './values';

const OPERATORS = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$push', '$pull', '$pullAll',
  '$addToSet', '$pop', '$currentDate', '$bit', '$setOnInsert',
]);
const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export type UpdateSpec =
  | { kind: 'operators'; modifier: Document; setOnInsert: Document | undefined }
  | { kind: 'replacement'; doc: Document }
  | { kind: 'pipeline'; stages: Document[] };

export function parseUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || !PIPELINE_STAGES.has(name)) {
        throw new MongoServerError(ErrorCodes.InvalidOptions, `${String(name)} is not allowed to be used within an update`);
      }
    }
    return { kind: 'pipeline', stages: u as Document[] };
  }
  if (!isPlainObject(u)) throw failedToParse('Update argument must be either an object or an array');
  const keys = Object.keys(u);
  if (keys.length === 0 || !keys[0].startsWith('$')) {
    const dollar = keys.find((k) => k.startsWith('$'));
    if (dollar) {
      throw new MongoServerError(52, `The dollar ($) prefixed field '${dollar}' in '${dollar}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`);
    }
    return { kind: 'replacement', doc: u };
  }
  const modifier: Document = {};
  let setOnInsert: Document | undefined;
  for (const [op, args] of Object.entries(u)) {
    if (!OPERATORS.has(op)) {
      throw failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainObject(args)) {
      throw failedToParse(`Modifiers operate on fields but we found type ${typeName(args)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${typeName(args)}}`);
    }
    if (op === '$inc' || op === '$mul') {
      for (const [path, value] of Object.entries(args)) {
        if (!isNumeric(value)) {
          const verb = op === '$inc' ? 'increment' : 'multiply';
          throw new MongoServerError(ErrorCodes.TypeMismatch, `Cannot ${verb} with non-numeric argument: {${path}: ${JSON.stringify(value)}}`);
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
        throw new MongoServerError(ErrorCodes.ConflictingUpdateOperators, `Updating the path '${paths[j]}' would create a conflict at '${paths[i]}'`);
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
export function applyUpdate(current: Document, spec: UpdateSpec, options: ApplyOptions): Document {
  const id = current._id;
  let next: Document;
  try {
    switch (spec.kind) {
      case 'replacement':
        if ('_id' in spec.doc && current._id !== undefined && keyOf(spec.doc._id) !== keyOf(current._id)) {
          throw new MongoServerError(ErrorCodes.ImmutableField, `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(spec.doc._id)}`);
        }
        next = cloneValue(spec.doc);
        break;
      case 'pipeline': {
        const [result] = new Aggregator(spec.stages, QUERY_OPTIONS).run([cloneValue(current)]) as Document[];
        next = result;
        break;
      }
      case 'operators': {
        next = cloneValue(current);
        const modifier = options.inserting && spec.setOnInsert
          ? { ...spec.modifier, $set: { ...(spec.modifier.$set as Document | undefined), ...spec.setOnInsert } }
          : spec.modifier;
        checkArithmeticTargets(next, modifier);
        applyOperators(next, modifier, options.arrayFilters, options.query, {
          cloneMode: 'deep',
          queryOptions: QUERY_OPTIONS,
        });
        break;
      }
    }
  } catch (err) {
    throw fromEngineError(err);
  }
  if (id !== undefined && '_id' in next && keyOf(next._id) !== keyOf(id)) {
    throw new MongoServerError(ErrorCodes.ImmutableField, `Performing an update on the path '_id' would modify the immutable field '_id'`);
  }
  return withIdFirst(next, id ?? next._id);
}

function checkArithmeticTargets(doc: Document, modifier: Document): void {
  for (const op of ['$inc', '$mul'] as const) {
    const args = modifier[op] as Document | undefined;
    for (const path of Object.keys(args ?? {})) {
      if (path.includes('$')) continue;
      const value = getPath(doc, path);
      if (value !== undefined && !isNumeric(value)) {
        throw new MongoServerError(ErrorCodes.TypeMismatch, `Cannot apply ${op} to a value of non-numeric type. {_id: ${JSON.stringify(doc._id)}} has the field '${path}' of non-numeric type ${typeName(value)}`);
      }
    }
  }
}

export function sameDocument(a: Document, b: Document): boolean {
  return bsonBuffer(a).equals(bsonBuffer(b));
}

/** The document an upsert inserts: equality fields of the query, then the update. */
export function upsertDocument(query: Document, spec: UpdateSpec, arrayFilters?: Document[]): Document {
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
  const doc = applyUpdate(
    id === undefined ? seed : withIdFirst(seed, id),
    spec,
    { query, arrayFilters, inserting: true },
  );
  return doc._id === undefined ? withIdFirst(doc, new ObjectId()) : doc;
}

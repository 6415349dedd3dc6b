/**
 * Secondary indexes: key extraction with multikey expansion, unique enforcement, and equality
 * lookups that let the planner avoid scanning the collection.
 */
import { Query } from 'mingo';
import { ErrorCodes, MongoServerError, badValue } from './errors.js';
import { Document, isPlainObject, keyOf, valuesAtPath } from './values.js';

export interface IndexSpec {
  v: number;
  key: Record<string, number | string>;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
  [option: string]: unknown;
}

interface IndexEntry {
  key: string;
  values: unknown[];
}

const SEPARATOR = '\u0000';

export function defaultIndexName(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([field, dir]) => `${field}_${String(dir)}`)
    .join('_');
}

export function validateIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw)) throw badValue('index specification must be an object');
  const { key, name } = raw;
  if (!isPlainObject(key) || Object.keys(key).length === 0) {
    throw new MongoServerError(
      ErrorCodes.FailedToParse,
      "The 'key' field must be a non-empty object",
    );
  }
  for (const [field, dir] of Object.entries(key)) {
    const valid = (typeof dir === 'number' && dir !== 0) || typeof dir === 'string';
    if (!valid) throw badValue(`Values in the index key pattern can't be 0: ${field}`);
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new MongoServerError(
      ErrorCodes.FailedToParse,
      "The 'name' field is a required property of an index specification",
    );
  }
  if (raw.partialFilterExpression !== undefined && !isPlainObject(raw.partialFilterExpression)) {
    throw badValue('partialFilterExpression must be an object');
  }
  return { ...raw, v: 2, key: key as IndexSpec['key'], name };
}

/** Options that make two indexes on the same key pattern different indexes. */
export function sameIndexOptions(a: IndexSpec, b: IndexSpec): boolean {
  const pick = (s: IndexSpec) =>
    JSON.stringify([
      !!s.unique,
      !!s.sparse,
      s.partialFilterExpression ?? null,
      s.expireAfterSeconds ?? null,
    ]);
  return pick(a) === pick(b);
}

export class Index {
  readonly fields: string[];
  /** Full compound key → ids of the documents holding it. */
  private readonly entries = new Map<string, Set<string>>();
  /** First field's key → ids, so equality on a prefix of a compound index is a lookup. */
  private readonly byFirstField: Map<string, Set<string>>;
  private readonly partialFilter?: Query;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.byFirstField = this.fields.length === 1 ? this.entries : new Map();
    if (spec.partialFilterExpression) this.partialFilter = new Query(spec.partialFilterExpression);
  }

  get name(): string {
    return this.spec.name;
  }

  /** Whether equality lookups through this index find every matching document. */
  get coversEquality(): boolean {
    return (
      !this.spec.sparse &&
      !this.partialFilter &&
      !Object.values(this.spec.key).some((d) => typeof d === 'string')
    );
  }

  entriesFor(doc: Document): IndexEntry[] {
    if (this.partialFilter && !this.partialFilter.test(doc)) return [];
    const perField = this.fields.map((field) => valuesAtPath(doc, field));
    if (
      this.spec.sparse &&
      perField.every((values) => values.length === 1 && values[0] === undefined)
    ) {
      return [];
    }
    let combos: unknown[][] = [[]];
    for (const values of perField) {
      const unique = dedupe(values);
      combos = combos.flatMap((prefix) => unique.map((v) => [...prefix, v]));
    }
    return combos.map((values) => ({ key: values.map(keyOf).join(SEPARATOR), values }));
  }

  /** Throws the duplicate-key error mongod reports if `doc` would collide with another document. */
  checkUnique(doc: Document, idKey: string, ns: string): void {
    if (!this.spec.unique) return;
    for (const entry of this.entriesFor(doc)) {
      const holders = this.entries.get(entry.key);
      if (!holders) continue;
      for (const holder of holders) {
        if (holder !== idKey) throw this.duplicateKeyError(entry.values, ns);
      }
    }
  }

  add(doc: Document, idKey: string): void {
    for (const entry of this.entriesFor(doc)) {
      addTo(this.entries, entry.key, idKey);
      if (this.byFirstField !== this.entries)
        addTo(this.byFirstField, keyOf(entry.values[0]), idKey);
    }
  }

  remove(doc: Document, idKey: string): void {
    for (const entry of this.entriesFor(doc)) {
      removeFrom(this.entries, entry.key, idKey);
      if (this.byFirstField !== this.entries)
        removeFrom(this.byFirstField, keyOf(entry.values[0]), idKey);
    }
  }

  clear(): void {
    this.entries.clear();
    this.byFirstField.clear();
  }

  /** Ids of documents whose first indexed field equals one of `values`. */
  lookupFirstField(values: unknown[]): Set<string> {
    const ids = new Set<string>();
    for (const value of values) {
      for (const id of this.byFirstField.get(keyOf(value)) ?? []) ids.add(id);
    }
    return ids;
  }

  duplicateKeyError(values: unknown[], ns: string): MongoServerError {
    const keyValue: Document = {};
    this.fields.forEach(
      (field, i) => (keyValue[field] = values[i] === undefined ? null : values[i]),
    );
    const shown = this.fields
      .map((field, i) => `${field}: ${JSON.stringify(values[i] ?? null)}`)
      .join(', ');
    return new MongoServerError(
      ErrorCodes.DuplicateKey,
      `E11000 duplicate key error collection: ${ns} index: ${this.name} dup key: { ${shown} }`,
      { keyPattern: this.spec.key, keyValue },
    );
  }
}

function dedupe(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = keyOf(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}

/**
 * Secondary indexes: key extraction with multikey expansion, unique enforcement, and equality
 * lookups that let the planner avoid scanning the collection.
 */
import { Query } from 'mingo';
import { ErrorCodes, MongoServerError, badValue } from './errors.js';
import { Document, isOperatorObject, isPlainObject, keyOf, valuesAtPath } from './values.js';

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

export interface IndexEntry {
  key: string;
  values: unknown[];
  /** keyOf of each value, from which the key of every prefix is built. */
  parts: string[];
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
  /**
   * For k = 1..n, the key of the first k fields → ids of the documents holding it, so equality on
   * any prefix of a compound index is a lookup; the last map holds the full key.
   */
  private readonly byPrefix: IdMap[];
  private readonly partialFilter?: Query;
  /** The partial filter as path → value key when it is plain equalities; null when it is not. */
  readonly partialEqualities?: Map<string, string> | null;
  /** Ascending and descending keys hold values as they are; hashed, text and geo keys do not. */
  readonly lookupable: boolean;
  /**
   * The top-level fields its entries depend on (key fields and the fields its partial filter
   * reads), or undefined when that cannot be told (a partial filter with operators over several
   * fields): then every update recomputes its entries.
   */
  readonly dependsOn?: ReadonlySet<string>;
  /**
   * The distinct dates of the first field, ascending, with their keys: a range of dates on that
   * field (`createdAt: {$gte, $lt}`) is read from the index as mongod reads a B-tree, instead of
   * scanning the collection. Values arrive mostly in order (acceptance times), so keeping the array
   * sorted is an append.
   */
  private readonly firstDates: Array<{ ms: number; key: string }> = [];

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.byPrefix = this.fields.map((): IdMap => new Map());
    this.lookupable = Object.values(spec.key).every((d) => typeof d === 'number');
    if (spec.partialFilterExpression) {
      this.partialFilter = new Query(spec.partialFilterExpression);
      this.partialEqualities = partialEqualities(spec.partialFilterExpression);
    }
    const filterFields = Object.keys(spec.partialFilterExpression ?? {});
    if (!filterFields.some((f) => f.startsWith('$')))
      this.dependsOn = new Set(
        [...this.fields, ...filterFields].map((path) => path.split('.')[0] ?? path),
      );
  }

  get name(): string {
    return this.spec.name;
  }

  private get entries(): IdMap {
    return this.byPrefix[this.byPrefix.length - 1];
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
    if (perField.every((values) => values.length === 1)) {
      // The usual case, no array on any key path: one entry, built without the combinations.
      const values = perField.map((v) => v[0]);
      const parts = values.map(keyOf);
      return [{ key: parts.join(SEPARATOR), values, parts }];
    }
    let combos: unknown[][] = [[]];
    for (const values of perField) {
      const unique = dedupe(values);
      combos = combos.flatMap((prefix) => unique.map((v) => [...prefix, v]));
    }
    return combos.map((values) => {
      const parts = values.map(keyOf);
      return { key: parts.join(SEPARATOR), values, parts };
    });
  }

  /** Throws the duplicate-key error mongod reports if `doc` would collide with another document. */
  checkUnique(doc: Document, idKey: string, ns: string, entries = this.entriesFor(doc)): void {
    if (!this.spec.unique) return;
    for (const entry of entries) {
      for (const holder of holdersOf(this.entries, entry.key)) {
        if (holder !== idKey) throw this.duplicateKeyError(entry.values, ns);
      }
    }
  }

  add(doc: Document, idKey: string, entries = this.entriesFor(doc)): void {
    for (const entry of entries) {
      const [first] = entry.values;
      if (first instanceof Date && !this.byPrefix[0].has(entry.parts[0] ?? ''))
        this.addFirstDate(first.getTime(), entry.parts[0] ?? '');
      this.eachPrefix(entry, (map, key) => addTo(map, key, idKey));
    }
  }

  remove(doc: Document, idKey: string, entries = this.entriesFor(doc)): void {
    for (const entry of entries) {
      this.eachPrefix(entry, (map, key) => removeFrom(map, key, idKey));
      const [first] = entry.values;
      if (first instanceof Date && !this.byPrefix[0].has(entry.parts[0] ?? ''))
        this.removeFirstDate(first.getTime());
    }
  }

  /**
   * Ids of the documents whose first field is a date within the bounds (each undefined for an open
   * end), each once: a superset is never needed, the whole filter is tested afterwards anyway.
   */
  *dateRangeIds(bounds: DateBounds): Iterable<string> {
    const dates = this.firstDates;
    let i = firstAtLeast(dates, bounds.min?.ms ?? -Infinity);
    if (bounds.min && !bounds.min.inclusive && dates[i]?.ms === bounds.min.ms) i++;
    const seen = new Set<string>();
    for (; i < dates.length; i++) {
      const date = dates[i];
      if (!date) break;
      if (
        bounds.max &&
        (date.ms > bounds.max.ms || (!bounds.max.inclusive && date.ms === bounds.max.ms))
      )
        break;
      for (const id of holdersOf(this.byPrefix[0], date.key)) {
        if (seen.has(id)) continue;
        seen.add(id);
        yield id;
      }
    }
  }

  private addFirstDate(ms: number, key: string): void {
    const dates = this.firstDates;
    const last = dates[dates.length - 1];
    if (!last || last.ms < ms) dates.push({ ms, key });
    else dates.splice(firstAtLeast(dates, ms), 0, { ms, key });
  }

  private removeFirstDate(ms: number): void {
    const i = firstAtLeast(this.firstDates, ms);
    if (this.firstDates[i]?.ms === ms) this.firstDates.splice(i, 1);
  }

  private eachPrefix(entry: IndexEntry, apply: (map: IdMap, key: string) => void): void {
    if (this.byPrefix.length === 1) {
      apply(this.entries, entry.key);
      return;
    }
    let key = '';
    entry.parts.forEach((part, i) => {
      key = i === 0 ? part : key + SEPARATOR + part;
      apply(this.byPrefix[i], key);
    });
  }

  /** Keys of every combination of the given values for the index's first `values.length` fields. */
  lookupKeys(values: unknown[][]): string[] {
    let keys = [''];
    values.forEach((candidates, i) => {
      const parts = [...new Set(candidates.map(keyOf))];
      keys = keys.flatMap((prefix) =>
        parts.map((part) => (i === 0 ? part : prefix + SEPARATOR + part)),
      );
    });
    return keys;
  }

  /** How many ids the keys of a `fields`-long prefix hold, a document counted once per key. */
  estimate(fields: number, keys: string[]): number {
    const map = this.byPrefix[fields - 1];
    let n = 0;
    for (const key of keys) {
      const holders = map.get(key);
      n += holders === undefined ? 0 : typeof holders === 'string' ? 1 : holders.size;
    }
    return n;
  }

  /**
   * Ids of the documents holding any of `keys` (from lookupKeys) on a `fields`-long prefix, each
   * once, produced as they are read: a query with a limit stops early, as it does in mongod, so
   * `findOne({status: 'PENDING'})` costs one lookup however many orders are pending. Read them
   * before changing the collection.
   */
  *ids(fields: number, keys: string[]): Iterable<string> {
    const map = this.byPrefix[fields - 1];
    if (keys.length === 1) {
      yield* holdersOf(map, keys[0]);
      return;
    }
    const seen = new Set<string>();
    for (const key of keys) {
      for (const id of holdersOf(map, key)) {
        if (seen.has(id)) continue;
        seen.add(id);
        yield id;
      }
    }
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

/** Bounds on a date: `min` and `max` each given or open, inclusive or not. */
export interface DateBounds {
  min?: { ms: number; inclusive: boolean };
  max?: { ms: number; inclusive: boolean };
}

/** The index of the first date at or after `ms` (binary search). */
function firstAtLeast(dates: ReadonlyArray<{ ms: number }>, ms: number): number {
  let [lo, hi] = [0, dates.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((dates[mid]?.ms ?? Infinity) < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

/**
 * Key → ids of the documents holding it. Most keys of a compound index that ends in a unique
 * field (`{status, createdAt, _id}`) are held by one document: such a key holds the id itself, and
 * becomes a Set only when a second document shares it (fewer objects for the collector).
 */
type IdMap = Map<string, string | Set<string>>;

function holdersOf(map: IdMap, key: string): Iterable<string> {
  const holders = map.get(key);
  return holders === undefined ? [] : typeof holders === 'string' ? [holders] : holders;
}

function addTo(map: IdMap, key: string, id: string): void {
  const holders = map.get(key);
  if (holders === undefined) map.set(key, id);
  else if (typeof holders === 'string') {
    if (holders !== id) map.set(key, new Set([holders, id]));
  } else holders.add(id);
}

function removeFrom(map: IdMap, key: string, id: string): void {
  const holders = map.get(key);
  if (holders === undefined) return;
  if (typeof holders === 'string') {
    if (holders === id) map.delete(key);
    return;
  }
  holders.delete(id);
  if (holders.size === 1) map.set(key, holders.values().next().value as string);
  else if (holders.size === 0) map.delete(key);
}

/** A value an index finds by key: not a pattern, not a whole array, not an operator object. */
export function indexable(value: unknown): boolean {
  return !(value instanceof RegExp) && !Array.isArray(value) && !isOperatorObject(value);
}

/**
 * A `partialFilterExpression` made only of equalities (`{a: v}`, `{a: {$eq: v}}`, under `$and`
 * too) as path → key of the value; null for any other shape, which the planner never relies on.
 */
export function partialEqualities(expression: Document): Map<string, string> | null {
  const out = new Map<string, string>();
  const visit = (conditions: Document): boolean =>
    Object.entries(conditions).every(([path, cond]) => {
      if (path === '$and') {
        return Array.isArray(cond) && cond.every((c) => isPlainObject(c) && visit(c));
      }
      if (path.startsWith('$')) return false;
      const value = isOperatorObject(cond) && Object.keys(cond).join() === '$eq' ? cond.$eq : cond;
      if (!indexable(value)) return false;
      const key = keyOf(value);
      if (out.has(path) && out.get(path) !== key) return false;
      out.set(path, key);
      return true;
    });
  return visit(expression) ? out : null;
}

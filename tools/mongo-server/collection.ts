/**
 * One collection: documents in natural (insertion) order keyed by `_id`, and its indexes, through
 * which the planner (planner.ts) turns `_id` and indexed equality conditions into lookups.
 * Stored documents are never mutated in place: every write replaces the object, so cursors and
 * callers holding a document see a consistent snapshot.
 */
import { calculateObjectSize, Binary, UUID } from 'bson';
import { Query } from 'mingo';
import { ErrorCodes, MongoServerError, badValue } from './errors.js';
import { Index, IndexEntry, IndexSpec, sameIndexOptions } from './indexes.js';
import { dateRangeLookup, equalityConditions, idLookupValues, indexLookup } from './planner.js';
import { Document, isPlainObject, keyOf } from './values.js';

export const MAX_BSON_SIZE = 16 * 1024 * 1024;
export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

/** Receives every change so a persistent store can journal it. */
export interface ChangeSink {
  put(collection: Collection, doc: Document): void;
  remove(collection: Collection, id: unknown): void;
  indexCreated(collection: Collection, spec: IndexSpec): void;
  indexDropped(collection: Collection, name: string): void;
}

export class Collection {
  private readonly docs = new Map<string, Document>();
  private readonly indexes = new Map<string, Index>();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Document,
    readonly uuid: Binary,
    private readonly sink?: ChangeSink,
  ) {}

  static create(db: string, name: string, options: Document, sink?: ChangeSink): Collection {
    return new Collection(db, name, options, new UUID().toBinary(), sink);
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.docs.size;
  }

  all(): IterableIterator<Document> {
    return this.docs.values();
  }

  indexSpecs(): IndexSpec[] {
    return [ID_INDEX, ...[...this.indexes.values()].map((index) => index.spec)];
  }

  ttlIndexes(): IndexSpec[] {
    return [...this.indexes.values()]
      .map((index) => index.spec)
      .filter(
        (spec) => typeof spec.expireAfterSeconds === 'number' && Object.keys(spec.key).length === 1,
      );
  }

  findById(id: unknown): Document | undefined {
    return this.docs.get(keyOf(id));
  }

  insert(doc: Document): void {
    checkStorable(doc);
    const idKey = keyOf(doc._id);
    if (this.docs.has(idKey)) {
      throw new MongoServerError(
        ErrorCodes.DuplicateKey,
        `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${JSON.stringify(doc._id)} }`,
        { keyPattern: { _id: 1 }, keyValue: { _id: doc._id } },
      );
    }
    for (const index of this.indexes.values()) index.checkUnique(doc, idKey, this.ns);
    this.docs.set(idKey, doc);
    for (const index of this.indexes.values()) index.add(doc, idKey);
    this.sink?.put(this, doc);
  }

  /**
   * Replaces a stored document by a new version with the same `_id`. Indexes whose keys the change
   * leaves alone are not touched (most updates change a field or two of a document with several
   * indexes).
   */
  /**
   * Stores `next` in place of `current`. `touched`, when given, holds every top-level field the
   * update may have changed: an index that depends on none of them keeps its entries untouched
   * (its keys cannot have changed), which spares computing its keys twice.
   */
  replace(current: Document, next: Document, touched?: ReadonlySet<string>): void {
    checkStorable(next);
    const idKey = keyOf(current._id);
    const changed: Array<{ index: Index; before: IndexEntry[]; after: IndexEntry[] }> = [];
    for (const index of this.indexes.values()) {
      if (touched && index.dependsOn && ![...index.dependsOn].some((f) => touched.has(f))) continue;
      const before = index.entriesFor(current);
      const after = index.entriesFor(next);
      if (sameKeys(before, after)) continue;
      index.checkUnique(next, idKey, this.ns, after);
      changed.push({ index, before, after });
    }
    for (const { index, before } of changed) index.remove(current, idKey, before);
    this.docs.set(idKey, next);
    for (const { index, after } of changed) index.add(next, idKey, after);
    this.sink?.put(this, next);
  }

  remove(doc: Document): void {
    const idKey = keyOf(doc._id);
    if (!this.docs.delete(idKey)) return;
    for (const index of this.indexes.values()) index.remove(doc, idKey);
    this.sink?.remove(this, doc._id);
  }

  /** Documents that may match `filter`, from an index when the filter allows it. */
  candidates(filter: Document): Iterable<Document> {
    const equalities = equalityConditions(filter);
    const ids = equalities.get('_id');
    if (ids) return this.byIds(ids);
    if (this.indexes.size === 0) return this.docs.values();
    const found =
      (equalities.size > 0 ? indexLookup(this.indexes.values(), equalities) : undefined) ??
      dateRangeLookup(this.indexes.values(), filter);
    return found ? this.fetch(found) : this.docs.values();
  }

  /** Matching documents in natural order; `limit` 0 means no limit. */
  match(filter: Document, limit = 0): Document[] {
    // A top-level `_id` by value, `$eq` or `$in` finds exactly the documents that satisfy it:
    // only the rest of the filter is tested (none of it for a plain _id lookup).
    const ids = idLookupValues(filter);
    const rest = ids ? withoutId(filter) : filter;
    const query = Object.keys(rest).length === 0 ? undefined : new Query(rest);
    const out: Document[] = [];
    for (const doc of ids ? this.byIds(ids) : this.candidates(filter)) {
      if (query && !query.test(doc)) continue;
      out.push(doc);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /** The documents with these _id values, each once (a value repeated in $in finds it once). */
  private byIds(ids: unknown[]): Iterable<Document> {
    return this.fetch(ids.length === 1 ? [keyOf(ids[0])] : new Set(ids.map(keyOf)));
  }

  /** Returns false when an identical index already exists (a no-op, as in mongod). */
  createIndex(spec: IndexSpec): boolean {
    if (spec.name === ID_INDEX.name || sameKey(spec.key, ID_INDEX.key)) {
      if (spec.name === ID_INDEX.name && sameKey(spec.key, ID_INDEX.key)) return false;
      throw new MongoServerError(
        ErrorCodes.BadValue,
        `cannot create an index named _id_ on another key or a second _id index`,
      );
    }
    const byName = this.indexes.get(spec.name);
    if (byName) {
      if (sameKey(byName.spec.key, spec.key) && sameIndexOptions(byName.spec, spec)) return false;
      throw new MongoServerError(
        ErrorCodes.IndexKeySpecsConflict,
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
      );
    }
    for (const existing of this.indexes.values()) {
      if (sameKey(existing.spec.key, spec.key)) {
        throw new MongoServerError(
          ErrorCodes.IndexOptionsConflict,
          `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`,
        );
      }
    }
    const index = new Index(spec);
    for (const [idKey, doc] of this.docs) {
      index.checkUnique(doc, idKey, this.ns);
      index.add(doc, idKey);
    }
    this.indexes.set(spec.name, index);
    this.sink?.indexCreated(this, spec);
    return true;
  }

  dropIndex(name: string): void {
    if (name === ID_INDEX.name)
      throw new MongoServerError(ErrorCodes.InvalidOptions, 'cannot drop _id index');
    if (!this.indexes.delete(name)) {
      throw new MongoServerError(ErrorCodes.IndexNotFound, `index not found with name [${name}]`);
    }
    this.sink?.indexDropped(this, name);
  }

  indexNameForKey(key: Document): string {
    if (sameKey(key, ID_INDEX.key)) return ID_INDEX.name;
    for (const index of this.indexes.values()) if (sameKey(index.spec.key, key)) return index.name;
    throw new MongoServerError(
      ErrorCodes.IndexNotFound,
      `can't find index with key: ${JSON.stringify(key)}`,
    );
  }

  dropAllIndexes(): void {
    for (const name of [...this.indexes.keys()]) this.dropIndex(name);
  }

  private *fetch(idKeys: Iterable<string>): Iterable<Document> {
    for (const idKey of idKeys) {
      const doc = this.docs.get(idKey);
      if (doc) yield doc;
    }
  }
}

function withoutId(filter: Document): Document {
  const rest = { ...filter };
  delete rest._id;
  return rest;
}

function sameKey(a: Document, b: Document): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkStorable(doc: Document): void {
  const id = doc._id;
  if (Array.isArray(id)) throw badValue("can't use an array for _id");
  if (id instanceof RegExp) throw badValue("can't use a regex for _id");
  if (isPlainObject(id) && Object.keys(id).some((k) => k.startsWith('$'))) {
    throw badValue(`_id fields may not contain '$'-prefixed fields`);
  }
  const size = calculateObjectSize(doc);
  if (size > MAX_BSON_SIZE) {
    throw new MongoServerError(
      ErrorCodes.BSONObjectTooLarge,
      `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_SIZE}`,
    );
  }
}

function sameKeys(a: IndexEntry[], b: IndexEntry[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map((entry) => entry.key));
  return b.every((entry) => keys.has(entry.key));
}

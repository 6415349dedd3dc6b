/**
 * The command layer: one method per supported command, each running synchronously from start to
 * finish. Node runs one command at a time, so every command is atomic with respect to every other,
 * as single-document writes are in mongod.
 */
import { Binary, ObjectId } from 'bson';
import { Aggregator, ProcessingMode, Query } from 'mingo';
import { MingoError } from 'mingo/util';
import { ChangeSink, Collection } from './collection.js';
import { CursorRegistry } from './cursors.js';
import {
  ErrorCodes,
  MongoServerError,
  badValue,
  failedToParse,
  fromEngineError,
} from './errors.js';
import { IndexSpec, defaultIndexName, validateIndexSpec } from './indexes.js';
import { checkProjection, projectDocuments } from './projection.js';
import { QUERY_OPTIONS } from './query-options.js';
import { ServerStats } from './stats.js';
import { Journal, JournalRecord } from './storage.js';
import {
  UpdateSpec,
  applyUpdate,
  parseUpdate,
  sameDocument,
  touchedFields,
  upsertDocument,
} from './update.js';
import { Document, isPlainObject, keyOf, valuesAtPath, withIdFirst } from './values.js';

export const SERVER_VERSION = '7.0.0';
const MAX_WIRE_VERSION = 21;
const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
const MAX_WRITE_BATCH_SIZE = 100_000;

export interface CommandContext {
  connectionId: number;
}

type Handler = (db: string, cmd: Document, ctx: CommandContext) => Document;

/** Fields every command may carry that no handler needs to look at. */
const TRANSACTION_FIELDS = ['txnNumber', 'startTransaction', 'autocommit'];

export class Engine implements ChangeSink {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private readonly cursors = new CursorRegistry();
  private replaying = false;
  private readonly handlers: Record<string, Handler>;
  /** Counters since start, for serverStatus; the listener adds its connections. */
  readonly stats: ServerStats;

  constructor(private readonly journal?: Journal) {
    this.handlers = {
      hello: (_db, cmd, ctx) => this.hello(cmd, ctx, 'hello'),
      isMaster: (_db, cmd, ctx) => this.hello(cmd, ctx, 'isMaster'),
      ismaster: (_db, cmd, ctx) => this.hello(cmd, ctx, 'isMaster'),
      ping: () => ({ ok: 1 }),
      buildInfo: () => this.buildInfo(),
      buildinfo: () => this.buildInfo(),
      endSessions: () => ({ ok: 1 }),
      listDatabases: (_db, cmd) => this.listDatabases(cmd),
      listCollections: (db, cmd) => this.listCollections(db, cmd),
      create: (db, cmd) => this.create(db, cmd),
      drop: (db, cmd) => this.drop(db, cmd),
      dropDatabase: (db) => this.dropDatabase(db),
      insert: (db, cmd) => this.insert(db, cmd),
      update: (db, cmd) => this.update(db, cmd),
      delete: (db, cmd) => this.delete(db, cmd),
      findAndModify: (db, cmd) => this.findAndModify(db, cmd, 'findAndModify'),
      findandmodify: (db, cmd) => this.findAndModify(db, cmd, 'findandmodify'),
      find: (db, cmd) => this.find(db, cmd),
      getMore: (db, cmd) =>
        this.cursors.getMore(
          cmd.getMore,
          String(cmd.collection),
          db,
          optionalNumber(cmd.batchSize),
        ),
      killCursors: (_db, cmd) => this.cursors.kill(Array.isArray(cmd.cursors) ? cmd.cursors : []),
      count: (db, cmd) => this.count(db, cmd),
      distinct: (db, cmd) => this.distinct(db, cmd),
      aggregate: (db, cmd) => this.aggregate(db, cmd),
      createIndexes: (db, cmd) => this.createIndexes(db, cmd),
      listIndexes: (db, cmd) => this.listIndexes(db, cmd),
      dropIndexes: (db, cmd) => this.dropIndexes(db, cmd),
      serverStatus: (_db, cmd) => this.stats.report(cmd, SERVER_VERSION),
      commitTransaction: () => refuseTransactions(),
      abortTransaction: () => refuseTransactions(),
    };
    this.stats = new ServerStats(Object.keys(this.handlers));
  }

  /** Runs one command and returns its reply; failures come back as `{ok: 0, ...}` replies. */
  execute(db: string, cmd: Document, ctx: CommandContext): Document {
    const name = Object.keys(cmd)[0];
    const handler =
      name !== undefined && Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
    const counter = this.stats.received(handler ? name : undefined);
    const reply = this.run(handler, name, db, cmd, ctx);
    if (counter && reply.ok !== 1) counter.failed++;
    return reply;
  }

  private run(
    handler: Handler | undefined,
    name: string | undefined,
    db: string,
    cmd: Document,
    ctx: CommandContext,
  ): Document {
    try {
      if (!handler) {
        throw new MongoServerError(ErrorCodes.CommandNotFound, `no such command: '${name ?? ''}'`);
      }
      if (TRANSACTION_FIELDS.some((field) => field in cmd)) refuseTransactions();
      return handler(db, cmd, ctx);
    } catch (err) {
      // mingo's own errors are the user's invalid queries, projections and pipelines.
      if (err instanceof MongoServerError || err instanceof MingoError) {
        return fromEngineError(err).toReply();
      }
      const message = err instanceof Error ? err.message : String(err);
      return { ok: 0, errmsg: message, code: 1, codeName: 'InternalError' };
    } finally {
      this.journal?.flush();
      if (this.journal?.shouldCompact()) this.journal.compact(this.snapshot());
    }
  }

  // ---- ChangeSink: every change goes to the journal when the server persists ----

  put(c: Collection, doc: Document): void {
    this.record({ o: 'put', db: c.db, c: c.name, doc });
  }

  remove(c: Collection, id: unknown): void {
    this.record({ o: 'remove', db: c.db, c: c.name, id });
  }

  indexCreated(c: Collection, spec: IndexSpec): void {
    this.record({ o: 'index', db: c.db, c: c.name, spec });
  }

  indexDropped(c: Collection, name: string): void {
    this.record({ o: 'dropIndex', db: c.db, c: c.name, name });
  }

  private record(record: JournalRecord): void {
    if (!this.replaying) this.journal?.record(record);
  }

  /** Rebuilds state from journal records, then compacts the journal to it. */
  restore(records: JournalRecord[]): void {
    this.replaying = true;
    try {
      for (const r of records) this.replay(r);
    } finally {
      this.replaying = false;
    }
    this.journal?.compact(this.snapshot());
  }

  private replay(r: JournalRecord): void {
    switch (r.o) {
      case 'collection': {
        const collections = this.collectionsOf(r.db, true);
        collections.set(r.c, new Collection(r.db, r.c, r.options, r.uuid as Binary, this));
        return;
      }
      case 'dropCollection':
        this.databases.get(r.db)?.delete(r.c);
        return;
      case 'dropDatabase':
        this.databases.delete(r.db);
        return;
      case 'index':
        this.collection(r.db, r.c, true).createIndex(r.spec as IndexSpec);
        return;
      case 'dropIndex':
        this.collection(r.db, r.c, true).dropIndex(r.name);
        return;
      case 'put': {
        const coll = this.collection(r.db, r.c, true);
        const current = coll.findById(r.doc._id);
        if (current) coll.replace(current, r.doc);
        else coll.insert(r.doc);
        return;
      }
      case 'remove': {
        const coll = this.collection(r.db, r.c, false);
        const current = coll?.findById(r.id);
        if (coll && current) coll.remove(current);
        return;
      }
    }
  }

  private *snapshot(): Iterable<JournalRecord> {
    for (const [db, collections] of this.databases) {
      for (const coll of collections.values()) {
        yield { o: 'collection', db, c: coll.name, options: coll.options, uuid: coll.uuid };
        for (const spec of coll.indexSpecs().slice(1)) yield { o: 'index', db, c: coll.name, spec };
        for (const doc of coll.all()) yield { o: 'put', db, c: coll.name, doc };
      }
    }
  }

  /** Deletes documents whose TTL index date has passed; returns how many. */
  expireTtl(now = Date.now()): number {
    let removed = 0;
    for (const collections of this.databases.values()) {
      for (const coll of collections.values()) {
        for (const spec of coll.ttlIndexes()) {
          const field = Object.keys(spec.key)[0];
          const cutoff = now - (spec.expireAfterSeconds ?? 0) * 1000;
          const expired = [...coll.all()].filter((doc) =>
            valuesAtPath(doc, field).some((v) => v instanceof Date && v.getTime() <= cutoff),
          );
          for (const doc of expired) coll.remove(doc);
          removed += expired.length;
        }
      }
    }
    this.journal?.flush();
    return removed;
  }

  // ---- namespaces ----

  private collectionsOf(db: string, create: true): Map<string, Collection>;
  private collectionsOf(db: string, create: boolean): Map<string, Collection> | undefined;
  private collectionsOf(db: string, create: boolean): Map<string, Collection> | undefined {
    let collections = this.databases.get(db);
    if (!collections && create) {
      validateDbName(db);
      collections = new Map();
      this.databases.set(db, collections);
    }
    return collections;
  }

  private collection(db: string, name: string, create: true): Collection;
  private collection(db: string, name: string, create: boolean): Collection | undefined;
  private collection(db: string, name: string, create: boolean): Collection | undefined {
    const existing = this.databases.get(db)?.get(name);
    if (existing || !create) return existing;
    return this.createCollection(db, name, {});
  }

  private createCollection(db: string, name: string, options: Document): Collection {
    validateCollectionName(name);
    const coll = Collection.create(db, name, options, this);
    this.collectionsOf(db, true).set(name, coll);
    this.record({ o: 'collection', db, c: name, options, uuid: coll.uuid });
    return coll;
  }

  // ---- handshake and server info ----

  private hello(cmd: Document, ctx: CommandContext, name: 'hello' | 'isMaster'): Document {
    return {
      ...(cmd.helloOk ? { helloOk: true } : {}),
      ...(name === 'hello' ? { isWritablePrimary: true } : { ismaster: true }),
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: ctx.connectionId,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      ok: 1,
    };
  }

  private buildInfo(): Document {
    return {
      version: SERVER_VERSION,
      gitVersion: 'offline',
      versionArray: SERVER_VERSION.split('.').map(Number).concat(0),
      bits: 64,
      debug: false,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      storageEngines: ['offline'],
      modules: [],
      ok: 1,
    };
  }

  private listDatabases(cmd: Document): Document {
    const all = [...this.databases.entries()].map(([name, collections]) => {
      const empty = [...collections.values()].every((c) => c.size === 0);
      return { name, sizeOnDisk: empty ? 0 : 4096, empty };
    });
    const filtered = isPlainObject(cmd.filter)
      ? all.filter((d) => new Query(cmd.filter as Document, QUERY_OPTIONS).test(d))
      : all;
    const databases = cmd.nameOnly ? filtered.map((d) => ({ name: d.name })) : filtered;
    const totalSize = filtered.reduce((n, d) => n + d.sizeOnDisk, 0);
    return { databases, totalSize, totalSizeMb: Math.round(totalSize / 1024 / 1024), ok: 1 };
  }

  private listCollections(db: string, cmd: Document): Document {
    const infos = [...(this.databases.get(db)?.values() ?? [])].map((c) => ({
      name: c.name,
      type: 'collection',
      options: c.options,
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
    }));
    const filter = isPlainObject(cmd.filter) ? new Query(cmd.filter, QUERY_OPTIONS) : undefined;
    const matching = filter ? infos.filter((info) => filter.test(info)) : infos;
    const docs = cmd.nameOnly ? matching.map(({ name, type }) => ({ name, type })) : matching;
    return this.cursors.firstBatch(`${db}.$cmd.listCollections`, docs, cursorBatchSize(cmd));
  }

  // ---- collections and databases ----

  private create(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'create');
    if (this.databases.get(db)?.has(name)) {
      throw new MongoServerError(
        ErrorCodes.NamespaceExists,
        `Collection ${db}.${name} already exists.`,
      );
    }
    this.createCollection(db, name, stripGeneric(cmd, 'create'));
    return { ok: 1 };
  }

  private drop(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'drop');
    const coll = this.databases.get(db)?.get(name);
    if (!coll) return { ok: 1 };
    const nIndexesWas = coll.indexSpecs().length;
    this.databases.get(db)?.delete(name);
    this.cursors.closeNamespace(coll.ns);
    this.record({ o: 'dropCollection', db, c: name });
    return { nIndexesWas, ns: coll.ns, ok: 1 };
  }

  private dropDatabase(db: string): Document {
    if (this.databases.delete(db)) this.record({ o: 'dropDatabase', db });
    this.cursors.closeNamespace(`${db}.`, true);
    return { ok: 1 };
  }

  // ---- writes ----

  private insert(db: string, cmd: Document): Document {
    const coll = this.collection(db, collectionName(cmd, 'insert'), true);
    const documents = arrayField(cmd, 'documents');
    checkBatchSize(documents);
    const ordered = cmd.ordered !== false;
    const writeErrors: Document[] = [];
    let n = 0;
    for (const [index, raw] of documents.entries()) {
      this.stats.opcounters.insert++;
      try {
        if (!isPlainObject(raw)) throw badValue('each document to insert must be an object');
        coll.insert('_id' in raw ? withIdFirst(raw, raw._id) : withIdFirst(raw, new ObjectId()));
        n++;
      } catch (err) {
        writeErrors.push(asServerError(err).toWriteError(index));
        if (ordered) break;
      }
    }
    return writeReply({ n }, writeErrors);
  }

  private update(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'update');
    const statements = arrayField(cmd, 'updates');
    checkBatchSize(statements);
    const ordered = cmd.ordered !== false;
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (const [index, raw] of statements.entries()) {
      this.stats.opcounters.update++;
      try {
        if (!isPlainObject(raw)) throw failedToParse('each update statement must be an object');
        const result = this.updateOne(db, name, raw);
        n += result.matched;
        nModified += result.modified;
        if (result.upsertedId !== undefined) {
          n += 1;
          upserted.push({ index, _id: result.upsertedId });
        }
      } catch (err) {
        writeErrors.push(asServerError(err).toWriteError(index));
        if (ordered) break;
      }
    }
    return writeReply({ n, nModified, ...(upserted.length ? { upserted } : {}) }, writeErrors);
  }

  /** One update statement: `{q, u, upsert, multi, arrayFilters}`. */
  private updateOne(
    db: string,
    name: string,
    statement: Document,
  ): { matched: number; modified: number; upsertedId?: unknown } {
    const query = filterField(statement.q, 'q');
    const spec = parseUpdate(statement.u);
    const multi = statement.multi === true;
    if (multi && spec.kind === 'replacement') {
      throw failedToParse('multi update is not supported for replacement-style update');
    }
    const arrayFilters = optionalArrayFilters(statement.arrayFilters);
    const coll = this.collection(db, name, statement.upsert === true);
    const matches = coll ? coll.match(query, multi ? 0 : 1) : [];
    if (matches.length === 0) {
      if (statement.upsert !== true || !coll) return { matched: 0, modified: 0 };
      const doc = upsertDocument(query, spec, arrayFilters);
      coll.insert(doc);
      return { matched: 0, modified: 0, upsertedId: doc._id };
    }
    let modified = 0;
    const touched = touchedFields(spec);
    for (const current of matches) {
      const next = applyUpdate(current, spec, { query, arrayFilters, inserting: false });
      if (sameDocument(current, next)) continue;
      (coll as Collection).replace(current, next, touched);
      modified++;
    }
    return { matched: matches.length, modified };
  }

  private delete(db: string, cmd: Document): Document {
    const coll = this.collection(db, collectionName(cmd, 'delete'), false);
    const statements = arrayField(cmd, 'deletes');
    checkBatchSize(statements);
    const ordered = cmd.ordered !== false;
    const writeErrors: Document[] = [];
    let n = 0;
    for (const [index, raw] of statements.entries()) {
      this.stats.opcounters.delete++;
      try {
        if (!isPlainObject(raw)) throw failedToParse('each delete statement must be an object');
        const limit = Number(raw.limit ?? 0);
        if (limit !== 0 && limit !== 1)
          throw failedToParse(`The limit field in delete objects must be 0 or 1. Got ${limit}`);
        const matches = coll ? coll.match(filterField(raw.q, 'q'), limit) : [];
        for (const doc of matches) coll?.remove(doc);
        n += matches.length;
      } catch (err) {
        writeErrors.push(asServerError(err).toWriteError(index));
        if (ordered) break;
      }
    }
    return writeReply({ n }, writeErrors);
  }

  private findAndModify(db: string, cmd: Document, commandName: string): Document {
    const name = collectionName(cmd, commandName);
    const query = cmd.query === undefined ? {} : filterField(cmd.query, 'query');
    const remove = cmd.remove === true;
    if (remove && cmd.update !== undefined) {
      throw failedToParse('Cannot specify both an update and remove=true');
    }
    if (!remove && cmd.update === undefined) {
      throw failedToParse('Either an update or remove=true must be specified');
    }
    if (remove && cmd.upsert === true)
      throw failedToParse('Cannot specify both upsert=true and remove=true');
    const spec: UpdateSpec | undefined = remove ? undefined : parseUpdate(cmd.update);
    const arrayFilters = optionalArrayFilters(cmd.arrayFilters);
    const fields =
      isPlainObject(cmd.fields) && Object.keys(cmd.fields).length > 0 ? cmd.fields : undefined;
    if (fields) checkProjection(fields);
    const project = (doc: Document | null): Document | null =>
      doc && fields ? projectDocuments([doc], fields, query)[0] : doc;

    const coll = this.collection(db, name, cmd.upsert === true);
    const current = coll ? this.firstMatch(coll, query, cmd.sort) : undefined;
    if (!coll || !spec || !current) {
      if (coll && current) {
        coll.remove(current);
        return { lastErrorObject: { n: 1 }, value: project(current), ok: 1 };
      }
      if (coll && spec && cmd.upsert === true) {
        const doc = upsertDocument(query, spec, arrayFilters);
        coll.insert(doc);
        return {
          lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
          value: cmd.new === true ? project(doc) : null,
          ok: 1,
        };
      }
      return {
        lastErrorObject: { n: 0, ...(remove ? {} : { updatedExisting: false }) },
        value: null,
        ok: 1,
      };
    }
    const next = applyUpdate(current, spec, { query, arrayFilters, inserting: false });
    if (!sameDocument(current, next)) coll.replace(current, next, touchedFields(spec));
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(cmd.new === true ? next : current),
      ok: 1,
    };
  }

  private firstMatch(coll: Collection, query: Document, sort: unknown): Document | undefined {
    if (!isPlainObject(sort) || Object.keys(sort).length === 0) return coll.match(query, 1)[0];
    const matches = coll.match(query);
    return new Query({}, QUERY_OPTIONS).find(matches).sort(sort).limit(1).next() as
      Document | undefined;
  }

  // ---- reads ----

  private find(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'find');
    const filter = cmd.filter === undefined ? {} : filterField(cmd.filter, 'filter');
    const coll = this.collection(db, name, false);
    let limit = optionalNumber(cmd.limit) ?? 0;
    let singleBatch = cmd.singleBatch === true;
    if (limit < 0) {
      limit = -limit;
      singleBatch = true;
    }
    const skip = optionalNumber(cmd.skip) ?? 0;
    if (skip < 0) throw badValue('skip value must be non-negative');
    const sort = isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0 ? cmd.sort : undefined;
    const projection =
      isPlainObject(cmd.projection) && Object.keys(cmd.projection).length > 0
        ? cmd.projection
        : undefined;
    if (projection) checkProjection(projection);

    let docs: Document[] = [];
    if (coll) {
      // Without sort, stop scanning once skip + limit documents matched.
      const matches = coll.match(filter, sort || limit === 0 ? 0 : skip + limit);
      if (sort || skip) {
        let cursor = new Query({}, QUERY_OPTIONS).find(matches);
        if (sort) cursor = cursor.sort(sort);
        if (skip) cursor = cursor.skip(skip);
        if (limit) cursor = cursor.limit(limit);
        docs = cursor.all() as Document[];
      } else {
        docs = limit ? matches.slice(0, limit) : matches;
      }
      if (projection) docs = projectDocuments(docs, projection, filter);
    }
    return this.cursors.firstBatch(
      `${db}.${name}`,
      docs,
      optionalNumber(cmd.batchSize),
      singleBatch,
    );
  }

  private count(db: string, cmd: Document): Document {
    const coll = this.collection(db, collectionName(cmd, 'count'), false);
    const query =
      cmd.query === undefined || cmd.query === null ? {} : filterField(cmd.query, 'query');
    const skip = optionalNumber(cmd.skip) ?? 0;
    const limit = Math.abs(optionalNumber(cmd.limit) ?? 0);
    const total = coll ? coll.match(query).length : 0;
    const n = Math.max(0, total - skip);
    return { n: limit ? Math.min(n, limit) : n, ok: 1 };
  }

  private distinct(db: string, cmd: Document): Document {
    const coll = this.collection(db, collectionName(cmd, 'distinct'), false);
    if (typeof cmd.key !== 'string')
      throw new MongoServerError(
        ErrorCodes.TypeMismatch,
        "BSON field 'distinct.key' is missing but a required field",
      );
    const key = cmd.key;
    const query =
      cmd.query === undefined || cmd.query === null ? {} : filterField(cmd.query, 'query');
    const seen = new Map<string, unknown>();
    for (const doc of coll ? coll.match(query) : []) {
      for (const value of valuesAtPath(doc, key)) {
        if (value !== undefined && !seen.has(keyOf(value))) seen.set(keyOf(value), value);
      }
    }
    return { values: [...seen.values()], ok: 1 };
  }

  private aggregate(db: string, cmd: Document): Document {
    if (!Array.isArray(cmd.pipeline))
      throw new MongoServerError(
        ErrorCodes.TypeMismatch,
        "'pipeline' option must be specified as an array",
      );
    if (!isPlainObject(cmd.cursor) && cmd.explain !== true) {
      throw failedToParse(
        "The 'cursor' option is required, except for aggregate with the explain argument",
      );
    }
    const pipeline = cmd.pipeline as Document[];
    const collectionLevel = typeof cmd.aggregate === 'string';
    const coll = collectionLevel ? this.collection(db, cmd.aggregate as string, false) : undefined;
    const last = pipeline[pipeline.length - 1];
    const out = last && '$out' in last ? last.$out : undefined;
    if (last && '$merge' in last) {
      throw new MongoServerError(
        ErrorCodes.Location40324,
        '$merge is not supported by the offline server',
      );
    }
    const stages = out === undefined ? pipeline : pipeline.slice(0, -1);

    // A leading $match narrows the input through the collection's indexes.
    const first = stages[0];
    const leadingMatch =
      first && isPlainObject(first.$match) && Object.keys(first).length === 1
        ? first.$match
        : undefined;
    const input = coll ? (leadingMatch ? coll.match(leadingMatch) : [...coll.all()]) : [];
    const rest = leadingMatch ? stages.slice(1) : stages;
    const results = new Aggregator(rest, {
      ...QUERY_OPTIONS,
      // Stages that reshape documents could write into the stored ones: give them copies. Counting
      // and grouping (countDocuments is `$match` + `$group`) only read, so they skip the copy.
      processingMode: rest.every(readsOnly) ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
      collectionResolver: (name: string) => [...(this.collection(db, name, false)?.all() ?? [])],
    }).run<Document>(input);

    if (out !== undefined) {
      this.replaceContents(
        db,
        typeof out === 'string' ? out : String((out as Document).coll),
        results,
      );
      return this.cursors.firstBatch(`${db}.${String(cmd.aggregate)}`, [], 0);
    }
    const ns = collectionLevel ? `${db}.${cmd.aggregate as string}` : `${db}.$cmd.aggregate`;
    return this.cursors.firstBatch(ns, results, cursorBatchSize(cmd));
  }

  private replaceContents(db: string, name: string, docs: Document[]): void {
    const coll = this.collection(db, name, true);
    for (const doc of [...coll.all()]) coll.remove(doc);
    for (const doc of docs) coll.insert(withIdFirst(doc, doc._id ?? new ObjectId()));
  }

  // ---- indexes ----

  private createIndexes(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'createIndexes');
    const specs = arrayField(cmd, 'indexes').map((raw) =>
      validateIndexSpec(
        isPlainObject(raw) && raw.name === undefined && isPlainObject(raw.key)
          ? { ...raw, name: defaultIndexName(raw.key) }
          : raw,
      ),
    );
    if (specs.length === 0) throw badValue('Must specify at least one index to create');
    const existed = this.databases.get(db)?.has(name) ?? false;
    const coll = this.collection(db, name, true);
    const numIndexesBefore = coll.indexSpecs().length;
    let created = 0;
    for (const spec of specs) if (coll.createIndex(spec)) created++;
    return {
      numIndexesBefore,
      numIndexesAfter: coll.indexSpecs().length,
      createdCollectionAutomatically: !existed,
      ...(created === 0 ? { note: 'all indexes already exist' } : {}),
      ok: 1,
    };
  }

  private listIndexes(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'listIndexes');
    const coll = this.collection(db, name, false);
    if (!coll)
      throw new MongoServerError(ErrorCodes.NamespaceNotFound, `ns does not exist: ${db}.${name}`);
    return this.cursors.firstBatch(`${db}.${name}`, coll.indexSpecs(), cursorBatchSize(cmd));
  }

  private dropIndexes(db: string, cmd: Document): Document {
    const name = collectionName(cmd, 'dropIndexes');
    const coll = this.collection(db, name, false);
    if (!coll)
      throw new MongoServerError(ErrorCodes.NamespaceNotFound, `ns not found ${db}.${name}`);
    const nIndexesWas = coll.indexSpecs().length;
    const target = cmd.index;
    if (target === '*') {
      coll.dropAllIndexes();
      return { nIndexesWas, msg: 'non-_id indexes dropped for collection', ok: 1 };
    }
    const names = Array.isArray(target)
      ? target.map(String)
      : isPlainObject(target)
        ? [coll.indexNameForKey(target)]
        : [String(target)];
    for (const indexName of names) coll.dropIndex(indexName);
    return { nIndexesWas, ok: 1 };
  }
}

const READ_ONLY_STAGES = new Set([
  '$match',
  '$group',
  '$count',
  '$sort',
  '$skip',
  '$limit',
  '$sortByCount',
]);

function readsOnly(stage: Document): boolean {
  return Object.keys(stage).every((name) => READ_ONLY_STAGES.has(name));
}

// ---- argument helpers ----

function refuseTransactions(): never {
  throw new MongoServerError(
    ErrorCodes.IllegalOperation,
    'Transaction numbers are only allowed on a replica set member or mongos',
  );
}

function collectionName(cmd: Document, field: string): string {
  const name = cmd[field];
  if (typeof name !== 'string') {
    throw new MongoServerError(
      ErrorCodes.InvalidNamespace,
      `collection name has invalid type ${typeof name}`,
    );
  }
  validateCollectionName(name);
  return name;
}

function validateCollectionName(name: string): void {
  if (name.length === 0 || name.includes('$') || name.includes('\0') || name.startsWith('.')) {
    throw new MongoServerError(ErrorCodes.InvalidNamespace, `Invalid collection name: ${name}`);
  }
}

function validateDbName(db: string): void {
  if (db.length === 0 || /[/\\. "$*<>:|?\0]/.test(db) || db.length > 63) {
    throw new MongoServerError(ErrorCodes.InvalidNamespace, `Invalid database name: '${db}'`);
  }
}

function arrayField(cmd: Document, field: string): unknown[] {
  const value = cmd[field];
  if (!Array.isArray(value)) {
    throw new MongoServerError(
      ErrorCodes.TypeMismatch,
      `BSON field '${field}' is missing or is not an array`,
    );
  }
  return value;
}

function filterField(value: unknown, field: string): Document {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new MongoServerError(
      ErrorCodes.TypeMismatch,
      `BSON field '${field}' is the wrong type '${typeof value}', expected type 'object'`,
    );
  }
  return value;
}

function optionalNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw badValue(`expected a number, got ${JSON.stringify(value)}`);
  return n;
}

function optionalArrayFilters(value: unknown): Document[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isPlainObject)) {
    throw failedToParse('arrayFilters must be an array of objects');
  }
  return value;
}

function cursorBatchSize(cmd: Document): number | undefined {
  return isPlainObject(cmd.cursor) ? optionalNumber(cmd.cursor.batchSize) : undefined;
}

function checkBatchSize(statements: unknown[]): void {
  if (statements.length > MAX_WRITE_BATCH_SIZE) {
    throw new MongoServerError(
      ErrorCodes.InvalidOptions,
      `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${statements.length} operations.`,
    );
  }
}

const GENERIC_FIELDS = new Set([
  '$db',
  'lsid',
  '$clusterTime',
  '$readPreference',
  'writeConcern',
  'readConcern',
  'comment',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
]);

function stripGeneric(cmd: Document, commandField: string): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(cmd))
    if (k !== commandField && !GENERIC_FIELDS.has(k)) out[k] = v;
  return out;
}

function writeReply(reply: Document, writeErrors: Document[]): Document {
  return { ...reply, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
}

function asServerError(err: unknown): MongoServerError {
  if (err instanceof MongoServerError || err instanceof MingoError) return fromEngineError(err);
  return new MongoServerError(1, err instanceof Error ? err.message : String(err));
}

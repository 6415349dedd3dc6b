/**
 * Conformance of the MongoDB server under test with the official driver. Every assertion is
 * documented MongoDB 7.0 behaviour, so the suite passes unchanged against a real standalone mongod
 * (MONGODB_URI) and against the offline server the global setup starts otherwise.
 */
import {
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  ObjectId,
  WriteError,
  type Collection,
  type CollectionInfo,
  type CommandSucceededEvent,
  type Db,
  type Document,
  type Filter,
} from 'mongodb';
import { mongoUriFor, uniqueDbName } from '../support/test-env.js';

/** Documents of any shape, with the kinds of `_id` these tests use. */
interface Doc extends Document {
  _id?: string | number | ObjectId;
}

/** A document for the operator tests, typed field by field so the driver accepts every operator. */
interface OpsDoc {
  _id: string;
  a?: number;
  b?: number;
  c?: string;
  list?: number[];
  set?: string[];
  lo?: number;
  hi?: number;
  old?: string;
  renamed?: string;
  fresh?: number;
  touched?: Date;
  nested?: { deep: boolean };
}

const dbName = uniqueDbName('driver');
const otherDbs: string[] = [];
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await MongoClient.connect(mongoUriFor(dbName));
  db = client.db();
});

afterAll(async () => {
  for (const name of [dbName, ...otherDbs]) await client.db(name).dropDatabase();
  await client.close();
});

/** A database of its own for tests that list or drop whole databases or collections. */
function freshDb(label: string): Db {
  const name = uniqueDbName(label);
  otherDbs.push(name);
  return client.db(name);
}

/** The server error `promise` rejects with; fails when it resolves or fails otherwise. */
async function rejectionOf(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected the operation to be rejected by the server');
}

function writeErrorsOf(err: MongoServerError): WriteError[] {
  expect(err).toBeInstanceOf(MongoBulkWriteError);
  return ([] as WriteError[]).concat((err as MongoBulkWriteError).writeErrors);
}

async function ids(coll: Collection<Doc>, filter: Filter<Doc>): Promise<unknown[]> {
  return coll
    .find(filter, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .map((doc) => doc._id as unknown)
    .toArray();
}

/** A second client whose command replies are recorded, to see batches and cursor traffic. */
async function monitoredClient(): Promise<{
  client: MongoClient;
  replies: CommandSucceededEvent[];
}> {
  const monitored = await MongoClient.connect(mongoUriFor(dbName), { monitorCommands: true });
  const replies: CommandSucceededEvent[] = [];
  monitored.on('commandSucceeded', (event) => replies.push(event));
  return { client: monitored, replies };
}

function batchOf(event: CommandSucceededEvent): Document[] {
  const cursor = (event.reply as Document).cursor as {
    firstBatch?: Document[];
    nextBatch?: Document[];
  };
  return cursor.firstBatch ?? cursor.nextBatch ?? [];
}

describe('handshake and server information', () => {
  it('answers hello as a writable standalone', async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello.ok).toBe(1);
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024);
    expect(hello.maxWriteBatchSize).toBe(100_000);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(8);
    expect(hello.localTime).toBeInstanceOf(Date);
    expect(hello.setName).toBeUndefined();
  });

  it('answers ping and buildInfo with a version of at least 4.2', async () => {
    expect(await db.admin().command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    const [major, minor] = String(info.version).split('.').map(Number);
    expect(major * 100 + minor).toBeGreaterThanOrEqual(402);
    expect((info.versionArray as number[]).slice(0, 2)).toEqual([major, minor]);
  });

  it('rejects an unknown command with CommandNotFound', async () => {
    const err = await rejectionOf(db.command({ noSuchCommandAtAll: 1 }));
    expect(err.code).toBe(59);
    expect(err.codeName).toBe('CommandNotFound');
    expect(err.errorResponse.ok).toBe(0);
  });
});

/** serverStatus counters as numbers (mongod reports them as NumberLong). */
interface Counters {
  opcounters: Record<string, number>;
  totals: Map<string, number>;
  failures: Map<string, number>;
  unknown: number;
}

function countersOf(status: Document): Counters {
  const commands = (status.metrics as { commands: Record<string, unknown> }).commands;
  const totals = new Map<string, number>();
  const failures = new Map<string, number>();
  for (const [name, counter] of Object.entries(commands)) {
    if (typeof counter !== 'object' || counter === null) continue;
    const { total, failed } = counter as { total: unknown; failed: unknown };
    totals.set(name, Number(total));
    failures.set(name, Number(failed));
  }
  const opcounters: Record<string, number> = {};
  for (const name of ['insert', 'query', 'update', 'delete', 'getmore', 'command']) {
    opcounters[name] = Number((status.opcounters as Document)[name]);
  }
  return { opcounters, totals, failures, unknown: Number(commands['<UNKNOWN>']) };
}

function difference(after: Counters, before: Counters): Counters {
  const minus = (a: Map<string, number>, b: Map<string, number>) =>
    new Map([...a].map(([name, n]) => [name, n - (b.get(name) ?? 0)]));
  const opcounters: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.opcounters)) {
    opcounters[name] = n - before.opcounters[name];
  }
  return {
    opcounters,
    totals: minus(after.totals, before.totals),
    failures: minus(after.failures, before.failures),
    unknown: after.unknown - before.unknown,
  };
}

/** Names of the commands a client sent, in order. */
interface CountingClient {
  client: MongoClient;
  sent: string[];
}

const QUIET_ATTEMPTS = 20;

/**
 * How the server-wide counters moved while `work` ran on `counting` (one pooled connection,
 * already open, commands recorded). Other test files share the server: a run during which any
 * command but ours reached it (all command totals moved by more than ours plus the closing
 * serverStatus) is repeated, so `work` must choose fresh names from `attempt`.
 */
async function countersAround(
  counting: CountingClient,
  work: (db: Db, attempt: number) => Promise<void>,
): Promise<{ delta: Counters; sent: string[] }> {
  const status = async () =>
    countersOf(await counting.client.db('admin').command({ serverStatus: 1 }));
  for (let attempt = 0; attempt < QUIET_ATTEMPTS; attempt++) {
    const before = await status();
    counting.sent.length = 0;
    await work(counting.client.db(dbName), attempt);
    const sent = [...counting.sent];
    const delta = difference(await status(), before);
    const moved = [...delta.totals.values()].reduce((n, d) => n + d, delta.unknown);
    if (moved === sent.length + 1) return { delta, sent };
  }
  throw new Error(`no run of ${QUIET_ATTEMPTS} without other clients' commands on the server`);
}

async function countingClient(): Promise<CountingClient> {
  const client = await MongoClient.connect(mongoUriFor(dbName), {
    maxPoolSize: 1,
    monitorCommands: true,
  });
  const sent: string[] = [];
  client.on('commandStarted', (event) => sent.push(event.commandName));
  // Open the pooled connection now: its handshake is a command no event reports.
  await client.db().command({ ping: 1 });
  return { client, sent };
}

describe('serverStatus', () => {
  let counting: CountingClient;

  beforeAll(async () => {
    counting = await countingClient();
  });

  afterAll(async () => {
    await counting.client.close();
  });

  it('describes the server process like mongod', async () => {
    const status = await db.admin().command({ serverStatus: 1 });
    const info = await db.admin().command({ buildInfo: 1 });
    expect(status).toMatchObject({ ok: 1, process: 'mongod', version: info.version });
    expect(typeof status.host).toBe('string');
    expect(String(status.host).length).toBeGreaterThan(0);
    expect(Number(status.pid)).toBeGreaterThan(0);
    expect(Math.abs(Number(status.uptime) - Number(status.uptimeMillis) / 1000)).toBeLessThan(1.5);
    expect(status.localTime).toBeInstanceOf(Date);
    expect(Math.abs((status.localTime as Date).getTime() - Date.now())).toBeLessThan(60_000);
    for (const name of ['insert', 'query', 'update', 'delete', 'getmore', 'command']) {
      expect(Number((status.opcounters as Document)[name])).toBeGreaterThanOrEqual(0);
    }
    const later = await db.admin().command({ serverStatus: 1 });
    expect(Number(later.uptimeMillis)).toBeGreaterThanOrEqual(Number(status.uptimeMillis));
  });

  it('counts connections', async () => {
    const connections = async () =>
      (await db.admin().command({ serverStatus: 1 })).connections as Record<string, number>;
    const before = await connections();
    expect(before.current).toBeGreaterThanOrEqual(1);
    expect(before.available).toBeGreaterThan(0);
    const other = await MongoClient.connect(mongoUriFor(dbName));
    try {
      await other.db().command({ ping: 1 });
      const during = await connections();
      expect(Number(during.totalCreated)).toBeGreaterThan(Number(before.totalCreated));
      expect(Number(during.totalCreated)).toBeGreaterThanOrEqual(during.current);
      expect(during.current).toBeGreaterThanOrEqual(2);
      // available is what is left of a fixed maximum.
      expect(during.current + during.available).toBe(before.current + before.available);
    } finally {
      await other.close();
    }
  });

  it('counts every command once by name, failures in failed, unknown names apart', async () => {
    const { delta, sent } = await countersAround(counting, async (mdb, attempt) => {
      const coll = mdb.collection<Doc>(`status_cmds_${attempt}`);
      await mdb.command({ ping: 1 });
      await coll.find({}).toArray();
      await coll.findOneAndUpdate({ _id: 'x' }, { $set: { n: 1 } }, { upsert: true });
      await rejectionOf(mdb.command({ count: coll.collectionName, query: { $invalidOp: 1 } }));
      await rejectionOf(mdb.command({ getMore: Long.fromNumber(123_456), collection: 'none' }));
      await rejectionOf(mdb.command({ noSuchCommandAtAll: 1 }));
    });
    expect(sent).toEqual([
      'ping',
      'find',
      'findAndModify',
      'count',
      'getMore',
      'noSuchCommandAtAll',
    ]);
    for (const name of sent.slice(0, 5)) expect(delta.totals.get(name)).toBe(1);
    expect(delta.totals.get('serverStatus')).toBe(1);
    expect(delta.totals.has('noSuchCommandAtAll')).toBe(false);
    expect(delta.unknown).toBe(1);
    const failed = [...delta.failures].filter(([, n]) => n > 0);
    expect(failed.sort()).toEqual([
      ['count', 1],
      ['getMore', 1],
    ]);
    // find counts as a query and getMore as a getmore even when they fail; every other known
    // command, findAndModify included, as a command; an unknown one not at all.
    expect(delta.opcounters).toEqual({
      insert: 0,
      query: 1,
      update: 0,
      delete: 0,
      getmore: 1,
      command: 4,
    });
  });

  it('counts inserts per document attempted, updates and deletes per statement', async () => {
    const { delta, sent } = await countersAround(counting, async (mdb, attempt) => {
      const coll = mdb.collection<Doc>(`status_writes_${attempt}`);
      await coll.insertMany([{ _id: 10 }, { _id: 11 }, { _id: 12 }]);
      // Ordered: stops at the duplicate, which still counts (K + 1 = 2).
      await rejectionOf(coll.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }]));
      // Unordered: attempts all three.
      await rejectionOf(coll.insertMany([{ _id: 3 }, { _id: 3 }, { _id: 4 }], { ordered: false }));
      await coll.updateMany({}, { $set: { touched: true } });
      await coll.bulkWrite(
        [10, 11, 99].map((_id) => ({
          updateOne: { filter: { _id }, update: { $inc: { n: 1 } } },
        })),
        { ordered: false },
      );
      await rejectionOf(coll.updateOne({ _id: 10 }, { $set: { _id: 13 } }));
      await coll.deleteMany({ _id: { $gte: 10 } });
      await coll.bulkWrite([{ deleteOne: { filter: { _id: 1 } } }, { deleteOne: { filter: {} } }]);
    });
    expect(sent).toEqual([
      'insert',
      'insert',
      'insert',
      'update',
      'update',
      'update',
      'delete',
      'delete',
    ]);
    expect(delta.opcounters).toEqual({
      insert: 8,
      query: 0,
      update: 5,
      delete: 3,
      getmore: 0,
      command: 1,
    });
    expect(delta.totals.get('insert')).toBe(3);
    expect(delta.totals.get('update')).toBe(3);
    expect(delta.totals.get('delete')).toBe(2);
    // Write errors come back in an ok: 1 reply: the commands did not fail.
    expect([...delta.failures.values()].every((n) => n === 0)).toBe(true);
  });

  it('counts a find and each getMore of its cursor', async () => {
    const { delta, sent } = await countersAround(counting, async (mdb, attempt) => {
      const coll = mdb.collection<Doc>(`status_reads_${attempt}`);
      await coll.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: i })));
      expect(await coll.find({}, { batchSize: 2 }).toArray()).toHaveLength(5);
    });
    const getMores = sent.filter((name) => name === 'getMore').length;
    expect(getMores).toBeGreaterThanOrEqual(2);
    expect(delta.opcounters).toMatchObject({ insert: 5, query: 1, getmore: getMores, command: 1 });
    expect(delta.totals.get('getMore')).toBe(getMores);
  });
});

describe('databases and collections', () => {
  it('lists the databases that hold data', async () => {
    const other = freshDb('listdb');
    await other.collection<Doc>('c').insertOne({ a: 1 });
    const { databases } = await client.db().admin().listDatabases();
    const entry = databases.find((d) => d.name === other.databaseName);
    expect(entry).toBeDefined();
    expect(entry?.empty).toBe(false);
    expect(entry?.sizeOnDisk).toBeGreaterThan(0);
    const namesOnly = await client.db().admin().listDatabases({ nameOnly: true });
    expect(namesOnly.databases.map((d) => d.name)).toContain(other.databaseName);
  });

  it('creates, lists, filters and drops collections', async () => {
    const other = freshDb('colls');
    await other.createCollection('alpha');
    await other.createCollection('beta');
    const duplicate = await rejectionOf(other.createCollection('alpha'));
    expect(duplicate.code).toBe(48);
    expect(duplicate.codeName).toBe('NamespaceExists');

    const all = await other.listCollections().toArray();
    expect(all.map((c) => c.name).sort()).toEqual(['alpha', 'beta']);
    for (const info of all) {
      expect(info).toMatchObject({
        type: 'collection',
        idIndex: { key: { _id: 1 }, name: '_id_' },
      });
      expect((info as CollectionInfo).info?.uuid).toBeInstanceOf(Binary);
    }
    const filtered = await other.listCollections({ name: 'beta' }).toArray();
    expect(filtered.map((c) => c.name)).toEqual(['beta']);
    const namesOnly = await other.listCollections({}, { nameOnly: true }).toArray();
    expect(namesOnly.map((c) => c.name).sort()).toEqual(['alpha', 'beta']);
    for (const info of namesOnly) expect(Object.keys(info).sort()).toEqual(['name', 'type']);

    expect(await other.collection<Doc>('alpha').drop()).toBe(true);
    expect((await other.listCollections().toArray()).map((c) => c.name)).toEqual(['beta']);
  });

  it('drops a whole database', async () => {
    const other = freshDb('dropdb');
    await other.collection<Doc>('c').insertOne({ a: 1 });
    expect(await other.dropDatabase()).toBe(true);
    const { databases } = await client.db().admin().listDatabases({ nameOnly: true });
    expect(databases.map((d) => d.name)).not.toContain(other.databaseName);
    expect(await other.listCollections().toArray()).toEqual([]);
    expect(await other.collection<Doc>('c').countDocuments()).toBe(0);
  });
});

describe('inserts', () => {
  it('insertOne generates an ObjectId and stores _id as the first field', async () => {
    const coll = db.collection<Doc>('ins_one');
    const generated = await coll.insertOne({ a: 1 });
    expect(generated.acknowledged).toBe(true);
    expect(generated.insertedId).toBeInstanceOf(ObjectId);
    expect(await coll.findOne({ _id: generated.insertedId })).toEqual({
      _id: generated.insertedId,
      a: 1,
    });

    await coll.insertOne({ b: 2, _id: 'given', c: 3 });
    const stored = await coll.findOne({ _id: 'given' });
    expect(Object.keys(stored ?? {})).toEqual(['_id', 'b', 'c']);

    const duplicate = await rejectionOf(coll.insertOne({ _id: 'given' }));
    expect(duplicate.code).toBe(11000);
    expect(duplicate.keyPattern).toEqual({ _id: 1 });
    expect(duplicate.keyValue).toEqual({ _id: 'given' });
  });

  it('ordered insertMany stops at the first duplicate', async () => {
    const coll = db.collection<Doc>('ins_ordered');
    const err = await rejectionOf(
      coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }]),
    );
    expect((err as MongoBulkWriteError).insertedCount).toBe(2);
    expect(writeErrorsOf(err).map((e) => [e.index, e.code])).toEqual([[2, 11000]]);
    expect(await ids(coll, {})).toEqual([1, 2]);
  });

  it('unordered insertMany reports every duplicate and inserts the rest', async () => {
    const coll = db.collection<Doc>('ins_unordered');
    const docs = [{ _id: 1 }, { _id: 1 }, { _id: 2 }, { _id: 2 }, { _id: 3 }];
    const err = await rejectionOf(coll.insertMany(docs, { ordered: false }));
    expect((err as MongoBulkWriteError).insertedCount).toBe(3);
    expect(writeErrorsOf(err).map((e) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(await ids(coll, {})).toEqual([1, 2, 3]);
  });

  it('insertMany without errors reports every inserted id', async () => {
    const coll = db.collection<Doc>('ins_many');
    const result = await coll.insertMany([{ n: 1 }, { _id: 'x', n: 2 }, { n: 3 }]);
    expect(result.insertedCount).toBe(3);
    expect(result.insertedIds[1]).toBe('x');
    expect(result.insertedIds[0]).toBeInstanceOf(ObjectId);
    expect(await coll.countDocuments()).toBe(3);
  });
});

describe('find', () => {
  const people = [
    {
      _id: 1,
      name: 'Ann',
      age: 31,
      group: 'a',
      tags: ['red', 'blue'],
      addresses: [
        { city: 'Oslo', zip: '0150' },
        { city: 'Bergen', zip: '5003' },
      ],
    },
    {
      _id: 2,
      name: 'bob',
      age: 25,
      group: 'b',
      tags: ['blue'],
      addresses: [{ city: 'Bergen', zip: '5004' }],
    },
    { _id: 3, name: 'Cid', age: 40, group: 'a', tags: [], addresses: [], nick: 'C' },
    {
      _id: 4,
      name: 'Dee',
      group: 'b',
      nick: null,
      tags: ['green'],
      addresses: [{ city: 'Oslo', zip: '0151' }],
    },
    {
      _id: 5,
      name: 'Eve',
      age: 25,
      group: 'a',
      tags: ['red'],
      addresses: [{ city: 'Trondheim', zip: '7010' }],
    },
  ];
  let coll: Collection<Doc>;

  beforeAll(async () => {
    coll = db.collection<Doc>('people');
    await coll.insertMany(people);
  });

  it('filters with comparison operators', async () => {
    expect(await ids(coll, { age: { $gt: 25 } })).toEqual([1, 3]);
    expect(await ids(coll, { age: { $lt: 31 } })).toEqual([2, 5]);
    expect(await ids(coll, { age: { $gte: 31, $lte: 40 } })).toEqual([1, 3]);
    expect(await ids(coll, { age: 25 })).toEqual([2, 5]);
  });

  it('filters with $in, $nin and $ne (which also match a missing field)', async () => {
    expect(await ids(coll, { group: { $in: ['b', 'z'] } })).toEqual([2, 4]);
    expect(await ids(coll, { group: { $nin: ['a'] } })).toEqual([2, 4]);
    expect(await ids(coll, { age: { $ne: 25 } })).toEqual([1, 3, 4]);
    expect(await ids(coll, { age: { $nin: [25, 31] } })).toEqual([3, 4]);
    expect(await ids(coll, { tags: { $in: ['green', 'blue'] } })).toEqual([1, 2, 4]);
  });

  it('filters with $exists', async () => {
    expect(await ids(coll, { nick: { $exists: true } })).toEqual([3, 4]);
    expect(await ids(coll, { age: { $exists: false } })).toEqual([4]);
  });

  it('filters with $regex and regular expressions', async () => {
    expect(await ids(coll, { name: { $regex: '^[a-c]', $options: 'i' } })).toEqual([1, 2, 3]);
    expect(await ids(coll, { name: /e$/ })).toEqual([4, 5]);
    expect(await ids(coll, { name: { $regex: /^B/ } })).toEqual([]);
  });

  it('matches array elements and dotted paths into arrays of subdocuments', async () => {
    expect(await ids(coll, { tags: 'blue' })).toEqual([1, 2]);
    expect(await ids(coll, { tags: { $size: 0 } })).toEqual([3]);
    expect(await ids(coll, { 'addresses.city': 'Bergen' })).toEqual([1, 2]);
    expect(await ids(coll, { 'addresses.0.city': 'Oslo' })).toEqual([1, 4]);
    // Without $elemMatch the two conditions may hold in different elements.
    expect(await ids(coll, { 'addresses.city': 'Oslo', 'addresses.zip': '5003' })).toEqual([1]);
    expect(await ids(coll, { addresses: { $elemMatch: { city: 'Oslo', zip: '5003' } } })).toEqual(
      [],
    );
    expect(await ids(coll, { addresses: { $elemMatch: { city: 'Bergen', zip: '5003' } } })).toEqual(
      [1],
    );
  });

  it('combines conditions with $and and $or', async () => {
    expect(await ids(coll, { $and: [{ group: 'a' }, { age: { $gte: 30 } }] })).toEqual([1, 3]);
    expect(await ids(coll, { $or: [{ age: 40 }, { name: 'Dee' }] })).toEqual([3, 4]);
    expect(await ids(coll, { group: 'a', $or: [{ tags: 'red' }, { nick: 'C' }] })).toEqual([
      1, 3, 5,
    ]);
  });

  it('sorts ascending, descending and by several keys', async () => {
    const order = (sort: Document) =>
      coll
        .find({}, { sort })
        .map((d) => d._id as number)
        .toArray();
    // A missing field sorts before every number.
    expect(await order({ age: 1, _id: 1 })).toEqual([4, 2, 5, 1, 3]);
    expect(await order({ age: -1, _id: 1 })).toEqual([3, 1, 2, 5, 4]);
    expect(await order({ group: 1, age: -1 })).toEqual([3, 1, 5, 2, 4]);
    expect(await order({ name: 1 })).toEqual([1, 3, 4, 5, 2]);
  });

  it('projects with inclusion, exclusion and _id: 0', async () => {
    expect(await coll.findOne({ _id: 1 }, { projection: { name: 1 } })).toEqual({
      _id: 1,
      name: 'Ann',
    });
    expect(await coll.findOne({ _id: 1 }, { projection: { _id: 0, name: 1, age: 1 } })).toEqual({
      name: 'Ann',
      age: 31,
    });
    expect(await coll.findOne({ _id: 2 }, { projection: { tags: 0, addresses: 0 } })).toEqual({
      _id: 2,
      name: 'bob',
      age: 25,
      group: 'b',
    });
    expect(await coll.findOne({ _id: 1 }, { projection: { _id: 0, 'addresses.city': 1 } })).toEqual(
      {
        addresses: [{ city: 'Oslo' }, { city: 'Bergen' }],
      },
    );
  });

  it('returns projected fields in the order of the document, _id first', async () => {
    const doc = await coll.findOne({ _id: 1 }, { projection: { group: 1, age: 1, name: 1 } });
    expect(Object.keys(doc ?? {})).toEqual(['_id', 'name', 'age', 'group']);
    const cursor = coll.find(
      { group: 'b' },
      { projection: { tags: 1, name: 1 }, sort: { _id: 1 } },
    );
    for await (const each of cursor) expect(Object.keys(each)).toEqual(['_id', 'name', 'tags']);
  });

  it('projects array elements with $slice, $elemMatch and the positional $', async () => {
    const [ann] = people;
    expect(await coll.findOne({ _id: 1 }, { projection: { tags: { $slice: 1 } } })).toEqual({
      ...ann,
      tags: ['red'],
    });
    expect(
      await coll.findOne({ _id: 1 }, { projection: { tags: { $slice: -1 }, addresses: 0 } }),
    ).toEqual({
      _id: 1,
      name: 'Ann',
      age: 31,
      group: 'a',
      tags: ['blue'],
    });
    expect(
      await coll.findOne(
        { _id: 1 },
        { projection: { addresses: { $elemMatch: { city: 'Bergen' } } } },
      ),
    ).toEqual({
      _id: 1,
      addresses: [{ city: 'Bergen', zip: '5003' }],
    });
    const positional = await coll.findOne(
      { _id: 1, 'addresses.city': 'Bergen' },
      { projection: { 'addresses.$': 1, name: 1 } },
    );
    expect(positional).toEqual({
      _id: 1,
      name: 'Ann',
      addresses: [{ city: 'Bergen', zip: '5003' }],
    });
  });

  it('refuses a projection that mixes inclusion and exclusion', async () => {
    expect((await rejectionOf(coll.findOne({}, { projection: { name: 1, age: 0 } }))).code).toBe(
      31254,
    );
    expect((await rejectionOf(coll.findOne({}, { projection: { age: 0, name: 1 } }))).code).toBe(
      31253,
    );
    expect(await coll.findOne({ _id: 1 }, { projection: { _id: 0, name: 1 } })).toEqual({
      name: 'Ann',
    });
    expect(
      await coll.findOne({ _id: 1 }, { projection: { _id: 1, addresses: 0, tags: 0 } }),
    ).toEqual({
      _id: 1,
      name: 'Ann',
      age: 31,
      group: 'a',
    });
  });

  it('refuses unknown query operators with BadValue', async () => {
    const unknownField = { age: { $foo: 1 } } as Filter<Doc>;
    const unknownTop = { $foo: 1 } as Filter<Doc>;
    expect((await rejectionOf(coll.find(unknownField).toArray())).code).toBe(2);
    expect((await rejectionOf(coll.find(unknownTop).toArray())).code).toBe(2);
    expect((await rejectionOf(coll.countDocuments(unknownField))).code).toBe(2);
    expect((await rejectionOf(coll.updateOne(unknownField, { $set: { x: 1 } }))).code).toBe(2);
    expect((await rejectionOf(coll.deleteMany(unknownField))).code).toBe(2);
  });

  it('skips and limits', async () => {
    const page = await coll.find({}, { sort: { _id: 1 }, skip: 1, limit: 2 }).toArray();
    expect(page.map((d) => d._id)).toEqual([2, 3]);
    expect(await coll.find({}, { sort: { _id: -1 }, limit: 1 }).toArray()).toHaveLength(1);
    expect(await coll.find({}, { skip: 10 }).toArray()).toEqual([]);
    expect(await coll.countDocuments({}, { skip: 1, limit: 3 })).toBe(3);
  });
});

describe('cursors', () => {
  const total = 250;
  let monitored: { client: MongoClient; replies: CommandSucceededEvent[] };

  beforeAll(async () => {
    await db
      .collection<Doc>('many')
      .insertMany(Array.from({ length: total }, (_, i) => ({ _id: i, n: i, even: i % 2 === 0 })));
    monitored = await monitoredClient();
  });

  afterAll(async () => {
    await monitored.client.close();
  });

  it('returns every document through getMore batches in sort order', async () => {
    monitored.replies.length = 0;
    const docs = await monitored.client
      .db()
      .collection<Doc>('many')
      .find({}, { batchSize: 20, sort: { n: -1 } })
      .toArray();
    expect(docs.map((d) => d.n as number)).toEqual(
      Array.from({ length: total }, (_, i) => total - 1 - i),
    );

    const batches = monitored.replies.filter(
      (e) => e.commandName === 'find' || e.commandName === 'getMore',
    );
    expect(batches[0].commandName).toBe('find');
    expect(batches.filter((e) => e.commandName === 'getMore').length).toBeGreaterThanOrEqual(
      Math.ceil(total / 20) - 1,
    );
    for (const event of batches) expect(batchOf(event).length).toBeLessThanOrEqual(20);
    expect(batches.reduce((n, e) => n + batchOf(e).length, 0)).toBe(total);
  });

  it('iterates a filtered cursor one document at a time', async () => {
    const cursor = db
      .collection<Doc>('many')
      .find({ even: true }, { batchSize: 7, sort: { n: 1 } });
    let expected = 0;
    for await (const doc of cursor) {
      expect(doc.n).toBe(expected);
      expected += 2;
    }
    expect(expected).toBe(total);
  });

  it('opens a cursor with an empty first batch when batchSize is 0', async () => {
    // getMore must come from the session the cursor was opened in.
    const session = client.startSession();
    try {
      const options = { session, promoteLongs: false };
      const found = await db.command(
        { find: 'many', filter: { n: { $lt: 30 } }, sort: { n: 1 }, batchSize: 0 },
        options,
      );
      const first = found.cursor as { id: Long; firstBatch: Document[] };
      expect(first.firstBatch).toEqual([]);
      expect(first.id.isZero()).toBe(false);
      const more = await db.command(
        { getMore: first.id, collection: 'many', batchSize: 100 },
        options,
      );
      const next = more.cursor as { id: Long; nextBatch: Document[] };
      expect(next.nextBatch.map((d) => d.n as number)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
      expect(next.id.isZero()).toBe(true);
    } finally {
      await session.endSession();
    }
  });

  it('kills a partially read cursor on close', async () => {
    monitored.replies.length = 0;
    const mdb = monitored.client.db();
    const cursor = mdb.collection<Doc>('many').find({}, { batchSize: 5, sort: { n: 1 } });
    for (let i = 0; i < 3; i++) expect((await cursor.next())?.n).toBe(i);
    const id = cursor.id;
    expect(id).toBeInstanceOf(Long);
    expect(id?.isZero()).toBe(false);
    await cursor.close();

    const kill = monitored.replies.find((e) => e.commandName === 'killCursors');
    // Ids that fit in 53 bits may come back as numbers, larger ones as Longs.
    expect(((kill?.reply as Document).cursorsKilled as unknown[]).map(String)).toEqual([
      String(id),
    ]);
    const err = await rejectionOf(mdb.command({ getMore: id, collection: 'many' }));
    expect(err.code).toBe(43);
    expect(err.codeName).toBe('CursorNotFound');
  });
});

describe('updates', () => {
  let coll: Collection<Doc>;

  beforeAll(() => {
    coll = db.collection<Doc>('upd');
  });

  it('applies field operators', async () => {
    const ops = db.collection<OpsDoc>('upd_ops');
    await ops.insertOne({
      _id: 'ops',
      a: 1,
      b: 5,
      c: 'gone',
      list: [1, 2, 3, 2],
      set: ['x'],
      lo: 10,
      hi: 10,
      old: 'v',
    });
    const first = await ops.updateOne(
      { _id: 'ops' },
      { $set: { a: 2, 'nested.deep': true }, $inc: { b: 3, fresh: 1 }, $unset: { c: '' } },
    );
    expect(first).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
      upsertedCount: 0,
      upsertedId: null,
    });
    await ops.updateOne(
      { _id: 'ops' },
      { $push: { list: 4 }, $addToSet: { set: { $each: ['x', 'y'] } } },
    );
    await ops.updateOne({ _id: 'ops' }, { $pull: { list: 2 }, $min: { lo: 5 }, $max: { hi: 50 } });
    const before = Date.now();
    await ops.updateOne(
      { _id: 'ops' },
      { $currentDate: { touched: true }, $rename: { old: 'renamed' } },
    );

    const doc = await ops.findOne({ _id: 'ops' });
    expect(doc).toEqual({
      _id: 'ops',
      a: 2,
      b: 8,
      list: [1, 3, 4],
      set: ['x', 'y'],
      lo: 5,
      hi: 50,
      nested: { deep: true },
      fresh: 1,
      touched: expect.any(Date),
      renamed: 'v',
    });
    // Server and test clocks may differ a little when the server is remote.
    expect(Math.abs((doc?.touched ?? new Date(0)).getTime() - before)).toBeLessThan(60_000);

    const unchanged = await ops.updateOne(
      { _id: 'ops' },
      { $min: { lo: 7 }, $max: { hi: 7 }, $addToSet: { set: 'y' } },
    );
    expect(unchanged).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
  });

  it('pushes with modifiers and pops', async () => {
    const ops = db.collection<OpsDoc>('upd_ops');
    await ops.insertOne({ _id: 'push', list: [3, 1] });
    await ops.updateOne(
      { _id: 'push' },
      { $push: { list: { $each: [5, 2, 4], $sort: 1, $slice: 4 } } },
    );
    expect((await ops.findOne({ _id: 'push' }))?.list).toEqual([1, 2, 3, 4]);
    await ops.updateOne({ _id: 'push' }, { $pop: { list: -1 } });
    await ops.updateOne({ _id: 'push' }, { $push: { list: { $each: [0], $position: 0 } } });
    expect((await ops.findOne({ _id: 'push' }))?.list).toEqual([0, 2, 3, 4]);
  });

  it('refuses array operators on a field that is not an array', async () => {
    await coll.insertOne({ _id: 'scalar', s: 'text', n: 1 });
    // Updates the driver's types would refuse, as they do not fit the documents.
    const updates: Document[] = [
      { $push: { s: 1 } },
      { $addToSet: { s: 1 } },
      { $pull: { s: 1 } },
      { $pullAll: { s: [1] } },
    ];
    for (const update of updates) {
      const err = await rejectionOf(coll.updateOne({ _id: 'scalar' }, update));
      expect(err.code).toBe(2);
    }
    expect((await rejectionOf(coll.updateOne({ _id: 'scalar' }, { $pop: { n: 1 } }))).code).toBe(
      14,
    );
    // A missing field is created by $push and $addToSet and left alone by $pull and $pop.
    const creating: Document = {
      $push: { p: 1 },
      $addToSet: { q: 2 },
      $pull: { r: 3 },
      $pop: { t: 1 },
    };
    await coll.updateOne({ _id: 'scalar' }, creating);
    expect(await coll.findOne({ _id: 'scalar' })).toEqual({
      _id: 'scalar',
      s: 'text',
      n: 1,
      p: [1],
      q: [2],
    });
  });

  it('refuses to create a field inside a value that is not a document', async () => {
    await coll.insertOne({ _id: 'viable', n: 5, nothing: null, arr: [{ k: 1 }, 2], sub: { x: 1 } });
    const updates: Document[] = [
      { $set: { 'n.x': 1 } },
      { $set: { 'nothing.x': 1 } },
      { $inc: { 'n.x': 1 } },
      { $set: { 'arr.k': 1 } },
      { $set: { 'arr.1.k': 1 } },
      { $push: { 'n.list': 1 } },
    ];
    for (const update of updates) {
      const err = await rejectionOf(coll.updateOne({ _id: 'viable' }, update));
      expect(err.code).toBe(28);
    }
    // $unset of such a path is a no-op; a path through documents and array indexes is created.
    expect(await coll.updateOne({ _id: 'viable' }, { $unset: { 'n.x': '' } })).toMatchObject({
      modifiedCount: 0,
    });
    await coll.updateOne(
      { _id: 'viable' },
      { $set: { 'sub.y.z': 2, 'arr.0.k': 3, 'arr.3': 'end', 'fresh.a': 1 } },
    );
    expect(await coll.findOne({ _id: 'viable' })).toEqual({
      _id: 'viable',
      n: 5,
      nothing: null,
      arr: [{ k: 3 }, 2, null, 'end'],
      sub: { x: 1, y: { z: 2 } },
      fresh: { a: 1 },
    });
  });

  it('reports modifiedCount 0 when the value does not change', async () => {
    await coll.insertOne({ _id: 'same', v: 1 });
    expect(await coll.updateOne({ _id: 'same' }, { $set: { v: 1 } })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 0,
    });
    expect(await coll.updateOne({ _id: 'same' }, { $set: { v: 2 } })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
    });
    expect(await coll.updateOne({ _id: 'absent' }, { $set: { v: 2 } })).toMatchObject({
      matchedCount: 0,
      modifiedCount: 0,
    });
  });

  it('updates many documents', async () => {
    await coll.insertMany([1, 2, 3, 4, 5].map((n) => ({ _id: `m${n}`, kind: 'many', n })));
    const result = await coll.updateMany(
      { kind: 'many', n: { $gte: 3 } },
      { $set: { flag: true } },
    );
    expect(result).toMatchObject({ matchedCount: 3, modifiedCount: 3 });
    const again = await coll.updateMany({ kind: 'many' }, { $set: { flag: true } });
    expect(again).toMatchObject({ matchedCount: 5, modifiedCount: 2 });
    expect(await coll.countDocuments({ kind: 'many', flag: true })).toBe(5);
  });

  it('upserts, applying $setOnInsert only when inserting', async () => {
    const inserted = await coll.updateOne(
      { sku: 'abc', kind: 'upsert' },
      { $set: { qty: 5 }, $setOnInsert: { created: 'first' } },
      { upsert: true },
    );
    expect(inserted).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
    expect(inserted.upsertedId).toBeInstanceOf(ObjectId);
    expect(await coll.findOne({ _id: inserted.upsertedId as ObjectId })).toEqual({
      _id: inserted.upsertedId,
      sku: 'abc',
      kind: 'upsert',
      qty: 5,
      created: 'first',
    });

    const updated = await coll.updateOne(
      { sku: 'abc', kind: 'upsert' },
      { $set: { qty: 6 }, $setOnInsert: { created: 'second' } },
      { upsert: true },
    );
    expect(updated).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
      upsertedCount: 0,
      upsertedId: null,
    });
    expect(await coll.findOne({ sku: 'abc' }, { projection: { _id: 0 } })).toEqual({
      sku: 'abc',
      kind: 'upsert',
      qty: 6,
      created: 'first',
    });
  });

  it('reports upserted ids, taking _id from the filter', async () => {
    const single = await coll.updateOne({ _id: 'custom-id' }, { $set: { v: 1 } }, { upsert: true });
    expect(single.upsertedId).toBe('custom-id');

    const bulk = await coll.bulkWrite([
      { updateOne: { filter: { _id: 'bulk-1' }, update: { $set: { v: 1 } }, upsert: true } },
      { updateOne: { filter: { _id: 'custom-id' }, update: { $set: { v: 2 } }, upsert: true } },
      { replaceOne: { filter: { _id: 'bulk-2' }, replacement: { v: 3 }, upsert: true } },
    ]);
    expect(bulk.upsertedCount).toBe(2);
    expect(bulk.matchedCount).toBe(1);
    expect(bulk.modifiedCount).toBe(1);
    expect(bulk.upsertedIds).toEqual({ 0: 'bulk-1', 2: 'bulk-2' });
    expect(await coll.findOne({ _id: 'bulk-2' })).toEqual({ _id: 'bulk-2', v: 3 });
  });

  it('lets $setOnInsert choose the _id of an upserted document', async () => {
    const result = await coll.updateOne(
      { sku: 'chosen', kind: 'upsert-id' },
      { $setOnInsert: { _id: 'chosen-id' }, $set: { v: 1 } },
      { upsert: true },
    );
    expect(result.upsertedId).toBe('chosen-id');
    expect(await coll.findOne({ _id: 'chosen-id' })).toEqual({
      _id: 'chosen-id',
      sku: 'chosen',
      kind: 'upsert-id',
      v: 1,
    });
    // Setting _id to the value it already has is no change to it.
    const same = await coll.updateOne({ _id: 'chosen-id' }, { $set: { _id: 'chosen-id', v: 2 } });
    expect(same).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 'chosen-id' })).toMatchObject({ v: 2 });
  });

  it('updates array elements with arrayFilters, $[] and the positional $', async () => {
    await coll.insertOne({
      _id: 'arrays',
      grades: [80, 95, 100, 90],
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2 },
        { sku: 'b', qty: 3 },
      ],
    });
    await coll.updateOne(
      { _id: 'arrays' },
      { $set: { 'grades.$[g]': 0 } },
      { arrayFilters: [{ g: { $gte: 95 } }] },
    );
    await coll.updateOne(
      { _id: 'arrays' },
      { $inc: { 'items.$[it].qty': 10 } },
      { arrayFilters: [{ 'it.sku': 'b' }] },
    );
    await coll.updateOne({ _id: 'arrays' }, { $inc: { 'grades.$[]': 1 } });
    await coll.updateOne({ _id: 'arrays', 'items.sku': 'b' }, { $set: { 'items.$.qty': 0 } });
    expect(await coll.findOne({ _id: 'arrays' })).toEqual({
      _id: 'arrays',
      grades: [81, 1, 1, 91],
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 0 },
        { sku: 'b', qty: 13 },
      ],
    });
  });

  it('replaces a whole document, keeping its _id', async () => {
    await coll.insertOne({ _id: 'rep', a: 1, b: 2 });
    expect(await coll.replaceOne({ _id: 'rep' }, { c: 3 })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
    });
    expect(await coll.findOne({ _id: 'rep' })).toEqual({ _id: 'rep', c: 3 });
    expect(await coll.replaceOne({ _id: 'rep' }, { c: 3 })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 0,
    });
  });

  it('runs pipeline-style updates', async () => {
    await coll.insertOne({ _id: 'pipe', a: 2, b: 3, name: 'x' });
    const result = await coll.updateOne({ _id: 'pipe' }, [
      { $set: { total: { $add: ['$a', '$b'] }, label: { $concat: ['$name', '!'] } } },
      { $unset: 'a' },
    ]);
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 'pipe' })).toEqual({
      _id: 'pipe',
      b: 3,
      name: 'x',
      total: 5,
      label: 'x!',
    });
  });

  it('refuses to modify _id with ImmutableField', async () => {
    await coll.insertOne({ _id: 'immutable', v: 1 });
    const viaSet = await rejectionOf(
      coll.updateOne({ _id: 'immutable' }, { $set: { _id: 'other' } }),
    );
    expect(viaSet.code).toBe(66);
    const viaReplace = await rejectionOf(
      coll.replaceOne({ _id: 'immutable' }, { _id: 'other', v: 2 }),
    );
    expect(viaReplace.code).toBe(66);
    expect(await coll.findOne({ _id: 'immutable' })).toEqual({ _id: 'immutable', v: 1 });
  });

  it('refuses conflicting operators on one path', async () => {
    await coll.insertOne({ _id: 'conflict', a: { b: 1 } });
    const same = await rejectionOf(
      coll.updateOne({ _id: 'conflict' }, { $set: { a: 1 }, $inc: { a: 1 } }),
    );
    expect(same.code).toBe(40);
    const prefix = await rejectionOf(
      coll.updateOne({ _id: 'conflict' }, { $set: { 'a.b': 2 }, $unset: { a: '' } }),
    );
    expect(prefix.code).toBe(40);
  });

  it('refuses $inc with a non-numeric argument or on a non-numeric field', async () => {
    await coll.insertOne({ _id: 'inc', n: 1, s: 'text' });
    const argument = await rejectionOf(
      coll.updateOne({ _id: 'inc' }, { $inc: { n: 'x' as unknown as number } }),
    );
    expect(argument.code).toBe(14);
    const target = await rejectionOf(coll.updateOne({ _id: 'inc' }, { $inc: { s: 1 } }));
    expect(target.code).toBe(14);
    expect(await coll.findOne({ _id: 'inc' })).toEqual({ _id: 'inc', n: 1, s: 'text' });
  });
});

describe('deletes', () => {
  it('deletes one or many documents', async () => {
    const coll = db.collection<Doc>('del');
    await coll.insertMany([1, 2, 3, 4, 5].map((n) => ({ _id: n, kind: n <= 4 ? 'x' : 'y' })));
    expect(await coll.deleteOne({ kind: 'x' })).toMatchObject({
      acknowledged: true,
      deletedCount: 1,
    });
    expect(await coll.deleteMany({ kind: 'x' })).toMatchObject({ deletedCount: 3 });
    expect(await coll.deleteMany({ kind: 'x' })).toMatchObject({ deletedCount: 0 });
    expect(await ids(coll, {})).toEqual([5]);
    expect(await coll.deleteMany({})).toMatchObject({ deletedCount: 1 });
  });
});

describe('findOneAndUpdate, findOneAndReplace, findOneAndDelete', () => {
  let coll: Collection<Doc>;

  beforeAll(async () => {
    coll = db.collection<Doc>('fam');
    await coll.insertMany([
      { _id: 'q1', queue: 'q', priority: 1, state: 'new' },
      { _id: 'q2', queue: 'q', priority: 5, state: 'new' },
      { _id: 'q3', queue: 'q', priority: 3, state: 'new' },
    ]);
  });

  it('returns the document before or after, honouring sort and projection', async () => {
    const before = await coll.findOneAndUpdate(
      { queue: 'q', state: 'new' },
      { $set: { state: 'taken' } },
      { sort: { priority: -1 }, returnDocument: 'before' },
    );
    expect(before).toEqual({ _id: 'q2', queue: 'q', priority: 5, state: 'new' });

    const after = await coll.findOneAndUpdate(
      { queue: 'q', state: 'new' },
      { $set: { state: 'taken' } },
      {
        sort: { priority: -1 },
        returnDocument: 'after',
        projection: { _id: 0, state: 1, priority: 1 },
      },
    );
    expect(after).toEqual({ priority: 3, state: 'taken' });
    expect(Object.keys(after ?? {})).toEqual(['priority', 'state']);

    const none = await coll.findOneAndUpdate({ queue: 'none' }, { $set: { state: 'x' } });
    expect(none).toBeNull();
  });

  it('reports result metadata when asked', async () => {
    const result = await coll.findOneAndUpdate(
      { _id: 'q1' },
      { $inc: { priority: 1 } },
      { includeResultMetadata: true, returnDocument: 'after' },
    );
    expect(result.ok).toBe(1);
    expect(result.value).toMatchObject({ _id: 'q1', priority: 2 });
    expect(result.lastErrorObject).toMatchObject({ n: 1, updatedExisting: true });
  });

  it('upserts', async () => {
    const created = await coll.findOneAndUpdate(
      { _id: 'q9' },
      { $set: { state: 'new' }, $setOnInsert: { priority: 0 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(created).toEqual({ _id: 'q9', state: 'new', priority: 0 });

    const before = await coll.findOneAndUpdate(
      { _id: 'q10' },
      { $set: { state: 'new' } },
      { upsert: true, returnDocument: 'before' },
    );
    expect(before).toBeNull();
    expect(await coll.findOne({ _id: 'q10' })).toEqual({ _id: 'q10', state: 'new' });
  });

  it('replaces and deletes', async () => {
    const replaced = await coll.findOneAndReplace(
      { _id: 'q3' },
      { queue: 'q', priority: 3, state: 'replaced' },
      { returnDocument: 'after' },
    );
    expect(replaced).toEqual({ _id: 'q3', queue: 'q', priority: 3, state: 'replaced' });

    const deleted = await coll.findOneAndDelete({ queue: 'q' }, { sort: { priority: -1 } });
    expect(deleted).toEqual({ _id: 'q2', queue: 'q', priority: 5, state: 'taken' });
    expect(await coll.findOne({ _id: 'q2' })).toBeNull();
    expect(await coll.findOneAndDelete({ queue: 'none' })).toBeNull();
  });
});

describe('counting, distinct and aggregation', () => {
  let orders: Collection<Doc>;

  beforeAll(async () => {
    orders = db.collection<Doc>('orders');
    await db.collection<Doc>('customers').insertMany([
      { _id: 'c1', name: 'Ann', tier: 'gold' },
      { _id: 'c2', name: 'Bob', tier: 'silver' },
      { _id: 'c3', name: 'Cy', tier: 'gold' },
    ]);
    await orders.insertMany([
      { _id: 1, customer: 'c1', status: 'paid', total: 30, items: ['pen', 'ink'] },
      { _id: 2, customer: 'c1', status: 'paid', total: 20, items: ['pen'] },
      { _id: 3, customer: 'c2', status: 'open', total: 15, items: ['book', 'pen'] },
      { _id: 4, customer: 'c3', status: 'paid', total: 45, items: [] },
      { _id: 5, customer: 'c2', status: 'void', total: 5, items: ['ink'] },
    ]);
  });

  it('counts documents', async () => {
    expect(await orders.countDocuments()).toBe(5);
    expect(await orders.countDocuments({ status: 'paid' })).toBe(3);
    expect(await orders.countDocuments({ status: 'none' })).toBe(0);
    expect(await orders.estimatedDocumentCount()).toBe(5);
    expect(await db.collection<Doc>('no_such_collection').countDocuments()).toBe(0);
  });

  it('lists distinct values, including values inside arrays', async () => {
    expect((await orders.distinct('status')).sort()).toEqual(['open', 'paid', 'void']);
    expect((await orders.distinct('items')).sort()).toEqual(['book', 'ink', 'pen']);
    expect((await orders.distinct('items', { customer: 'c1' })).sort()).toEqual(['ink', 'pen']);
  });

  it('groups, sorts and projects', async () => {
    const totals = await orders
      .aggregate([
        { $match: { status: 'paid' } },
        { $group: { _id: '$customer', total: { $sum: '$total' }, n: { $sum: 1 } } },
        { $sort: { total: -1 } },
        { $project: { _id: 0, customer: '$_id', total: 1, n: 1, big: { $gt: ['$total', 46] } } },
      ])
      .toArray();
    expect(totals).toEqual([
      { customer: 'c1', total: 50, n: 2, big: true },
      { customer: 'c3', total: 45, n: 1, big: false },
    ]);
  });

  it('unwinds arrays and counts', async () => {
    const perItem = await orders
      .aggregate([
        { $unwind: '$items' },
        { $group: { _id: '$items', n: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(perItem).toEqual([
      { _id: 'book', n: 1 },
      { _id: 'ink', n: 2 },
      { _id: 'pen', n: 3 },
    ]);
    expect(
      await orders.aggregate([{ $match: { total: { $gte: 20 } } }, { $count: 'n' }]).toArray(),
    ).toEqual([{ n: 3 }]);
  });

  it('refuses an unknown stage and a $group without _id', async () => {
    expect((await rejectionOf(orders.aggregate([{ $noSuchStage: {} }]).toArray())).code).toBe(
      40324,
    );
    expect(
      (await rejectionOf(orders.aggregate([{ $group: { n: { $sum: 1 } } }]).toArray())).code,
    ).toBe(15955);
  });

  it('joins two collections with $lookup', async () => {
    const joined = await orders
      .aggregate([
        { $match: { _id: { $in: [1, 3] } } },
        { $lookup: { from: 'customers', localField: 'customer', foreignField: '_id', as: 'who' } },
        {
          $project: {
            name: { $arrayElemAt: ['$who.name', 0] },
            tier: { $arrayElemAt: ['$who.tier', 0] },
          },
        },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(joined).toEqual([
      { _id: 1, name: 'Ann', tier: 'gold' },
      { _id: 3, name: 'Bob', tier: 'silver' },
    ]);
  });

  it('pages aggregation results through getMore', async () => {
    const coll = db.collection<Doc>('agg_many');
    await coll.insertMany(Array.from({ length: 120 }, (_, i) => ({ n: i, odd: i % 2 === 1 })));
    const monitored = await monitoredClient();
    try {
      const cursor = monitored.client
        .db()
        .collection<Doc>('agg_many')
        .aggregate(
          [{ $match: { odd: true } }, { $sort: { n: -1 } }, { $project: { _id: 0, n: 1 } }],
          { batchSize: 7 },
        );
      const seen: number[] = [];
      for await (const doc of cursor) seen.push(doc.n as number);
      expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => 119 - 2 * i));
      const batches = monitored.replies.filter(
        (e) => e.commandName === 'aggregate' || e.commandName === 'getMore',
      );
      expect(batches.filter((e) => e.commandName === 'getMore').length).toBeGreaterThanOrEqual(
        Math.ceil(60 / 7) - 1,
      );
      for (const event of batches) expect(batchOf(event).length).toBeLessThanOrEqual(7);
    } finally {
      await monitored.client.close();
    }
  });
});

describe('indexes', () => {
  it('creates, lists and drops indexes', async () => {
    const coll = db.collection<Doc>('idx_manage');
    await coll.insertOne({ a: 1, b: 2, c: 3 });
    expect(await coll.createIndex({ a: 1 }, { unique: true })).toBe('a_1');
    expect(await coll.createIndex({ a: 1 }, { unique: true })).toBe('a_1');
    expect(
      await coll.createIndexes([{ key: { b: 1, c: -1 }, name: 'b_c' }, { key: { c: 1 } }]),
    ).toEqual(['b_c', 'c_1']);

    const listed = await coll.listIndexes().toArray();
    expect(listed.map((i) => i.name as string).sort()).toEqual(['_id_', 'a_1', 'b_c', 'c_1']);
    expect(listed.find((i) => i.name === '_id_')).toMatchObject({ key: { _id: 1 } });
    expect(listed.find((i) => i.name === 'a_1')).toMatchObject({ key: { a: 1 }, unique: true });
    expect(listed.find((i) => i.name === 'b_c')).toMatchObject({ key: { b: 1, c: -1 } });
    expect(await coll.indexExists('b_c')).toBe(true);

    const sameKeyOtherName = await rejectionOf(coll.createIndex({ c: 1 }, { name: 'c_again' }));
    expect(sameKeyOtherName.code).toBe(85);
    const sameNameOtherKey = await rejectionOf(coll.createIndex({ b: 1 }, { name: 'c_1' }));
    expect(sameNameOtherKey.code).toBe(86);

    await coll.dropIndex('c_1');
    expect((await coll.listIndexes().toArray()).map((i) => i.name as string).sort()).toEqual([
      '_id_',
      'a_1',
      'b_c',
    ]);
    const missing = await rejectionOf(coll.dropIndex('c_1'));
    expect(missing.code).toBe(27);
    await coll.dropIndexes();
    expect((await coll.listIndexes().toArray()).map((i) => i.name as string)).toEqual(['_id_']);
  });

  it('enforces a unique single-field index on insert and update', async () => {
    const coll = db.collection<Doc>('idx_unique');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertMany([
      { _id: 1, email: 'a@example.com' },
      { _id: 2, email: 'b@example.com' },
    ]);
    const onInsert = await rejectionOf(coll.insertOne({ _id: 3, email: 'a@example.com' }));
    expect(onInsert.code).toBe(11000);
    expect(onInsert.keyPattern).toEqual({ email: 1 });
    expect(onInsert.keyValue).toEqual({ email: 'a@example.com' });

    const onUpdate = await rejectionOf(
      coll.updateOne({ _id: 2 }, { $set: { email: 'a@example.com' } }),
    );
    expect(onUpdate.code).toBe(11000);
    expect(onUpdate.keyPattern).toEqual({ email: 1 });
    expect(onUpdate.keyValue).toEqual({ email: 'a@example.com' });
    expect(await coll.findOne({ _id: 2 })).toEqual({ _id: 2, email: 'b@example.com' });

    // A document may keep its own value.
    expect(
      await coll.updateOne({ _id: 1 }, { $set: { email: 'a@example.com', x: 1 } }),
    ).toMatchObject({ modifiedCount: 1 });
    // Non-sparse: a missing field indexes as null, so only one document may lack it.
    await coll.insertOne({ _id: 4 });
    const missing = await rejectionOf(coll.insertOne({ _id: 5 }));
    expect(missing.code).toBe(11000);
    expect(missing.keyValue).toEqual({ email: null });
  });

  it('enforces a unique compound index', async () => {
    const coll = db.collection<Doc>('idx_compound');
    await coll.createIndex({ org: 1, user: 1 }, { unique: true });
    await coll.insertMany([
      { org: 'o1', user: 'u1' },
      { org: 'o1', user: 'u2' },
      { org: 'o2', user: 'u1' },
    ]);
    const err = await rejectionOf(coll.insertOne({ org: 'o1', user: 'u1', extra: true }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ org: 1, user: 1 });
    expect(err.keyValue).toEqual({ org: 'o1', user: 'u1' });

    const onUpdate = await rejectionOf(
      coll.updateOne({ org: 'o2', user: 'u1' }, { $set: { org: 'o1' } }),
    );
    expect(onUpdate.code).toBe(11000);
    expect(onUpdate.keyValue).toEqual({ org: 'o1', user: 'u1' });
    expect(await coll.countDocuments()).toBe(3);
  });

  it('enforces uniqueness per array element of a multikey index', async () => {
    const coll = db.collection<Doc>('idx_multikey');
    await coll.createIndex({ tags: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, tags: ['a', 'b', 'a'] });
    const err = await rejectionOf(coll.insertOne({ _id: 2, tags: ['c', 'a'] }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ tags: 'a' });
    await coll.insertOne({ _id: 3, tags: ['c', 'd'] });
    expect(await ids(coll, { tags: 'c' })).toEqual([3]);
  });

  it('refuses to build a unique index over existing duplicates', async () => {
    const coll = db.collection<Doc>('idx_existing_dups');
    await coll.insertMany([{ k: 1 }, { k: 2 }, { k: 1 }]);
    const err = await rejectionOf(coll.createIndex({ k: 1 }, { unique: true }));
    expect(err.code).toBe(11000);
    expect((await coll.listIndexes().toArray()).map((i) => i.name as string)).toEqual(['_id_']);
    await coll.insertOne({ k: 2 });
    expect(await coll.countDocuments({ k: 2 })).toBe(2);
  });

  it('lets a sparse unique index skip documents without the field', async () => {
    const coll = db.collection<Doc>('idx_sparse');
    await coll.createIndex({ code: 1 }, { unique: true, sparse: true });
    await coll.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4, code: 'A' }]);
    const err = await rejectionOf(coll.insertOne({ n: 5, code: 'A' }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ code: 'A' });
    expect(await coll.countDocuments()).toBe(4);
    expect(await coll.countDocuments({ code: { $exists: false } })).toBe(3);
  });

  it('applies a unique index only to documents matching its partialFilterExpression', async () => {
    const coll = db.collection<Doc>('idx_partial');
    await coll.createIndex(
      { email: 1 },
      { unique: true, partialFilterExpression: { active: true } },
    );
    await coll.insertMany([
      { email: 'p@example.com', active: false },
      { email: 'p@example.com', active: false },
      { email: 'p@example.com', active: true },
    ]);
    const err = await rejectionOf(coll.insertOne({ email: 'p@example.com', active: true }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ email: 'p@example.com' });
    const listed = await coll.listIndexes().toArray();
    expect(listed.find((i) => i.name === 'email_1')).toMatchObject({
      partialFilterExpression: { active: true },
    });
    expect(await coll.countDocuments({ email: 'p@example.com' })).toBe(3);
  });

  it('finds the same documents through an index as without one', async () => {
    const coll = db.collection<Doc>('idx_lookup');
    await coll.insertMany([
      { _id: 1, k: 5 },
      { _id: 2, k: 5.0 },
      { _id: 3, k: [5, 6] },
      { _id: 4, k: null },
      { _id: 5 },
      { _id: 6, k: '5' },
      { _id: 7, k: { x: 1 } },
    ]);
    const filters: Document[] = [
      { k: 5 },
      { k: null },
      { k: { $in: [6, '5'] } },
      { k: { x: 1 } },
      { $and: [{ k: 5 }, { _id: { $gt: 1 } }] },
    ];
    const unindexed = await Promise.all(filters.map((f) => ids(coll, f)));
    await coll.createIndex({ k: 1 });
    const indexed = await Promise.all(filters.map((f) => ids(coll, f)));
    expect(indexed).toEqual(unindexed);
    expect(indexed).toEqual([[1, 2, 3], [4, 5], [3, 6], [7], [2, 3]]);
  });

  it('finds the same documents through compound, multikey, partial and sparse indexes', async () => {
    const coll = db.collection<Doc>('idx_planner');
    const line = (productId: string, quantity: number) => ({ productId, quantity });
    await coll.insertMany([
      { _id: 1, u: 'a', s: 'P', p: 'VIP', items: [line('x', 1), line('y', 2)], c: 'k' },
      { _id: 2, u: 'a', s: 'P', p: 'STD', items: [line('x', 1)] },
      { _id: 3, u: 'a', s: 'D', p: 'VIP', items: [line('y', 1)], c: null },
      { _id: 4, u: 'b', s: 'P', p: 'VIP', items: [line('x', 3), line('x', 4)] },
      { _id: 5, u: 'b', s: ['P', 'D'], p: 'VIP', items: [] },
      { _id: 6, s: 'P', p: 'VIP', items: [line('z', 1)], c: 'k' },
      { _id: 7, u: 'a', p: 'VIP', items: line('x', 9) },
    ]);
    const filters: Document[] = [
      { u: 'a', s: 'P' },
      { u: { $in: ['a', 'b'] }, s: { $in: ['P', 'D'] } },
      { $and: [{ u: 'b' }, { s: 'D' }] },
      { u: null, s: 'P' },
      { u: 'a', s: null },
      { 'items.productId': { $in: ['x', 'y'] }, s: 'P', p: 'VIP' },
      { 'items.productId': 'x', s: 'P' },
      { 'items.productId': 'x', s: 'P', p: { $in: ['VIP', 'STD'] } },
      { c: 'k' },
      { c: null },
      { c: { $in: ['k', null] } },
    ];
    const unindexed = await Promise.all(filters.map((f) => ids(coll, f)));
    await coll.createIndex({ u: 1, s: 1, t: -1 });
    await coll.createIndex(
      { 'items.productId': 1 },
      { partialFilterExpression: { s: 'P', p: 'VIP' } },
    );
    await coll.createIndex({ c: 1 }, { sparse: true });
    const indexed = await Promise.all(filters.map((f) => ids(coll, f)));
    expect(indexed).toEqual(unindexed);
    expect(indexed.slice(0, 6)).toEqual([[1, 2], [1, 2, 3, 4, 5], [5], [6], [7], [1, 4]]);
    expect(indexed.slice(8)).toEqual([
      [1, 6],
      [2, 3, 4, 5, 7],
      [1, 2, 3, 4, 5, 6, 7],
    ]);
  });
});

describe('BSON round trip', () => {
  let coll: Collection<Doc>;

  beforeAll(() => {
    coll = db.collection<Doc>('bson');
  });

  it('keeps every value and its type', async () => {
    const doc = {
      _id: new ObjectId(),
      oid: new ObjectId(),
      date: new Date('2024-02-29T12:34:56.789Z'),
      dec: Decimal128.fromString('1234567890.123456789012345678901234'),
      long: Long.fromString('9007199254740993'),
      bin: new Binary(Buffer.from([0, 1, 2, 255]), Binary.SUBTYPE_DEFAULT),
      uuid: new Binary(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), Binary.SUBTYPE_UUID),
      custom: new Binary(Buffer.from('hi'), Binary.SUBTYPE_USER_DEFINED),
      int: 42,
      negative: -7,
      double: 1.5,
      large: 2 ** 40,
      text: 'héllo wörld — 你好 — 🚀',
      empty: '',
      yes: true,
      nested: { level1: { level2: { arr: [1, 'two', { three: 3 }, [4, 5]] } } },
    };
    await coll.insertOne(doc);

    const back = await coll.findOne({ _id: doc._id }, { promoteLongs: false });
    expect(back).toEqual(doc);
    expect(back?.oid).toBeInstanceOf(ObjectId);
    expect((back?.oid as ObjectId).equals(doc.oid)).toBe(true);
    expect((back?.date as Date).toISOString()).toBe('2024-02-29T12:34:56.789Z');
    expect(back?.dec).toBeInstanceOf(Decimal128);
    expect(String(back?.dec)).toBe('1234567890.123456789012345678901234');
    expect(back?.long).toBeInstanceOf(Long);
    expect(String(back?.long)).toBe('9007199254740993');
    for (const [field, subtype] of [
      ['bin', 0],
      ['uuid', 4],
      ['custom', 0x80],
    ] as const) {
      const value = back?.[field] as Binary;
      expect(value).toBeInstanceOf(Binary);
      expect(value.sub_type).toBe(subtype);
      expect(Buffer.from(value.buffer).equals(Buffer.from(doc[field].buffer))).toBe(true);
    }
    expect(back?.text).toBe(doc.text);
    expect(Object.keys(back ?? {})).toEqual(Object.keys(doc));

    const asBigInt = await coll.findOne({ _id: doc._id }, { useBigInt64: true });
    expect(asBigInt?.long).toBe(9007199254740993n);

    const raw = await coll.findOne({ _id: doc._id }, { promoteValues: false });
    expect(raw?.int).toBeInstanceOf(Int32);
    expect((raw?.int as Int32).value).toBe(42);
    expect(raw?.negative).toBeInstanceOf(Int32);
    expect(raw?.double).toBeInstanceOf(Double);
    expect(raw?.large).toBeInstanceOf(Double);
    expect((raw?.large as Double).value).toBe(2 ** 40);
  });

  it('finds documents by values of each BSON type', async () => {
    const oid = new ObjectId();
    const when = new Date('2030-01-01T00:00:00Z');
    await coll.insertOne({
      _id: 'typed',
      oid,
      when,
      dec: Decimal128.fromString('9.99'),
      long: Long.fromNumber(123),
      bin: new Binary(Buffer.from('xyz'), 0x80),
    });
    expect(await ids(coll, { oid })).toEqual(['typed']);
    expect(await ids(coll, { when: { $gte: new Date('2029-12-31T00:00:00Z') } })).toEqual([
      'typed',
    ]);
    expect(await ids(coll, { when })).toEqual(['typed']);
    expect(await ids(coll, { dec: Decimal128.fromString('9.99') })).toEqual(['typed']);
    expect(await ids(coll, { long: Long.fromNumber(123) })).toEqual(['typed']);
    expect(await ids(coll, { bin: new Binary(Buffer.from('xyz'), 0x80) })).toEqual(['typed']);
    expect(await ids(coll, { _id: 'typed', oid: new ObjectId() })).toEqual([]);
  });

  it('distinguishes a null field from a missing one', async () => {
    const nulls = db.collection<Doc>('nulls');
    await nulls.insertMany([{ _id: 'null', a: null }, { _id: 'missing' }, { _id: 'value', a: 1 }]);
    const present = await nulls.findOne({ _id: 'null' });
    expect(present).toEqual({ _id: 'null', a: null });
    expect(Object.keys(present ?? {})).toEqual(['_id', 'a']);
    const absent = await nulls.findOne({ _id: 'missing' });
    expect(Object.keys(absent ?? {})).toEqual(['_id']);

    expect(await ids(nulls, { a: null })).toEqual(['missing', 'null']);
    expect(await ids(nulls, { a: { $exists: true } })).toEqual(['null', 'value']);
    expect(await ids(nulls, { a: { $exists: false } })).toEqual(['missing']);
    expect(await ids(nulls, { a: { $type: 'null' } })).toEqual(['null']);
    expect(await ids(nulls, { a: { $ne: null } })).toEqual(['value']);

    // Through an index the answers are the same.
    await nulls.createIndex({ a: 1 });
    expect(await ids(nulls, { a: null })).toEqual(['missing', 'null']);
    expect(await ids(nulls, { a: { $exists: true } })).toEqual(['null', 'value']);

    // An update that sets null keeps the field; $unset removes it.
    await nulls.updateOne({ _id: 'value' }, { $set: { a: null } });
    expect(await nulls.findOne({ _id: 'value' })).toEqual({ _id: 'value', a: null });
    await nulls.updateOne({ _id: 'value' }, { $unset: { a: '' } });
    expect(Object.keys((await nulls.findOne({ _id: 'value' })) ?? {})).toEqual(['_id']);
  });
});

/** Stock of one product as the order worker keeps it: holds per order, version-checked. */
interface Stock {
  _id: string;
  reserved: number;
  sold: number;
  version: number;
  holds?: Array<{ orderId: string; quantity: number }>;
}

describe('write shapes of the order worker', () => {
  let monitored: { client: MongoClient; replies: CommandSucceededEvent[] };

  beforeAll(async () => {
    monitored = await monitoredClient();
  });

  afterAll(async () => {
    await monitored.client.close();
  });

  it('applies every matching statement of one unordered update command', async () => {
    const coll = monitored.client
      .db()
      .collection<{ _id: number; n: number; version: number }>('shape_bulk');
    await coll.insertMany(Array.from({ length: 50 }, (_, _id) => ({ _id, n: 0, version: 0 })));
    await coll.updateOne({ _id: 49 }, { $set: { n: 5 } });
    // Ids 50..59 do not exist; every third statement names a stale version.
    const statements = Array.from({ length: 60 }, (_, _id) => ({
      updateOne: {
        filter: { _id, version: _id % 3 === 0 ? 1 : 0 },
        update: _id === 49 ? { $max: { n: 5 } } : { $inc: { n: 1, version: 1 } },
      },
    }));
    monitored.replies.length = 0;
    const result = await coll.bulkWrite(statements, { ordered: false });
    const expected = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 3 !== 0);
    expect(result).toMatchObject({ matchedCount: expected.length, modifiedCount: 32 });
    const commands = monitored.replies.filter((e) => e.commandName === 'update');
    expect(commands).toHaveLength(1);
    expect((commands[0].reply as Document).n).toBe(33);
    const docs = await coll.find({}, { sort: { _id: 1 } }).toArray();
    for (const doc of docs) {
      const applied = expected.includes(doc._id) && doc._id !== 49;
      expect(doc).toEqual({
        _id: doc._id,
        n: doc._id === 49 ? 5 : applied ? 1 : 0,
        version: applied ? 1 : 0,
      });
    }
  });

  it('settles holds only when every listed hold is present, pulling exactly those', async () => {
    const coll = db.collection<Stock>('shape_holds');
    const hold = (orderId: string, quantity: number) => ({ orderId, quantity });
    await coll.insertMany([
      {
        _id: 's1',
        reserved: 5,
        sold: 0,
        version: 3,
        holds: [hold('a', 2), hold('b', 1), hold('c', 2)],
      },
      { _id: 's2', reserved: 4, sold: 0, version: 1, holds: [hold('a', 2), hold('b', 2)] },
      { _id: 's3', reserved: 2, sold: 0, version: 1, holds: [hold('a', 2)] },
    ]);
    const settle = (_id: string) =>
      coll.updateOne(
        {
          _id,
          $and: [
            { holds: { $elemMatch: { orderId: 'a', quantity: 2 } } },
            { holds: { $elemMatch: { orderId: 'b', quantity: 1 } } },
          ],
        },
        {
          $pull: { holds: { orderId: { $in: ['a', 'b'] } } },
          $inc: { reserved: -3, sold: 3, version: 1 },
        },
      );
    expect(await settle('s1')).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 's1' })).toEqual({
      _id: 's1',
      reserved: 2,
      sold: 3,
      version: 4,
      holds: [hold('c', 2)],
    });
    // Already settled, a quantity that differs, a hold missing: nothing changes.
    for (const _id of ['s1', 's2', 's3']) {
      expect(await settle(_id)).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    }
    expect(await coll.findOne({ _id: 's2' })).toMatchObject({
      version: 1,
      holds: [hold('a', 2), hold('b', 2)],
    });
    expect(await coll.findOne({ _id: 's3' })).toMatchObject({ version: 1, holds: [hold('a', 2)] });
  });

  it('pushes several holds and counts them in one version-checked update', async () => {
    const coll = db.collection<Stock>('shape_push');
    await coll.insertMany([
      { _id: 'p1', reserved: 1, sold: 0, version: 0, holds: [{ orderId: 'x', quantity: 1 }] },
      { _id: 'p2', reserved: 0, sold: 0, version: 0 },
    ]);
    const reserve = (_id: string, version: number) =>
      coll.updateOne(
        { _id, version },
        {
          $push: {
            holds: {
              $each: [
                { orderId: 'd', quantity: 1 },
                { orderId: 'e', quantity: 4 },
              ],
            },
          },
          $inc: { reserved: 5, version: 1 },
        },
      );
    expect(await reserve('p1', 0)).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await reserve('p1', 0)).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    expect(await reserve('p2', 0)).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      {
        _id: 'p1',
        reserved: 6,
        sold: 0,
        version: 1,
        holds: [
          { orderId: 'x', quantity: 1 },
          { orderId: 'd', quantity: 1 },
          { orderId: 'e', quantity: 4 },
        ],
      },
      {
        _id: 'p2',
        reserved: 5,
        sold: 0,
        version: 1,
        holds: [
          { orderId: 'd', quantity: 1 },
          { orderId: 'e', quantity: 4 },
        ],
      },
    ]);
  });

  it('inserts the other documents when some violate a unique partial index', async () => {
    const coll = monitored.client.db().collection<Doc>('shape_unique');
    await coll.createIndex(
      { key: 1 },
      { unique: true, partialFilterExpression: { status: 'PENDING' } },
    );
    await coll.insertOne({ _id: 'o0', key: 'k1', status: 'PENDING' });
    const docs: Doc[] = [
      { _id: 'o1', key: 'k1', status: 'PENDING' },
      { _id: 'o2', key: 'k2', status: 'PENDING' },
      { _id: 'o3', key: 'k2', status: 'PENDING' },
      { _id: 'o4', key: 'k1', status: 'DONE' },
      { key: 'k3', status: 'PENDING' },
    ];
    monitored.replies.length = 0;
    const err = await rejectionOf(coll.insertMany(docs, { ordered: false }));
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulk = err as MongoBulkWriteError;
    expect(writeErrorsOf(err).map((e) => [e.index, e.code])).toEqual([
      [0, 11000],
      [2, 11000],
    ]);
    expect(bulk.insertedCount).toBe(3);
    expect(Object.keys(bulk.insertedIds)).toEqual(['1', '3', '4']);
    expect(bulk.insertedIds[1]).toBe('o2');
    expect(bulk.insertedIds[3]).toBe('o4');
    expect(bulk.insertedIds[4]).toBeInstanceOf(ObjectId);
    // The driver keeps only index, code and message of each write error; the reply has the key.
    const reply = monitored.replies.find((e) => e.commandName === 'insert')?.reply as Document;
    expect(reply.n).toBe(3);
    expect(reply.writeErrors).toMatchObject([
      { index: 0, code: 11000, keyPattern: { key: 1 }, keyValue: { key: 'k1' } },
      { index: 2, code: 11000, keyPattern: { key: 1 }, keyValue: { key: 'k2' } },
    ]);
    const stored = await coll.find({}, { sort: { key: 1, _id: 1 } }).toArray();
    expect(stored.map((d) => [d.key, d.status])).toEqual([
      ['k1', 'PENDING'],
      ['k1', 'DONE'],
      ['k2', 'PENDING'],
      ['k3', 'PENDING'],
    ]);
  });

  it('returns many documents by _id in one batch', async () => {
    const coll = monitored.client.db().collection<Doc>('shape_in');
    await coll.insertMany(
      Array.from({ length: 1000 }, (_, i) => ({ _id: i, pad: 'x'.repeat(100) })),
    );
    const wanted = Array.from({ length: 300 }, (_, i) => i * 2);
    // Missing ids and repeats match nothing more.
    const filter = { _id: { $in: [...wanted, 5_000, 5_001, 0, 2] } };
    monitored.replies.length = 0;
    const docs = await coll.find(filter, { batchSize: 1000 }).toArray();
    expect(docs.map((d) => d._id).sort((a, b) => Number(a) - Number(b))).toEqual(wanted);
    const batches = monitored.replies.filter((e) => e.commandName === 'find');
    expect(batches).toHaveLength(1);
    expect(batchOf(batches[0])).toHaveLength(300);
    expect(monitored.replies.filter((e) => e.commandName === 'getMore')).toEqual([]);
    // Without batchSize the first batch is mongod's default 101 and getMore brings the rest.
    monitored.replies.length = 0;
    expect(await coll.find(filter).toArray()).toHaveLength(300);
    expect(batchOf(monitored.replies[0])).toHaveLength(101);
  });
});

/**
 * 200 tasks contending for one document retry about n²/2 = 20,000 times in all, which takes a few
 * seconds on a small machine running the suites in parallel: more than jest's default 5 s.
 */
const CONTENDED_TIMEOUT_MS = 30_000;

describe('concurrency', () => {
  it(
    'loses no update under 200 concurrent version-checked findOneAndUpdate calls',
    async () => {
      const coll = db.collection<{ _id: string; counter: number; version: number }>('occ');
      const initialVersion = 7;
      await coll.insertOne({ _id: 'doc', counter: 0, version: initialVersion });

      const increment = async (): Promise<number> => {
        for (;;) {
          const current = await coll.findOne({ _id: 'doc' });
          if (!current) throw new Error('document vanished');
          const updated = await coll.findOneAndUpdate(
            { _id: 'doc', version: current.version },
            { $inc: { counter: 1, version: 1 } },
            { returnDocument: 'after' },
          );
          if (updated) return updated.version;
        }
      };
      const versions = await Promise.all(Array.from({ length: 200 }, increment));

      expect(await coll.findOne({ _id: 'doc' })).toEqual({
        _id: 'doc',
        counter: 200,
        version: initialVersion + 200,
      });
      // Every successful call produced its own version: no two callers won the same one.
      expect(new Set(versions).size).toBe(200);
    },
    CONTENDED_TIMEOUT_MS,
  );

  it('lets exactly the available stock be taken by 200 concurrent conditional decrements', async () => {
    const coll = db.collection<{ _id: string; stock: number }>('stock');
    await coll.insertOne({ _id: 'sku', stock: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        coll.updateOne({ _id: 'sku', stock: { $gte: 1 } }, { $inc: { stock: -1 } }),
      ),
    );
    expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(50);
    expect(results.filter((r) => r.matchedCount === 0)).toHaveLength(150);
    expect(await coll.findOne({ _id: 'sku' })).toEqual({ _id: 'sku', stock: 0 });
  });
});

/**
 * The driver rewraps mongod's "Transaction numbers are only allowed on a replica set member or
 * mongos" (code 20) in an error advising retryWrites=false, keeping mongod's as `originalError`.
 */
function serverCause(err: MongoServerError): MongoServerError {
  const { originalError } = err as { originalError?: unknown };
  return originalError instanceof MongoServerError ? originalError : err;
}

describe('transactions on a standalone server', () => {
  it('refuses a transaction with IllegalOperation and applies none of its writes', async () => {
    const coll = db.collection<Doc>('txn');
    await coll.insertOne({ _id: 'before' });
    const session = client.startSession();
    try {
      const err = await rejectionOf(
        session.withTransaction(async () => {
          await coll.insertOne({ _id: 'inside' }, { session });
        }),
      );
      expect(serverCause(err)).toMatchObject({ code: 20, codeName: 'IllegalOperation' });

      session.startTransaction();
      const explicit = await rejectionOf(coll.insertOne({ _id: 'explicit' }, { session }));
      expect(serverCause(explicit)).toMatchObject({ code: 20, codeName: 'IllegalOperation' });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await ids(coll, {})).toEqual(['before']);
  });
});

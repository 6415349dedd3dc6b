/**
 * The counting proxies of load/lib in front of the real MongoDB and Redis of the test run: clients
 * work through them unchanged (monitoring, large payloads, pipelines, MULTI, blocking pops,
 * BullMQ), the counts are exactly the commands sent, and a hook can hold a command back.
 */
import { createHash } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import {
  MongoCountingProxy,
  RedisCountingProxy,
  diffSnapshots,
  startMongoCountingProxy,
  startRedisCountingProxy,
  totalOf,
} from '../tools/counting-proxy/counting-proxy.js';
import { bullmqScripts, scriptName } from '../tools/counting-proxy/redis-scripts.js';
import { removeRedisKeys } from '../tools/harness/services.js';
import { mongoUriFor, testRedisUrl, uniqueDbName, uniqueQueuePrefix } from './support/test-env.js';
import { waitFor } from '../tools/harness/wait.js';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

describe('counting proxy: MongoDB', () => {
  const uri = mongoUriFor(uniqueDbName('counting_proxy'));
  let proxy: MongoCountingProxy;
  let client: MongoClient;
  let direct: MongoClient;

  beforeAll(async () => {
    proxy = await startMongoCountingProxy(uri);
    client = await MongoClient.connect(proxy.url);
    direct = await MongoClient.connect(uri);
  });
  afterAll(async () => {
    await direct.db().dropDatabase();
    await Promise.all([client.close(), direct.close()]);
    await proxy.close();
  });

  it('counts each data command once, apart from handshake and monitoring', async () => {
    const things = client.db().collection<{ n: number; blob?: string }>('things');
    const before = proxy.snapshot();
    // The handshake of the monitoring and the pooled connection (hello or legacy ismaster).
    expect(totalOf(before.control)).toBeGreaterThanOrEqual(2);

    await things.insertOne({ n: 0 });
    // 2.25 MiB in one insert: many TCP chunks.
    await things.insertMany(
      Array.from({ length: 9 }, (_, i) => ({ n: i + 1, blob: 'x'.repeat(256 << 10) })),
    );
    expect(await things.find({}).batchSize(4).toArray()).toHaveLength(10);
    await things.updateOne({ n: 0 }, { $set: { seen: true } });
    await things.findOneAndUpdate({ n: 1 }, { $inc: { n: 100 } });
    expect(await things.countDocuments({})).toBe(10);
    await things.deleteMany({ n: { $gt: 5 } });

    const counted = diffSnapshots(before, proxy.snapshot());
    expect(counted.data).toEqual({
      insert: 2,
      find: 1,
      getMore: 2,
      update: 1,
      findAndModify: 1,
      aggregate: 1,
      delete: 1,
    });
    expect(counted.byCollection).toEqual({
      'insert things': 2,
      'find things': 1,
      'getMore things': 2,
      'update things': 1,
      'findAndModify things': 1,
      'aggregate things': 1,
      'delete things': 1,
    });
    expect(counted.unknown).toEqual({});
    expect(proxy.snapshot().unparsedConnections).toBe(0);
  });

  it('holds a command the hook holds until it is released', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached = () => {};
    const holding = new Promise<void>((resolve) => (reached = resolve));
    proxy.setCommandHook((command) => {
      if (command.name !== 'insert' || command.collection !== 'held') return undefined;
      reached();
      return released;
    });
    try {
      const inserting = client.db().collection('held').insertOne({ held: true });
      await holding;
      expect(await direct.db().collection('held').countDocuments()).toBe(0);
      const insertsWhileHeld = proxy.snapshot().data.insert ?? 0;
      release();
      await inserting;
      expect(await direct.db().collection('held').countDocuments()).toBe(1);
      expect(proxy.snapshot().data.insert).toBe(insertsWhileHeld + 1);
    } finally {
      proxy.setCommandHook(undefined);
    }
  });
});

describe('counting proxy: Redis', () => {
  const prefix = uniqueQueuePrefix('counting-proxy');
  let proxy: RedisCountingProxy;
  let direct: Redis;

  beforeAll(async () => {
    proxy = await startRedisCountingProxy(testRedisUrl());
    direct = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    direct.disconnect();
    await removeRedisKeys(testRedisUrl(), `${prefix}*`);
    await proxy.close();
  });

  it('counts every command: large values, pipelines, MULTI, scripts, blocking pops', async () => {
    const redis = new Redis(proxy.url);
    try {
      await redis.ping();
      const before = proxy.snapshot();
      await redis.set(`${prefix}:big`, 'x'.repeat(5 << 20));
      expect(await redis.strlen(`${prefix}:big`)).toBe(5 << 20);
      const pipeline = redis.pipeline();
      for (let i = 0; i < 500; i++) pipeline.incr(`${prefix}:n`);
      await pipeline.exec();
      await redis.multi().set(`${prefix}:m`, '1').get(`${prefix}:m`).exec();
      // Unique text, so Redis has not cached it: counted by the SHA1 Redis gives it.
      const script = `return redis.call('GET', KEYS[1]) -- ${prefix}`;
      await redis.eval(script, 1, `${prefix}:m`);
      await redis.script('LOAD', script);
      await redis.evalsha(sha1(script), 1, `${prefix}:m`);
      const popping = redis.bzpopmin(`${prefix}:z`, 10);
      await waitFor(() => proxy.snapshot().commands.BZPOPMIN === 1, { what: 'BZPOPMIN sent' });
      await direct.zadd(`${prefix}:z`, 1, 'member');
      expect(await popping).toEqual([`${prefix}:z`, 'member', '1']);

      const counted = diffSnapshots(before, proxy.snapshot());
      expect(counted.commands).toEqual({
        SET: 2,
        STRLEN: 1,
        INCR: 500,
        MULTI: 1,
        GET: 1,
        EXEC: 1,
        EVAL: 1,
        'SCRIPT LOAD': 1,
        EVALSHA: 1,
        BZPOPMIN: 1,
      });
      expect(counted.scripts).toEqual({ [sha1(script)]: 2 });
      expect(scriptName(sha1(script), proxy.scriptPreviews)).toBe(
        `${sha1(script).slice(0, 8)} "${script.slice(0, 60)}"`,
      );
    } finally {
      redis.disconnect();
    }
  });

  it('carries a BullMQ queue and worker, each job added and finished by one script', async () => {
    const connection = { url: proxy.url, maxRetriesPerRequest: null };
    const queue = new Queue('jobs', { connection, prefix });
    const jobs = 50;
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      const worker = new Worker('jobs', () => Promise.resolve(), { connection, prefix });
      worker.on('completed', () => {
        if (++done === jobs) void worker.close().then(resolve);
      });
    });
    const before = proxy.snapshot();
    await queue.addBulk(
      Array.from({ length: jobs }, (_, i) => ({ name: 'job', data: { i }, opts: { priority: 2 } })),
    );
    await finished;
    await queue.close();

    const byName: Record<string, number> = {};
    for (const [sha, n] of Object.entries(diffSnapshots(before, proxy.snapshot()).scripts))
      byName[scriptName(sha, proxy.scriptPreviews)] = n;
    expect(byName.addPrioritizedJob).toBe(jobs);
    expect(byName.moveToFinished).toBe(jobs);
    expect([...bullmqScripts().values()]).toContain('moveToActive');
    expect(proxy.snapshot().unparsedConnections).toBe(0);
  });

  it('holds a command and the rest of its connection until released', async () => {
    const redis = new Redis(proxy.url);
    const seen: string[] = [];
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    proxy.setCommandHook((command) => {
      if (command.name !== 'SET') return undefined;
      seen.push(command.args[0]);
      return command.args[0] === `${prefix}:b` ? released : undefined;
    });
    try {
      await redis.ping();
      const writing = redis
        .pipeline()
        .set(`${prefix}:a`, '1')
        .set(`${prefix}:b`, '1')
        .set(`${prefix}:c`, '1')
        .exec();
      await waitFor(async () => (await direct.exists(`${prefix}:a`)) === 1, { what: 'a written' });
      expect(await direct.exists(`${prefix}:b`, `${prefix}:c`)).toBe(0);
      // The hook sees a command only when it is next to go.
      expect(seen).toEqual([`${prefix}:a`, `${prefix}:b`]);
      release();
      await writing;
      expect(await direct.exists(`${prefix}:b`, `${prefix}:c`)).toBe(2);
      expect(seen).toEqual([`${prefix}:a`, `${prefix}:b`, `${prefix}:c`]);
    } finally {
      proxy.setCommandHook(undefined);
      redis.disconnect();
    }
  });

  it('drops what it holds when the client goes away, as a killed process would', async () => {
    const redis = new Redis(proxy.url);
    redis.on('error', () => undefined);
    proxy.setCommandHook((command) =>
      command.name === 'SET' && command.args[0] === `${prefix}:frozen`
        ? new Promise<void>(() => {})
        : undefined,
    );
    try {
      await redis.ping();
      const connectionsBefore = proxy.openSockets;
      void redis
        .pipeline()
        .set(`${prefix}:passed`, '1')
        .set(`${prefix}:frozen`, '1')
        .exec()
        .catch(() => undefined);
      await waitFor(async () => (await direct.exists(`${prefix}:passed`)) === 1, {
        what: 'the write before the held one',
      });
      redis.disconnect();
      await waitFor(() => proxy.openSockets === connectionsBefore - 2, {
        what: 'both sides of the connection closed',
      });
      expect(await direct.exists(`${prefix}:frozen`)).toBe(0);
    } finally {
      proxy.setCommandHook(undefined);
    }
  });
});

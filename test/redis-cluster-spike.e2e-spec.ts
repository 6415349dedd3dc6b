/**
 * What the Redis Cluster design relies on, checked on a real 3-master cluster with the BullMQ and
 * ioredis versions we ship:
 *
 * - both queues under one hash-tagged prefix `{...}` live in one slot, and BullMQ runs prioritized
 *   jobs there through an ioredis `Cluster` instance (options objects give a standalone client);
 * - one Lua script touching many `{prefix}:rl:...` keys runs by EVALSHA on the slot's owner, and
 *   what NOSCRIPT means on a cluster;
 * - PUBLISH reaches a subscriber on another node, and the subscriber comes back after its node
 *   drops it or restarts;
 * - while the queue's master is down, enqueues fail within seconds rather than wait, and the
 *   worker resumes once the master is back.
 *
 * It stays in the suite: a library upgrade that breaks one of these fails here first.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Cluster, ClusterOptions, Redis } from 'ioredis';
import { RedisCluster, startRedisCluster } from '../tools/harness/redis-cluster.js';
import { waitFor } from '../tools/harness/wait.js';

interface OrderData {
  n: number;
  poison: boolean;
}

interface DeadLetterData {
  orderId: string;
  lastError: string;
}

/** The rate-limit shape: one call counts every key it is given; returns [hits, ttl ms] per key. */
const HIT_ALL = `
local results = {}
for i, key in ipairs(KEYS) do
  local hits = redis.call('INCR', key)
  if hits == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  results[i] = {hits, redis.call('PTTL', key)}
end
return results
`;

type HitResults = Array<[number, number]>;
type WithHitAll = Cluster & { hitAll(...keysThenTtl: Array<string | number>): Promise<HitResults> };

const CONCURRENCY = 10;

describe('Redis Cluster: what the design relies on', () => {
  let redisCluster: RedisCluster;
  /** Node-local connections (SCAN, SCRIPT EXISTS, PUBSUB NUMSUB answer for one node only). */
  const admin = new Map<number, Redis>();
  const clients: Cluster[] = [];
  let cleanups: Array<() => unknown> = [];

  /** A cluster client closed after the test file, whatever happens. */
  const connect = (options: ClusterOptions = {}): Cluster => {
    const client = new Cluster(redisCluster.nodes, options);
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const onCleanup = (step: () => unknown) => cleanups.push(step);

  /** The master connection of `client` that serves the slot of `key`. */
  const ownerOf = async (client: Cluster, key: string): Promise<Redis> => {
    const slot = await client.cluster('KEYSLOT', key);
    const nodeKey = client.slots[slot]?.[0];
    const node = client
      .nodes('master')
      .find(({ options }) => `${options.host}:${options.port}` === nodeKey);
    if (!node) throw new Error(`no master known for slot ${slot} of ${key}`);
    return node;
  };

  const countKeys = async (node: Redis, pattern: string): Promise<number> => {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  };

  const adminOf = (port: number): Redis => {
    const node = admin.get(port);
    if (!node) throw new Error(`no admin connection to ${port}`);
    return node;
  };

  beforeAll(async () => {
    redisCluster = await startRedisCluster({ timeoutMs: 20_000 });
    process.stdout.write(`Redis Cluster up in ${redisCluster.setupMs} ms\n`);
    for (const { host, port } of redisCluster.nodes) {
      // Fails fast while its node is down (callers poll), reconnects quickly when it is back.
      const node = new Redis({
        host,
        port,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => 50,
      });
      node.on('error', () => undefined);
      admin.set(port, node);
    }
  }, 25_000);

  afterEach(async () => {
    // Newest first: workers close before the queues they use, queues before their connections.
    const steps = cleanups.reverse();
    cleanups = [];
    for (const step of steps) await step();
  });

  afterAll(async () => {
    for (const client of clients) await client.quit().catch(() => client.disconnect());
    for (const node of admin.values()) node.disconnect();
    await redisCluster?.stop();
  });

  it('runs both queues in one slot through a Cluster instance: prioritized, deduplicated, concurrent', async () => {
    const prefix = `{spike-${randomBytes(4).toString('hex')}}`;
    // BullMQ throws for a Worker unless redisOptions.maxRetriesPerRequest is null (or unset).
    const connection = connect({ redisOptions: { maxRetriesPerRequest: null } });
    // Observed, not replaced: BullMQ reports its misgivings on the console.
    const warn = jest.spyOn(console, 'warn');
    const error = jest.spyOn(console, 'error');
    onCleanup(() => {
      warn.mockRestore();
      error.mockRestore();
    });

    const orders = new Queue<OrderData>('orders', { connection, prefix });
    const deadLetters = new Queue<DeadLetterData>('orders-dlq', { connection, prefix });
    const queueErrors: string[] = [];
    for (const queue of [orders, deadLetters]) {
      queue.on('error', (err) => queueErrors.push(`${queue.name}: ${err.message}`));
      onCleanup(() => queue.close());
      onCleanup(() => queue.obliterate({ force: true }));
    }

    const poisonId = 'order-151';
    const jobs = Array.from({ length: 200 }, (_, n) => ({
      name: 'place-order',
      data: { n, poison: `order-${n}` === poisonId },
      opts: { jobId: `order-${n}`, priority: n % 2 === 0 ? 1 : 10 },
    }));
    // A client retry of order-0 with other data: the job id makes it a no-op.
    jobs.push({
      name: 'place-order',
      data: { n: -1, poison: false },
      opts: { jobId: 'order-0', priority: 1 },
    });
    await orders.addBulk(jobs);
    expect(await orders.getJobCounts('prioritized', 'waiting')).toEqual({
      prioritized: 200,
      waiting: 0,
    });
    expect(await orders.getJobState('order-0')).toBe('prioritized');
    expect((await orders.getJob('order-0'))?.data.n).toBe(0);

    let releaseFirstWave = () => {};
    const firstWave = new Promise<void>((resolve) => (releaseFirstWave = resolve));
    const started: Array<{ id: string; priority: number }> = [];
    let active = 0;
    let peak = 0;
    const deadLettered: Array<Promise<unknown>> = [];
    const worker = new Worker<OrderData>(
      'orders',
      async (job) => {
        started.push({ id: job.id ?? '', priority: job.opts.priority ?? 0 });
        peak = Math.max(peak, ++active);
        try {
          // The first wave waits for itself: it completes only if CONCURRENCY jobs run at once.
          if (started.length === CONCURRENCY) releaseFirstWave();
          if (started.length <= CONCURRENCY) await firstWave;
          if (job.data.poison) throw new Error('poison order');
          return job.data.n;
        } finally {
          active--;
        }
      },
      { connection, prefix, concurrency: CONCURRENCY },
    );
    worker.on('error', (err) => queueErrors.push(`worker: ${err.message}`));
    worker.on('failed', (job, err) => {
      if (!job?.id) return;
      deadLettered.push(
        deadLetters.add(
          'dead-letter',
          { orderId: job.id, lastError: err.message },
          { jobId: job.id },
        ),
      );
    });
    onCleanup(async () => {
      releaseFirstWave();
      await worker.close();
    });

    await waitFor(
      async () => {
        const counts = await orders.getJobCounts('completed', 'failed');
        return counts.completed === 199 && counts.failed === 1;
      },
      { timeoutMs: 15_000, what: '199 orders completed and 1 failed' },
    );
    await Promise.all(deadLettered);

    expect(peak).toBe(CONCURRENCY);
    expect(started).toHaveLength(200);
    expect(new Set(started.map(({ id }) => id)).size).toBe(200);
    const lastVip = started.map(({ priority }) => priority).lastIndexOf(1);
    const firstRegular = started.findIndex(({ priority }) => priority === 10);
    expect(lastVip).toBeLessThan(firstRegular);
    expect(await orders.getJobState('order-0')).toBe('completed');
    expect((await orders.getJob('order-0'))?.returnvalue).toBe(0);
    expect(await orders.getJobState(poisonId)).toBe('failed');
    expect(await orders.getJobState('order-404')).toBe('unknown');
    expect(await deadLetters.getJobState(poisonId)).toBe('waiting');
    expect(await deadLetters.getJobCounts('waiting', 'failed')).toEqual({ waiting: 1, failed: 0 });

    // Every key of both queues is on the master of the hash tag's slot, and in that one slot.
    const owner = await ownerOf(connection, prefix);
    const perNode = await Promise.all(
      redisCluster.nodes.map(({ port }) => countKeys(adminOf(port), `${prefix}*`)),
    );
    const ownerPort = Number(owner.options.port);
    const ownerIndex = redisCluster.nodes.findIndex(({ port }) => port === ownerPort);
    expect(perNode.filter((_count, i) => i !== ownerIndex)).toEqual([0, 0]);
    const slot = await connection.cluster('KEYSLOT', prefix);
    expect(await adminOf(ownerPort).cluster('COUNTKEYSINSLOT', slot)).toBe(perNode[ownerIndex]);
    expect(await countKeys(adminOf(ownerPort), `${prefix}:orders:*`)).toBeGreaterThan(0);
    expect(await countKeys(adminOf(ownerPort), `${prefix}:orders-dlq:*`)).toBeGreaterThan(0);

    expect(queueErrors).toEqual([]);
    expect([...warn.mock.calls, ...error.mock.calls]).toEqual([]);

    // Test teardown can rely on obliterate: SCAN-and-delete through one node misses other slots.
    await worker.close();
    for (const queue of [orders, deadLetters]) await queue.obliterate({ force: true });
    expect(await countKeys(adminOf(ownerPort), `${prefix}*`)).toBe(0);
  });

  it('breaks, or refuses, the connections that look right but are not', async () => {
    const prefix = `{spike-${randomBytes(4).toString('hex')}}`;
    const seed = connect();
    await new Promise((resolve) => seed.once('ready', resolve));
    const owner = await ownerOf(seed, prefix);
    const stranger = redisCluster.nodes.find(({ port }) => port !== owner.options.port);
    if (!stranger) throw new Error('a 3-node cluster has a node that does not own the slot');

    // Connection options (even a cluster node's URL) make BullMQ build a standalone client.
    const standalone = new Queue('orders', { connection: { ...stranger }, prefix });
    standalone.on('error', () => undefined);
    onCleanup(() => standalone.close());
    await expect(standalone.add('place-order', {})).rejects.toThrow(/^MOVED \d+ 127\.0\.0\.1:\d+$/);

    // A per-request retry limit (what the API's fail-fast client uses) is refused by a Worker.
    // lazyConnect: the Worker duplicates the connection before refusing it; lazy copies never connect.
    const limited = connect({ lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } });
    expect(
      () => new Worker('orders', () => Promise.resolve(), { connection: limited, prefix }),
    ).toThrow('BullMQ: Your redis options maxRetriesPerRequest must be null.');

    // Without an offline queue, a Cluster refuses commands until it has loaded the slot map.
    const failFast = connect({ enableOfflineQueue: false });
    await expect(failFast.ping()).rejects.toThrow(
      "Cluster isn't ready and enableOfflineQueue options is false",
    );
    await new Promise((resolve) => failFast.once('ready', resolve));
    expect(await failFast.ping()).toBe('PONG');
  });

  it('runs one rate-limit script over many keys of the hash tag by EVALSHA; NOSCRIPT elsewhere', async () => {
    const prefix = `{spike-${randomBytes(4).toString('hex')}}`;
    const client = connect({ redisOptions: { maxRetriesPerRequest: 1 } });
    await new Promise((resolve) => client.once('ready', resolve));
    const keys = Array.from({ length: 8 }, (_, i) => `${prefix}:rl:default:client-${i}`);
    const owner = await ownerOf(client, prefix);
    const ownerPort = Number(owner.options.port);
    const scriptNodes = async (sha: string) => {
      const found: number[] = [];
      for (const { port } of redisCluster.nodes) {
        const [exists] = (await adminOf(port).script('EXISTS', sha)) as number[];
        if (exists === 1) found.push(port);
      }
      return found;
    };

    // Loaded once, on the master of the hash tag's slot: the script cache is per node.
    const sha = (await owner.script('LOAD', HIT_ALL)) as string;
    expect(await scriptNodes(sha)).toEqual([ownerPort]);
    const first = (await client.evalsha(sha, keys.length, ...keys, 60_000)) as HitResults;
    expect(first.map(([hits]) => hits)).toEqual(keys.map(() => 1));
    for (const [, ttl] of first) expect(ttl).toBeGreaterThan(59_000);
    const second = (await client.evalsha(sha, keys.length, ...keys, 60_000)) as HitResults;
    expect(second.map(([hits]) => hits)).toEqual(keys.map(() => 2));

    // A key whose slot is on another master: that node never saw the script.
    let elsewhere = '';
    for (let i = 0; !elsewhere; i++) {
      const candidate = `{elsewhere-${i}}:rl`;
      if ((await ownerOf(client, candidate)).options.port !== ownerPort) elsewhere = candidate;
    }
    await expect(client.evalsha(sha, 1, elsewhere, 1000)).rejects.toThrow(
      'NOSCRIPT No matching script. Please use EVAL.',
    );
    // Keys without the common hash tag cannot share a call.
    await expect(client.evalsha(sha, 2, keys[0], elsewhere, 1000)).rejects.toThrow(
      "CROSSSLOT Keys in request don't hash to the same slot",
    );
    // SCRIPT LOAD through the cluster client has no key to route by: it lands on one master.
    const otherSha = (await client.script('LOAD', `${HIT_ALL} -- routed`)) as string;
    expect(await scriptNodes(otherSha)).toHaveLength(1);

    // defineCommand: EVAL (script text) on a connection's first call, EVALSHA after, and back to
    // EVAL by itself when the node answers NOSCRIPT (restart, failover, SCRIPT FLUSH).
    client.defineCommand('hitAll', { numberOfKeys: keys.length, lua: HIT_ALL });
    const limiter = client as WithHitAll;
    const ownerAdmin = adminOf(ownerPort);
    const stats = async () => {
      const info = `${await ownerAdmin.info('commandstats')}${await ownerAdmin.info('errorstats')}`;
      const calls = (name: string) =>
        Number(new RegExp(`${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      const noscript = Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(info)?.[1] ?? 0);
      return { eval: calls('cmdstat_eval'), evalsha: calls('cmdstat_evalsha'), noscript };
    };
    await ownerAdmin.config('RESETSTAT');
    for (let i = 0; i < 3; i++) await limiter.hitAll(...keys, 60_000);
    expect(await stats()).toEqual({ eval: 1, evalsha: 2, noscript: 0 });

    await ownerAdmin.script('FLUSH');
    await ownerAdmin.config('RESETSTAT');
    const afterFlush = await limiter.hitAll(...keys, 60_000);
    expect(afterFlush.map(([hits]) => hits)).toEqual(keys.map(() => 6));
    expect(await stats()).toEqual({ eval: 1, evalsha: 1, noscript: 1 });

    onCleanup(() => owner.del(...keys));
  });

  it('delivers PUBLISH to a subscriber on another node, and after its node drops or restarts', async () => {
    const channel = `spike-${randomBytes(4).toString('hex')}:cache-invalidation`;
    const subscriber = connect();
    const events: string[] = [];
    for (const event of ['ready', 'close', 'reconnecting', 'end', '+node', '-node', 'refresh']) {
      subscriber.on(event, () => events.push(event));
    }
    const received: string[] = [];
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) received.push(message);
    });
    await subscriber.subscribe(channel);

    // PUBSUB NUMSUB answers for the node asked: the one that says 1 holds the subscription.
    const allPorts = redisCluster.nodes.map(({ port }) => port);
    const subscribedAt = (ports = allPorts) =>
      waitFor(
        async () => {
          const holders: number[] = [];
          for (const port of ports) {
            const [, count] = (await adminOf(port).pubsub('NUMSUB', channel)) as [string, number];
            if (Number(count) === 1) holders.push(port);
          }
          return holders.length === 1 && holders[0];
        },
        { what: `the subscription on exactly one of ${ports.join(', ')}` },
      );
    const first = await subscribedAt();

    const publisher = connect();
    await new Promise((resolve) => publisher.once('ready', resolve));
    const through = (port: number): Redis => {
      const node = publisher.nodes('master').find(({ options }) => options.port === port);
      if (!node) throw new Error(`publisher has no connection to ${port}`);
      return node;
    };
    const others = allPorts.filter((port) => port !== first);

    // Classic pub/sub is cluster-wide: any node forwards to every other over the cluster bus.
    // PUBLISH counts only the receivers on the node it ran on: 0 here, though the message arrives.
    for (const port of others) expect(await through(port).publish(channel, `via-${port}`)).toBe(0);
    await waitFor(() => others.every((port) => received.includes(`via-${port}`)), {
      what: 'messages published on the other nodes',
    });

    // Publishes until one arrives: messages sent while no subscription exists are lost.
    let probe = 0;
    const roundTrip = (via: () => Redis, what: string) =>
      waitFor(
        async () => {
          const message = `probe-${++probe}`;
          await via().publish(channel, message);
          return waitFor(() => received.includes(message), { timeoutMs: 200, intervalMs: 10 });
        },
        { timeoutMs: 10_000, what },
      );

    // The server drops the subscriber's connection: ioredis picks a node and subscribes again.
    await adminOf(first).client('KILL', 'TYPE', 'pubsub');
    await roundTrip(
      () => through(others[0]),
      'a message after the subscriber connection was killed',
    );
    const second = await subscribedAt();

    // The subscriber's node restarts: meanwhile the subscription moves to a live node.
    const live = allPorts.filter((port) => port !== second);
    await redisCluster.stopNode(second);
    await roundTrip(() => through(live[0]), 'a message while the subscriber node is down');
    const third = await subscribedAt(live);
    await redisCluster.startNode(second);
    await redisCluster.waitUntilHealthy();
    // The publisher's Cluster dropped the node from its pool and re-adds it at its next slot
    // refresh, which only a MOVED or an error triggers (ioredis 5.11 has no periodic refresh unless
    // slotsRefreshInterval is set, whatever its typings say): publish on the restarted node directly.
    await roundTrip(() => adminOf(second), 'a message published on the restarted node');
    expect(await subscribedAt()).toBe(third);

    // The Cluster client announces none of it (the subscription's connection is internal): ready
    // once, never closed. Only +node/-node may show, when the node was one its pool had connected.
    expect(events.filter((e) => !['+node', '-node', 'refresh'].includes(e))).toEqual(['ready']);
  });

  it('fails enqueues fast while the queue master is down; the worker resumes when it is back', async () => {
    const prefix = `{spike-${randomBytes(4).toString('hex')}}`;
    const connection = connect({ redisOptions: { maxRetriesPerRequest: null } });
    const orders = new Queue('orders', { connection, prefix });
    orders.on('error', () => undefined);
    onCleanup(() => orders.close());
    onCleanup(() => orders.obliterate({ force: true }));
    const processed: string[] = [];
    const worker = new Worker('orders', (job) => Promise.resolve(processed.push(job.id ?? '')), {
      connection,
      prefix,
    });
    // The worker reports each failed fetch while the master is down, and keeps trying.
    worker.on('error', () => undefined);
    onCleanup(() => worker.close());
    await orders.add('place-order', {}, { jobId: 'before' });
    await waitFor(() => processed.includes('before'), { what: 'the first job processed' });

    const port = Number((await ownerOf(connection, prefix)).options.port);
    await redisCluster.stopNode(port, 'SIGKILL');
    // maxRetriesPerRequest: null does not make a Cluster wait: after maxRedirections (16) tries,
    // about a second, the command fails. Accepted orders then rely on the recovery sweep.
    const addedAt = Date.now();
    await expect(orders.add('place-order', {}, { jobId: 'during' })).rejects.toThrow(
      /^Too many Cluster redirections\. Last error: /,
    );
    expect(Date.now() - addedAt).toBeLessThan(5_000);

    await redisCluster.startNode(port);
    await redisCluster.waitUntilHealthy();
    // Without persistence the restarted master is empty; the worker's connections come back.
    await orders.add('place-order', {}, { jobId: 'after' });
    await waitFor(() => processed.includes('after'), {
      timeoutMs: 10_000,
      what: 'a job added after the restart processed by the same worker',
    });
  });
});

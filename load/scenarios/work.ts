/**
 * Work per order, counted rather than timed: MongoDB and Redis commands per accepted order on the
 * API and per decided order on the worker, through counting proxies in front of each app process
 * (tools/counting-proxy/). Counts do not move with the noise of the machine, so they can be
 * held to targets.
 *
 * 1. API alone (no worker): a burst of one-unit orders for one product, over many connections.
 * 2. Then one worker process decides that backlog: a flash sale, more orders than units.
 */
import { waitFor } from '../../tools/harness/wait.js';
import {
  Counts,
  MongoSnapshot,
  RedisSnapshot,
  diffSnapshots,
  totalOf,
} from '../../tools/counting-proxy/counting-proxy.js';
import { outcomeOf, stockChecks, waitUntilDecided } from '../lib/outcome.js';
import { scriptName } from '../../tools/counting-proxy/redis-scripts.js';
import { Check, round, RunResult } from '../lib/report.js';
import { createProducts, createShoppers } from '../lib/shoppers.js';
import { CommandCounts, Stack, orderQueueOf, startStack } from '../../tools/harness/stack.js';
import { orderBurst } from './contention.js';

export interface WorkOptions {
  shoppers: number;
  vipShare: number;
  orders: number;
  connections: number;
  /** Units of the one product: fewer than orders, so the worker both confirms and fails. */
  stock: number;
  /** WORKER_CONCURRENCY of the worker process. */
  concurrency: number;
  settleTimeoutMs: number;
}

export const WORK_DEFAULTS: WorkOptions = {
  shoppers: 500,
  vipShare: 0.1,
  orders: 2000,
  connections: 32,
  stock: 500,
  concurrency: 10,
  settleTimeoutMs: 300_000,
};

/** Redis commands that set up or check a connection rather than do work; listed apart. */
const REDIS_CONNECTION = new Set([
  'AUTH',
  'CLIENT SETINFO',
  'CLIENT SETNAME',
  'HELLO',
  'INFO',
  'PING',
  'QUIT',
  'SELECT',
]);

/** MongoDB commands that shape collections rather than touch documents (start-up); listed apart. */
const MONGO_SCHEMA = new Set([
  'collMod',
  'create',
  'createIndexes',
  'drop',
  'dropDatabase',
  'dropIndexes',
  'listCollections',
  'listIndexes',
]);

const STATEMENT =
  'Counted: commands as the server receives them, through a pair of counting proxies (MongoDB, ' +
  'Redis) in front of each app process. A pipeline of N commands counts N; MULTI and EXEC count ' +
  'besides the commands between them; an EVAL or EVALSHA counts one, and commands run inside Lua ' +
  'scripts are not counted. MongoDB handshake and monitoring (hello, ismaster, ping, endSessions...) ' +
  'MongoDB schema commands (create, createIndexes...) and Redis connection commands (INFO, ' +
  'CLIENT SETNAME, PING...) are listed apart, not per order. ' +
  "The scenario's own reads (waiting, checking) go straight to the servers and are not counted.";

/** Per-order figures of one side, and the raw counts they come from. */
interface Side {
  orders: number;
  mongoPerOrder: number;
  redisPerOrder: number;
  mongoByCommand: Counts;
  mongoByCollection: Counts;
  redisByCommand: Counts;
  redisByScript: Counts;
  /** Absolute counts, not per order. */
  mongoControl: Counts;
  mongoSchema: Counts;
  redisConnection: Counts;
  totals: { mongoData: number; redis: number };
}

export async function runWork(options: WorkOptions): Promise<RunResult> {
  const stack = await startStack({
    label: 'work',
    workers: 0,
    countCommands: true,
    env: {
      WORKER_CONCURRENCY: String(options.concurrency),
      // The recovery sweep is a safety net for orders whose enqueue failed (none here); left on
      // its 15 s default it would look up the job of every order still pending mid-run.
      ORDER_SWEEP_INTERVAL_MS: '3600000',
    },
  });
  const queue = orderQueueOf(stack);
  try {
    const run = Date.now().toString(36);
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, options.vipShare, run);
    const [productId] = await createProducts(stack.apiUrl, [options.stock]);

    // 1. The API alone.
    const apiBefore = stack.commandCounts('api');
    const burst = await orderBurst(stack.apiUrl, shoppers, () => [{ productId, quantity: 1 }], {
      connections: options.connections,
      amount: options.orders,
    });
    const apiWork = between(apiBefore, stack.commandCounts('api'));
    const accepted = burst.acknowledged.length;
    const pendingBeforeWorker = await stack.orders.countDocuments({ status: 'PENDING' });

    // 2. One worker on the backlog. The queue is paused until the worker is up, so its start-up
    // (connections, indexes, script loading) is counted apart from the work per order.
    await queue.pause();
    await stack.startWorker();
    const workerReady = stack.commandCounts('worker');
    const started = Date.now();
    await queue.resume();
    const settleMs = await waitUntilDecided(stack, options.settleTimeoutMs);
    // The last jobs are marked finished in Redis just after their orders are decided.
    await waitFor(
      async () =>
        totalOf(await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed')) === 0,
      { timeoutMs: options.settleTimeoutMs, what: 'the order queue to drain' },
    );
    const workerSeconds = (Date.now() - started) / 1000;
    const workerWork = between(workerReady, stack.commandCounts('worker'));
    const startup = workerReady;

    const allIds = (await stack.orders.distinct('_id')).map((id) => id.toString());
    const outcome = await outcomeOf(stack, allIds);
    const decided = outcome.orders - outcome.pending;
    const names = scriptNamer(stack);
    const api = side(apiWork, accepted, names);
    const worker = side(workerWork, decided, names);

    const figures = {
      shoppers: options.shoppers,
      vipShoppers: shoppers.filter((s) => s.vip).length,
      orders: options.orders,
      connections: options.connections,
      stock: options.stock,
      concurrency: options.concurrency,
      mongo: stack.mongoDescription,
      redis: stack.redisDescription,
      statuses: burst.statuses,
      api,
      worker: {
        ...worker,
        seconds: round(workerSeconds, 2),
        confirmed: outcome.confirmed,
        failed: outcome.failed,
      },
      workerStartup: {
        mongoData: startup.mongo.data,
        mongoControl: startup.mongo.control,
        redis: startup.redis.commands,
      },
    };
    const proxies = stack.counted.flatMap((p) => [p.mongo.snapshot(), p.redis.snapshot()]);
    const unread = proxies.reduce((n, s) => n + s.unparsedConnections, 0);
    const unknown = stack.counted.reduce((n, p) => n + totalOf(p.mongo.snapshot().unknown), 0);
    const checks: Check[] = [
      {
        name: 'every request acknowledged (202)',
        ok: accepted === options.orders && burst.errors === 0,
        detail: `${accepted} of ${options.orders}, statuses ${JSON.stringify(burst.statuses)}, ${burst.errors} connection errors`,
      },
      {
        name: 'the API ran alone: every accepted order still PENDING when the worker started',
        ok: pendingBeforeWorker === accepted,
        detail: `${pendingBeforeWorker} pending of ${accepted}`,
      },
      {
        name: 'confirmed units = stock',
        ok: (outcome.confirmedUnits[productId] ?? 0) === Math.min(options.stock, accepted),
        detail: `${outcome.confirmedUnits[productId] ?? 0} confirmed, stock ${options.stock}`,
      },
      {
        name: 'every order decided, none PENDING, queue drained',
        ok: settleMs !== undefined && outcome.pending === 0 && decided === accepted,
        detail: `${decided} decided of ${accepted} accepted, ${outcome.pending} pending`,
      },
      ...(await stockChecks(stack, [productId])),
      {
        name: 'the proxies read every connection and message',
        ok: unread === 0 && unknown === 0,
        detail: `${proxies.length / 2} process(es); ${unread} unread connection(s), ${unknown} unknown MongoDB message(s)`,
      },
    ];
    const lines = [
      `${options.shoppers} shoppers (${figures.vipShoppers} VIP) send ${options.orders} orders of 1 unit of one product with ${options.stock} units, ${options.connections} connections, to 1 API process with no worker running; then 1 worker process (concurrency ${options.concurrency}) decides the backlog.`,
      '',
      `${STATEMENT}`,
      '',
      `API, per accepted order (${accepted} accepted):`,
      ...describeSide(api),
      '',
      `Worker, per decided order (${decided} decided: ${outcome.confirmed} confirmed, ${JSON.stringify(outcome.failed)} failed, in ${round(workerSeconds, 1)} s):`,
      ...describeSide(worker),
      `- start-up, until /health answered (queue paused meanwhile; not per order): MongoDB data ${describe(startup.mongo.data)}; MongoDB handshake ${describe(startup.mongo.control)}; Redis ${describe(startup.redis.commands)}`,
      '',
      `Targets after the redesign: API ≤ 0.5 MongoDB and ≤ 1.5 Redis per accepted order (now ${api.mongoPerOrder} and ${api.redisPerOrder}); worker ≤ 2 MongoDB and ≤ 2 Redis per decided order (now ${worker.mongoPerOrder} and ${worker.redisPerOrder}).`,
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    await queue.close();
    await stack.stop();
  }
}

function between(before: CommandCounts, after: CommandCounts): CommandCounts {
  return {
    mongo: diffSnapshots<MongoSnapshot>(before.mongo, after.mongo),
    redis: diffSnapshots<RedisSnapshot>(before.redis, after.redis),
  };
}

/** Script names over every proxy of the stack (each saw the texts its process sent by EVAL). */
function scriptNamer(stack: Stack): (sha: string) => string {
  const previews = new Map<string, string>();
  for (const p of stack.counted)
    for (const [sha, text] of p.redis.scriptPreviews) previews.set(sha, text);
  return (sha) => scriptName(sha, previews);
}

function side(counts: CommandCounts, orders: number, nameOf: (sha: string) => string): Side {
  const [redisWork, redisConnection] = split(counts.redis.commands, REDIS_CONNECTION);
  const [mongoWork, mongoSchema] = split(counts.mongo.data, MONGO_SCHEMA);
  const [mongoWorkByCollection] = split(counts.mongo.byCollection, MONGO_SCHEMA, (key) =>
    key.slice(0, key.indexOf(' ')),
  );
  const scripts: Counts = {};
  for (const [sha, n] of Object.entries(counts.redis.scripts)) scripts[nameOf(sha)] = n;
  const per = (all: Counts): Counts =>
    Object.fromEntries(
      Object.entries(all)
        .sort(([, a], [, b]) => b - a)
        .map(([name, n]) => [name, orders ? round(n / orders, 3) : 0]),
    );
  const mongoData = totalOf(mongoWork);
  const redis = totalOf(redisWork);
  return {
    orders,
    mongoPerOrder: orders ? round(mongoData / orders, 3) : 0,
    redisPerOrder: orders ? round(redis / orders, 3) : 0,
    mongoByCommand: per(mongoWork),
    mongoByCollection: per(mongoWorkByCollection),
    redisByCommand: per(redisWork),
    redisByScript: per(scripts),
    mongoControl: counts.mongo.control,
    mongoSchema,
    redisConnection,
    totals: { mongoData, redis },
  };
}

/** [the counts whose (named) key is not in `apart`, those that are]. */
function split(
  counts: Counts,
  apart: Set<string>,
  nameOf = (key: string) => key,
): [Counts, Counts] {
  const kept: Counts = {};
  const set: Counts = {};
  for (const [key, n] of Object.entries(counts)) (apart.has(nameOf(key)) ? set : kept)[key] = n;
  return [kept, set];
}

const describe = (counts: Counts): string =>
  Object.keys(counts).length === 0
    ? 'none'
    : Object.entries(counts)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ');

function describeSide(s: Side): string[] {
  return [
    `- MongoDB data commands: **${s.mongoPerOrder}** per order (${s.totals.mongoData} in all): ${describe(s.mongoByCommand)}`,
    `  - by collection: ${describe(s.mongoByCollection)}`,
    `- Redis commands: **${s.redisPerOrder}** per order (${s.totals.redis} in all): ${describe(s.redisByCommand)}`,
    `  - EVAL/EVALSHA by script: ${describe(s.redisByScript)}`,
    `- not per order, in all: MongoDB handshake and monitoring ${describe(s.mongoControl)}; MongoDB schema ${describe(s.mongoSchema)}; Redis connection commands ${describe(s.redisConnection)}`,
  ];
}

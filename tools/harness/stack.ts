/**
 * The system under load, as production runs it: the built app in separate `api` and `worker`
 * processes, MongoDB (MONGODB_URI, or the offline server) and Redis (REDIS_URL, a local one, or
 * one the scenario owns so it can restart it). Everything it starts, it stops.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisKeyPrefix } from '../../src/config/config.js';
import { ORDER_QUEUE } from '../../src/order/order.queue.js';
import { REPORTS_QUEUE } from '../../src/reports/reports.queue.js';
import type { RollupJobData } from '../../src/reports/reports.queue.js';
import type { RollupRun } from '../../src/reports/rollup.service.js';
import { Collection, MongoClient, ObjectId } from 'mongodb';
import { AppProcess, startAppProcess } from './app-process.js';
import {
  MongoCountingProxy,
  MongoSnapshot,
  RedisCountingProxy,
  RedisSnapshot,
  emptyMongoSnapshot,
  emptyRedisSnapshot,
  startMongoCountingProxy,
  startRedisCountingProxy,
  sumSnapshots,
} from '../counting-proxy/counting-proxy.js';
import { ROOT } from './processes.js';
import {
  OfflineMongo,
  Service,
  freePort,
  removeDeploymentKeys,
  resolveMongo,
  resolveRedis,
  startOfflineMongo,
  startRedisServer,
} from './services.js';
import type { HistoryEntry } from '../../src/order/domain/history.js';
import type { OrderStatus } from '../../src/order/domain/order-state.js';

export const ADMIN = { email: 'load-admin@shop.test', password: 'load-admin-password' };

/** The documents the scenarios read back, as stored (see src/order and src/stock schemas). */
export interface OrderDoc {
  _id: ObjectId;
  userId: string;
  status: OrderStatus;
  failureReason: string | null;
  priority: 'VIP' | 'REGULAR';
  items: Array<{ productId: string; quantity: number }>;
  createdAt: Date;
  decidedAt: Date | null;
  cancelledFrom?: OrderStatus | null;
  stockReturned?: boolean | null;
  history?: HistoryEntry[];
}

export interface ProductDoc {
  _id: ObjectId;
  available: number;
  reserved: number;
  sold: number;
  received: number;
  holds: Array<{ orderId: string; quantity: number }>;
}

export interface StackOptions {
  label: string;
  apis?: number;
  workers?: number;
  /** Own a Redis (with AOF on disk) that the scenario may restart. */
  ownRedis?: boolean;
  /** Own an offline MongoDB server (with --dbpath) that the scenario may restop. */
  ownMongo?: boolean;
  /**
   * Node.js options for the offline MongoDB server this stack starts, e.g. a heap for a large
   * data set: it holds every document and index entry in memory (about 6 KB per seeded order).
   */
  mongoNodeArgs?: string[];
  env?: Record<string, string>;
  /**
   * Write a V8 CPU profile of every app process and of the offline MongoDB server here
   * (`--cpu-prof`, one file per process, written when it exits). Default: LOAD_PROFILE_DIR.
   */
  profileDir?: string;
  /**
   * Start each app process behind its own pair of counting proxies (tools/counting-proxy/):
   * its MONGODB_URI and REDIS_URL point at them. `stack.env` keeps the direct addresses, so the
   * scenario's own reads are never counted.
   */
  countCommands?: boolean;
}

export type Role = 'api' | 'worker';

/** An app process started with `countCommands`, and the proxies all its traffic goes through. */
export interface CountedProcess {
  role: Role;
  app: AppProcess;
  mongo: MongoCountingProxy;
  redis: RedisCountingProxy;
}

export interface CommandCounts {
  mongo: MongoSnapshot;
  redis: RedisSnapshot;
}

export interface Stack {
  apiUrl: string;
  env: Record<string, string>;
  mongoDescription: string;
  redisDescription: string;
  orders: Collection<OrderDoc>;
  products: Collection<ProductDoc>;
  apis: AppProcess[];
  workers: AppProcess[];
  startWorker(): Promise<AppProcess>;
  /** With `countCommands`: every app process started so far (killed ones too), with its proxies. */
  counted: CountedProcess[];
  /** With `countCommands`: what all processes of a role have sent so far (zero without any). */
  commandCounts(role: Role): CommandCounts;
  /** Process ids of everything taking part, for CPU accounting. */
  pids(): Record<string, number | undefined>;
  /** For scenarios that own Redis: stop it (SIGTERM, AOF flushed) and start it on the same port. */
  restartRedis?(downMs: number): Promise<void>;
  /** For scenarios that own MongoDB: stop the server and start it again on the same data. */
  restartMongo?(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** The process id of the Redis server at `url` when it runs on this machine. */
async function serverPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('server');
    const match = /process_id:(\d+)/.exec(info);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** Compiles src/ so the processes run the current code, as `node dist/main.js`. */
export function build(): void {
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const scratch = mkdtempSync(path.join(tmpdir(), `load-${options.label}-`));
  const profileDir = options.profileDir ?? process.env.LOAD_PROFILE_DIR;
  const profiling = (role: string): string[] =>
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, role)}`] : [];
  const mongoNodeArgs = [...(options.mongoNodeArgs ?? []), ...profiling('mongo')];
  const stoppers: Array<() => Promise<void>> = [];
  let mongo: Service & {
    restart?: (downMs: number) => Promise<void>;
    pid?: () => number | undefined;
  };
  if (options.ownMongo && !process.env.MONGODB_URI) {
    const port = await freePort();
    const dbPath = path.join(scratch, 'mongo');
    let server = await startOfflineMongo({ port, dbPath, nodeArgs: mongoNodeArgs });
    mongo = {
      url: server.url,
      pid: () => server.process.child.pid,
      description: `${server.description} (owned, data in ${dbPath})`,
      stop: () => server.stop(),
      restart: async (downMs) => {
        await server.stop();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        server = await startOfflineMongo({ port, dbPath, nodeArgs: mongoNodeArgs });
      },
    };
  } else {
    const resolved = await resolveMongo({ nodeArgs: mongoNodeArgs });
    mongo = {
      ...resolved,
      pid: () => ('process' in resolved ? (resolved as OfflineMongo).process.child.pid : undefined),
    };
  }
  const mongoPid = () => mongo.pid?.();
  stoppers.push(() => mongo.stop());

  let redis: Service & { restart?: (downMs: number) => Promise<void> };
  if (options.ownRedis) {
    const port = await freePort();
    const dir = path.join(scratch, 'redis');
    let server = await startRedisServer({ port, dir, appendOnly: true });
    redis = {
      url: server.url,
      description: `redis-server owned by the scenario at ${server.url} (AOF in ${dir})`,
      stop: () => server.stop(),
      restart: async (downMs) => {
        await server.stop();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        server = await startRedisServer({ port, dir, appendOnly: true });
      },
    };
  } else {
    redis = await resolveRedis();
  }
  stoppers.push(() => redis.stop());

  const redisPid = await serverPid(redis.url);
  const runId = `load${Date.now().toString(36)}`;
  const mongoUrl = new URL(mongo.url);
  mongoUrl.pathname = `/${runId}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    MONGODB_URI: mongoUrl.toString(),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: runId,
    JWT_ACCESS_SECRET: randomBytes(32).toString('hex'),
    JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
    // Accounts are set up through the real sign-up flow; cost 4 keeps 1,000 of them quick.
    BCRYPT_ROUNDS: '4',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'warn',
    // One load generator is one client address; limits are tested elsewhere.
    RATE_LIMIT_PER_IP: '1000000000',
    RATE_LIMIT_AUTH: '1000000000',
    RATE_LIMIT_ORDERS: '1000000000',
    ...options.env,
    // Tuning experiments: `LOAD_APP_ENV='ORDER_BATCH_LINGER_MS=5 WORKER_CONCURRENCY=100' npm run load:…`.
    ...appEnvOverrides(process.env.LOAD_APP_ENV),
  };

  const counted: CountedProcess[] = [];
  const startApp = async (role: Role): Promise<AppProcess> => {
    if (!options.countCommands) return startAppProcess({ ...env, APP_ROLE: role }, profiling(role));
    const [mongoProxy, redisProxy] = await Promise.all([
      startMongoCountingProxy(env.MONGODB_URI),
      startRedisCountingProxy(env.REDIS_URL),
    ]);
    try {
      const app = await startAppProcess(
        { ...env, APP_ROLE: role, MONGODB_URI: mongoProxy.url, REDIS_URL: redisProxy.url },
        profiling(role),
      );
      counted.push({ role, app, mongo: mongoProxy, redis: redisProxy });
      return app;
    } catch (err) {
      await Promise.all([mongoProxy.close(), redisProxy.close()]);
      throw err;
    }
  };
  const apis: AppProcess[] = [];
  for (let i = 0; i < (options.apis ?? 1); i++) apis.push(await startApp('api'));
  const workers: AppProcess[] = [];
  const startWorker = async () => {
    const worker = await startApp('worker');
    workers.push(worker);
    return worker;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await startWorker();

  const client = await MongoClient.connect(env.MONGODB_URI);
  const db = client.db();
  return {
    apiUrl: apis[0].url,
    env,
    mongoDescription: mongo.description,
    redisDescription: redis.description,
    orders: db.collection<OrderDoc>('orders'),
    products: db.collection<ProductDoc>('products'),
    apis,
    workers,
    startWorker,
    counted,
    commandCounts: (role) => {
      const of = counted.filter((p) => p.role === role);
      return {
        mongo: sumSnapshots(emptyMongoSnapshot(), ...of.map((p) => p.mongo.snapshot())),
        redis: sumSnapshots(emptyRedisSnapshot(), ...of.map((p) => p.redis.snapshot())),
      };
    },
    pids: () => ({
      ...Object.fromEntries(
        apis.map((p, i) => [`api${apis.length > 1 ? i + 1 : ''}`, p.process.child.pid]),
      ),
      ...Object.fromEntries(
        workers.map((p, i) => [`worker${workers.length > 1 ? i + 1 : ''}`, p.process.child.pid]),
      ),
      mongo: mongoPid(),
      redis: redisPid,
      'load generator': process.pid,
    }),
    ...(redis.restart ? { restartRedis: redis.restart } : {}),
    ...(mongo.restart ? { restartMongo: mongo.restart } : {}),
    stop: async () => {
      await Promise.all([...apis, ...workers].map((p) => p.stop('SIGTERM')));
      await Promise.all(counted.flatMap((p) => [p.mongo.close(), p.redis.close()]));
      await db.dropDatabase().catch(() => undefined);
      await client.close();
      // The run's queues and counters, when Redis is shared (an owned one goes away below).
      if (!options.ownRedis) await removeDeploymentKeys(env.REDIS_URL, runId);
      for (const stopService of stoppers.reverse()) await stopService();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** The app's order queue as BullMQ sees it: its name and hash-tagged key prefix, as src/ sets them. */
export function orderQueueOf(stack: Stack): Queue {
  return queueOf(stack, ORDER_QUEUE);
}

/** The app's reports queue (rollup runs): a scenario follows the run it asked for by its job. */
export function reportsQueueOf(stack: Stack): Queue<RollupJobData, RollupRun> {
  return queueOf(stack, REPORTS_QUEUE);
}

function queueOf<Data, Result>(stack: Stack, name: string): Queue<Data, Result> {
  return new Queue<Data, Result>(name, {
    connection: { url: stack.env.REDIS_URL },
    prefix: redisKeyPrefix(stack.env.QUEUE_PREFIX),
  });
}

/** `NAME=value NAME=value` pairs, for trying app settings in a load run without editing code. */
function appEnvOverrides(spec: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (spec ?? '').split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`LOAD_APP_ENV: expected NAME=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

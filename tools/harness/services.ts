/**
 * Picks the MongoDB and Redis that tests, load scripts and `npm run dev` talk to.
 *
 * MongoDB: `MONGODB_URI` when set, otherwise the project's offline server on a free port.
 * Redis: `REDIS_URL` when set, otherwise 127.0.0.1:6379 if it answers, otherwise a
 * `redis-server` started on a free port, otherwise a clear error saying how to get Redis.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as net from 'node:net';
import { Redis } from 'ioredis';
import { redisKeyPrefix } from '../../src/config/config.js';
import { StartedProcess, startProcess, startTsProcess } from './processes.js';
import { MissingSystemDependency } from './system.js';

export interface Service {
  url: string;
  /** What was used, for the test output: "offline server (tools/mongo-server) at ...". */
  description: string;
  stop(): Promise<void>;
}

export interface OfflineMongo extends Service {
  port: number;
  process: StartedProcess;
}

/** Starts the offline MongoDB-compatible server as its own process. */
export async function startOfflineMongo(
  options: { port?: number; dbPath?: string; nodeArgs?: string[] } = {},
): Promise<OfflineMongo> {
  const args = ['--port', String(options.port ?? 0), '--exit-with-parent'];
  if (options.dbPath) args.push('--dbpath', options.dbPath);
  const proc = await startTsProcess(
    'tools/mongo-server/main.ts',
    args,
    /listening on (mongodb:\/\/[^\s]+)/,
    { label: 'offline MongoDB server', nodeArgs: options.nodeArgs },
  );
  const url = proc.ready[1];
  return {
    url,
    port: Number(new URL(url).port),
    description: `offline MongoDB-compatible server (tools/mongo-server) at ${url}`,
    process: proc,
    stop: async () => {
      await proc.stop('SIGTERM');
    },
  };
}

export async function resolveMongo(options: { nodeArgs?: string[] } = {}): Promise<Service> {
  const external = process.env.MONGODB_URI;
  if (external) {
    return {
      url: external,
      description: `MONGODB_URI ${redactUrl(external)}`,
      stop: async () => {},
    };
  }
  return startOfflineMongo(options);
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a throwaway `redis-server` (no persistence unless asked) on the given or a free port;
 * with `password`, it requires it (requirepass) and `url` carries it.
 */
export async function startRedisServer(
  options: { port?: number; dir?: string; appendOnly?: boolean; password?: string } = {},
): Promise<Service & { port: number; process: StartedProcess }> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'no'];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no');
  // redis-server replaces its process title, so the password does not stay visible in `ps`.
  if (options.password !== undefined) args.push('--requirepass', options.password);
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    args.push('--dir', options.dir);
  }
  const proc = await startProcess('redis-server', args, /Ready to accept connections/, {
    label: 'redis-server',
  });
  const credentials =
    options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${credentials}127.0.0.1:${port}`;
  return {
    url,
    port,
    process: proc,
    description: `redis-server started by the harness at ${redactUrl(url)}`,
    stop: async () => {
      await proc.stop('SIGTERM');
    },
  };
}

export async function resolveRedis(): Promise<Service> {
  const external = process.env.REDIS_URL;
  if (external) {
    if (!(await redisAnswers(external)))
      throw new Error(`REDIS_URL ${redactUrl(external)} does not answer PING`);
    return { url: external, description: `REDIS_URL ${redactUrl(external)}`, stop: async () => {} };
  }
  const local = 'redis://127.0.0.1:6379';
  if (await redisAnswers(local)) {
    return { url: local, description: `local Redis at ${local}`, stop: async () => {} };
  }
  if (redisServerInstalled()) return startRedisServer();
  throw new MissingSystemDependency(
    'No Redis: REDIS_URL is not set, nothing answers on 127.0.0.1:6379 and redis-server is not installed',
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Hides credentials in a connection string before it is printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** Deletes every key of the deployment with this QUEUE_PREFIX: its queues and its rate-limit counters. */
export async function removeDeploymentKeys(url: string, queuePrefix: string): Promise<void> {
  await removeRedisKeys(url, `${redisKeyPrefix(queuePrefix)}*`);
  await removeRedisKeys(url, `${redisKeyPrefix(`${queuePrefix}:rl`)}*`);
}

/** Deletes the keys matching `pattern` (a run's queues and counters). */
export async function removeRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

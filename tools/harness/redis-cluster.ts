/**
 * A throwaway 3-master Redis Cluster on loopback for tests: three `redis-server` processes in
 * cluster mode on free ports, joined by `redis-cli --cluster create`, returned once every node
 * says `cluster_state:ok` with all 16384 slots assigned.
 *
 * Whatever happens during set-up, every process it started is stopped and its directory removed
 * before the error reaches the caller: a half-started cluster must never keep jest alive.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { StartedProcess, startProcess } from './processes.js';
import { freePort } from './services.js';
import { waitFor } from './wait.js';

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface RedisCluster {
  /** The masters, in the order of their slot ranges (0-5460, 5461-10922, 10923-16383). */
  nodes: ClusterNodeAddress[];
  /** A seed URL (the first node); a cluster client discovers the others from it. */
  url: string;
  /** How long set-up took, from the first spawn to every node reporting `cluster_state:ok`. */
  setupMs: number;
  /** Stops one node (SIGTERM: a clean shutdown; SIGKILL: a crash). Its nodes.conf is kept. */
  stopNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again on its port; it rejoins with the identity of its nodes.conf. */
  startNode(port: number): Promise<void>;
  /** Resolves once every node reports `cluster_state:ok`, all slots assigned, all nodes known. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the cluster's directory. Safe to call more than once. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const MASTERS = 3;
const SLOTS = 16384;

/**
 * Starts the cluster. `timeoutMs` bounds the whole set-up, so a caller whose hook timeout is
 * longer always gets either a cluster or an error, never a hook timeout with processes left over.
 */
export async function startRedisCluster(
  options: { timeoutMs?: number } = {},
): Promise<RedisCluster> {
  const { timeoutMs = 20_000 } = options;
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(deadline - Date.now(), 1);

  const serverVersion = requireTool('redis-server');
  requireTool('redis-cli');
  const ports = await allocatePorts(serverVersion >= 7);
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-cluster-'));
  const processes = new Map<number, StartedProcess>();
  let stopped = false;

  const argsFor = ({ port, busPort }: { port: number; busPort?: number }) => [
    '--port',
    String(port),
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    path.join(dir, `nodes-${port}.conf`),
    // The bus defaults to port + 10000, which may be taken or above 65535: Redis 7 lets us choose.
    ...(busPort ? ['--cluster-port', String(busPort)] : []),
    '--appendonly',
    'no',
    '--save',
    '',
    '--bind',
    HOST,
    '--daemonize',
    'no',
    '--dir',
    dir,
  ];

  const startNode = async (port: number, timeout: number): Promise<void> => {
    const spec = ports.find((p) => p.port === port);
    if (!spec) throw new Error(`no cluster node on port ${port}`);
    if (stopped) throw new Error('the Redis Cluster was stopped');
    if (processes.has(port)) throw new Error(`cluster node ${port} is running already`);
    const proc = await startProcess('redis-server', argsFor(spec), /Ready to accept connections/, {
      label: `redis-server (cluster node ${port})`,
      timeoutMs: timeout,
    });
    // The cluster may have been stopped while this node was starting.
    if (stopped) await proc.stop('SIGTERM', 5_000);
    else processes.set(port, proc);
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((proc) => proc.stop('SIGTERM', 5_000)));
    processes.clear();
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  };

  const nodes = ports.map(({ port }) => ({ host: HOST, port }));
  const started = Date.now();
  try {
    // allSettled, not all: a sibling that starts after another failed must still be stopped.
    const results = await Promise.allSettled(ports.map(({ port }) => startNode(port, remaining())));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw new Error(failed.map((r) => String(r.reason)).join('\n'));

    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      remaining(),
    );
    // redis-cli returns once the slots are assigned; the nodes agree on `ok` a moment later.
    await waitUntilHealthy(nodes, remaining());
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes,
    url: `redis://${HOST}:${nodes[0].port}`,
    setupMs: Date.now() - started,
    stopNode: async (port, signal = 'SIGTERM') => {
      const proc = processes.get(port);
      if (!proc) throw new Error(`cluster node ${port} is not running`);
      processes.delete(port);
      await proc.stop(signal, 5_000);
    },
    startNode: (port) => startNode(port, 10_000),
    waitUntilHealthy: (timeout = 15_000) => waitUntilHealthy(nodes, timeout),
    stop,
  };
}

/** Checks that a tool runs and returns its major version; fails saying how to install it. */
function requireTool(command: 'redis-server' | 'redis-cli'): number {
  const result = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(
      `${command} is not installed, and this test starts its own Redis Cluster with it. ` +
        'Install Redis (Debian/Ubuntu: apt-get install redis-server, which brings redis-cli; ' +
        'macOS: brew install redis). CI installs it (.ci/run).',
    );
  }
  // "Redis server v=7.0.15 ..." / "redis-cli 7.0.15"
  const version = /(\d+)\.\d+\.\d+/.exec(result.stdout);
  return version ? Number(version[1]) : 0;
}

/**
 * Client ports, and bus ports where Redis lets us set them (7+). Older servers put the bus at
 * port + 10000, so then only ports whose bus port is valid and free are taken.
 */
async function allocatePorts(
  busPortOption: boolean,
): Promise<Array<{ port: number; busPort?: number }>> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = await freePort();
      if (taken.has(port)) continue;
      if (!busPortOption && (port + 10000 > 65535 || !(await portIsFree(port + 10000)))) continue;
      taken.add(port);
      return port;
    }
    throw new Error('found no free ports for the Redis Cluster');
  };
  const ports: Array<{ port: number; busPort?: number }> = [];
  for (let i = 0; i < MASTERS; i++) {
    ports.push({ port: await next(), busPort: busPortOption ? await next() : undefined });
  }
  return ports;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Runs a command to completion; rejects with its output when it fails or outlives `timeoutMs`. */
function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

async function waitUntilHealthy(nodes: ClusterNodeAddress[], timeoutMs: number): Promise<void> {
  // One connection per node, failing fast while a node is down and reconnecting quickly.
  const clients = nodes.map(
    ({ host, port }) =>
      new Redis({
        host,
        port,
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => 50,
      }),
  );
  for (const client of clients) client.on('error', () => undefined);
  const states = new Map<number, string>();
  try {
    await waitFor(
      async () => {
        const infos = await Promise.all(
          clients.map(async (client, i) => {
            if (client.status === 'wait') await client.connect();
            const info = parseInfo(await client.cluster('INFO'));
            states.set(
              nodes[i].port,
              `${info.cluster_state}, ${info.cluster_slots_assigned} slots, ${info.cluster_known_nodes} nodes`,
            );
            return info;
          }),
        );
        return infos.every(
          (info) =>
            info.cluster_state === 'ok' &&
            Number(info.cluster_slots_assigned) === SLOTS &&
            Number(info.cluster_known_nodes) === nodes.length,
        );
      },
      { timeoutMs, intervalMs: 50, what: 'a healthy Redis Cluster' },
    );
  } catch (err) {
    const seen = [...states].map(([port, state]) => `${port}: ${state}`).join('; ');
    throw new Error(`${(err as Error).message} (last seen: ${seen || 'no node answered'})`, {
      cause: err,
    });
  } finally {
    for (const client of clients) client.disconnect();
  }
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0) fields[line.slice(0, separator)] = line.slice(separator + 1).trim();
  }
  return fields;
}

/**
 * Loopback TCP proxies in front of MongoDB and Redis that count the commands clients send, as the
 * server receives them: the bytes pass through unchanged both ways, and the client → server half
 * is read (mongo-protocol.ts, redis-protocol.ts) to count each command by name. Work per order is
 * then a difference of two snapshots divided by the orders, a count no noise on the machine moves.
 *
 * A hook may see each command before it is forwarded and hold it (and everything after it on that
 * connection) by returning a promise: a fault drill can freeze a client right after a given write.
 */
import * as net from 'node:net';
import { MongoCommand, MongoMessageParser } from './mongo-protocol.js';
import { RedisCommand, RespCommandParser } from './redis-protocol.js';
import { CommandReader } from './wire.js';

export type Counts = Record<string, number>;

/** What every snapshot carries besides its counts. */
type Connections = {
  /** Client connections accepted so far. */
  connections: number;
  /** Connections whose bytes could not be read; from that point they are forwarded uncounted. */
  unparsedConnections: number;
};

export type MongoSnapshot = Connections & {
  /** Data commands by name: find, insert, update, findAndModify, aggregate, getMore... */
  data: Counts;
  /** Data commands by "name collection": "find orders", "update products". */
  byCollection: Counts;
  /** Handshake, authentication and monitoring commands by name: hello, ping, endSessions... */
  control: Counts;
  /** Messages this reader cannot open (OP_COMPRESSED...), by opcode: should stay empty. */
  unknown: Counts;
};

export type RedisSnapshot = Connections & {
  /** Every command by name (upper case; "SCRIPT LOAD", "CLIENT SETNAME" with their subcommand). */
  commands: Counts;
  /** EVAL and EVALSHA by the SHA1 of the script they run. */
  scripts: Counts;
};

type Snapshot = Connections & Record<string, Counts | number>;

/**
 * Called for each command just before it is forwarded. A returned promise holds the command and
 * everything after it on that connection until it resolves; if it rejects, the connection is cut.
 * `connection` numbers the proxy's connections from 1, in the order clients opened them.
 */
export type CommandHook<C> = (command: C, connection: number) => Promise<void> | undefined;

interface Protocol<C, S extends Snapshot> {
  reader(): CommandReader<C>;
  empty(): S;
  count(counts: S, command: C): void;
}

const add = (counts: Counts, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

/** after − before, field by field (counts that did not change are left out). */
export function diffSnapshots<S extends Snapshot>(before: S, after: S): S {
  return combine(after, before, -1);
}

/** The sum of several snapshots (every process of a role). */
export function sumSnapshots<S extends Snapshot>(first: S, ...rest: S[]): S {
  return rest.reduce((total, next) => combine(total, next, 1), combine(first, first, 0));
}

function combine<S extends Snapshot>(a: S, b: S, sign: -1 | 0 | 1): S {
  const out: Record<string, Counts | number> = {};
  for (const [field, value] of Object.entries(a)) {
    const other = b[field];
    if (typeof value === 'number') {
      out[field] = value + sign * (typeof other === 'number' ? other : 0);
      continue;
    }
    const counts: Counts = {};
    const others = typeof other === 'object' ? other : {};
    for (const key of new Set([...Object.keys(value), ...Object.keys(others)])) {
      const n = (value[key] ?? 0) + sign * (others[key] ?? 0);
      if (n !== 0) counts[key] = n;
    }
    out[field] = counts;
  }
  return out as S;
}

/** The number of commands in a group of counts. */
export const totalOf = (counts: Counts): number =>
  Object.values(counts).reduce((sum, n) => sum + n, 0);

export class CountingProxy<C, S extends Snapshot> {
  private readonly counts: S;
  private readonly sockets = new Set<net.Socket>();
  private hook: CommandHook<C> | undefined;

  constructor(
    private readonly server: net.Server,
    private readonly upstream: { host: string; port: number },
    private readonly protocol: Protocol<C, S>,
    /** The client's connection string, pointing at this proxy. */
    readonly url: string,
  ) {
    this.counts = protocol.empty();
    server.on('connection', (client) => this.relay(client));
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Sockets open now, both sides of each relayed connection. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Counts so far (a copy). */
  snapshot(): S {
    return combine(this.counts, this.counts, 0);
  }

  setCommandHook(hook: CommandHook<C> | undefined): void {
    this.hook = hook;
  }

  /** Cuts every connection open now, as a network failure would; new ones are relayed again. */
  cutConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and cuts every connection (clients see the server go away). */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    const id = ++this.counts.connections;
    const upstream = net.connect(this.upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    for (const socket of [client, upstream]) socket.on('close', () => this.sockets.delete(socket));

    const reader = this.protocol.reader();
    let readable = true;
    /** Bytes of a command not complete yet: forwarded with the rest of it, so a hook can hold it. */
    const partial: Buffer[] = [];
    /** In order; `command` is absent for bytes passed on unread (after a protocol error). */
    const queue: Array<{ command?: C; bytes: Buffer }> = [];
    let holding = false;
    let clientEnded = false;
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const flow = () => {
      if (holding || upstream.writableNeedDrain) client.pause();
      else client.resume();
    };
    const write = (bytes: Buffer[]) => {
      if (bytes.length === 0 || upstream.destroyed) return;
      // One writev for a pipeline's commands, without copying them together.
      upstream.cork();
      for (const piece of bytes) upstream.write(piece);
      upstream.uncork();
      flow();
    };
    const forward = (item: { command?: C; bytes: Buffer }, into: Buffer[]) => {
      if (item.command !== undefined) this.protocol.count(this.counts, item.command);
      into.push(item.bytes);
    };
    // Forwards queued commands in order, asking the hook about each just before it goes.
    const drain = () => {
      const ready: Buffer[] = [];
      while (!holding && queue.length > 0) {
        const next = queue[0];
        const hold = next.command === undefined ? undefined : this.hook?.(next.command, id);
        if (hold) {
          write(ready.splice(0));
          holding = true;
          flow();
          // A client that goes away while held (killed) takes its held commands with it.
          void Promise.race([hold.then(() => true), clientClosed.then(() => false)]).then(
            (released) => {
              holding = false;
              if (!released) return;
              queue.shift();
              const bytes: Buffer[] = [];
              forward(next, bytes);
              write(bytes);
              drain();
            },
            () => client.destroy(),
          );
          return;
        }
        forward(queue.shift() ?? next, ready);
      }
      write(ready);
      if (clientEnded && !holding && queue.length === 0) upstream.end();
    };

    client.on('data', (chunk: Buffer) => {
      if (readable) {
        try {
          let start = 0;
          for (const { command, end } of reader.push(chunk)) {
            const bytes = chunk.subarray(start, end);
            queue.push({
              command,
              bytes: partial.length ? Buffer.concat([...partial.splice(0), bytes]) : bytes,
            });
            start = end;
          }
          if (start < chunk.length) partial.push(chunk.subarray(start));
        } catch {
          // Not the protocol we know: stop counting this connection but keep it working.
          readable = false;
          this.counts.unparsedConnections++;
          queue.push({ bytes: Buffer.concat([...partial.splice(0), chunk]) });
        }
      } else {
        queue.push({ bytes: chunk });
      }
      drain();
    });
    client.on('end', () => {
      clientEnded = true;
      drain();
    });
    client.on('close', () => {
      if (holding || queue.length > 0) upstream.destroy();
      else upstream.end();
    });
    upstream.on('drain', flow);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }
}

async function listen<C, S extends Snapshot>(
  upstream: { host: string; port: number },
  protocol: Protocol<C, S>,
  urlFor: (port: number) => string,
  hook?: CommandHook<C>,
): Promise<CountingProxy<C, S>> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const proxy = new CountingProxy(server, upstream, protocol, urlFor(port));
  proxy.setCommandHook(hook);
  return proxy;
}

export const emptyMongoSnapshot = (): MongoSnapshot => ({
  data: {},
  byCollection: {},
  control: {},
  unknown: {},
  connections: 0,
  unparsedConnections: 0,
});

export const emptyRedisSnapshot = (): RedisSnapshot => ({
  commands: {},
  scripts: {},
  connections: 0,
  unparsedConnections: 0,
});

const MONGO: Protocol<MongoCommand, MongoSnapshot> = {
  reader: () => new MongoMessageParser(),
  empty: emptyMongoSnapshot,
  count: (counts, command) => {
    if (command.kind === 'control') add(counts.control, command.name);
    else if (command.kind === 'unknown') add(counts.unknown, command.name);
    else {
      add(counts.data, command.name);
      add(counts.byCollection, `${command.name} ${command.collection ?? '-'}`);
    }
  },
};

export type MongoCountingProxy = CountingProxy<MongoCommand, MongoSnapshot>;

/**
 * A counting proxy in front of the MongoDB server of `uri` (one host, `mongodb:`). Its `url` is
 * `uri` pointed at the proxy, with directConnection=true so the driver never discovers and dials
 * replica set members past it.
 */
export function startMongoCountingProxy(
  uri: string,
  hook?: CommandHook<MongoCommand>,
): Promise<MongoCountingProxy> {
  const match = /^mongodb:\/\/([^@/]*@)?([^/?]+)(\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match || match[2].includes(','))
    throw new Error(`a counting proxy needs a single-host mongodb:// URI, got ${uri}`);
  const [, auth = '', hostPort, path = '/', query = ''] = match;
  const upstream = hostAndPort(hostPort, 27017);
  const params = new URLSearchParams(query.slice(1));
  params.set('directConnection', 'true');
  return listen(
    upstream,
    MONGO,
    (port) => `mongodb://${auth}127.0.0.1:${port}${path}?${params.toString()}`,
    hook,
  );
}

export type RedisCountingProxy = CountingProxy<RedisCommand, RedisSnapshot> & {
  /** The start of each script's text, by SHA1, as seen in EVAL and SCRIPT LOAD. */
  scriptPreviews: Map<string, string>;
};

/** A counting proxy in front of the Redis of `url` (`redis:`; TLS cannot be read). */
export async function startRedisCountingProxy(
  url: string,
  hook?: CommandHook<RedisCommand>,
): Promise<RedisCountingProxy> {
  const target = new URL(url);
  if (target.protocol !== 'redis:')
    throw new Error(`a counting proxy needs a redis:// URL, got ${target.protocol}`);
  const scriptPreviews = new Map<string, string>();
  const protocol: Protocol<RedisCommand, RedisSnapshot> = {
    reader: () => new RespCommandParser(),
    empty: emptyRedisSnapshot,
    count: (counts, command) => {
      add(counts.commands, command.name);
      if (command.script && command.name !== 'SCRIPT LOAD') add(counts.scripts, command.script);
      if (command.script && command.scriptPreview)
        scriptPreviews.set(command.script, command.scriptPreview);
    },
  };
  const proxy = await listen(
    hostAndPort(target.host, 6379),
    protocol,
    (port) => {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    hook,
  );
  return Object.assign(proxy, { scriptPreviews });
}

function hostAndPort(value: string, defaultPort: number): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value);
  if (!match) throw new Error(`cannot read host and port from "${value}"`);
  return { host: match[1], port: match[2] ? Number(match[2]) : defaultPort };
}

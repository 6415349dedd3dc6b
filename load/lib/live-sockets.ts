/**
 * The live-events sockets of a load run, one per shopper, held by a child process
 * (live-sockets-process.ts). Their client work then neither slows the HTTP load generator, whose
 * throughput is compared with and without them, nor waits behind it: each event is timed when it
 * arrives. Every request to the child has a deadline, and the child ends with its parent.
 */
import { startTsProcess } from '../../tools/harness/processes.js';
import type { Arrival } from './deliveries.js';
import type { EventLoopLag } from './event-loop.js';

export interface SocketOwner {
  id: string;
  /** The session's Cookie header. */
  cookie: string;
}

export interface Connected {
  connected: number;
  failed: number;
  firstFailure?: string;
  seconds: number;
}

export interface Collected {
  sockets: Array<{ ownerId: string; events: Arrival[]; disconnects: number }>;
  /** The child's event-loop delay since the previous collection: how late it may have timed an arrival. */
  lagMs: EventLoopLag;
}

/** What the parent asks, and what each answers. */
export type Command =
  | { command: 'connect'; apiUrl: string; owners: SocketOwner[] }
  | { command: 'awaitOrder'; ownerId: string; orderId: string; timeoutMs: number }
  | { command: 'collect' };
export interface Answers {
  connect: Connected;
  awaitOrder: boolean;
  collect: Collected;
}
export type Request = Command & { id: number };
export interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface LiveSockets {
  pid: number | undefined;
  /** Opens a socket per owner (websocket transport) and waits until each has joined its room. */
  connect(apiUrl: string, owners: readonly SocketOwner[]): Promise<Connected>;
  /** Whether a status update of `orderId` reached `ownerId`'s socket within `timeoutMs`. */
  awaitOrder(ownerId: string, orderId: string, timeoutMs: number): Promise<boolean>;
  /** What each socket received since the previous collection (or since it connected). */
  collect(): Promise<Collected>;
  /** Ends the process, and with it every socket. */
  stop(): Promise<void>;
}

/** Deadlines of the answers that do not carry their own. */
const CONNECT_TIMEOUT_MS = 180_000;
const COLLECT_TIMEOUT_MS = 30_000;

export async function startLiveSockets(): Promise<LiveSockets> {
  const started = await startTsProcess(
    'load/lib/live-sockets-process.ts',
    [],
    /^live sockets ready$/,
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], label: 'live sockets' },
  );
  const { child } = started;
  const waiting = new Map<number, (reply: Reply) => void>();
  let lastId = 0;
  child.on('message', (reply: Reply) => waiting.get(reply.id)?.(reply));
  child.once('exit', (code) => {
    for (const answer of waiting.values())
      answer({ id: 0, error: `the live sockets process exited (${String(code)})` });
  });

  const ask = <C extends Command>(command: C, timeoutMs: number) =>
    new Promise<Answers[C['command']]>((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`live sockets: no answer to ${command.command} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (reply.error === undefined) resolve(reply.result as Answers[C['command']]);
        else reject(new Error(`live sockets: ${reply.error}`));
      });
      child.send({ ...command, id } satisfies Request);
    });

  return {
    pid: child.pid,
    connect: (apiUrl, owners) =>
      ask({ command: 'connect', apiUrl, owners: [...owners] }, CONNECT_TIMEOUT_MS),
    awaitOrder: (ownerId, orderId, timeoutMs) =>
      ask({ command: 'awaitOrder', ownerId, orderId, timeoutMs }, timeoutMs + COLLECT_TIMEOUT_MS),
    collect: () => ask({ command: 'collect' }, COLLECT_TIMEOUT_MS),
    stop: async () => {
      await started.stop('SIGTERM');
    },
  };
}

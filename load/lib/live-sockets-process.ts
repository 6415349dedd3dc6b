/**
 * The process behind live-sockets.ts: opens the sockets its parent names, records what each
 * receives (tools/live-events.ts stamps every event with its arrival time) and answers the
 * parent's commands over the IPC channel. It exits when its parent goes away.
 */
import { waitFor } from '../../tools/harness/wait.js';
import { LiveEventsClient, connectLiveEvents, ready } from '../../tools/live-events.js';
import type { Arrival } from './deliveries.js';
import { EventLoopLag, watchEventLoop } from './event-loop.js';
import type { Collected, Command, Connected, Reply, Request, SocketOwner } from './live-sockets.js';
import { round } from './report.js';
import { inBatches } from './shoppers.js';

/** Handshakes in flight at once: a thousand at once would measure the server's accept queue. */
const CONNECTING_AT_ONCE = 50;
const READY_TIMEOUT_MS = 20_000;

interface Held {
  client: LiveEventsClient;
  disconnects: number;
}

const sockets = new Map<string, Held>();
/** Watched from the moment every socket is connected, then from one collection to the next. */
let lag: { stop(): EventLoopLag } | undefined;

async function connect(apiUrl: string, owners: SocketOwner[]): Promise<Connected> {
  const started = performance.now();
  const failures: string[] = [];
  await inBatches(owners, CONNECTING_AT_ONCE, async (owner) => {
    const client = connectLiveEvents(apiUrl, { cookie: owner.cookie, transports: ['websocket'] });
    const held: Held = { client, disconnects: 0 };
    client.socket.on('disconnect', () => held.disconnects++);
    sockets.set(owner.id, held);
    await ready(client, READY_TIMEOUT_MS).catch((err: unknown) =>
      failures.push(`${owner.id}: ${String(err)}`),
    );
  });
  lag = watchEventLoop();
  return {
    connected: owners.length - failures.length,
    failed: failures.length,
    ...(failures[0] === undefined ? {} : { firstFailure: failures[0] }),
    seconds: round((performance.now() - started) / 1000, 2),
  };
}

function awaitOrder(ownerId: string, orderId: string, timeoutMs: number): Promise<boolean> {
  const held = sockets.get(ownerId);
  if (!held) return Promise.resolve(false);
  return waitFor(
    () =>
      held.client.named('order_status_update').some((event) => event.payload.orderId === orderId),
    { timeoutMs, intervalMs: 10, what: `order ${orderId} on its socket` },
  ).then(
    () => true,
    () => false,
  );
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** What each socket received since the last collection, which it then forgets. */
function collect(): Collected {
  const collected: Collected = {
    sockets: [...sockets].map(([ownerId, held]) => ({
      ownerId,
      disconnects: held.disconnects,
      events: held.client.events.map(({ name, payload, receivedAt }): Arrival => {
        const id = text(payload.id);
        const orderId = text(payload.orderId);
        const status = text(payload.status);
        const at = text(payload.at);
        return {
          name,
          receivedAt,
          ...(id === undefined ? {} : { id }),
          ...(orderId === undefined ? {} : { orderId }),
          ...(status === undefined ? {} : { status }),
          ...(typeof payload.seq === 'number' ? { seq: payload.seq } : {}),
          ...(at === undefined ? {} : { at }),
        };
      }),
    })),
    lagMs: lag?.stop() ?? { p99: 0, max: 0 },
  };
  for (const held of sockets.values()) {
    held.client.events.length = 0;
    held.disconnects = 0;
  }
  lag = watchEventLoop();
  return collected;
}

async function answer(command: Command): Promise<unknown> {
  switch (command.command) {
    case 'connect':
      return connect(command.apiUrl, command.owners);
    case 'awaitOrder':
      return awaitOrder(command.ownerId, command.orderId, command.timeoutMs);
    case 'collect':
      return collect();
  }
}

process.on('message', (request: Request) => {
  void answer(request)
    .then(
      (result): Reply => ({ id: request.id, result }),
      (err: unknown): Reply => ({ id: request.id, error: String(err) }),
    )
    .then((reply) => process.send?.(reply));
});
process.once('disconnect', () => process.exit(0));
process.stdout.write('live sockets ready\n');

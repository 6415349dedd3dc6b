/**
 * What a live event costs in CPU, counted rather than timed (issue 14): events are published
 * straight into the event stream, as the workers' decision batches publish them (entries of ten
 * `order_status_update`s, each for one shopper), while an API replica relays them; first with no
 * socket connected (the relay alone: it reads the stream whatever listens), then with a socket per
 * shopper. The API's CPU per event with sockets less without is what serving a socket its event
 * costs; the socket clients' process's CPU per event is what receiving it costs on this machine.
 * Unlike a burst's throughput these hardly move with the machine's noise. Every event must reach
 * its owner's socket once.
 */
import { ObjectId } from 'mongodb';
import { Redis } from 'ioredis';
import { redisKeyPrefix } from '../../src/config/config.js';
import { encodeEntry } from '../../src/events/domain/live-event.js';
import type { LiveEvent } from '../../src/events/domain/live-event.js';
import { startStack } from '../../tools/harness/stack.js';
import { cpuSecondsUsed, sampleCpu, untilQuiet } from '../lib/cpu.js';
import { startLiveSockets } from '../lib/live-sockets.js';
import { Check, RunResult, median, round } from '../lib/report.js';
import { createShoppers } from '../lib/shoppers.js';

export interface LiveCostOptions {
  shoppers: number;
  /** Events published per round. */
  events: number;
  /** Rounds without sockets, then as many with. */
  rounds: number;
}

export const LIVE_COST_DEFAULTS: LiveCostOptions = { shoppers: 1000, events: 20_000, rounds: 3 };

/** Events per stream entry: a worker's decision batch. */
const PER_ENTRY = 10;

export async function runLiveCost(options: LiveCostOptions): Promise<RunResult> {
  const stack = await startStack({ label: 'live-cost', workers: 0 });
  const redis = new Redis(stack.env.REDIS_URL);
  const key = `${redisKeyPrefix(stack.env.QUEUE_PREFIX)}:events`;
  try {
    const shoppers = await createShoppers(stack.apiUrl, options.shoppers, 0);
    const api = { api: stack.apis[0]?.process.child.pid };
    /** Each published order id, and whose socket it is for. */
    const ownerOf = new Map<string, string>();

    /** Publishes a round of events (each to a shopper in turn) and returns µs of CPU per event. */
    const measureRound = async (pids: Record<string, number | undefined>) => {
      await untilQuiet(pids);
      const before = sampleCpu(pids);
      for (let i = 0; i < options.events; i += PER_ENTRY) {
        const events: LiveEvent[] = Array.from({ length: PER_ENTRY }, (_, j) => {
          const ownerId = shoppers[(i + j) % shoppers.length]?.id ?? '';
          const orderId = new ObjectId().toHexString();
          ownerOf.set(orderId, ownerId);
          return {
            name: 'order_status_update',
            ownerId,
            payload: { orderId, seq: 3, status: 'CONFIRMED', at: new Date().toISOString() },
          };
        });
        await redis.xadd(key, '*', 'e', encodeEntry(events));
      }
      await untilQuiet(pids);
      const used = cpuSecondsUsed(before, sampleCpu(pids));
      return Object.fromEntries(
        Object.entries(used).map(([name, s]) => [name, round((s * 1e6) / options.events)]),
      );
    };

    const without: Array<Record<string, number>> = [];
    for (let r = 0; r < options.rounds; r++) without.push(await measureRound(api));
    const sockets = await startLiveSockets();
    const withSockets: Array<Record<string, number>> = [];
    let received = 0;
    let perSocketOk = true;
    try {
      const connected = await sockets.connect(
        stack.apiUrl,
        shoppers.map(({ id, cookie }) => ({ id, cookie })),
      );
      if (connected.failed > 0) throw new Error(`sockets failed: ${connected.firstFailure}`);
      const pids = { ...api, 'socket clients': sockets.pid };
      for (let r = 0; r < options.rounds; r++) withSockets.push(await measureRound(pids));
      const collected = await sockets.collect();
      const expectedPerSocket = (options.events * options.rounds) / shoppers.length;
      for (const socket of collected.sockets) {
        const updates = socket.events.filter((e) => e.name === 'order_status_update');
        received += updates.length;
        const own = new Set(
          updates.flatMap((e) =>
            e.orderId && ownerOf.get(e.orderId) === socket.ownerId ? [e.orderId] : [],
          ),
        );
        if (own.size !== expectedPerSocket || updates.length !== own.size) perSocketOk = false;
      }
    } finally {
      await sockets.stop();
    }

    const of = (rounds: Array<Record<string, number>>, name: string) =>
      median(rounds.map((r) => r[name] ?? 0));
    const apiWithout = of(without, 'api');
    const apiWith = of(withSockets, 'api');
    const clients = of(withSockets, 'socket clients');
    const figures = {
      shoppers: options.shoppers,
      events: options.events,
      rounds: options.rounds,
      apiMicrosPerEvent: { withoutSockets: apiWithout, withSockets: apiWith },
      servingMicrosPerEvent: round(apiWith - apiWithout),
      clientMicrosPerEvent: clients,
      perRound: { without, withSockets },
      received,
    };
    const expected = options.events * options.rounds;
    const checks: Check[] = [
      {
        name: 'every event reached its owner’s socket once',
        ok: received === expected && perSocketOk,
        detail: `${received} of ${expected}`,
      },
    ];
    const lines = [
      `${options.events} order_status_update events per round, published straight into the stream in entries of ${PER_ENTRY}, to ${options.shoppers} shoppers in turn; ${options.rounds} rounds without sockets, then ${options.rounds} with a socket per shopper (medians of the rounds).`,
      '',
      `- the API's CPU per event: **${apiWithout} µs** without sockets (the relay reading the stream), **${apiWith} µs** with: serving a socket its event **${figures.servingMicrosPerEvent} µs**`,
      `- the socket clients' process: **${clients} µs** per event received (socket.io-client, in the load generator's machine)`,
      `- per round: without ${JSON.stringify(without)}; with ${JSON.stringify(withSockets)}`,
      `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
    ];
    return { figures, checks, lines };
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

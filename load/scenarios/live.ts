/**
 * Live order events under the flash-sale burst (issue 14): the contention burst (contention.ts)
 * while each of its shoppers holds a live-events socket, and the same burst without sockets, in the
 * same run: eight measured bursts in the order ABBA BAAB (with sockets first in odd runs, without
 * first in even runs), so that a drift over the run (the second burst of a pair was the faster one
 * in every run of the first version, which measured one pair per run) weighs on both variants
 * alike, and a major garbage collection, which an API process makes about every fourth or fifth
 * burst and which takes a fifth of a burst's CPU, weighs on each variant's four bursts rather than
 * deciding a run of two.
 *
 * - `connect: 'once'` (the default): as in a sale, the shoppers' sockets are connected before it
 *   starts and stay connected through it. Two stacks of the same build run side by side, one per
 *   variant; the sockets connect to the first once, before its warm-ups, and stay connected until
 *   the end of the run. Handshakes and disconnects are then outside every measured burst, and no
 *   burst without sockets runs on a process that has held sockets.
 * - `connect: 'per-burst'`: one stack for both variants; 1,000 sockets connect right before each
 *   burst with sockets and close right after it (what a storm of handshakes around a burst costs).
 *
 * - With sockets: every shopper (signed in, its own cookie) connects over websocket before the
 *   burst. Each decision must then reach its owner's socket exactly once and no other socket,
 *   carrying the stored history entry; its delay is timed from the decision (the entry's time, the
 *   worker's clock) to its arrival (the socket process's clock, same machine).
 * - Both bursts must keep the contention invariants; their throughput (accepted orders/s during the
 *   burst, and the last decision's time after the last answer) is reported with sockets as a ratio
 *   of without.
 */
import { ObjectId } from 'mongodb';
import { Decision, DeliveryReport, checkDeliveries } from '../lib/deliveries.js';
import { coresUsed, cpuSecondsUsed, describeCores, sampleCpu, untilQuiet } from '../lib/cpu.js';
import { EventLoopLag, watchEventLoop } from '../lib/event-loop.js';
import { LiveSockets, startLiveSockets } from '../lib/live-sockets.js';
import type { Collected, Connected } from '../lib/live-sockets.js';
import { Outcome, decisionFigures, successRates, waitUntilDecided } from '../lib/outcome.js';
import { Check, RunResult, histogramOf, round } from '../lib/report.js';
import { Shopper, createProducts, createShoppers } from '../lib/shoppers.js';
import { diffSnapshots } from '../../tools/counting-proxy/counting-proxy.js';
import type { Counts, RedisSnapshot } from '../../tools/counting-proxy/counting-proxy.js';
import { Stack, startStack } from '../../tools/harness/stack.js';
import { CONTENTION_DEFAULTS, OrderBurst, checkBurst, orderBurst } from './contention.js';
import type { ContentionOptions } from './contention.js';

/** The contention burst's shape (contention.ts), and what the sockets add. */
export interface LiveOptions extends Pick<
  ContentionOptions,
  'shoppers' | 'stock' | 'vipShare' | 'connections' | 'workers' | 'settleTimeoutMs'
> {
  /** How long the marker order's outcome may take to reach its socket once the burst is at rest. */
  deliveryTimeoutMs: number;
  /**
   * Run every app process behind counting proxies (tools/counting-proxy/) and report the Redis
   * commands per order. The proxies run in the load generator's process: timings are then not
   * comparable with a run without them.
   */
  countCommands: boolean;
  /**
   * Where the sockets connect: `shared`, the API replica the orders are placed through (the
   * measure of the target); or `dedicated`, a second API replica of the same build that only the
   * sockets use, running in both variants (idle in the one without sockets). The second tells
   * what holding the sockets costs the process that takes the orders from what the sockets' work
   * costs the machine they share (docs/PERFORMANCE.md).
   */
  socketReplica: 'shared' | 'dedicated';
  /** When the sockets connect: `once` per run, on a stack of their own variant, or `per-burst`. */
  connect: 'once' | 'per-burst';
}

// The same burst as the contention scenario's.
const { shoppers, stock, vipShare, connections, workers, settleTimeoutMs } = CONTENTION_DEFAULTS;

export const LIVE_DEFAULTS: LiveOptions = {
  ...{ shoppers, stock, vipShare, connections, workers, settleTimeoutMs },
  deliveryTimeoutMs: 30_000,
  countCommands: false,
  socketReplica: 'shared',
  connect: 'once',
};

/**
 * Unmeasured bursts before the measured ones: no measured burst meets a path cold (JIT, caches,
 * pools). On one stack, one of each variant: the order path warms in either; the sockets' (the
 * relay's emits, the engine's writes) only in a burst with sockets (with both warm-ups without
 * sockets, the first burst with sockets of a run compiled that path while it was measured). On a
 * stack per variant, three on each: each stack then meets its measured bursts as warm as the single
 * stack met its own (its third to sixth bursts). With one, the API's compiler threads still worked
 * about 250 ms in a stack's first measured burst, against 60-150 ms later; with two, a stack's
 * measured bursts ran slower than its later ones and the delivery p99 rose to 120 ms.
 */
const WARM_UPS: Record<LiveOptions['connect'], Variant[]> = {
  'per-burst': ['without sockets', 'with sockets'],
  once: [
    'without sockets',
    'with sockets',
    'without sockets',
    'with sockets',
    'without sockets',
    'with sockets',
  ],
};

/** The targets of issue 14. */
const TARGET_P99_MS = 100;
const TARGET_THROUGHPUT_RATIO = 0.9;

/** The commands of the live events' stream (src/events/event-stream.ts). */
const STREAM_COMMANDS = ['XADD', 'XREAD', 'XRANGE', 'XREVRANGE'];

type Variant = 'with sockets' | 'without sockets';

interface Measured {
  /** How long the stack took to come to rest before the burst, and whether it did. */
  settledBefore: { waitedMs: number; quiet: boolean };
  burst: OrderBurst;
  outcome: Outcome;
  checks: Check[];
  acceptedPerSecond: number;
  /** When the burst's last answer came (ms since the epoch). */
  lastAnswerAt: number;
  /** The burst's last decision after its last answer, from the orders' decision times. */
  lastDecisionAfterMs: number | undefined;
  coresUsed: Record<string, number>;
  /**
   * CPU per accepted order (ms) of each process, from the burst's first request until it was at
   * rest: the work the sockets add, which the machine's noise moves far less than a rate.
   */
  cpuMsPerOrder: Record<string, number>;
  /** The load generator's event-loop delay during the burst: whether it kept up. */
  generatorLagMs: EventLoopLag;
  redisPerOrder?: Record<'api' | 'worker', Counts>;
}

type MeasuredWithSockets = Measured & { delivered: Delivered };

interface Delivered {
  /** The sockets' handshakes before this burst (sockets connected per burst). */
  connected?: Connected;
  markerArrived: boolean;
  disconnects: number;
  clientLagMs: Collected['lagMs'];
  report: DeliveryReport;
}

/** The measured bursts of run `run` (from 1): ABBA BAAB, with sockets first in odd runs. */
function measuredOrder(run: number): Variant[] {
  const [a, b]: Variant[] =
    run % 2 === 1 ? ['with sockets', 'without sockets'] : ['without sockets', 'with sockets'];
  return [a, b, b, a, b, a, a, b];
}

/** A stack and what a run places on it: its shoppers, a product per burst and per marker order. */
interface Side {
  stack: Stack;
  shoppers: Shopper[];
  burstProducts: string[];
  markerProducts: string[];
}

export async function runLive(options: LiveOptions, run = 1): Promise<RunResult> {
  const once = options.connect === 'once';
  const warmUps = WARM_UPS[options.connect];
  const stacks: Stack[] = [];
  let held: LiveSockets | undefined;
  try {
    for (const label of once ? ['live-with', 'live-without'] : ['live'])
      stacks.push(
        await startStack({
          label,
          apis: options.socketReplica === 'dedicated' ? 2 : 1,
          workers: options.workers,
          countCommands: options.countCommands,
        }),
      );
    const sides: Side[] = [];
    for (const stack of stacks)
      sides.push(await prepare(stack, options, warmUps.length + measuredOrder(run).length));
    const [withSide, withoutSide = withSide] = sides;
    if (!withSide) throw new Error('no stack');
    let connectedOnce: Connected | undefined;
    /** CPU per handshake (ms) of each process, when the sockets connect once. */
    let handshakeCpuMs: Record<string, number> | undefined;
    if (once) {
      held = await startLiveSockets();
      const pids = { ...withSide.stack.pids(), 'socket clients': held.pid };
      const before = sampleCpu(pids);
      connectedOnce = await held.connect(socketUrl(withSide.stack), owners(withSide.shoppers));
      handshakeCpuMs = perUnit(cpuSecondsUsed(before, sampleCpu(pids)), connectedOnce.connected);
    }
    // Every process on the machine: a burst starts when all are at rest.
    const machine = () => ({
      ...Object.fromEntries(
        stacks.flatMap((stack, i) =>
          Object.entries(stack.pids()).map(([name, pid]) => [`stack ${i + 1} ${name}`, pid]),
        ),
      ),
      ...(held ? { 'socket clients': held.pid } : {}),
    });
    const burst = (variant: Variant, i: number): Promise<Measured | MeasuredWithSockets> =>
      variant === 'with sockets'
        ? burstWithSockets(withSide, i, options, machine, held)
        : measureBurst(
            withoutSide.stack,
            withoutSide.shoppers,
            withoutSide.burstProducts[i] ?? '',
            {
              options,
              machine,
              ...(held ? { sockets: held } : {}),
            },
          );
    const warmedUp: Measured[] = [];
    for (const [i, variant] of warmUps.entries()) warmedUp.push(await burst(variant, i));
    const order = measuredOrder(run);
    const withSockets: Array<Measured & { delivered: Delivered }> = [];
    const withoutSockets: Measured[] = [];
    for (const [i, variant] of order.entries()) {
      const measured = await burst(variant, warmUps.length + i);
      if (hasSockets(measured)) withSockets.push(measured);
      else withoutSockets.push(measured);
    }
    return report(options, run, order, withSide, warmedUp, withSockets, withoutSockets, {
      connectedOnce,
      handshakeCpuMs,
    });
  } finally {
    await held?.stop();
    for (const stack of stacks) await stack.stop();
  }
}

async function prepare(stack: Stack, options: LiveOptions, bursts: number): Promise<Side> {
  const shoppers = await createShoppers(stack.apiUrl, options.shoppers, options.vipShare);
  // A product per burst (100 units each), and a one-unit product per marker order.
  const products = await createProducts(stack.apiUrl, [
    ...Array<number>(bursts).fill(options.stock),
    ...Array<number>(bursts).fill(1),
  ]);
  return {
    stack,
    shoppers,
    burstProducts: products.slice(0, bursts),
    markerProducts: products.slice(bursts),
  };
}

const owners = (shoppers: Shopper[]) => shoppers.map(({ id, cookie }) => ({ id, cookie }));

/** The API replica the sockets connect to: the last one (the second, with `dedicated`). */
const socketUrl = (stack: Stack): string => stack.apis[stack.apis.length - 1]?.url ?? stack.apiUrl;

const hasSockets = (m: Measured | MeasuredWithSockets): m is MeasuredWithSockets =>
  'delivered' in m;

/**
 * The burst while every shopper holds a socket, and what the sockets received. `held`: sockets
 * connected for the whole run; without it, they connect before the burst and close after it.
 */
async function burstWithSockets(
  side: Side,
  i: number,
  options: LiveOptions,
  machine: () => Record<string, number | undefined>,
  held: LiveSockets | undefined,
): Promise<Measured & { delivered: Delivered }> {
  const { stack, shoppers } = side;
  const productId = side.burstProducts[i] ?? '';
  const sockets = held ?? (await startLiveSockets());
  try {
    const connected = held ? undefined : await sockets.connect(socketUrl(stack), owners(shoppers));
    const measured = await measureBurst(stack, shoppers, productId, {
      options,
      sockets,
      machine: () => ({ ...machine(), 'socket clients': sockets.pid }),
    });
    // The marker: one more order, placed once the burst is at rest. Its outcome is published after
    // every outcome of the burst and the API relays the stream in order, so once it has reached its
    // socket every event of the burst has been sent: a late duplicate or a misdelivery would be in.
    const [marker] = shoppers;
    const placed = await orderBurst(
      stack.apiUrl,
      [marker],
      () => [{ productId: side.markerProducts[i] ?? '', quantity: 1 }],
      { connections: 1 },
    );
    const [markerId] = placed.acknowledged;
    const markerArrived =
      markerId !== undefined &&
      (await sockets.awaitOrder(marker.id, markerId, options.deliveryTimeoutMs));
    const collected = await sockets.collect();
    const report = checkDeliveries(
      await decisionsOf(stack, productId),
      collected.sockets,
      await ownersOf(stack, collected),
      new Set(markerId === undefined ? [] : [markerId]),
    );
    return {
      ...measured,
      delivered: {
        ...(connected ? { connected } : {}),
        markerArrived,
        disconnects: collected.sockets.reduce((n, s) => n + s.disconnects, 0),
        clientLagMs: collected.lagMs,
        report,
      },
    };
  } finally {
    if (!held) await sockets.stop();
  }
}

/** One contention burst on `productId`, measured, then its invariants once the run is at rest. */
async function measureBurst(
  stack: Stack,
  shoppers: Shopper[],
  productId: string,
  {
    options,
    machine,
    sockets,
  }: {
    options: LiveOptions;
    /** Every process on the machine. */
    machine: () => Record<string, number | undefined>;
    /** The socket clients' process, when there is one: its CPU is reported with the burst's. */
    sockets?: LiveSockets;
  },
): Promise<Measured> {
  const pids = { ...stack.pids(), ...(sockets ? { 'socket clients': sockets.pid } : {}) };
  // Every burst starts on a machine at rest: after the previous burst's aftermath, or the sockets'
  // handshakes, both variants alike (a transient is not what the sockets cost while connected).
  // The socket clients' process and the other stack too: they share the machine's cores.
  const settledBefore = await untilQuiet(machine());
  const redisBefore = options.countCommands ? redisCounts(stack) : undefined;
  const cpuBefore = sampleCpu(pids);
  const lag = watchEventLoop();
  const burst = await orderBurst(stack.apiUrl, shoppers, () => [{ productId, quantity: 1 }], {
    connections: options.connections,
  });
  const lastAnswerAt = Date.now();
  const generatorLagMs = lag.stop();
  const settleMs = await waitUntilDecided(stack, options.settleTimeoutMs);
  const cpuAfter = sampleCpu(pids);
  const accepted = burst.acknowledged.length;
  const cpuMsPerOrder = perUnit(cpuSecondsUsed(cpuBefore, cpuAfter), accepted);
  const redisAfter = redisBefore && redisCounts(stack);
  const { outcome, checks } = await checkBurst(stack, productId, burst, {
    orders: shoppers.length,
    stock: options.stock,
    settled: settleMs !== undefined,
    // VIP orders get ahead only of orders waiting behind them. Here the stock equals the first
    // wave of requests (one per connection); when the worker keeps up with a slowed API, that wave
    // alone sells out and both groups succeed at the same rate. The rates are reported instead;
    // priority is the contention scenario's check and the reservation e2e test's.
    checkPriority: false,
  });
  const [last] = await stack.orders
    .find({ 'items.productId': productId, decidedAt: { $ne: null } })
    .sort({ decidedAt: -1 })
    .limit(1)
    .toArray();
  return {
    burst,
    outcome,
    checks,
    acceptedPerSecond: round(accepted / burst.seconds),
    lastAnswerAt,
    lastDecisionAfterMs: last?.decidedAt ? last.decidedAt.getTime() - lastAnswerAt : undefined,
    coresUsed: coresUsed(cpuBefore, cpuAfter),
    cpuMsPerOrder,
    generatorLagMs,
    settledBefore,
    ...(redisBefore && redisAfter
      ? {
          redisPerOrder: {
            api: perOrder(diffSnapshots(redisBefore.api, redisAfter.api), accepted),
            worker: perOrder(diffSnapshots(redisBefore.worker, redisAfter.worker), accepted),
          },
        }
      : {}),
  };
}

/** Milliseconds of CPU per unit (order, handshake) of each process, from CPU seconds. */
function perUnit(seconds: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(seconds).map(([name, s]) => [name, units ? round((s * 1000) / units, 2) : 0]),
  );
}

/** Each order of the burst as stored, with the history entry of its decision (its last). */
async function decisionsOf(stack: Stack, productId: string): Promise<Decision[]> {
  const orders = await stack.orders
    .find({ 'items.productId': productId }, { projection: { userId: 1, history: 1 } })
    .toArray();
  return orders.flatMap((order) => {
    const entry = order.history?.[order.history.length - 1];
    return entry
      ? [
          {
            orderId: order._id.toString(),
            ownerId: order.userId,
            status: entry.status,
            seq: entry.seq,
            at: entry.at.toISOString(),
          },
        ]
      : [];
  });
}

/** The owner of every order any socket heard of, as stored. */
async function ownersOf(
  stack: Stack,
  collected: Collected,
): Promise<(orderId: string) => string | undefined> {
  const ids = new Set(
    collected.sockets.flatMap((s) => s.events.flatMap((e) => (e.orderId ? [e.orderId] : []))),
  );
  const orders = await stack.orders
    .find(
      { _id: { $in: [...ids].filter((id) => ObjectId.isValid(id)).map((id) => new ObjectId(id)) } },
      { projection: { userId: 1 } },
    )
    .toArray();
  const owners = new Map(orders.map((order) => [order._id.toString(), order.userId]));
  return (orderId) => owners.get(orderId);
}

function redisCounts(stack: Stack): Record<'api' | 'worker', RedisSnapshot> {
  return { api: stack.commandCounts('api').redis, worker: stack.commandCounts('worker').redis };
}

/** The stream's commands per order, and every Redis command per order for scale. */
function perOrder(counts: RedisSnapshot, orders: number): Counts {
  const per = (n: number) => (orders ? round(n / orders, 3) : 0);
  const all = Object.values(counts.commands).reduce((sum, n) => sum + n, 0);
  const stream = STREAM_COMMANDS.filter((name) => counts.commands[name] !== undefined);
  return {
    ...Object.fromEntries(stream.map((name) => [name, per(counts.commands[name] ?? 0)])),
    stream: per(stream.reduce((sum, name) => sum + (counts.commands[name] ?? 0), 0)),
    all: per(all),
  };
}

const labelled = (label: string, checks: Check[]): Check[] =>
  checks.map((check) => ({ ...check, name: `${label}: ${check.name}` }));

function burstFigures(measured: Measured) {
  return {
    accepted: measured.burst.acknowledged.length,
    seconds: round(measured.burst.seconds, 3),
    acceptedPerSecond: measured.acceptedPerSecond,
    latencyMs: measured.burst.latency,
    lastDecisionAfterMs: measured.lastDecisionAfterMs,
    ...decisionFigures(measured.outcome),
    coresUsed: measured.coresUsed,
    cpuMsPerOrder: measured.cpuMsPerOrder,
    generatorLagMs: measured.generatorLagMs,
    settledBeforeMs: measured.settledBefore.waitedMs,
    ...(measured.redisPerOrder ? { redisPerOrder: measured.redisPerOrder } : {}),
  };
}

function report(
  options: LiveOptions,
  run: number,
  order: Variant[],
  { stack, shoppers }: Side,
  warmUps: Measured[],
  withBursts: Array<Measured & { delivered: Delivered }>,
  withoutBursts: Measured[],
  {
    connectedOnce,
    handshakeCpuMs,
  }: { connectedOnce?: Connected; handshakeCpuMs?: Record<string, number> },
): RunResult {
  if (withBursts.length === 0 || withBursts.length !== withoutBursts.length)
    throw new Error('a run measures as many bursts of each variant');
  const delivered = combinedDeliveries(withBursts.map((burst) => burst.delivered));
  // Sockets connected once are also held through the warm-ups: none may drop there either.
  const warmUpsDelivered = combinedDeliveries(warmUps.filter(hasSockets).map((m) => m.delivered));
  const { report: delivery } = delivered;
  const connected = connectedOnce ?? delivered.connected;
  // Once per run, or before each burst with sockets (the warm-ups' are not collected).
  const handshakes = shoppers.length * (connectedOnce ? 1 : withBursts.length);
  const deliveryMs = histogramOf(delivery.delays.map((d) => d.ms));
  // Decisions made while the API was still answering their burst wait behind its requests.
  const during = withBursts.flatMap((m) =>
    m.delivered.report.delays.filter((d) => d.decidedAt <= m.lastAnswerAt),
  );
  const after = withBursts.flatMap((m) =>
    m.delivered.report.delays.filter((d) => d.decidedAt > m.lastAnswerAt),
  );
  // Where the time went: until the event was in the stream (the decision's write, then the
  // publish), and from there to the socket (the API's read of the stream, the emit, the client).
  const toStreamMs = histogramOf(delivery.delays.flatMap((d) => d.toStreamMs ?? []));
  const fromStreamMs = histogramOf(
    delivery.delays.flatMap((d) => (d.toStreamMs === undefined ? [] : d.ms - d.toStreamMs)),
  );
  const duringBurstMs = histogramOf(during.map((d) => d.ms));
  const afterBurstMs = histogramOf(after.map((d) => d.ms));
  // Each variant's bursts together (ABBA BAAB): a drift over the run cancels out.
  const sum = (bursts: Measured[], figure: (m: Measured) => number | undefined) =>
    bursts.reduce<number | undefined>(
      (total, m) =>
        total === undefined || figure(m) === undefined ? undefined : total + (figure(m) ?? 0),
      0,
    );
  const ratio = (figure: (m: Measured) => number | undefined, digits: number) => {
    const [withTotal, withoutTotal] = [sum(withBursts, figure), sum(withoutBursts, figure)];
    return withTotal !== undefined && withoutTotal
      ? round(withTotal / withoutTotal, digits)
      : undefined;
  };
  const throughputRatio = ratio((m) => m.acceptedPerSecond, 3) ?? 0;
  const lastDecisionRatio = ratio((m) => m.lastDecisionAfterMs, 2);
  const apiCpuRatio = ratio((m) => m.cpuMsPerOrder.api ?? m.cpuMsPerOrder.api1, 3);
  const accepted = withBursts.reduce((n, m) => n + m.burst.acknowledged.length, 0);
  const figures = {
    shoppers: options.shoppers,
    vipShoppers: shoppers.filter((s) => s.vip).length,
    stock: options.stock,
    connections: options.connections,
    workers: options.workers,
    run,
    order: order.join(', then '),
    countCommands: options.countCommands,
    mongo: stack.mongoDescription,
    redis: stack.redisDescription,
    deliveryMs,
    deliveryToStreamMs: toStreamMs,
    deliveryFromStreamMs: fromStreamMs,
    deliveryDuringBurstMs: { decisions: during.length, ...duringBurstMs },
    deliveryAfterBurstMs: { decisions: after.length, ...afterBurstMs },
    throughputRatio,
    lastDecisionRatio,
    apiCpuRatio,
    delivery: {
      expected: delivery.expected,
      delivered: delivery.delivered,
      missing: delivery.missing.length,
      duplicated: delivery.duplicated.length,
      misdelivered: delivery.misdelivered.length,
      mismatched: delivery.mismatched.length,
      unexpected: delivery.unexpected.length,
      notices: delivery.notices,
    },
    sockets: {
      connect: options.connect,
      connected: connected.connected,
      failed: connected.failed,
      connectSeconds: connected.seconds,
      ...(handshakeCpuMs ? { handshakeCpuMs } : {}),
      disconnects: delivered.disconnects,
      clientLagMs: delivered.clientLagMs,
    },
    withSockets: withBursts.map(burstFigures),
    withoutSockets: withoutBursts.map(burstFigures),
  };
  const checks: Check[] = [
    ...warmUps.flatMap((m, i) =>
      labelled(`warm-up ${i + 1} (${WARM_UPS[options.connect][i]})`, m.checks),
    ),
    ...withBursts.flatMap((m, i) => labelled(`with sockets ${i + 1}`, m.checks)),
    ...withoutBursts.flatMap((m, i) => labelled(`without sockets ${i + 1}`, m.checks)),
    {
      name: connectedOnce
        ? 'every shopper connected its socket before the first burst'
        : 'every shopper connected its socket before each burst with sockets',
      ok: connected.connected === handshakes && connected.failed === 0,
      detail: `${connected.connected} of ${shoppers.length} in ${connected.seconds} s${connected.firstFailure ? `; first failure: ${connected.firstFailure}` : ''}`,
    },
    {
      name: 'no socket disconnected, re-synced or expired during the run',
      ok:
        delivered.disconnects + warmUpsDelivered.disconnects === 0 &&
        Object.keys({ ...delivery.notices, ...warmUpsDelivered.report.notices }).length === 0,
      detail: `${delivered.disconnects} disconnects (${warmUpsDelivered.disconnects} during the warm-ups); notices ${JSON.stringify(delivery.notices)}, during the warm-ups ${JSON.stringify(warmUpsDelivered.report.notices)}`,
    },
    {
      name: 'every event of the burst was sent before the deliveries were counted (marker order delivered)',
      ok: delivered.markerArrived,
      detail: delivered.markerArrived ? 'delivered' : 'not delivered in time',
    },
    {
      name: "every accepted order's outcome reached its owner's socket",
      ok:
        delivery.missing.length === 0 &&
        delivery.delivered === accepted &&
        delivery.expected === accepted,
      detail: `${delivery.delivered} of ${accepted} accepted orders; missing ${delivery.missing.slice(0, 3).join(', ') || 'none'}`,
    },
    {
      name: 'each outcome arrived once',
      ok: delivery.duplicated.length === 0,
      detail: `${delivery.duplicated.length} arrived more than once`,
    },
    {
      name: "no socket received another shopper's order or a staff event (misdeliveries)",
      ok: delivery.misdelivered.length === 0,
      detail: `${delivery.misdelivered.length} misdelivered${delivery.misdelivered[0] ? `, e.g. ${JSON.stringify(delivery.misdelivered[0])}` : ''}`,
    },
    {
      name: 'each outcome carries the stored decision (status, seq, time)',
      ok: delivery.mismatched.length === 0,
      detail: `${delivery.mismatched.length} differ`,
    },
    {
      name: "no socket heard of its shopper's orders outside the burst being counted (late events)",
      ok: delivery.unexpected.length === 0,
      detail: `${delivery.unexpected.length} unexpected${delivery.unexpected[0] ? `, e.g. ${delivery.unexpected[0]}` : ''}`,
    },
  ];
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const describeBurst = (label: string, m: Measured) =>
    `- ${label}: ${m.burst.acknowledged.length} accepted in ${round(m.burst.seconds, 2)} s = **${m.acceptedPerSecond} orders/s**; POST /order p50 ${m.burst.latency.p50} ms, p99 ${m.burst.latency.p99} ms; last decision ${m.lastDecisionAfterMs ?? '?'} ms after the last answer; ${m.outcome.confirmed} confirmed, failed ${JSON.stringify(m.outcome.failed)}, success VIP ${round(successRates(m.outcome).vip * 100)}% / regular ${round(successRates(m.outcome).regular * 100)}%; cores ${describeCores(m.coresUsed)}; CPU per order (ms) ${describeCores(m.cpuMsPerOrder)}; load generator's event-loop lag p99 ${m.generatorLagMs.p99} ms, max ${m.generatorLagMs.max} ms; the stack came to rest ${m.settledBefore.waitedMs} ms before it${m.settledBefore.quiet ? '' : ' (**not quiet**: it did not within 10 s)'}`;
  const describeRedis = (label: string, m: Measured) =>
    m.redisPerOrder
      ? [
          `- Redis commands per accepted order, ${label}: API ${JSON.stringify(m.redisPerOrder.api)}; worker ${JSON.stringify(m.redisPerOrder.worker)}`,
        ]
      : [];
  const lines = [
    `${options.shoppers} shoppers (${figures.vipShoppers} VIP) order 1 unit each of a product with ${options.stock} units, ${options.connections} connections, ${options.workers} worker process(es); the same burst with a live-events socket per shopper and without, ${withBursts.length} times each (this run: ${figures.order}), ${connectedOnce ? `on a stack per variant, after three unmeasured warm-up bursts on each; the sockets connected once, before the first, and stayed connected to the end` : `on the same stack, after an unmeasured warm-up burst of each variant; the sockets connected before each burst with sockets and closed after it`}.`,
    ...(options.countCommands
      ? [
          '',
          'Counting run: every app process talks to MongoDB and Redis through counting proxies in the load generator, so its timings are not comparable with other runs.',
        ]
      : []),
    '',
    `- sockets: ${connected.connected} connections over websocket (${connectedOnce ? `${shoppers.length} once, in ${connected.seconds} s; CPU per handshake (ms) ${describeCores(handshakeCpuMs ?? {})}` : `${shoppers.length} before each burst with sockets, in ${connected.seconds} s in all`}), in their own process (its event-loop lag p99 ${delivered.clientLagMs.p99} ms, max ${delivered.clientLagMs.max} ms); ${delivered.disconnects} disconnects`,
    `- decision to delivery (${delivery.delays.length} outcomes): p50 ${deliveryMs.p50} ms, p90 ${deliveryMs.p90} ms, **p99 ${deliveryMs.p99} ms**, max ${deliveryMs.max} ms; target p99 < ${TARGET_P99_MS} ms: ${met(deliveryMs.p99 < TARGET_P99_MS)}`,
    `  - decision to the stream (Redis's clock in the event id): p50 ${toStreamMs.p50} ms, p99 ${toStreamMs.p99} ms; stream to socket: p50 ${fromStreamMs.p50} ms, p99 ${fromStreamMs.p99} ms`,
    `  - decided while the burst was still answered: ${during.length}, p50 ${duringBurstMs.p50} ms, p99 ${duringBurstMs.p99} ms; decided after its last answer: ${after.length}, p50 ${afterBurstMs.p50} ms, p99 ${afterBurstMs.p99} ms`,
    `- exactness: ${delivery.delivered} of ${accepted} outcomes delivered to their owners, ${delivery.duplicated.length} twice, ${delivery.misdelivered.length} misdelivered, ${delivery.mismatched.length} differing from the stored decision, ${delivery.unexpected.length} late`,
    ...order.map((variant, i) => {
      const nth = order.slice(0, i + 1).filter((v) => v === variant).length;
      const m = variant === 'with sockets' ? withBursts[nth - 1] : withoutBursts[nth - 1];
      return m ? describeBurst(`burst ${i + 1}, ${variant}`, m) : '';
    }),
    `- throughput with sockets (the bursts of each variant together): **${round(throughputRatio * 100)}%** of without (target ≥ ${TARGET_THROUGHPUT_RATIO * 100}%, a loss under ${round((1 - TARGET_THROUGHPUT_RATIO) * 100)}%: ${met(throughputRatio >= TARGET_THROUGHPUT_RATIO)}); last decision after the last answer: ${lastDecisionRatio ?? '?'}× without; the API's CPU per order ${apiCpuRatio ?? '?'}× without`,
    ...withBursts.flatMap((m, i) => describeRedis(`with sockets ${i + 1}`, m)),
    ...withoutBursts.flatMap((m, i) => describeRedis(`without sockets ${i + 1}`, m)),
    `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
  ];
  return { figures, checks, lines };
}

/** What the sockets of several bursts received, as one report; `connected`: their handshakes. */
function combinedDeliveries(parts: Delivered[]): Delivered & { connected: Connected } {
  const reports = parts.map((part) => part.report);
  const notices: Record<string, number> = {};
  for (const report of reports)
    for (const [name, n] of Object.entries(report.notices))
      notices[name] = (notices[name] ?? 0) + n;
  const handshakes = parts.flatMap((part) => (part.connected ? [part.connected] : []));
  const firstFailure = handshakes.find((c) => c.firstFailure)?.firstFailure;
  return {
    connected: {
      connected: handshakes.reduce((n, c) => n + c.connected, 0),
      failed: handshakes.reduce((n, c) => n + c.failed, 0),
      seconds: round(
        handshakes.reduce((n, c) => n + c.seconds, 0),
        2,
      ),
      ...(firstFailure ? { firstFailure } : {}),
    },
    markerArrived: parts.every((part) => part.markerArrived),
    disconnects: parts.reduce((n, part) => n + part.disconnects, 0),
    clientLagMs: {
      p99: Math.max(...parts.map((part) => part.clientLagMs.p99)),
      max: Math.max(...parts.map((part) => part.clientLagMs.max)),
    },
    report: {
      expected: reports.reduce((n, r) => n + r.expected, 0),
      delivered: reports.reduce((n, r) => n + r.delivered, 0),
      missing: reports.flatMap((r) => r.missing),
      duplicated: reports.flatMap((r) => r.duplicated),
      misdelivered: reports.flatMap((r) => r.misdelivered),
      mismatched: reports.flatMap((r) => r.mismatched),
      unexpected: reports.flatMap((r) => r.unexpected),
      notices,
      delays: reports.flatMap((r) => r.delays),
    },
  };
}

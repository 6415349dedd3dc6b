/**
 * Sales reports over a year of orders (issue 15, docs/REPORTS.md): a million orders seeded straight
 * into the stack's own MongoDB (tools/seed-orders.ts), a rebuild of the rollups from them, then the
 * whole year's summary and per-day series, timed as an admin's browser would ask for them.
 *
 * - Rebuild: `POST /admin/reports/rollup?rebuild=true`, its job followed to the end (with a
 *   deadline), then `GET /admin/reports/status` must show a run that started after the trigger; the
 *   time is the rollup's own measure, and from the trigger to the end of the job.
 * - Routes: after warm-ups, sequential requests for the whole range (the day of the first seeded
 *   order to today) of `summary`, and of `series?interval=day` in UTC and in America/New_York (a
 *   zone whose days are not UTC's, with both DST changes in the year). Targets: median < 200 ms.
 * - Brute force, for comparison and as the oracle: every order of the range streamed from MongoDB
 *   (find with a projection, over the wire) and counted in plain code. Its figures must equal the
 *   route's, and the series must add up to them.
 */
import { MongoClient } from 'mongodb';
import type { Collection } from 'mongodb';
import { Check, RunResult, histogramOf, median, round } from '../lib/report.js';
import { SOLD_STATUSES } from '../../src/order/domain/order-state.js';
import type { OrderStatus } from '../../src/order/domain/order-state.js';
import { seedOrders } from '../../tools/seed-orders.js';
import { ADMIN, OrderDoc, Stack, reportsQueueOf, startStack } from '../../tools/harness/stack.js';
import { waitFor } from '../../tools/harness/wait.js';
import { FetchHttp, HttpAnswer, fetchHttp, signIn } from '../../tools/storefront.js';

export interface ReportsOptions {
  orders: number;
  /** The orders are accepted over this many days, ending now. */
  days: number;
  /** Timed requests per route, after the warm-ups. */
  requests: number;
  warmUps: number;
  /** How long the rebuild may take before the run gives up. */
  rebuildTimeoutMs: number;
}

export const REPORTS_DEFAULTS: ReportsOptions = {
  orders: 1_000_000,
  days: 365,
  requests: 15,
  warmUps: 2,
  rebuildTimeoutMs: 30 * 60_000,
};

/** The targets of issue 15: a whole year's summary, and its per-day series. */
const TARGET_MEDIAN_MS = 200;
const SECOND_ZONE = 'America/New_York';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The offline MongoDB server keeps every document and index entry on its heap: about 6 KB per
 * seeded order with the application's indexes, so a million need far more than Node's default.
 */
function mongoHeapMiB(orders: number): number {
  return Math.max(4096, 2048 + Math.ceil((orders * 10 * 1024) / 2 ** 20));
}

// ── The routes' answers (docs/REPORTS.md) ───────────────────────────────────────────────────

interface Money {
  currency: string;
  amount: number;
}

interface ReportRange {
  from: string;
  to: string;
  tz: string;
  start: string;
  end: string;
}

interface SummaryBody {
  range: ReportRange;
  orders: {
    total: number;
    byStatus: Record<string, number>;
    byFailureReason: Record<string, number>;
  };
  revenue: Money[];
  cancellations: { total: number; byPreviousStatus: Record<string, number> };
}

interface SeriesBody {
  range: ReportRange;
  interval: string;
  items: Array<{ start: string; orders: number; confirmed: number; revenue: Money[] }>;
}

interface StatusBody {
  watermark: string | null;
  coveredUntil: string | null;
  lastRunAt: string | null;
  lastRunMs: number | null;
}

function body<T>(answer: HttpAnswer, expected: number, what: string): T {
  if (answer.status !== expected)
    throw new Error(
      `${what}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`,
    );
  return answer.body as T;
}

// ── Brute force ─────────────────────────────────────────────────────────────────────────────

/** The summary's figures, counted from every order of the range. */
interface BruteSummary {
  total: number;
  byStatus: Record<string, number>;
  byFailureReason: Record<string, number>;
  revenue: Record<string, number>;
  cancelledFrom: Record<string, number>;
  ms: number;
}

const KEPT: ReadonlySet<OrderStatus> = new Set(SOLD_STATUSES);

/** What the brute force reads of an order. */
type BruteOrder = Pick<OrderDoc, 'status' | 'failureReason' | 'cancelledFrom'> & {
  currency: string;
  total: number;
};

async function bruteForceSummary(
  orders: Collection<OrderDoc>,
  range: { start: Date; end: Date },
): Promise<BruteSummary> {
  const started = performance.now();
  const out: BruteSummary = {
    total: 0,
    byStatus: {},
    byFailureReason: {},
    revenue: {},
    cancelledFrom: {},
    ms: 0,
  };
  const add = (counts: Record<string, number>, key: string, n = 1) =>
    (counts[key] = (counts[key] ?? 0) + n);
  const cursor = orders.find<BruteOrder>(
    { createdAt: { $gte: range.start, $lt: range.end } },
    {
      projection: { _id: 0, status: 1, failureReason: 1, cancelledFrom: 1, currency: 1, total: 1 },
      batchSize: 10_000,
    },
  );
  for await (const order of cursor) {
    out.total++;
    add(out.byStatus, order.status);
    if (order.status === 'FAILED' && order.failureReason)
      add(out.byFailureReason, order.failureReason);
    if (order.status === 'CANCELLED' && order.cancelledFrom)
      add(out.cancelledFrom, order.cancelledFrom);
    if (KEPT.has(order.status)) add(out.revenue, order.currency, order.total);
  }
  out.ms = performance.now() - started;
  return out;
}

/** Counts that differ between two tallies, a missing key counting 0. */
function countDifferences(
  what: string,
  route: Record<string, number>,
  brute: Record<string, number>,
): string[] {
  return [...new Set([...Object.keys(route), ...Object.keys(brute)])]
    .filter((key) => (route[key] ?? 0) !== (brute[key] ?? 0))
    .map((key) => `${what}.${key}: route ${route[key] ?? 0}, brute force ${brute[key] ?? 0}`);
}

const moneyTally = (money: Money[]): Record<string, number> =>
  Object.fromEntries(money.map((m) => [m.currency, m.amount]));

function summaryDifferences(route: SummaryBody, brute: BruteSummary): string[] {
  return [
    ...(route.orders.total === brute.total
      ? []
      : [`orders.total: route ${route.orders.total}, brute force ${brute.total}`]),
    ...countDifferences('orders.byStatus', route.orders.byStatus, brute.byStatus),
    ...countDifferences(
      'orders.byFailureReason',
      route.orders.byFailureReason,
      brute.byFailureReason,
    ),
    ...countDifferences('revenue', moneyTally(route.revenue), brute.revenue),
    ...countDifferences(
      'cancellations.byPreviousStatus',
      route.cancellations.byPreviousStatus,
      brute.cancelledFrom,
    ),
  ];
}

/** Where a series does not add up to the brute force's figures, or misses days. */
function seriesDifferences(series: SeriesBody, brute: BruteSummary, days: number): string[] {
  const orders = series.items.reduce((n, item) => n + item.orders, 0);
  const revenue: Record<string, number> = {};
  for (const item of series.items)
    for (const { currency, amount } of item.revenue)
      revenue[currency] = (revenue[currency] ?? 0) + amount;
  return [
    ...(series.items.length === days
      ? []
      : [`${series.items.length} buckets for a range of ${days} days`]),
    ...(orders === brute.total ? [] : [`orders add up to ${orders}, brute force ${brute.total}`]),
    ...countDifferences('revenue', revenue, brute.revenue),
  ];
}

// ── Timing ──────────────────────────────────────────────────────────────────────────────────

interface Timed<T> {
  latency: ReturnType<typeof histogramOf>;
  medianMs: number;
  body: T;
}

async function timeRoute<T>(
  http: FetchHttp,
  path: string,
  options: Pick<ReportsOptions, 'requests' | 'warmUps'>,
): Promise<Timed<T>> {
  for (let i = 0; i < options.warmUps; i++) body(await http.send('GET', path), 200, path);
  const ms: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < options.requests; i++) {
    const started = performance.now();
    const answer = await http.send('GET', path);
    ms.push(performance.now() - started);
    last = body<T>(answer, 200, path);
  }
  if (last === undefined) throw new Error(`${path}: no request was timed`);
  return { latency: histogramOf(ms), medianMs: round(median(ms)), body: last };
}

/** `YYYY-MM-DD` of an instant in a time zone. */
function localDate(instant: Date, timeZone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/** Days from `from` to `to` (YYYY-MM-DD), both included. */
function daysIn(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The whole seeded range in a zone: from the local day of the first order to today there. */
function rangeQuery(first: Date, now: Date, tz: string): { query: string; days: number } {
  const from = localDate(first, tz);
  const to = localDate(now, tz);
  return {
    query: `from=${from}&to=${to}&tz=${encodeURIComponent(tz)}`,
    days: daysIn(from, to),
  };
}

// ── The run ─────────────────────────────────────────────────────────────────────────────────

export async function runReports(options: ReportsOptions): Promise<RunResult> {
  const stack = await startStack({
    label: 'reports',
    ownMongo: true,
    workers: 1,
    mongoNodeArgs: [`--max-old-space-size=${mongoHeapMiB(options.orders)}`],
  });
  const client = await MongoClient.connect(stack.env.MONGODB_URI);
  try {
    const to = new Date();
    const from = new Date(to.getTime() - options.days * DAY_MS);
    const seeded = await seedOrders(client.db(), { orders: options.orders, from, to });

    const admin = fetchHttp(stack.apiUrl);
    await signIn(admin, ADMIN);
    const rebuild = await rebuildRollups(stack, admin, options.rebuildTimeoutMs);

    const utc = rangeQuery(from, to, 'UTC');
    const zoned = rangeQuery(from, to, SECOND_ZONE);
    const summary = await timeRoute<SummaryBody>(
      admin,
      `/admin/reports/summary?${utc.query}`,
      options,
    );
    const seriesUtc = await timeRoute<SeriesBody>(
      admin,
      `/admin/reports/series?interval=day&${utc.query}`,
      options,
    );
    const seriesZoned = await timeRoute<SeriesBody>(
      admin,
      `/admin/reports/series?interval=day&${zoned.query}`,
      options,
    );
    // Both ranges hold every seeded order (each starts at or before `from`'s local midnight and
    // ends after now), so one count of the UTC range is the oracle for all three answers.
    const brute = await bruteForceSummary(stack.orders, {
      start: new Date(summary.body.range.start),
      end: new Date(summary.body.range.end),
    });
    return report(options, stack, {
      seeded,
      rebuild,
      summary,
      seriesUtc,
      seriesZoned,
      utcDays: utc.days,
      zonedDays: zoned.days,
      brute,
    });
  } finally {
    await client.close();
    await stack.stop();
  }
}

interface Rebuild {
  /** The rollup's own measure of the rebuild (the job's result). */
  runMs: number;
  /** Quarter hours recomputed. */
  quarters: number;
  /** From the trigger until the job ended, as the worker stamped it. */
  totalMs: number;
  /** The status read once the job had ended. */
  status: StatusBody;
}

/**
 * Asks for a rebuild and follows its job to the end: the status alone cannot tell the rebuild's run
 * from a scheduled one (the worker takes the next scheduled run the moment the rebuild ends, and
 * its `lastRunAt` and `lastRunMs` replace the rebuild's), so it is read once the job has ended and
 * must show a run that started after the trigger.
 */
async function rebuildRollups(stack: Stack, admin: FetchHttp, timeoutMs: number): Promise<Rebuild> {
  const triggeredAt = Date.now();
  const { jobId } = body<{ jobId: string }>(
    await admin.send('POST', '/admin/reports/rollup?rebuild=true'),
    202,
    'trigger the rebuild',
  );
  const queue = reportsQueueOf(stack);
  try {
    const ended = await waitFor(
      async () => {
        const job = await queue.getJob(jobId);
        if (!job) return { failed: `job ${jobId} is gone` };
        const state = await job.getState();
        if (state === 'failed') return { failed: job.failedReason };
        return state === 'completed' ? { job } : undefined;
      },
      { timeoutMs, intervalMs: 250, what: `the rebuild (job ${jobId}) to end` },
    );
    if ('failed' in ended) throw new Error(`the rebuild failed: ${ended.failed}`);
    const { returnvalue: run, finishedOn } = ended.job;
    if (!run.ran || !run.rebuild)
      throw new Error(`the rebuild job ended without rebuilding: ${JSON.stringify(run)}`);
    const status = body<StatusBody>(
      await admin.send('GET', '/admin/reports/status'),
      200,
      'read the rollups’ status',
    );
    if (status.lastRunAt === null || Date.parse(status.lastRunAt) < triggeredAt)
      throw new Error(`the status shows no run since the rebuild: ${JSON.stringify(status)}`);
    return {
      runMs: run.ms,
      quarters: run.quarters,
      totalMs: (finishedOn ?? Date.now()) - triggeredAt,
      status,
    };
  } finally {
    await queue.close();
  }
}

function report(
  options: ReportsOptions,
  stack: Stack,
  m: {
    seeded: Awaited<ReturnType<typeof seedOrders>>;
    rebuild: Rebuild;
    summary: Timed<SummaryBody>;
    seriesUtc: Timed<SeriesBody>;
    seriesZoned: Timed<SeriesBody>;
    utcDays: number;
    zonedDays: number;
    brute: BruteSummary;
  },
): RunResult {
  const { seeded, rebuild, summary, seriesUtc, seriesZoned, brute } = m;
  const bruteMs = round(brute.ms);
  const ratio = (timed: Timed<unknown>) => round(bruteMs / timed.medianMs, 1);
  const figures = {
    orders: options.orders,
    days: options.days,
    requests: options.requests,
    warmUps: options.warmUps,
    mongo: stack.mongoDescription,
    redis: stack.redisDescription,
    seeding: {
      seconds: round(seeded.seconds),
      ordersPerSecond: Math.round(seeded.inserted / seeded.seconds),
    },
    rebuild: {
      ms: rebuild.runMs,
      totalMs: rebuild.totalMs,
      quarters: rebuild.quarters,
      coveredUntil: rebuild.status.coveredUntil,
    },
    summaryMs: summary.latency,
    seriesDayUtcMs: seriesUtc.latency,
    seriesDayNewYorkMs: seriesZoned.latency,
    bruteForceMs: bruteMs,
    bruteForceOverRoute: {
      summary: ratio(summary),
      seriesDayUtc: ratio(seriesUtc),
      seriesDayNewYork: ratio(seriesZoned),
    },
  };
  const target = (name: string, timed: Timed<unknown>): Check => ({
    name: `${name}: median < ${TARGET_MEDIAN_MS} ms`,
    ok: timed.medianMs < TARGET_MEDIAN_MS,
    detail: `median ${timed.medianMs} ms, p90 ${timed.latency.p90} ms over ${options.requests} requests`,
  });
  const agrees = (name: string, differences: string[]): Check => ({
    name,
    ok: differences.length === 0,
    detail:
      differences.length === 0
        ? 'equal'
        : `${differences.length} differ: ${differences.slice(0, 5).join('; ')}`,
  });
  const checks: Check[] = [
    {
      name: 'the range holds every seeded order',
      ok: brute.total === seeded.inserted,
      detail: `${brute.total} orders in ${summary.body.range.start} – ${summary.body.range.end}, ${seeded.inserted} seeded`,
    },
    target('summary for the year', summary),
    target('per-day series for the year, UTC', seriesUtc),
    target(`per-day series for the year, ${SECOND_ZONE}`, seriesZoned),
    agrees(
      'summary equals the brute force (orders.total, byStatus, byFailureReason, revenue, cancellations)',
      summaryDifferences(summary.body, brute),
    ),
    agrees(
      'per-day series (UTC) covers every day and adds up to the brute force',
      seriesDifferences(seriesUtc.body, brute, m.utcDays),
    ),
    agrees(
      `per-day series (${SECOND_ZONE}) covers every day and adds up to the brute force`,
      seriesDifferences(seriesZoned.body, brute, m.zonedDays),
    ),
  ];
  const describe = (label: string, timed: Timed<unknown>) =>
    `- ${label}: median **${timed.medianMs} ms**, p90 ${timed.latency.p90} ms, max ${timed.latency.max} ms; brute force takes ${ratio(timed)}× as long`;
  const lines = [
    `${options.orders.toLocaleString('en')} orders accepted over ${options.days} days, seeded straight into the stack's own MongoDB (tools/seed-orders.ts), the rollups rebuilt from them, then ${options.requests} sequential requests per route after ${options.warmUps} warm-ups, for the whole range (${summary.body.range.from} – ${summary.body.range.to}).`,
    '',
    `- seeding: ${round(seeded.seconds)} s (${figures.seeding.ordersPerSecond.toLocaleString('en')} orders/s)`,
    `- rebuild: **${round(rebuild.runMs / 1000)} s** (the rollup's own measure, ${rebuild.quarters.toLocaleString('en')} quarter hours), ${round(rebuild.totalMs / 1000)} s from the trigger to the end of its job`,
    describe('`GET /admin/reports/summary`', summary),
    describe('`GET /admin/reports/series?interval=day`, UTC', seriesUtc),
    describe(`\`GET /admin/reports/series?interval=day\`, ${SECOND_ZONE}`, seriesZoned),
    `- brute force: every order of the range streamed from MongoDB with a projection and counted in plain code: **${bruteMs} ms** for ${brute.total.toLocaleString('en')} orders`,
    `- target (issue 15): a year's summary and per-day series, median < ${TARGET_MEDIAN_MS} ms`,
    ...(stack.mongoDescription.startsWith('offline')
      ? [
          "- on the offline MongoDB server (docs/OFFLINE-MONGODB.md): every document lives on its heap and every answer is encoded in JavaScript; run with MONGODB_URI for MongoDB's own figures",
        ]
      : []),
    `- MongoDB: ${stack.mongoDescription}; Redis: ${stack.redisDescription}`,
  ];
  return { figures, checks, lines };
}

/**
 * Issue 15, the sales reports' correctness proof: orders across 2026's DST changes, month ends and
 * five time zones, in every status, are written raw into the app's database (a few are placed and
 * cancelled through the API); every report, in every zone, over ranges that cross those edges, must
 * equal a brute force over the raw orders read back (support/report-oracle.ts), before and after
 * late arrivals, cancellations of old orders, concurrent and rebuilding rollups and replayed
 * writes. The CSV of each route must say what its JSON says; bad parameters are named.
 */
import { Redis } from 'ioredis';
import { MongoClient, ObjectId } from 'mongodb';
import type { Collection } from 'mongodb';
import type request from 'supertest';
import type { OrderStatus } from '../src/order/domain/order-state.js';
import type { Product } from '../src/stock/product.schema.js';
import { decisionBucketUpperMs } from '../src/reports/domain/decision-histogram.js';
import { waitFor } from '../tools/harness/wait.js';
import { TestApp, createTestApp, testEnv } from './support/app.js';
import { csvProblems, parseCsv } from './support/csv.js';
import {
  DAY,
  MINUTE,
  bucketsOf,
  dayStart,
  daysIn,
  isoWithOffset,
  localTime,
} from './support/local-time.js';
import {
  ReportQuery,
  StoredOrder,
  comparable,
  differences,
  isIsoInstant,
  nearestRank,
  seriesOf,
  summaryOf,
  topProductsOf,
} from './support/report-oracle.js';
import {
  DECISION_MS,
  Fate,
  OrderFactory,
  PRODUCTS,
  STAFF_ACTOR,
  TIED,
  ZONES,
  catalogDocument,
  offsetChanges,
  seedOrders,
} from './support/sales-fixture.js';
import {
  Shopper,
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signIn,
  signInAdmin,
} from './support/shop.js';

/** A product name a spreadsheet would run as a command if the CSV did not keep it text. */
const FORMULA_NAME = `=cmd|' /C calc'!A0, "quoted"`;

// ---------------------------------------------------------------------------------------------
// The ranges compared, in every zone.

interface RangeCase {
  from: string;
  to: string;
  why: string;
}

const RANGES: RangeCase[] = [
  { from: '2026-03-01', to: '2026-03-31', why: 'March: both spring-forwards, up to a month end' },
  { from: '2026-03-28', to: '2026-04-01', why: "Berlin's spring-forward across March's end" },
  { from: '2026-03-07', to: '2026-03-09', why: "New York's spring-forward" },
  { from: '2026-10-24', to: '2026-11-02', why: 'both fall-backs across October’s end' },
  { from: '2026-02-27', to: '2026-03-02', why: "February's end" },
  { from: '2026-03-29', to: '2026-03-29', why: "Berlin's 23-hour day" },
  { from: '2026-10-25', to: '2026-10-25', why: "Berlin's 25-hour day" },
  { from: '2026-11-01', to: '2026-11-01', why: "New York's 25-hour day" },
  { from: '2026-03-08', to: '2026-03-08', why: "New York's 23-hour day" },
  { from: '2026-06-15', to: '2026-06-15', why: 'two products tied on units' },
  { from: '2026-11-27', to: '2026-11-29', why: 'where the late arrivals land' },
  { from: '2025-06-01', to: '2025-06-03', why: 'no orders at all' },
  { from: '2026-08-31', to: '2026-11-30', why: 'the longest hour series (92 days)' },
  { from: '2026-01-01', to: '2026-12-31', why: 'the whole year' },
];

const HOUR_SERIES_MAX_DAYS = 92;

function todayIn(tz: string): string {
  return localTime(Date.now(), tz).date;
}

type Params = Record<string, string>;

/** The order as written now: its last write is stamped with the time of writing. */
function writtenNow(order: StoredOrder): StoredOrder {
  return { ...order, updatedAt: new Date() };
}

/**
 * How far behind now the rollups read changes. Not 0: a write is stamped (updatedAt) before it
 * reaches the database, and a run that starts in between and reads before it lands moves its
 * watermark past it for good (only a rebuild would see it). The test's raw writes are stamped the
 * same way, so with no lag they would race the 500 ms scheduler; the lag need only exceed how
 * long a write takes here.
 */
const LAG_MS = 250;
const QUARTER_MS = 15 * MINUTE;

describe('sales reports: every report against a brute force over the raw orders', () => {
  const env = testEnv('reports', {
    REPORTS_ROLLUP_INTERVAL_MS: '500',
    REPORTS_ROLLUP_LAG_MS: String(LAG_MS),
    // The raw PENDING orders stay PENDING: the recovery sweep runs at start-up, before they
    // exist, and not again during the suite.
    ORDER_SWEEP_INTERVAL_MS: '3600000',
  });
  let app: TestApp;
  /** A second worker on the same database and queues: rollup runs meet as in production. */
  let worker: TestApp;
  let admin: request.Agent;
  let staff: request.Agent;
  let shopper: Shopper;
  let mongo: MongoClient;
  let orders: Collection<StoredOrder>;
  let products: Collection<Product & { _id: ObjectId }>;
  const factory = new OrderFactory(15);

  beforeAll(async () => {
    app = await createTestApp('reports', { env });
    worker = await createTestApp('reports', { env: { ...env, APP_ROLE: 'worker' } });
    mongo = new MongoClient(app.config.mongodbUri);
    await mongo.connect();
    orders = mongo.db().collection<StoredOrder>('orders');
    products = mongo.db().collection<Product & { _id: ObjectId }>('products');
    admin = await signInAdmin(app);
    staff = await staffMember(app, admin);

    // A year of orders, written now: each stamped with the time of its write, as the product
    // stamps every write it makes.
    const seeded = seedOrders(factory);
    const latest = Math.max(...seeded.flatMap((o) => o.history.map((e) => e.at.getTime())));
    expect(latest).toBeLessThan(Date.now());
    for (let i = 0; i < seeded.length; i += 50)
      await orders.insertMany(seeded.slice(i, i + 50).map(writtenNow));
    await products.insertMany(
      [...PRODUCTS, ...TIED].flatMap((p) =>
        p.catalogName ? [catalogDocument({ ...p, catalogName: p.catalogName })] : [],
      ),
    );

    // Through the API: decided by the workers, one cancelled by its owner (twice: a replay).
    const formula = await createProduct(admin, {
      name: FORMULA_NAME,
      quantity: 10,
      price: 1999,
      currency: 'EUR',
    });
    const scarce = await createProduct(admin, {
      name: 'Scarce grinder',
      quantity: 1,
      price: 500,
      currency: 'USD',
    });
    const vip = await registerShopper(app, { vip: true, admin });
    shopper = await registerShopper(app);
    const placed: Array<[Shopper, string]> = [
      [vip, (await placeOrder(vip, [{ productId: formula.id, quantity: 2 }])).id],
      [shopper, (await placeOrder(shopper, [{ productId: formula.id, quantity: 1 }])).id],
      [shopper, (await placeOrder(shopper, [{ productId: scarce.id, quantity: 2 }])).id],
      [vip, (await placeOrder(vip, [{ productId: scarce.id, quantity: 1 }])).id],
    ];
    const decided = await Promise.all(placed.map(([owner, id]) => settledOrder(owner, id)));
    expect(decided.map((o) => [o.priority, o.status, o.failureReason])).toEqual([
      ['VIP', 'CONFIRMED', null],
      ['REGULAR', 'CONFIRMED', null],
      ['REGULAR', 'FAILED', 'OUT_OF_STOCK'],
      ['VIP', 'CONFIRMED', null],
    ]);
    const [, cancelled] = placed;
    if (!cancelled) throw new Error('no order to cancel');
    for (let i = 0; i < 2; i++) {
      const res = await shopper.http.post(`/order/${cancelled[1]}/cancel`).expect(200);
      expect(res.body).toMatchObject({ status: 'CANCELLED', cancelledFrom: 'CONFIRMED' });
    }
    await waitFor(
      async () =>
        (await orders.findOne({ _id: new ObjectId(cancelled[1]) }))?.stockReturned === true,
      { what: 'the cancelled order’s stock to be back' },
    );
  }, 120_000);

  afterAll(async () => {
    await mongo?.close();
    await worker?.app.close();
    await app?.close();
  });

  /** A registered account made staff by an admin, signed in again to carry the role. */
  async function staffMember(testApp: TestApp, by: request.Agent): Promise<request.Agent> {
    const account = await registerShopper(testApp);
    await by.patch(`/users/${account.id}/role`).send({ role: 'staff' }).expect(200);
    return signIn(testApp, account.email, 'shopper-password');
  }

  function report(route: string, params: Params, accept = 'application/json'): request.Test {
    return admin.get(`/admin/reports/${route}`).query(params).set('Accept', accept);
  }

  /**
   * Waits for a rollup run that read every change made so far (it started more than the lag after
   * now): the reports are then expected to count each of them.
   */
  async function rollupsCaughtUp(): Promise<void> {
    const since = Date.now() + LAG_MS;
    await waitFor(
      async () => {
        const res = await admin.get('/admin/reports/status');
        const lastRunAt =
          res.status === 200 ? (res.body as { lastRunAt: unknown }).lastRunAt : null;
        return typeof lastRunAt === 'string' && Date.parse(lastRunAt) > since;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'a rollup run that started after the changes' },
    );
  }

  async function rawOrders(): Promise<StoredOrder[]> {
    return orders.find({}).toArray();
  }

  async function catalogNames(): Promise<Map<string, string>> {
    const found = await products.find({}, { projection: { name: 1 } }).toArray();
    return new Map(found.map((p) => [p._id.toHexString(), p.name]));
  }

  /** What differs between a report and its brute force, one line each, naming the report. */
  function compare(
    label: string,
    res: request.Response,
    expected: unknown,
    witnesses?: string[][],
  ): string[] {
    if (res.status !== 200)
      return [`${label}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`];
    const body = res.body as Record<string, unknown>;
    const problems: string[] = [];
    const range = body.range as Record<string, unknown> | undefined;
    for (const edge of ['start', 'end'])
      if (!isIsoInstant(range?.[edge]))
        problems.push(`${label}: range.${edge} is ${JSON.stringify(range?.[edge])}`);
    if ('asOf' in body && body.asOf !== null && !isIsoInstant(body.asOf))
      problems.push(`${label}: asOf is ${JSON.stringify(body.asOf)}`);
    const diffs = differences(comparable(expected), comparable(body));
    for (const d of diffs.slice(0, 6)) {
      const item = /^items\[(\d+)\]/.exec(d);
      const inBucket = item && witnesses ? witnesses[Number(item[1])] : undefined;
      problems.push(
        `${label}: ${d}` +
          (inBucket ? ` (orders in it: ${inBucket.slice(0, 8).join(', ') || 'none'})` : ''),
      );
    }
    if (diffs.length > 6) problems.push(`${label}: and ${diffs.length - 6} more differences`);
    return problems;
  }

  /** Every report, in every zone, over every range, against the brute force: the problems found. */
  async function reportProblems(): Promise<string[]> {
    const all = await rawOrders();
    const catalog = await catalogNames();
    const problems: string[] = [];
    for (const tz of ZONES) {
      const cases: Array<RangeCase & { defaults?: boolean }> = [
        ...RANGES,
        { from: todayIn(tz), to: todayIn(tz), why: 'today, by default', defaults: true },
      ];
      for (const c of cases) {
        const q: ReportQuery = { from: c.from, to: c.to, tz };
        const params: Params = c.defaults ? { tz } : { ...q };
        const label = (route: string) => `${route} ${tz} ${c.from}..${c.to} (${c.why})`;
        const answers = {
          summary: await report('summary', params),
          days: await report('series', params),
          hours:
            daysIn(c.from, c.to) <= HOUR_SERIES_MAX_DAYS
              ? await report('series', { ...params, interval: 'hour' })
              : undefined,
          top: await report('top-products', params),
          top3: await report('top-products', { ...params, limit: '3' }),
          top100: await report('top-products', { ...params, limit: '100' }),
        };
        // Midnight passed in this zone while asking for today: ask again.
        if (c.defaults && todayIn(tz) !== c.from) return reportProblems();
        const days = seriesOf(all, q, 'day');
        problems.push(
          ...compare(label('summary'), answers.summary, summaryOf(all, q, decisionBucketUpperMs)),
          ...compare(label('series day'), answers.days, days.series, days.witnesses),
          ...compare(label('top-products'), answers.top, topProductsOf(all, q, 10, catalog)),
          ...compare(
            label('top-products limit 3'),
            answers.top3,
            topProductsOf(all, q, 3, catalog),
          ),
          ...compare(
            label('top-products limit 100'),
            answers.top100,
            topProductsOf(all, q, 100, catalog),
          ),
        );
        if (answers.hours) {
          const hours = seriesOf(all, q, 'hour');
          problems.push(
            ...compare(label('series hour'), answers.hours, hours.series, hours.witnesses),
          );
        }
      }
    }
    return problems;
  }

  it('the brute force’s calendar: known offsets, day lengths and repeated hours', () => {
    expect(dayStart('2026-03-29', 'Europe/Berlin')).toBe(Date.parse('2026-03-28T23:00:00Z'));
    expect(dayStart('2026-03-30', 'Europe/Berlin')).toBe(Date.parse('2026-03-29T22:00:00Z'));
    expect(dayStart('2026-03-01', 'Asia/Kolkata')).toBe(Date.parse('2026-02-28T18:30:00Z'));
    expect(dayStart('2026-03-01', 'Asia/Kathmandu')).toBe(Date.parse('2026-02-28T18:15:00Z'));
    expect(isoWithOffset(dayStart('2026-03-29', 'Europe/Berlin'), 'Europe/Berlin')).toBe(
      '2026-03-29T00:00:00+01:00',
    );
    expect(isoWithOffset(Date.parse('2026-06-01T00:00:00Z'), 'UTC')).toBe(
      '2026-06-01T00:00:00+00:00',
    );
    const hours = (date: string, tz: string) =>
      bucketsOf(date, date, tz, 'hour').map((b) => isoWithOffset(b.start, tz));
    expect(hours('2026-03-29', 'Europe/Berlin')).toHaveLength(23);
    expect(hours('2026-03-08', 'America/New_York')).toHaveLength(23);
    expect(hours('2026-10-25', 'Europe/Berlin').slice(1, 5)).toEqual([
      '2026-10-25T01:00:00+02:00',
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T03:00:00+01:00',
    ]);
    expect(hours('2026-11-01', 'America/New_York').slice(0, 4)).toEqual([
      '2026-11-01T00:00:00-04:00',
      '2026-11-01T01:00:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T02:00:00-05:00',
    ]);
    expect(hours('2026-06-01', 'Asia/Kathmandu')[1]).toBe('2026-06-01T01:00:00+05:45');
    expect(offsetChanges('Europe/Berlin', 2026)).toEqual([
      Date.parse('2026-03-29T01:00:00Z'),
      Date.parse('2026-10-25T01:00:00Z'),
    ]);
    expect(offsetChanges('America/New_York', 2026)).toEqual([
      Date.parse('2026-03-08T07:00:00Z'),
      Date.parse('2026-11-01T06:00:00Z'),
    ]);
    expect(daysIn('2024-01-01', '2026-12-31')).toBe(1096);
    // Nearest rank, on integers: the smallest rank holding at least p% of the values.
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect([nearestRank(oneToTwenty, 50), nearestRank(oneToTwenty, 95)]).toEqual([10, 19]);
    expect(nearestRank([7], 95)).toBe(7);
    expect(parseCsv('a,"b,""c"""\r\n1,"x\r\ny"\r\n')).toEqual([
      ['a', 'b,"c"'],
      ['1', 'x\r\ny'],
    ]);
  });

  it('every report equals the brute force: five zones, DST days, month ends, ties, empty and longest ranges', async () => {
    await rollupsCaughtUp();
    expect(await reportProblems()).toEqual([]);
  }, 300_000);

  it('CSV: each route says what its JSON says, per RFC 4180, and a formula stays text', async () => {
    await rollupsCaughtUp();
    const problems: string[] = [];
    const cases: ReportQuery[] = [
      { from: '2026-10-24', to: '2026-11-02', tz: 'Europe/Berlin' },
      { from: '2026-03-01', to: '2026-03-31', tz: 'Asia/Kathmandu' },
      { from: '2026-01-01', to: '2026-12-31', tz: 'UTC' },
      {
        from: todayIn('America/New_York'),
        to: todayIn('America/New_York'),
        tz: 'America/New_York',
      },
    ];
    for (const q of cases) {
      const params: Params = { ...q };
      const variants: Array<[string, string, Params]> = [
        ['summary', 'summary', params],
        ['series', 'series day', { ...params, interval: 'day' }],
        ['top-products', 'top-products', { ...params, limit: '100' }],
      ];
      if (daysIn(q.from, q.to) <= HOUR_SERIES_MAX_DAYS)
        variants.push(['series', 'series hour', { ...params, interval: 'hour' }]);
      for (const [route, what, p] of variants) {
        const label = `${what} CSV ${q.tz} ${q.from}..${q.to}`;
        const json = await report(route, p).expect(200);
        const csv = await report(route, p, 'text/csv');
        problems.push(...csvProblems(label, route, json.body, csv));
      }
    }
    expect(problems).toEqual([]);

    // The formula-named product, bought today through the API, in UTC's today.
    const today = { from: todayIn('UTC'), to: todayIn('UTC'), tz: 'UTC', limit: '100' };
    const csv = await report('top-products', today, 'text/csv').expect(200);
    expect(csv.text).toContain(`,"'=cmd|' /C calc'!A0, ""quoted""",2,`);
    const row = parseCsv(csv.text).find((r) => r[1]?.includes('cmd|'));
    expect(row?.[1]).toBe(`'${FORMULA_NAME}`);
  }, 120_000);

  it('late arrivals, cancellations of old orders and concurrent rollups: each change counted once', async () => {
    await rollupsCaughtUp();
    const before = await rawOrders();
    const now = Date.now();

    // (a) Orders accepted days ago, written only now.
    const nyFallBack = offsetChanges('America/New_York', 2026)[1] ?? 0;
    const late: Array<[number, Fate]> = [
      [Date.parse('2026-11-27T08:00:00.123Z'), 'CONFIRMED'],
      [dayStart('2026-11-28', 'Asia/Kathmandu'), 'DELIVERED'],
      [dayStart('2026-11-28', 'Asia/Kathmandu') - 1, 'OUT_OF_STOCK'],
      [dayStart('2026-11-29', 'Asia/Kolkata'), 'CANCELLED_FROM_CONFIRMED'],
      [nyFallBack - 30 * MINUTE, 'PREPARING'],
      [nyFallBack + 30 * MINUTE, 'REOPENED_CONFIRMED'],
      [dayStart('2026-03-29', 'Europe/Berlin'), 'PENDING'],
    ];
    await orders.insertMany(
      late.map(([at, fate], i) =>
        writtenNow(factory.order({ at, fate, decisionMs: DECISION_MS[i * 3] ?? 5 })),
      ),
    );

    // (b) Old orders cancelled (and one reopened) now, written as the product writes them.
    const pickOld = (status: OrderStatus, n: number) =>
      before
        .filter((o) => o.status === status && o.createdAt.getTime() < now - 7 * DAY)
        .slice(0, n);
    const cancelling = [
      ...pickOld('CONFIRMED', 3),
      ...pickOld('PREPARING', 1),
      ...pickOld('PENDING', 1),
    ];
    expect(cancelling).toHaveLength(5);
    for (const o of cancelling) await cancelRaw(o);
    const [deadLettered] = before.filter(
      (o) => o.status === 'FAILED' && o.failureReason === 'PROCESSING_ERROR',
    );
    if (!deadLettered) throw new Error('no dead-lettered order to reopen');
    await reopenRaw(deadLettered);

    // (c) Rollups asked for twice at once, then again, beside the scheduled ones.
    const asked = await Promise.all([
      admin.post('/admin/reports/rollup'),
      admin.post('/admin/reports/rollup'),
    ]);
    expect(asked.map((r) => r.status)).toEqual([202, 202]);
    await admin.post('/admin/reports/rollup').expect(202);
    await rollupsCaughtUp();

    const after = await rawOrders();
    const year: ReportQuery = { from: '2026-01-01', to: '2026-12-31', tz: 'UTC' };
    // The changes matter to the figures: the comparison below is not vacuous.
    expect(summaryOf(after, year, decisionBucketUpperMs)).not.toEqual(
      summaryOf(before, year, decisionBucketUpperMs),
    );
    expect(await reportProblems()).toEqual([]);
  }, 300_000);

  it('replayed writes change nothing; a rebuild after a restore counts the restored orders once', async () => {
    // Replays: the same document written again, and a write that only touches updatedAt.
    const all = await rawOrders();
    const [kept, cancelled, failed] = [
      all.find((o) => o.status === 'DELIVERED'),
      all.find((o) => o.status === 'CANCELLED' && o.cancelledFrom === 'CONFIRMED'),
      all.find((o) => o.status === 'FAILED'),
    ];
    if (!kept || !cancelled || !failed) throw new Error('missing orders to replay');
    for (const o of [kept, cancelled, failed]) await orders.replaceOne({ _id: o._id }, o);
    for (const o of [kept, cancelled])
      await orders.updateOne({ _id: o._id }, { $set: { updatedAt: new Date() } });
    await admin.post('/admin/reports/rollup').expect(202);
    await rollupsCaughtUp();
    expect(await reportProblems()).toEqual([]);

    // A restore: orders whose last change is long past, which no incremental run need see.
    const restored = [
      factory.order({
        at: dayStart('2026-03-29', 'Europe/Berlin') + 90 * MINUTE,
        fate: 'DELIVERED',
        decisionMs: 42,
      }),
      factory.order({
        at: dayStart('2026-10-25', 'Europe/Berlin') + 150 * MINUTE,
        fate: 'CONFIRMED',
        decisionMs: 4200,
      }),
      factory.order({
        at: dayStart('2026-10-25', 'Europe/Berlin') + 150 * MINUTE,
        fate: 'CANCELLED_FROM_PREPARING',
        decisionMs: 9,
      }),
    ];
    await orders.insertMany(restored);
    const rebuilds = await Promise.all([
      admin.post('/admin/reports/rollup').query({ rebuild: 'true' }),
      admin.post('/admin/reports/rollup'),
    ]);
    expect(rebuilds.map((r) => r.status)).toEqual([202, 202]);
    // Which run is the rebuild the status does not say: wait until the restored days add up.
    const withRestored = await rawOrders();
    const restoredDays = ['2026-03-29', '2026-10-25'].map((d) => ({
      from: d,
      to: d,
      tz: 'Europe/Berlin',
    }));
    let last: string[] = [];
    await waitFor(
      async () => {
        last = [];
        for (const q of restoredDays)
          last.push(
            ...compare(
              `summary ${q.tz} ${q.from}`,
              await report('summary', { ...q }),
              summaryOf(withRestored, q, decisionBucketUpperMs),
            ),
          );
        return last.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the rebuild to count the restored orders' },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${last.join('\n')}`);
    });
    await rollupsCaughtUp();
    expect(await reportProblems()).toEqual([]);
  }, 300_000);

  it('the quarter hour in progress is left to the live read; an interrupted rebuild is redone', async () => {
    // Far enough from the next quarter hour that the coverage does not reach this one meanwhile.
    await waitFor(() => Date.now() % QUARTER_MS < QUARTER_MS - 30_000, {
      timeoutMs: 40_000,
      intervalMs: 250,
      what: 'a quarter hour with 30 s left',
    });
    const quarter = `quarter:${new Date(Date.now() - (Date.now() % QUARTER_MS)).toISOString()}`;
    const rollups = mongo.db().collection<{ _id: string; computedAt: Date }>('report_rollups');
    const product = await createProduct(admin, {
      name: 'Quarter lamp',
      quantity: 5,
      price: 700,
      currency: 'USD',
    });
    const placedAt = new Date();
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    expect((await settledOrder(shopper, placed.id)).status).toBe('CONFIRMED');
    await rollupsCaughtUp();
    // Runs read the order's change but do not recompute its quarter (all its orders, every run).
    const current = await rollups.findOne({ _id: quarter });
    expect(current === null || current.computedAt < placedAt).toBe(true);
    expect(await reportProblems()).toEqual([]);

    // A rebuild that died after clearing the rollups: coverage null, watermark kept. Holding the
    // lease (as a run would) keeps a run in flight from saving its state over this one.
    const redis = new Redis(app.config.redis.url);
    const lease = `${app.config.redis.keyPrefix}:reports:rollup-lease`;
    try {
      await waitFor(async () => (await redis.set(lease, 'test', 'PX', 60_000, 'NX')) === 'OK', {
        what: 'the rollup lease',
      });
      await rollups.deleteMany({ level: { $in: ['day', 'hour'] } });
      await mongo
        .db()
        .collection<{ _id: string }>('report_state')
        .updateOne({ _id: 'rollup' }, { $set: { coveredUntil: null } });
    } finally {
      await redis.del(lease);
      redis.disconnect();
    }
    await rollupsCaughtUp();
    expect(await reportProblems()).toEqual([]);
  }, 300_000);

  it('bad parameters are 400s naming them; a shopper gets 403, nobody signed in 401', async () => {
    const routes = ['summary', 'series', 'top-products'];
    const cases: Array<[string[], Params, string[]]> = [
      [routes, { from: '2026-03-02', to: '2026-03-01' }, ['from', 'to']],
      [routes, { from: '2026-02-30', to: '2026-03-01' }, ['from']],
      [routes, { from: '2026-02-01', to: '2026-02-29' }, ['to']],
      [routes, { from: '2026-3-1', to: '2026-03-02' }, ['from']],
      [routes, { from: 'yesterday', to: '2026-03-02' }, ['from']],
      [routes, { to: '2026-13-01' }, ['to']],
      [routes, { tz: 'Mars/Olympus_Mons' }, ['tz']],
      [routes, { tz: 'Europe/Berlinn' }, ['tz']],
      [routes, { from: '2024-01-01', to: '2027-01-01' }, ['from', 'to']],
      [['series'], { interval: 'week' }, ['interval']],
      [
        ['series'],
        { interval: 'hour', from: '2026-01-01', to: '2026-04-03' },
        ['from', 'to', 'interval'],
      ],
      [['top-products'], { limit: '0' }, ['limit']],
      [['top-products'], { limit: '101' }, ['limit']],
      [['top-products'], { limit: 'abc' }, ['limit']],
      [['top-products'], { limit: '2.5' }, ['limit']],
    ];
    const wrong: unknown[] = [];
    for (const [on, params, named] of cases)
      for (const route of on) {
        const res = await report(route, params);
        const field = (res.body as { problems?: Array<{ field?: string }> }).problems?.[0]?.field;
        if (res.status !== 400 || !named.includes(field ?? ''))
          wrong.push({
            route,
            params,
            status: res.status,
            field,
            message: res.body?.message,
            named,
          });
      }
    expect(wrong).toEqual([]);

    // The largest ranges allowed are answered.
    await report('summary', { from: '2024-01-01', to: '2026-12-31' }).expect(200);
    await report('series', {
      from: '2026-01-01',
      to: '2026-04-02',
      interval: 'hour',
      tz: 'Europe/Berlin',
    }).expect(200);

    const reads = ['summary', 'series', 'top-products', 'status'].map((r) => `/admin/reports/${r}`);
    const anonymous = app.agent();
    for (const path of reads) {
      expect({ path, status: (await shopper.http.get(path)).status }).toEqual({
        path,
        status: 403,
      });
      expect({ path, status: (await anonymous.get(path)).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await staff.get(path)).status }).toEqual({ path, status: 200 });
    }
    // Running the rollup is for admins.
    expect((await shopper.http.post('/admin/reports/rollup')).status).toBe(403);
    expect((await staff.post('/admin/reports/rollup')).status).toBe(403);
    expect((await anonymous.post('/admin/reports/rollup')).status).toBe(401);
  }, 120_000);

  /** PENDING, CONFIRMED or PREPARING → CANCELLED, as OrderRepository.moveTo writes it, stock already back. */
  async function cancelRaw(order: StoredOrder): Promise<void> {
    const at = new Date();
    const res = await orders.updateOne(
      { _id: order._id, status: order.status, history: { $size: order.history.length } },
      {
        $set: {
          status: 'CANCELLED',
          cancelledFrom: order.status,
          stockReturned: true,
          updatedAt: at,
        },
        $push: {
          history: {
            seq: order.history.length + 1,
            event: 'CANCELLED',
            status: 'CANCELLED',
            at,
            actor: STAFF_ACTOR,
            reason: order.status,
          },
        },
      },
    );
    expect(res.modifiedCount).toBe(1);
  }

  /** FAILED(PROCESSING_ERROR) → PENDING, as OrderRepository.reopenAfterProcessingError writes it. */
  async function reopenRaw(order: StoredOrder): Promise<void> {
    const at = new Date();
    const res = await orders.updateOne(
      { _id: order._id, status: 'FAILED', failureReason: 'PROCESSING_ERROR' },
      {
        $set: {
          status: 'PENDING',
          failureReason: null,
          lastError: null,
          decidedAt: null,
          updatedAt: at,
        },
        $push: {
          history: {
            seq: order.history.length + 1,
            event: 'REOPENED',
            status: 'PENDING',
            at,
            actor: STAFF_ACTOR,
            reason: 'PROCESSING_ERROR',
          },
        },
      },
    );
    expect(res.modifiedCount).toBe(1);
  }
});

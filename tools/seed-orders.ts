/**
 * A year of orders in a minute or two, for the sales reports (issue 15, docs/REPORTS.md): raw
 * orders, and the products they name, written straight into MongoDB in the shape the application
 * stores (src/order/order.schema.ts, src/stock/product.schema.ts), as if the shop had run for that
 * long. Going through the API would take hours for a million orders; the reports read only stored
 * documents, so documents are what they need.
 *
 * Deterministic: the same options give the same documents (ids included), except the order
 * numbers, which come from the database's own counter so that orders placed later through the API
 * never repeat one. On an empty database those are 1…n too.
 *
 * The pure parts (the random source, the catalog, when orders arrive, what becomes of each order)
 * are exported for the unit tests; `seedOrders` only streams their documents into the database.
 */
import type { Db } from 'mongodb';
import { ObjectId } from 'mongodb';
import { SYSTEM_ACTOR } from '../src/order/domain/history.js';
import type { HistoryEvent } from '../src/order/domain/history.js';
import { blockEndingAt, formatOrderNumber } from '../src/order/domain/order-number.js';
import { SOLD_STATUSES } from '../src/order/domain/order-state.js';
import type { FailureReason, OrderStatus } from '../src/order/domain/order-state.js';
import type { Order, OrderHistoryEntry, OrderLine } from '../src/order/order.schema.js';
import { ORDER_NUMBER_COUNTER } from '../src/order/order-numbers.js';
import type { Product } from '../src/stock/product.schema.js';

/** An order as stored. The compiler holds the seed to the schema's shape. */
export type StoredOrder = Order & { _id: ObjectId };
export type StoredProduct = Product & { _id: ObjectId };

export interface SeedOptions {
  orders: number;
  /** Orders are accepted in `[from, to)`. */
  from: Date;
  to: Date;
  /** Default 1. */
  seed?: number;
  /** How many products the orders buy from. Default 50. */
  products?: number;
  /** Each product is priced in one of these, in turn. Default `['EUR']`. */
  currencies?: string[];
  /** Called as batches are stored, with the orders stored so far (a long seed shows progress). */
  progress?: (inserted: number) => void;
}

export interface SeedResult {
  inserted: number;
  products: Array<{ _id: string; name: string; currency: string }>;
  seconds: number;
}

/**
 * Orders per insert command (about 1 MB). Larger batches are slower on the offline server, which
 * grows a message's receive buffer chunk by chunk (a cost that grows with the square of its size):
 * 1,000 seeded 300,000 orders in 35 s, 5,000 in 46 s, 20,000 in 61 s.
 */
const BATCH = 1_000;
/** Insert commands in flight: the next batch is built while the server stores the previous one. */
const IN_FLIGHT = 2;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** mulberry32: a tiny, fast 32-bit PRNG, plenty for test data. Values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of a number: separate random streams and id spaces from one seed. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The random streams and id spaces of one seed: changing how orders are built keeps the times. */
const STREAM = { catalog: 1, times: 2, orders: 3, users: 4, staff: 5, products: 6 } as const;
const streamSeed = (seed: number, stream: number) => mix32(seed * 0x9e3779b1 + stream);

/** A normally distributed value (Box–Muller). */
function normal(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** Log-normal around `median` (ms), spread `sigma`, kept within [min, max]. */
function logNormal(rng: () => number, median: number, sigma: number, min: number, max: number) {
  return Math.min(max, Math.max(min, Math.round(median * Math.exp(sigma * normal(rng)))));
}

/** Deterministic ObjectIds: a time, an id space of the seed, and a number within it. */
function objectId(seconds: number, space: number, n: number): ObjectId {
  const bytes = Buffer.allocUnsafe(12);
  bytes.writeUInt32BE(seconds >>> 0, 0);
  bytes.writeUInt32BE(space, 4);
  bytes.writeUInt32BE(n >>> 0, 8);
  return new ObjectId(bytes);
}

// ── The catalog ─────────────────────────────────────────────────────────────────────────────

export interface CatalogProduct {
  _id: ObjectId;
  id: string;
  name: string;
  /** Minor units. */
  price: number;
  currency: string;
  /** How often it is bought, relative to the others (a few sell most). */
  popularity: number;
}

const ADJECTIVES = [
  'Classic',
  'Ceramic',
  'Linen',
  'Recycled',
  'Travel',
  'Wireless',
  'Oak',
  'Merino',
  'Compact',
  'Limited edition',
];
// One name has a comma: CSV exports must quote it.
const NOUNS = [
  'mug',
  'notebook',
  'backpack',
  'lamp',
  'headphones',
  'water bottle',
  'scarf',
  'sneakers',
  'socks, 3 pairs',
  'desk chair',
  'tea set',
  'phone case',
];

/**
 * `count` products, priced in `currencies` in turn (one currency each). Popularity follows a Zipf
 * curve over a shuffled ranking, so the best sellers are not simply the first products.
 */
export function seededCatalog(
  seed: number,
  count: number,
  currencies: readonly string[],
  createdAt: Date,
): CatalogProduct[] {
  const rng = mulberry32(streamSeed(seed, STREAM.catalog));
  const names = shuffled(
    rng,
    ADJECTIVES.flatMap((adjective) => NOUNS.map((noun) => `${adjective} ${noun}`)),
  );
  const ranks = shuffled(
    rng,
    Array.from({ length: count }, (_, i) => i),
  );
  const space = streamSeed(seed, STREAM.products);
  const seconds = Math.floor(createdAt.getTime() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const _id = objectId(seconds, space, i);
    const base = names[i % names.length];
    const price = logNormal(rng, 2500, 0.9, 199, 99_999);
    return {
      _id,
      id: _id.toHexString(),
      name: i < names.length ? base : `${base} ${Math.floor(i / names.length) + 1}`,
      // Prices end in 99, like a shop's.
      price: Math.max(1, Math.round(price / 100)) * 100 - 1,
      currency: currencies[i % currencies.length],
      popularity: 1 / (ranks[i] + 1) ** 0.9,
    };
  });
}

function shuffled<T>(rng: () => number, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ── When orders arrive ──────────────────────────────────────────────────────────────────────

/** Relative order rate by hour of day (the shop's clock, UTC): quiet nights, lunch, the evening. */
export const HOURLY_RATE = [
  0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.8, 0.9, 0.95, 1.0, 1.1, 1.0, 0.95, 0.95, 1.0,
  1.15, 1.4, 1.75, 1.9, 1.7, 1.2, 0.7,
];
const WEEKEND_RATE = 1.2;

export interface FlashSale {
  start: number;
  end: number;
  /** The rate during the sale, as a multiple of the usual rate at that time. */
  multiplier: number;
}

/**
 * How orders spread over `[from, to)`: a weight per minute (the daily rhythm, busier weekends, a
 * shop that grows over the range, day-to-day noise, and flash sales), cumulated, so a point of
 * [0, 1) maps to an instant.
 */
export interface ArrivalRhythm {
  from: number;
  to: number;
  /** Weight of minutes 0…i, for every minute of the range (the last one may be partial). */
  cumulative: Float64Array;
  sales: FlashSale[];
}

export function arrivalRhythm(seed: number, from: Date, to: Date): ArrivalRhythm {
  const rng = mulberry32(streamSeed(seed, STREAM.times));
  const start = from.getTime();
  const end = to.getTime();
  const span = end - start;
  const minutes = Math.ceil(span / MINUTE_MS);
  const firstDay = Math.floor(start / DAY_MS);
  const days = Math.floor((end - 1) / DAY_MS) - firstDay + 1;
  const dayNoise = Array.from({ length: days }, () => 0.85 + 0.3 * rng());
  // A few flash sales, one every two months or so, each an evening's half hour at 25–40 times the
  // usual rate: a day and a half of orders in thirty minutes.
  const sales: FlashSale[] = Array.from(
    { length: Math.max(1, Math.round(span / (60 * DAY_MS))) },
    () => {
      const day = (firstDay + Math.floor(rng() * days)) * DAY_MS;
      const saleStart = day + 18 * HOUR_MS + Math.floor(rng() * 3.5 * HOUR_MS);
      return {
        start: saleStart,
        end: saleStart + (20 + Math.floor(rng() * 21)) * MINUTE_MS,
        multiplier: 25 + 15 * rng(),
      };
    },
  );
  const cumulative = new Float64Array(minutes);
  let total = 0;
  for (let m = 0; m < minutes; m++) {
    const at = start + m * MINUTE_MS;
    const length = Math.min(MINUTE_MS, end - at) / MINUTE_MS;
    const date = new Date(at);
    const weekday = date.getUTCDay();
    const growth = 0.8 + (0.4 * (at - start)) / span;
    const sale = sales.find((s) => at >= s.start && at < s.end);
    total +=
      length *
      HOURLY_RATE[date.getUTCHours()] *
      (weekday === 0 || weekday === 6 ? WEEKEND_RATE : 1) *
      dayNoise[Math.floor(at / DAY_MS) - firstDay] *
      growth *
      (sale ? sale.multiplier : 1);
    cumulative[m] = total;
  }
  return { from: start, to: end, cumulative, sales };
}

export interface Arrival {
  /** Acceptance time, ms since the epoch. */
  at: number;
  /** During a flash sale: more sold-out failures, and a queue that decides more slowly. */
  sale: boolean;
}

/**
 * `count` acceptance times drawn from the rhythm, in ascending order, streamed: the order
 * statistics of `count` uniform draws generated one after the other (the smallest of n draws is
 * 1 − U^(1/n); the rest are uniform above it), mapped through the cumulative weights.
 */
export function* arrivals(rhythm: ArrivalRhythm, count: number, seed: number): Generator<Arrival> {
  const rng = mulberry32(streamSeed(seed, STREAM.times) ^ 0x5bd1e995);
  const { cumulative, from, to, sales } = rhythm;
  const total = cumulative[cumulative.length - 1] ?? 0;
  let position = 0;
  let minute = 0;
  for (let remaining = count; remaining > 0; remaining--) {
    position += (1 - position) * -Math.expm1(Math.log(1 - rng()) / remaining);
    const target = position * total;
    while (minute < cumulative.length - 1 && cumulative[minute] <= target) minute++;
    const before = minute === 0 ? 0 : cumulative[minute - 1];
    const bucketStart = from + minute * MINUTE_MS;
    const bucketLength = Math.min(MINUTE_MS, to - bucketStart);
    const within = (target - before) / (cumulative[minute] - before);
    const at = Math.min(to - 1, bucketStart + Math.floor(within * bucketLength));
    yield { at, sale: sales.some((s) => at >= s.start && at < s.end) };
  }
}

// ── What becomes of an order ────────────────────────────────────────────────────────────────

export interface OrderLife {
  status: OrderStatus;
  failureReason: FailureReason | null;
  attempts: number;
  lastError: string | null;
  decidedAt: Date | null;
  cancelledFrom: OrderStatus | null;
  stockReturned: boolean | null;
  history: OrderHistoryEntry[];
}

/** The shares of the mix (docs/REPORTS.md's questions need every outcome present). */
const FAILED_SHARE = 0.19;
/** Sold-out orders pile up in a flash sale. */
const FAILED_SHARE_IN_SALE = 0.5;
const CANCELLED_SHARE = 0.05;
/** ORDER_ATTEMPTS' default: a processing error is recorded after the last attempt. */
const ATTEMPTS = 5;

/** Builds an order's life step by step: the history, numbered, its times never going back. */
class LifeRecorder {
  readonly history: OrderHistoryEntry[] = [];
  failureReason: FailureReason | null = null;
  attempts = 1;
  lastError: string | null = null;
  decidedAt: Date | null = null;
  cancelledFrom: OrderStatus | null = null;
  stockReturned: boolean | null = null;
  private lastAt = -Infinity;

  constructor(private readonly until: number) {}

  /** Whether a step at `at` happens within the seeded range. */
  before(at: number): boolean {
    return at < this.until;
  }

  /** Appends an entry (at the last entry's time if `at` is earlier) and answers its time. */
  add(
    event: HistoryEvent,
    status: OrderStatus,
    at: number,
    actor: string,
    reason?: string,
  ): number {
    const when = Math.min(this.until - 1, Math.max(at, this.lastAt));
    this.lastAt = when;
    const entry: OrderHistoryEntry = {
      seq: this.history.length + 1,
      event,
      status,
      at: new Date(when),
      actor,
    };
    if (reason !== undefined) entry.reason = reason;
    this.history.push(entry);
    return when;
  }

  cancel(from: OrderStatus, at: number, actor: string): void {
    this.add('CANCELLED', 'CANCELLED', at, actor, from);
    this.cancelledFrom = from;
    this.stockReturned = true;
  }

  life(): OrderLife {
    return {
      status: this.history[this.history.length - 1].status,
      failureReason: this.failureReason,
      attempts: this.attempts,
      lastError: this.lastError,
      decidedAt: this.decidedAt,
      cancelledFrom: this.cancelledFrom,
      stockReturned: this.stockReturned,
      history: this.history,
    };
  }
}

/**
 * The life of one order accepted at `acceptedAt` by `userId`: the worker's decision (always, within
 * seconds: a seeded order is never left PENDING, or the recovery sweep would process it), then
 * fulfilment and cancellation by people, each step only if it comes before `until`. Histories are
 * numbered from 1 and their times never go back; no time is at or after `until`.
 */
export function orderLife(
  rng: () => number,
  order: { acceptedAt: number; sale: boolean; userId: string; staffId: string; until: number },
): OrderLife {
  const { acceptedAt, sale, userId, staffId } = order;
  const life = new LifeRecorder(order.until);
  life.add('ACCEPTED', 'PENDING', acceptedAt, userId);

  // The worker: tens of milliseconds to seconds, longer behind a flash sale's queue.
  const delay = logNormal(rng, sale ? 1_200 : 150, 1.1, 12, 30_000);
  const fate = rng();
  const failedShare = sale ? FAILED_SHARE_IN_SALE : FAILED_SHARE;

  if (fate < failedShare) {
    const kind = rng();
    const reason: FailureReason =
      kind < 0.85 ? 'OUT_OF_STOCK' : kind < 0.985 ? 'PRODUCT_UNAVAILABLE' : 'PROCESSING_ERROR';
    let decided = acceptedAt + delay;
    if (reason === 'PROCESSING_ERROR') {
      // Every attempt failed, with backoff between them (500 ms doubling), then the dead-letter queue.
      decided += 7_500 + Math.floor(rng() * 7_500);
      life.attempts = ATTEMPTS;
      life.lastError = 'MongoServerSelectionError: Server selection timed out after 3000 ms';
    }
    life.failureReason = reason;
    life.decidedAt = new Date(life.add('FAILED', 'FAILED', decided, SYSTEM_ACTOR, reason));
    return life.life();
  }

  let cancelFrom: OrderStatus | null = null;
  if (fate < failedShare + CANCELLED_SHARE) {
    const leaving = rng();
    cancelFrom = leaving < 0.25 ? 'PENDING' : leaving < 0.75 ? 'CONFIRMED' : 'PREPARING';
  }
  if (cancelFrom === 'PENDING') {
    // The owner cancelled while the worker had not decided yet: it never will.
    life.cancel(
      'PENDING',
      acceptedAt + Math.max(1, Math.floor(delay * (0.2 + 0.7 * rng()))),
      userId,
    );
    life.attempts = 0;
    return life.life();
  }

  // A transient fault now and then: one retry after the backoff.
  if (rng() < 0.02) life.attempts = 2;
  const decided = acceptedAt + delay + (life.attempts - 1) * 500;
  life.add(
    'RESERVED',
    'PENDING',
    acceptedAt + Math.floor(delay * (0.4 + 0.55 * rng())),
    SYSTEM_ACTOR,
  );
  const confirmedAt = life.add('CONFIRMED', 'CONFIRMED', decided, SYSTEM_ACTOR);
  life.decidedAt = new Date(confirmedAt);

  if (cancelFrom === 'CONFIRMED') {
    const at = confirmedAt + logNormal(rng, 40 * MINUTE_MS, 1.2, MINUTE_MS, 3 * DAY_MS);
    if (life.before(at)) life.cancel('CONFIRMED', at, rng() < 0.8 ? userId : staffId);
    return life.life();
  }
  const preparing = confirmedAt + logNormal(rng, 3 * HOUR_MS, 0.8, 5 * MINUTE_MS, 3 * DAY_MS);
  if (!life.before(preparing)) return life.life();
  life.add('PREPARING', 'PREPARING', preparing, staffId);
  if (cancelFrom === 'PREPARING') {
    const at = preparing + logNormal(rng, 3 * HOUR_MS, 1, 5 * MINUTE_MS, 2 * DAY_MS);
    if (life.before(at)) life.cancel('PREPARING', at, staffId);
    return life.life();
  }
  const shipped = preparing + logNormal(rng, 20 * HOUR_MS, 0.6, HOUR_MS, 5 * DAY_MS);
  if (!life.before(shipped)) return life.life();
  life.add('SHIPPED', 'SHIPPED', shipped, staffId);
  const delivered = shipped + logNormal(rng, 2.5 * DAY_MS, 0.4, 6 * HOUR_MS, 10 * DAY_MS);
  if (life.before(delivered)) life.add('DELIVERED', 'DELIVERED', delivered, staffId);
  return life.life();
}

// ── The orders ──────────────────────────────────────────────────────────────────────────────

export interface SeedPlan {
  seed: number;
  orders: number;
  from: Date;
  to: Date;
  catalog: CatalogProduct[];
  rhythm: ArrivalRhythm;
  /** Customers: about four orders each over the range; every tenth or so is a VIP. */
  customers: number;
}

export function planSeed(options: SeedOptions): SeedPlan {
  const { orders, from, to, seed = 1, products = 50, currencies = ['EUR'] } = options;
  if (!Number.isInteger(orders) || orders < 0)
    throw new Error(`orders must be a whole number ≥ 0, got ${orders}`);
  if (!(from.getTime() < to.getTime()))
    throw new Error(`from (${from.toISOString()}) must be before to (${to.toISOString()})`);
  if (!Number.isInteger(products) || products < 1)
    throw new Error(`products must be a whole number ≥ 1, got ${products}`);
  if (currencies.length === 0 || currencies.some((c) => !/^[A-Z]{3}$/.test(c)))
    throw new Error(`currencies must be ISO 4217 codes, got ${currencies.join(',')}`);
  return {
    seed,
    orders,
    from,
    to,
    catalog: seededCatalog(seed, products, currencies, from),
    rhythm: arrivalRhythm(seed, from, to),
    customers: Math.max(10, Math.ceil(orders / 4)),
  };
}

/** Products and their cumulative popularity, to draw from. */
interface Weighted {
  products: readonly CatalogProduct[];
  cumulative: number[];
}

/** Picks products by popularity, within one currency (an order is priced in one). */
class ProductPicker {
  private readonly byCurrency = new Map<string, Weighted>();
  private readonly all: Weighted;

  constructor(catalog: readonly CatalogProduct[]) {
    this.all = weighted(catalog);
    for (const currency of new Set(catalog.map((p) => p.currency)))
      this.byCurrency.set(currency, weighted(catalog.filter((p) => p.currency === currency)));
  }

  /** 1–3 distinct products of one currency (fewer when the currency has fewer). */
  pick(rng: () => number, lines: number): CatalogProduct[] {
    const first = draw(this.all, rng());
    const same = this.byCurrency.get(first.currency) ?? this.all;
    const picked = [first];
    const wanted = Math.min(lines, same.products.length);
    while (picked.length < wanted) {
      const next = draw(same, rng());
      if (!picked.includes(next)) picked.push(next);
    }
    return picked;
  }
}

function weighted(products: readonly CatalogProduct[]): Weighted {
  let total = 0;
  return { products, cumulative: products.map((p) => (total += p.popularity)) };
}

function draw(from: Weighted, u: number): CatalogProduct {
  const target = u * from.cumulative[from.cumulative.length - 1];
  let low = 0;
  let high = from.cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (from.cumulative[mid] <= target) low = mid + 1;
    else high = mid;
  }
  return from.products[low];
}

function quantity(rng: () => number): number {
  const q = rng();
  return q < 0.7 ? 1 : q < 0.9 ? 2 : q < 0.97 ? 3 : 4 + Math.floor(rng() * 2);
}

/** Whether customer `n` is a VIP (about one in ten), from the customer alone. */
export function isVipCustomer(seed: number, n: number): boolean {
  return mix32(n ^ streamSeed(seed, STREAM.users)) % 10 === 0;
}

/**
 * The plan's orders in acceptance order, numbered from `firstNumber` (`ORD-<year>-<n>`, the year
 * of acceptance, as the API numbers them).
 */
export function* seededOrders(plan: SeedPlan, firstNumber: number): Generator<StoredOrder> {
  const rng = mulberry32(streamSeed(plan.seed, STREAM.orders));
  const picker = new ProductPicker(plan.catalog);
  const orderSpace = streamSeed(plan.seed, STREAM.orders);
  const userSpace = streamSeed(plan.seed, STREAM.users);
  const staffSpace = streamSeed(plan.seed, STREAM.staff);
  const since = Math.floor(plan.from.getTime() / 1000);
  const staff = [0, 1, 2].map((n) => objectId(since, staffSpace, n).toHexString());
  const until = plan.to.getTime();
  let n = 0;
  for (const { at, sale } of arrivals(plan.rhythm, plan.orders, plan.seed)) {
    const customer = Math.floor(rng() * plan.customers);
    const userId = objectId(since, userSpace, customer).toHexString();
    const lineCount = rng() < 0.6 ? 1 : rng() < 0.7 ? 2 : 3;
    const products = picker.pick(rng, lineCount);
    const items: OrderLine[] = products.map((product) => {
      const units = quantity(rng);
      return {
        productId: product.id,
        name: product.name,
        unitPrice: product.price,
        quantity: units,
        lineTotal: product.price * units,
      };
    });
    const life = orderLife(rng, {
      acceptedAt: at,
      sale,
      userId,
      staffId: staff[Math.floor(rng() * staff.length)],
      until,
    });
    const createdAt = life.history[0].at;
    yield {
      _id: objectId(Math.floor(at / 1000), orderSpace, n),
      orderNumber: formatOrderNumber(firstNumber + n, createdAt),
      userId,
      items,
      total: items.reduce((sum, line) => sum + line.lineTotal, 0),
      currency: products[0].currency,
      priority: isVipCustomer(plan.seed, customer) ? 'VIP' : 'REGULAR',
      status: life.status,
      failureReason: life.failureReason,
      attempts: life.attempts,
      lastError: life.lastError,
      decidedAt: life.decidedAt,
      cancelledFrom: life.cancelledFrom,
      stockReturned: life.stockReturned,
      history: life.history,
      createdAt,
      updatedAt: life.history[life.history.length - 1].at,
    };
    n++;
  }
}

/**
 * The catalog as stored, with the stock the seeded orders leave: units of orders that keep them
 * are sold, everything else is back (conservation: available + reserved + sold = received).
 */
export function productDocuments(
  plan: SeedPlan,
  tally: ReadonlyMap<string, { sold: number; writes: number }>,
): StoredProduct[] {
  const rng = mulberry32(streamSeed(plan.seed, STREAM.products));
  return plan.catalog.map((product) => {
    const { sold, writes } = tally.get(product.id) ?? { sold: 0, writes: 0 };
    const available = 20 + Math.floor(rng() * 480);
    return {
      _id: product._id,
      name: product.name,
      description: `${product.name}, seeded for the sales reports`,
      price: product.price,
      currency: product.currency,
      active: true,
      available,
      reserved: 0,
      sold,
      received: available + sold,
      version: writes,
      holds: [],
      returns: [],
      createdAt: plan.from,
      updatedAt: plan.to,
    };
  });
}

const SOLD: ReadonlySet<OrderStatus> = new Set(SOLD_STATUSES);

/** Adds an order's lines to the stock tally: every line is a stock write, kept units are sold. */
function countStock(
  tally: Map<string, { sold: number; writes: number }>,
  order: StoredOrder,
): void {
  for (const line of order.items) {
    let entry = tally.get(line.productId);
    if (!entry) tally.set(line.productId, (entry = { sold: 0, writes: 0 }));
    entry.writes++;
    if (SOLD.has(order.status)) entry.sold += line.quantity;
  }
}

/**
 * Seeds `db` (its `orders`, `products` and the order-number counter) and answers what it wrote.
 * Orders go in unordered batches, two in flight, so building a batch overlaps storing the last.
 */
export async function seedOrders(db: Db, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const plan = planSeed(options);
  const orders = db.collection<StoredOrder>('orders');
  const products = db.collection<StoredProduct>('products');
  // The numbers come from the counter the API takes its blocks from, so none is used twice.
  const first = plan.orders === 0 ? 1 : (await reserveOrderNumbers(db, plan.orders)).first;

  let inserted = 0;
  const inFlight = new Set<Promise<void>>();
  const store = async (batch: StoredOrder[]) => {
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    const insert = orders.insertMany(batch, { ordered: false }).then((result) => {
      inserted += result.insertedCount;
      options.progress?.(inserted);
    });
    inFlight.add(insert);
    // Settled either way; a failure surfaces from the race or the final wait.
    void insert.then(
      () => inFlight.delete(insert),
      () => inFlight.delete(insert),
    );
  };
  const tally = new Map<string, { sold: number; writes: number }>();
  let batch: StoredOrder[] = [];
  for (const order of seededOrders(plan, first)) {
    countStock(tally, order);
    batch.push(order);
    if (batch.length === BATCH) {
      await store(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store(batch);
  await Promise.all(inFlight);
  await products.insertMany(productDocuments(plan, tally), { ordered: false });
  return {
    inserted,
    products: plan.catalog.map(({ id, name, currency }) => ({ _id: id, name, currency })),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Takes a block of `count` order numbers from the API's counter (src/order/order-numbers.ts). */
async function reserveOrderNumbers(
  db: Db,
  count: number,
): Promise<{ first: number; last: number }> {
  const after = await db
    .collection<{ _id: string; value: number }>('counters')
    .findOneAndUpdate(
      { _id: ORDER_NUMBER_COUNTER },
      { $inc: { value: count } },
      { upsert: true, returnDocument: 'after' },
    );
  if (!after) throw new Error('the order number counter was not returned');
  return blockEndingAt(after.value, count);
}

/**
 * The reservation decisions, as plain functions: in which order waiting orders get stock, what a
 * batch of orders holds on the products it read, and how decided orders settle their holds. No
 * Nest, no database: the stock repository and the order processing service wire these up.
 *
 * Stock is held per order on the product document (`holds`), so "this order already holds this
 * line" is part of what a worker reads, and a redelivered job never holds a line twice.
 */

export type RejectionReason = 'OUT_OF_STOCK' | 'PRODUCT_UNAVAILABLE';

export interface Line {
  productId: string;
  quantity: number;
}

/** An order waiting for stock. */
export interface Claim {
  orderId: string;
  vip: boolean;
  /** Acceptance time, ms since the epoch. */
  acceptedAt: number;
  lines: Line[];
}

/** A product as a worker read it. */
export interface StockSnapshot {
  productId: string;
  active: boolean;
  available: number;
  version: number;
  /** Quantity held, by order id. */
  holds: ReadonlyMap<string, number>;
}

export interface Hold {
  orderId: string;
  quantity: number;
}

/** One version-checked write: these holds on this product, if it is still at `version`. */
export interface HoldGrant {
  productId: string;
  version: number;
  holds: Hold[];
  units: number;
}

export type ReservationVerdict =
  { result: 'held' } | { result: 'rejected'; reason: RejectionReason };

export interface ReservationPlan {
  verdicts: Map<string, ReservationVerdict>;
  grants: HoldGrant[];
}

/**
 * The one order in which stock is granted: VIP orders first, then by acceptance time (the order
 * id breaks ties, so the order is total and the same in every process). Negative: `a` goes first.
 */
export function rankClaims(a: Claim, b: Claim): number {
  if (a.vip !== b.vip) return a.vip ? -1 : 1;
  if (a.acceptedAt !== b.acceptedAt) return a.acceptedAt - b.acceptedAt;
  return a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0;
}

/**
 * Decides a batch of orders against the products read, all-or-nothing per order, in rank order.
 * An order keeps what it already holds (a redelivered job, an earlier round) whatever the stock
 * says now. A product that was not found is unavailable.
 *
 * `waitingVips` are VIP orders still PENDING outside this batch (other workers, other processes,
 * not fetched yet): stock they need and do not hold yet is kept for them from every order they
 * rank ahead of, so a regular order never takes a unit a waiting VIP order needs, whichever
 * process gets to the product first.
 */
export function planReservations(
  claims: readonly Claim[],
  stock: ReadonlyMap<string, StockSnapshot>,
  waitingVips: readonly Claim[] = [],
): ReservationPlan {
  const remaining = new Map<string, number>();
  for (const [id, product] of stock) remaining.set(id, product.available);
  const granted = new Map<string, Hold[]>();
  const verdicts = new Map<string, ReservationVerdict>();
  const inBatch = new Set(claims.map((c) => c.orderId));
  const waiting = waitingVips.filter((w) => !inBatch.has(w.orderId));

  for (const claim of [...claims].sort(rankClaims)) {
    const wanted = new Map<string, number>();
    let rejection: RejectionReason | undefined;
    for (const line of claim.lines) {
      const product = stock.get(line.productId);
      if (product?.holds.has(claim.orderId)) continue;
      if (!product || !product.active) {
        rejection = 'PRODUCT_UNAVAILABLE';
        break;
      }
      const needed = (wanted.get(line.productId) ?? 0) + line.quantity;
      const free = (remaining.get(line.productId) ?? 0) - keptFor(waiting, claim, product);
      if (free < needed) {
        rejection = 'OUT_OF_STOCK';
        break;
      }
      wanted.set(line.productId, needed);
    }
    if (rejection) {
      verdicts.set(claim.orderId, { result: 'rejected', reason: rejection });
      continue;
    }
    for (const [productId, quantity] of wanted) {
      remaining.set(productId, (remaining.get(productId) ?? 0) - quantity);
      const holds = granted.get(productId) ?? [];
      holds.push({ orderId: claim.orderId, quantity });
      granted.set(productId, holds);
    }
    verdicts.set(claim.orderId, { result: 'held' });
  }

  const grants: HoldGrant[] = [];
  for (const [productId, holds] of granted) {
    const product = stock.get(productId);
    if (!product) continue;
    grants.push({
      productId,
      version: product.version,
      holds,
      units: holds.reduce((sum, h) => sum + h.quantity, 0),
    });
  }
  return { verdicts, grants };
}

/** Units of `product` that waiting VIP orders ranked ahead of `claim` need and do not hold yet. */
function keptFor(waiting: readonly Claim[], claim: Claim, product: StockSnapshot): number {
  let units = 0;
  for (const vip of waiting) {
    if (rankClaims(vip, claim) >= 0 || product.holds.has(vip.orderId)) continue;
    for (const line of vip.lines) if (line.productId === product.productId) units += line.quantity;
  }
  return units;
}

/** The products as they are once `grants` are written. */
export function withGrants(
  stock: ReadonlyMap<string, StockSnapshot>,
  grants: readonly HoldGrant[],
): Map<string, StockSnapshot> {
  const next = new Map(stock);
  for (const grant of grants) {
    const product = stock.get(grant.productId);
    if (!product) continue;
    const holds = new Map(product.holds);
    for (const hold of grant.holds) holds.set(hold.orderId, hold.quantity);
    next.set(grant.productId, {
      ...product,
      available: product.available - grant.units,
      version: product.version + 1,
      holds,
    });
  }
  return next;
}

/** What a decided order does with its holds: a confirmed order sells them, a failed one gives them back. */
export type Settling = 'commit' | 'release';

/** One write per product: the holds of these orders, wherever they still are, are settled. */
export interface Settlement {
  productId: string;
  /** Orders whose holds become sales. */
  commit: string[];
  /** Orders whose holds go back to available stock. */
  release: string[];
}

/**
 * Which products hold stock for decided orders, and what each order does with its holds. Orders
 * that hold nothing produce nothing: no write is sent for them.
 */
export function planSettlements(
  stock: ReadonlyMap<string, StockSnapshot>,
  settling: ReadonlyMap<string, Settling>,
): Settlement[] {
  const settlements: Settlement[] = [];
  for (const product of stock.values()) {
    const settlement: Settlement = { productId: product.productId, commit: [], release: [] };
    for (const orderId of product.holds.keys()) {
      const action = settling.get(orderId);
      if (action) settlement[action].push(orderId);
    }
    if (settlement.commit.length + settlement.release.length > 0) settlements.push(settlement);
  }
  return settlements;
}

/**
 * Rounds a batch may lose to other processes' writes before its jobs fail their attempt as a
 * transient error. Each lost round means another process made progress on the product, so this
 * is reached only under a pathological storm of conflicts.
 */
export const MAX_CONFLICT_ROUNDS = 100;

/**
 * How long to wait before the `round`-th retry (1-based) after a lost version race: at once, with
 * a little jitter so competing processes fall out of step, never a backoff. `random` is in [0, 1).
 */
export function conflictRetryDelayMs(round: number, random: number): number {
  return Math.floor(random * Math.min(8, 2 ** (round - 1)));
}

/**
 * Runs the reservation state machine for a batch of orders against MongoDB: the jobs a worker
 * process runs at the same time are decided together (group commit), each still getting its own
 * outcome. Every step is idempotent, so a job that runs twice (retry, stalled-job redelivery after
 * a crash, a concurrent run in another process) changes stock once:
 *   1. Hold: read the products, then the orders (in that order, see `reserve`), decide every
 *      PENDING order in priority order (stock/domain/reservation.ts), write all holds with one
 *      version-checked write per product. A write that lost a race with another process is re-read
 *      and re-planned at once: contention never fails a job's attempt.
 *   2. Decide: PENDING → CONFIRMED | FAILED for every order, conditional on PENDING; whoever
 *      decides an order first wins.
 *   3. Settle by the final status: commit holds (CONFIRMED) or release them (FAILED), each hold
 *      removed and accounted for in one atomic update of its product, so it is settled once
 *      whoever gets to it first. Orders holding nothing send nothing.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { withDeadline } from '../common/deadline.js';
import { runWithLogContext } from '../common/logging/request-context.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { stockChanged } from '../events/domain/live-event.js';
import type { LiveEvent } from '../events/domain/live-event.js';
import { EventStream } from '../events/event-stream.js';
import { Metrics } from '../metrics/metrics.service.js';
import { CONFLICT, retryOnConflict } from '../stock/conflict-retry.js';
import {
  Claim,
  ReservationVerdict,
  Settling,
  StockSnapshot,
  planReservations,
  planSettlements,
  withGrants,
} from '../stock/domain/reservation.js';
import { StockRepository } from '../stock/stock.repository.js';
import {
  FailureReason,
  OrderStatus,
  Verdict,
  settlementFor,
  verdictFor,
} from './domain/order-state.js';
import { decisionHistory } from './domain/history.js';
import { statusEvents } from './domain/order-events.js';
import { Decision, OrderRecord, OrderRepository } from './order.repository.js';

export type ProcessingResult =
  | { status: OrderStatus; failureReason: FailureReason | null; decidedNow: boolean }
  | { status: 'MISSING' };

/** One job of a batch: the order, the attempt it is on, and the products its lines name. */
export interface OrderJob {
  orderId: string;
  attempt: number;
  /** A hint so the products can be read first; the order document stays the truth. */
  productIds: readonly string[];
}

interface Reserved {
  orders: Map<string, OrderRecord>;
  /** For the orders that were PENDING when last read. */
  verdicts: Map<string, ReservationVerdict>;
  /** The products as they are after the holds were written. */
  stock: Map<string, StockSnapshot>;
  /** When the holds were written. */
  heldAt: Date;
  /** The products that took holds: their availability changed. */
  granted: ReadonlyArray<{ productId: string; version: number }>;
}

/** What step 2 found: each job's result, and each order as it now is. */
interface Decided {
  outcomes: Map<string, ProcessingResult>;
  finals: Map<string, OrderRecord>;
  /** Orders left PENDING by a decision that did not apply: their jobs fail and run again. */
  retry: Set<string>;
  /** What the decisions made by this run tell clients. */
  events: LiveEvent[];
}

@Injectable()
export class OrderProcessingService {
  private readonly logger = new Logger(OrderProcessingService.name);
  /** The reservation in progress: the next one starts when it is done. */
  private reserving: Promise<unknown> = Promise.resolve();
  /**
   * Orders this process refused stock but has not recorded as FAILED yet: still PENDING in the
   * database, they must not count as VIP orders waiting for stock.
   */
  private readonly refusedPending = new Set<string>();

  private readonly stepTimeoutMs: number;

  constructor(
    private readonly orders: OrderRepository,
    private readonly stock: StockRepository,
    private readonly metrics: Metrics,
    private readonly events: EventStream,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.stepTimeoutMs = config.mongodbCallTimeoutMs;
  }

  /** One order on its own (a batch of one). */
  async processOne(orderId: string, attempt: number): Promise<ProcessingResult> {
    const [result] = await this.processBatch([{ orderId, attempt, productIds: [] }]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Batches may overlap (the processor keeps two in flight), but only one reserves at a time: the
   * single writer of this process, so its batches never race each other for a product. While one
   * batch decides and settles, the next one already reserves: settling never conflicts with a
   * reservation, and a decision is conditional on its own orders only.
   */
  async processBatch(jobs: readonly OrderJob[]): Promise<Array<ProcessingResult | Error>> {
    const ids = [...new Set(jobs.map((job) => job.orderId))];
    const attempts = new Map(jobs.map((job) => [job.orderId, job.attempt]));
    // Each step has a deadline: a step that never answers fails the batch's jobs as transient
    // (retried with backoff) instead of holding them, and the single writer, for ever.
    const reserved = await this.exclusively(() =>
      withDeadline(
        this.reserve(
          ids,
          jobs.flatMap((job) => job.productIds),
        ),
        this.stepTimeoutMs,
      ),
    );
    for (const [orderId, verdict] of reserved.verdicts)
      if (verdict.result === 'rejected') this.refusedPending.add(orderId);
    let decided: Decided;
    try {
      decided = await withDeadline(this.decide(reserved, attempts), this.stepTimeoutMs);
    } finally {
      for (const orderId of reserved.verdicts.keys()) this.refusedPending.delete(orderId);
    }
    // Published as soon as the decisions are written (one entry for the batch), not awaited.
    void this.events.publish([...decided.events, ...grantedStock(reserved)]);
    await withDeadline(this.settle(reserved.stock, decided.finals.values()), this.stepTimeoutMs);
    return jobs.map((job) =>
      decided.retry.has(job.orderId)
        ? new Error(
            `order ${job.orderId} changed while it was being decided; it will be tried again`,
          )
        : (decided.outcomes.get(job.orderId) ?? { status: 'MISSING' }),
    );
  }

  /** Retries ran out: the order fails with PROCESSING_ERROR and gives back what it holds. */
  async failAfterRetries(
    orderId: string,
    attempts: number,
    lastError: string,
  ): Promise<ProcessingResult> {
    const verdict: Verdict = { status: 'FAILED', reason: 'PROCESSING_ERROR' };
    const decided = await this.orders.decide(orderId, verdict, attempts, lastError);
    const order = decided ?? (await this.orders.findById(orderId));
    if (!order) return { status: 'MISSING' };
    if (decided) {
      this.recordDecision(order);
      void this.events.publish(statusEvents(order, order.history.length - 1));
    }
    if (settlementFor(order.status, order.cancelledFrom) !== 'none') {
      const stock = await this.stock.snapshots(order.items.map((line) => line.productId));
      await this.settle(stock, [order]);
    }
    return { status: order.status, failureReason: order.failureReason, decidedNow: !!decided };
  }

  /**
   * Step 1. The products are read before the orders, and every round reads both again: a hold is
   * removed only after its order was decided, so an order still PENDING when read after a product
   * snapshot that shows no hold of it has never had that hold settled, and a hold written on that
   * snapshot's version is the order's only one. Reading the order first would let a stale run
   * hold stock again for an order another run had just decided and settled.
   */
  private async reserve(ids: string[], hintedProducts: string[]): Promise<Reserved> {
    const productIds = new Set(hintedProducts);
    return retryOnConflict(
      `reservation of ${ids.length} order(s)`,
      async () => {
        for (;;) {
          const stock = await this.stock.snapshots([...productIds]);
          const grantable = [...stock.values()]
            .filter((p) => p.active && p.available > 0)
            .map((p) => p.productId);
          const [orders, waitingVips] = await Promise.all([
            this.orders.findManyByIds(ids),
            grantable.length > 0 ? this.orders.waitingVipClaims(grantable) : [],
          ]);
          const unread = [...orders.values()]
            .flatMap((order) => order.items.map((line) => line.productId))
            .filter((id) => !productIds.has(id));
          if (unread.length > 0) {
            // The jobs did not name every product (an older job): read again, products first.
            for (const id of unread) productIds.add(id);
            continue;
          }
          const claims = [...orders.values()].filter((o) => o.status === 'PENDING').map(claimOf);
          const plan = planReservations(
            claims,
            stock,
            waitingVips.filter((vip) => !this.refusedPending.has(vip.orderId)),
          );
          if (!(await this.stock.grantHolds(plan.grants))) return CONFLICT;
          return {
            orders,
            verdicts: plan.verdicts,
            stock: withGrants(stock, plan.grants),
            heldAt: new Date(),
            granted: plan.grants,
          };
        }
      },
      () => this.metrics.versionConflicts.inc(),
    );
  }

  private exclusively<T>(run: () => Promise<T>): Promise<T> {
    const result = this.reserving.then(run);
    this.reserving = result.catch(() => undefined);
    return result;
  }

  /** Step 2: one conditional write for the batch; the final status of every order it holds. */
  private async decide(
    reserved: Reserved,
    attempts: ReadonlyMap<string, number>,
  ): Promise<Decided> {
    const outcomes = new Map<string, ProcessingResult>();
    const finals = new Map<string, OrderRecord>();
    const retry = new Set<string>();
    const events: LiveEvent[] = [];
    for (const [orderId, order] of reserved.orders) {
      if (order.status === 'PENDING') continue;
      outcomes.set(orderId, outcomeOf(order, false));
      finals.set(orderId, order);
    }
    const decisions: Decision[] = [...reserved.verdicts].map(([orderId, verdict]) => {
      const history = reserved.orders.get(orderId)?.history ?? [];
      return {
        orderId,
        verdict: verdictFor(verdict),
        attempts: attempts.get(orderId) ?? 1,
        heldAt: reserved.heldAt,
        history: { length: history.length, lastAt: history[history.length - 1]?.at },
      };
    });
    const now = new Date();
    const decidedCount = await this.orders.decideMany(decisions, now);
    let decidedElsewhere: Map<string, OrderRecord> | undefined;
    if (decidedCount < decisions.length) {
      // Another run decided some of them first: read what they are now.
      decidedElsewhere = await this.orders.findManyByIds(decisions.map((d) => d.orderId));
    }
    for (const decision of decisions) {
      const order = reserved.orders.get(decision.orderId);
      if (!order) continue;
      const current = decidedElsewhere?.get(decision.orderId);
      if (current?.status === 'PENDING') {
        // Not decided by anyone: its history changed under the decision. Its job runs again
        // (the holds it has are found again); the settlement skips it.
        retry.add(decision.orderId);
        continue;
      }
      // Re-read after a shortfall: the decision is ours if the order carries exactly what we wrote.
      const ours =
        !current ||
        (current.decidedAt?.getTime() === now.getTime() &&
          current.status === decision.verdict.status &&
          current.attempts === decision.attempts);
      const final: OrderRecord = ours
        ? {
            ...order,
            ...decidedFields(decision.verdict),
            attempts: decision.attempts,
            history: [
              ...order.history,
              ...decisionHistory(decision.verdict, reserved.heldAt, now, {
                length: order.history.length,
                lastAt: order.history[order.history.length - 1]?.at,
              }),
            ],
          }
        : current;
      if (ours) {
        this.recordDecision(final);
        events.push(...statusEvents(final, order.history.length));
      }
      outcomes.set(decision.orderId, outcomeOf(final, ours));
      finals.set(decision.orderId, final);
    }
    return { outcomes, finals, retry, events };
  }

  /**
   * Step 3, by each order's status now: commits or releases the holds of decided orders, on the
   * products that have some (one write per product); a cancelled order gives back what it holds
   * or bought (`returnStock`, once however often it is tried) and is marked as having done so.
   */
  private async settle(
    stock: ReadonlyMap<string, StockSnapshot>,
    orders: Iterable<OrderRecord>,
  ): Promise<void> {
    const settling = new Map<string, Settling>();
    const undoing: OrderRecord[] = [];
    const cancelled: OrderRecord[] = [];
    for (const order of orders) {
      const action = settlementFor(order.status, order.cancelledFrom);
      // A return that is done is not tried again: its marks on the products expire after a day.
      // (A release is always safe to repeat: it needs the hold itself.)
      if (action === 'undo' && order.stockReturned === true) continue;
      if (action === 'undo') undoing.push(order);
      else if (action !== 'none') settling.set(order.id, action);
      if (order.status === 'CANCELLED' && order.stockReturned !== true) cancelled.push(order);
    }
    const settlements = planSettlements(stock, settling);
    await Promise.all([
      this.stock.settle(settlements),
      ...undoing.map((order) => this.stock.returnStock(order.id, order.items)),
    ]);
    await Promise.all(cancelled.map((order) => this.orders.markStockReturned(order.id)));
    // Commits leave availability alone; what released or returned stock is read back for staff.
    const changed = new Set([
      ...settlements.filter((s) => s.release.length > 0).map((s) => s.productId),
      ...undoing.flatMap((order) => order.items.map((line) => line.productId)),
    ]);
    if (changed.size > 0) void this.publishStock([...changed]);
  }

  /** `stock_changed` for products as they are now; a failed read loses only the events. */
  private async publishStock(productIds: string[]): Promise<void> {
    try {
      const now = new Date();
      const products = await this.stock.snapshots(productIds);
      await this.events.publish(
        [...products.values()].map((p) => stockChanged(p.productId, p.available, now)),
      );
    } catch (err) {
      this.logger.warn(`no stock_changed for ${productIds.length} product(s): ${String(err)}`);
    }
  }

  private recordDecision(order: OrderRecord): void {
    this.metrics.orderDecided(order.priority === 'VIP', order.failureReason);
    const orderId = order.id;
    const reason = order.failureReason ? ` (${order.failureReason})` : '';
    // One line per decided order, carrying its ids like every other line about that order's job.
    runWithLogContext({ jobId: orderId, orderId }, () =>
      this.logger.log(
        `order ${orderId} ${order.status}${reason} after ${order.attempts} attempt(s)`,
      ),
    );
  }
}

/** `stock_changed` for the products that took holds, as the holds left them. */
function grantedStock(reserved: Reserved): LiveEvent[] {
  return reserved.granted.flatMap(({ productId, version }) => {
    const product = reserved.stock.get(productId);
    return product
      ? [stockChanged(productId, product.available, reserved.heldAt, version + 1)]
      : [];
  });
}

function claimOf(order: OrderRecord): Claim {
  return {
    orderId: order.id,
    vip: order.priority === 'VIP',
    acceptedAt: order.createdAt.getTime(),
    lines: order.items.map((line) => ({ productId: line.productId, quantity: line.quantity })),
  };
}

function decidedFields(verdict: Verdict): Pick<OrderRecord, 'status' | 'failureReason'> {
  return {
    status: verdict.status,
    failureReason: verdict.status === 'FAILED' ? verdict.reason : null,
  };
}

function outcomeOf(order: OrderRecord, decidedNow: boolean): ProcessingResult {
  return { status: order.status, failureReason: order.failureReason ?? null, decidedNow };
}

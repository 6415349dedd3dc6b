import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { MongoBulkWriteError } from 'mongodb';
import type {
  AnyBulkWriteOperation,
  Collection,
  Document,
  Filter,
  UpdateFilter,
  WriteError,
} from 'mongodb';
import { Model, Types } from 'mongoose';
import { isDuplicateKeyError } from '../common/errors.js';
import { nativeCollection } from '../common/native-collection.js';
import type { Claim } from '../stock/domain/reservation.js';
import type { OrderStatus, PriorityLabel, Verdict } from './domain/order-state.js';
import { decisionEntries, decisionHistory, moveEntry, numbered } from './domain/history.js';
import type { NewHistoryEntry } from './domain/history.js';
import { Order } from './order.schema.js';

/** An order as stored. */
type OrderDoc = Order & { _id: Types.ObjectId };

/** An order as the rest of the application sees it: its id is a string (docs/ARCHITECTURE.md). */
export type OrderRecord = Order & { id: string };

function toRecord({ _id, ...fields }: OrderDoc): OrderRecord {
  return { id: _id.toString(), ...fields };
}

function toDoc({ id, ...fields }: OrderRecord): OrderDoc {
  return { _id: new Types.ObjectId(id), ...fields };
}

/** What the API knows of a new order; the repository adds the state of a fresh PENDING order. */
export type NewOrder = Omit<
  Order,
  | 'createdAt'
  | 'updatedAt'
  | 'status'
  | 'failureReason'
  | 'attempts'
  | 'lastError'
  | 'decidedAt'
  | 'cancelledFrom'
  | 'stockReturned'
  | 'history'
>;

/** How one order of an `insertMany` fared: stored, or refused as a repeat of its Idempotency-Key. */
export type InsertOutcome = 'stored' | 'duplicate' | Error;

/** The filters of a staff search of orders; every one optional, combined with AND. */
export interface OrderFilter {
  status?: OrderStatus;
  userId?: string;
  priority?: PriorityLabel;
  productId?: string;
  from?: Date;
  to?: Date;
  orderNumber?: string;
}

/** Where a page of a newest-first walk starts: strictly after this order. */
export interface OrderCursorKey {
  createdAt: Date;
  id: string;
}

/** What the queue needs of an order to enqueue it. */
export type QueuedOrder = Pick<OrderRecord, 'id' | 'priority' | 'items'>;

/** A decision a worker wants to record, conditional on the order still being PENDING. */
export interface Decision {
  orderId: string;
  verdict: Verdict;
  attempts: number;
  lastError?: string;
  /** When the order's holds were written (a confirmation records its reservation). */
  heldAt?: Date;
  /**
   * The order's history as the worker read it: the decision appends after it, and applies only
   * if it is still that long (while PENDING nothing else is appended).
   */
  history?: { length: number; lastAt?: Date };
}

/** Every query and write on orders. Status changes are conditional on the status they leave. */
@Injectable()
export class OrderRepository {
  private readonly orderDocs: Collection<OrderDoc>;

  constructor(@InjectModel(Order.name) private readonly orders: Model<Order>) {
    this.orderDocs = nativeCollection<OrderDoc>(orders);
  }

  /** A PENDING order ready to be stored; its id is assigned here, before it is stored. */
  newRecord(order: NewOrder, now = new Date()): OrderRecord {
    return {
      id: new Types.ObjectId().toHexString(),
      ...order,
      status: 'PENDING',
      failureReason: null,
      attempts: 0,
      lastError: null,
      decidedAt: null,
      cancelledFrom: null,
      stockReturned: null,
      history: numbered(0, [
        { event: 'ACCEPTED', status: 'PENDING', at: now, actor: order.userId },
      ]),
      createdAt: now,
      updatedAt: now,
    };
  }

  async create(order: NewOrder): Promise<OrderRecord> {
    const record = this.newRecord(order);
    await this.orderDocs.insertOne(toDoc(record));
    return record;
  }

  /**
   * Stores a batch of new orders with one unordered insert: validated and priced already, so a
   * plain insert keeps mongoose's document machinery off the hottest path. An order whose
   * Idempotency-Key was used before fails alone (the unique index answers 11000 for it); the
   * others are stored. Anything else that fails the command (the network, the server) fails the
   * whole batch: none of its orders is reported stored, whatever may have reached the server (the
   * recovery sweep processes those).
   */
  async insertMany(records: readonly OrderRecord[]): Promise<InsertOutcome[]> {
    try {
      await this.orderDocs.insertMany(records.map(toDoc), { ordered: false });
      return records.map(() => 'stored');
    } catch (err) {
      const failed = perDocumentFailures(err, records.length);
      if (!failed) throw causeOf(err);
      return records.map((_, i) => failed.get(i) ?? 'stored');
    }
  }

  async findById(id: string): Promise<OrderRecord | undefined> {
    const found = await this.orderDocs.findOne({ _id: new Types.ObjectId(id) });
    return found ? toRecord(found) : undefined;
  }

  /** The orders with these ids that exist, by id (one read). */
  async findManyByIds(ids: readonly string[]): Promise<Map<string, OrderRecord>> {
    const found = await this.orderDocs
      .find({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } })
      .toArray();
    return new Map(found.map((doc) => [doc._id.toString(), toRecord(doc)]));
  }

  /**
   * VIP orders still PENDING that need any of these products, as reservation claims: the stock
   * they need is kept for them (stock/domain/reservation.ts). Served by a partial index that holds
   * only PENDING VIP orders.
   */
  async waitingVipClaims(productIds: readonly string[]): Promise<Claim[]> {
    const found = await this.orderDocs
      .find<Pick<OrderDoc, '_id' | 'items' | 'createdAt'>>(
        { 'items.productId': { $in: [...productIds] }, status: 'PENDING', priority: 'VIP' },
        { projection: { items: 1, createdAt: 1 } },
      )
      .toArray();
    return found.map((order) => ({
      orderId: order._id.toString(),
      vip: true,
      acceptedAt: order.createdAt.getTime(),
      lines: order.items.map((line) => ({ productId: line.productId, quantity: line.quantity })),
    }));
  }

  async findByIdempotencyKey(
    userId: string,
    idempotencyKey: string,
  ): Promise<OrderRecord | undefined> {
    const found = await this.orders.findOne({ userId, idempotencyKey }).lean<OrderDoc>().exec();
    return found ? toRecord(found) : undefined;
  }

  async listForUser(
    userId: string,
    page: number,
    limit: number,
  ): Promise<{ items: OrderRecord[]; total: number }> {
    const [items, total] = await Promise.all([
      this.orders
        .find({ userId })
        .sort({ createdAt: -1, _id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .lean<OrderDoc[]>()
        .exec(),
      this.orders.countDocuments({ userId }).exec(),
    ]);
    return { items: items.map(toRecord), total };
  }

  /**
   * PENDING → CONFIRMED | FAILED for a batch of orders, each conditional on the order still being
   * PENDING (one command; orders with the same decision share one statement). Answers how many
   * were decided by this call: fewer than asked when another run decided some first.
   */
  async decideMany(decisions: readonly Decision[], now: Date): Promise<number> {
    const alike = new Map<
      string,
      { filter: Filter<OrderDoc>; update: UpdateFilter<OrderDoc>; ids: Types.ObjectId[] }
    >();
    for (const d of decisions) {
      const { filter, update } = decisionWrite(d, now);
      const key = JSON.stringify([filter, update]);
      const group = alike.get(key);
      if (group) group.ids.push(new Types.ObjectId(d.orderId));
      else alike.set(key, { filter, update, ids: [new Types.ObjectId(d.orderId)] });
    }
    if (alike.size === 0) return 0;
    const result = await this.orderDocs.bulkWrite(
      [...alike.values()].map(({ filter, update, ids }): AnyBulkWriteOperation<OrderDoc> => ({
        updateMany: { filter: { _id: { $in: ids }, ...filter }, update },
      })),
      { ordered: false },
    );
    return result.matchedCount;
  }

  /**
   * PENDING → CONFIRMED | FAILED. Returns the decided order, or undefined when the order was no
   * longer PENDING (another run decided it first).
   */
  async decide(
    id: string,
    verdict: Verdict,
    attempts: number,
    lastError?: string,
  ): Promise<OrderRecord | undefined> {
    const { filter, update } = decisionWrite(
      { orderId: id, verdict, attempts, lastError },
      new Date(),
    );
    const decided = await this.orderDocs.findOneAndUpdate(
      { _id: new Types.ObjectId(id), ...filter },
      update,
      { returnDocument: 'after' },
    );
    return decided ? toRecord(decided) : undefined;
  }

  /**
   * Orders matching `filter`, newest first (acceptance time, then id), at most `limit`, strictly
   * after `after`: a walk by pages sees each order that existed when it started exactly once,
   * whatever is accepted meanwhile (newer orders sort before its first page). Each filter has an
   * index with the same order (order.schema.ts). Histories are left out.
   */
  async search(
    filter: OrderFilter,
    after: OrderCursorKey | undefined,
    limit: number,
  ): Promise<OrderRecord[]> {
    const conditions: Array<Filter<OrderDoc>> = [];
    if (filter.status) conditions.push({ status: filter.status });
    if (filter.userId) conditions.push({ userId: filter.userId });
    if (filter.priority) conditions.push({ priority: filter.priority });
    if (filter.productId) conditions.push({ 'items.productId': filter.productId });
    if (filter.orderNumber) conditions.push({ orderNumber: filter.orderNumber });
    if (filter.from) conditions.push({ createdAt: { $gte: filter.from } });
    if (filter.to) conditions.push({ createdAt: { $lt: filter.to } });
    if (after) {
      const afterId = new Types.ObjectId(after.id);
      conditions.push({
        $or: [
          { createdAt: { $lt: after.createdAt } },
          { createdAt: after.createdAt, _id: { $lt: afterId } },
        ],
      });
    }
    const found = await this.orderDocs
      .find(conditions.length > 0 ? { $and: conditions } : {}, { projection: { history: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return found.map((doc) => toRecord({ ...doc, history: [] }));
  }

  /** Orders still PENDING that were accepted before `acceptedBefore`, oldest first. */
  async findPendingSince(acceptedBefore: Date, limit: number): Promise<QueuedOrder[]> {
    const found = await this.orders
      .find({ status: 'PENDING', createdAt: { $lt: acceptedBefore } }, { priority: 1, items: 1 })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<Array<Pick<OrderDoc, '_id' | 'priority' | 'items'>>>()
      .exec();
    return found.map((o) => ({ id: o._id.toString(), priority: o.priority, items: o.items }));
  }

  /**
   * FAILED(PROCESSING_ERROR) → PENDING, so an admin can send a dead-lettered order through
   * processing again. Only a processing error reopens: a confirmation or a business failure is
   * final. Returns the reopened order, or undefined when the order was not in that state.
   */
  async reopenAfterProcessingError(id: string, actor: string): Promise<OrderRecord | undefined> {
    const now = new Date();
    const reopened = await this.orderDocs.findOneAndUpdate(
      { _id: new Types.ObjectId(id), status: 'FAILED', failureReason: 'PROCESSING_ERROR' },
      [
        {
          $set: {
            status: 'PENDING',
            failureReason: null,
            lastError: null,
            decidedAt: null,
            updatedAt: now,
            history: appended([
              { event: 'REOPENED', status: 'PENDING', at: now, actor, reason: 'PROCESSING_ERROR' },
            ]),
          },
        },
      ],
      { returnDocument: 'after' },
    );
    return reopened ? toRecord(reopened) : undefined;
  }

  /**
   * Moves the order to `to` if it is in one of `from` (and belongs to `owner`, when given), with
   * its history entry, in one conditional write. A cancellation also records the status it left
   * and that its stock is not back yet. Returns the moved order, or undefined when the order was
   * in none of `from` (or is someone else's).
   */
  async moveTo(
    id: string,
    to: OrderStatus,
    from: readonly OrderStatus[],
    actor: string,
    owner?: string,
  ): Promise<OrderRecord | undefined> {
    const now = new Date();
    const cancelling = to === 'CANCELLED';
    const moved = await this.orderDocs.findOneAndUpdate(
      {
        _id: new Types.ObjectId(id),
        status: { $in: [...from] },
        ...(owner === undefined ? {} : { userId: owner }),
      },
      [
        // Its own stage: it reads the status before the next stage changes it.
        ...(cancelling ? [{ $set: { cancelledFrom: '$status', stockReturned: false } }] : []),
        {
          $set: {
            status: to,
            updatedAt: now,
            // A cancellation's entry names the status it left (the first stage kept it).
            history: appended(
              [moveEntry(to, actor, now)],
              cancelling ? { reason: '$cancelledFrom' } : {},
            ),
          },
        },
      ],
      { returnDocument: 'after' },
    );
    return moved ? toRecord(moved) : undefined;
  }

  /** A cancelled order's stock is all back (idempotent). */
  async markStockReturned(id: string): Promise<void> {
    await this.orderDocs.updateOne(
      { _id: new Types.ObjectId(id), stockReturned: false },
      { $set: { stockReturned: true } },
    );
  }

  /** Cancelled orders whose stock was not back by `before`, oldest first: a cancellation was interrupted. */
  async findCancellationsReturningStock(before: Date, limit: number): Promise<OrderRecord[]> {
    const found = await this.orderDocs
      .find({ stockReturned: false, updatedAt: { $lt: before } })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .toArray();
    return found.map(toRecord);
  }

  /** Status and failure reason of the given orders, by id; unknown ids are absent. */
  async findOutcomes(
    ids: string[],
  ): Promise<Map<string, Pick<OrderRecord, 'status' | 'failureReason'>>> {
    const found = await this.orders
      .find({ _id: { $in: ids } }, { status: 1, failureReason: 1 })
      .lean<Array<Pick<OrderDoc, '_id' | 'status' | 'failureReason'>>>()
      .exec();
    return new Map(
      found.map((o) => [o._id.toString(), { status: o.status, failureReason: o.failureReason }]),
    );
  }
}

/**
 * PENDING → the verdict, with its history entries appended after the history the worker read
 * (plain operators: this is the hot path). When the worker did not read the history (a decision
 * after retries ran out), a pipeline update numbers the entries from the document itself.
 */
function decisionWrite(
  d: Decision,
  now: Date,
): { filter: Filter<OrderDoc>; update: UpdateFilter<OrderDoc> | Document[] } {
  const fields = {
    status: d.verdict.status,
    failureReason: d.verdict.status === 'FAILED' ? d.verdict.reason : null,
    attempts: d.attempts,
    lastError: d.lastError ?? null,
    decidedAt: now,
    updatedAt: now,
  };
  const entries = decisionEntries(d.verdict, d.heldAt ?? now, now);
  if (!d.history) {
    return {
      filter: { status: 'PENDING' },
      update: [
        {
          $set: {
            ...fields,
            lastError: { $literal: fields.lastError },
            history: appended(entries),
          },
        },
      ],
    };
  }
  const { length } = d.history;
  return {
    filter: {
      status: 'PENDING',
      // Orders stored before histories existed have none.
      ...(length === 0
        ? { $or: [{ history: { $size: 0 } }, { history: { $exists: false } }] }
        : { history: { $size: length } }),
    },
    update: {
      $set: fields,
      $push: { history: { $each: decisionHistory(d.verdict, d.heldAt ?? now, now, d.history) } },
    },
  };
}

/**
 * The order's history with `entries` appended, numbered after the entries it has: an expression
 * for the `$set` of a pipeline update, so the number comes from the document being written. An
 * entry's time is never before the last one's: the processes that write a history read their own
 * clocks, and one that read its clock first may write second (a cancellation that wins a race
 * against a confirmation written a moment earlier). Every value is a literal (an actor or a reason
 * never reads as a field path), except the `computed` fields: expressions over the document, given
 * to each entry.
 */
function appended(entries: readonly NewHistoryEntry[], computed: Document = {}): Document {
  const history = { $ifNull: ['$history', []] };
  const lastAt = { $arrayElemAt: ['$history.at', -1] };
  return {
    $concatArrays: [
      history,
      entries.map(({ at, ...entry }, i) => ({
        seq: { $add: [{ $size: history }, i + 1] },
        ...Object.fromEntries(
          Object.entries(entry).map(([field, value]) => [field, { $literal: value }]),
        ),
        ...computed,
        at: { $max: [at, { $ifNull: [lastAt, at] }] },
      })),
    ],
  };
}

/**
 * The documents a failed unordered insert refused, when the server answered for every one of
 * them: those it inserted plus those with a write error add up to the batch. The driver also
 * wraps a network error in a MongoBulkWriteError, with no write errors and nothing known
 * inserted: undefined then, and the caller fails the whole batch.
 */
function perDocumentFailures(err: unknown, size: number): Map<number, InsertOutcome> | undefined {
  if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) return undefined;
  const errors = ([] as Array<WriteError | undefined>)
    .concat(err.writeErrors)
    .filter((e): e is WriteError => e !== undefined);
  if (errors.length === 0 || err.result.insertedCount + errors.length !== size) return undefined;
  return new Map(
    errors.map((e) => [e.index, isDuplicateKeyError(e) ? 'duplicate' : new Error(e.errmsg)]),
  );
}

/** The driver's own error (a network error, say) that it wrapped in a MongoBulkWriteError. */
function causeOf(err: unknown): unknown {
  const wrapped: unknown = err instanceof MongoBulkWriteError ? err.errorResponse : undefined;
  return wrapped instanceof Error ? wrapped : err;
}

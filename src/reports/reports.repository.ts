/**
 * Every MongoDB read and write of the reports: the orders as the reports see them (read only), the
 * rollups (a tally and a product tally per UTC day, hour and quarter hour, `_id` = blockId), and the
 * rollup's progress. docs/REPORTS.md describes the documents.
 */
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { ObjectId } from 'mongodb';
import type { AnyBulkWriteOperation, Collection, Filter, WithoutId } from 'mongodb';
import { Model } from 'mongoose';
import { nativeCollection } from '../common/native-collection.js';
import { Order } from '../order/order.schema.js';
import type { Level } from './domain/blocks.js';
import { REPORTED_FIELDS } from './domain/tally.js';
import type { ProductTally, ReportedOrder, Tally } from './domain/tally.js';

export interface RollupDoc {
  _id: string;
  level: Level;
  start: Date;
  tally: Tally;
  computedAt: Date;
}

export interface ProductRollupDoc {
  _id: string;
  level: Level;
  start: Date;
  products: ProductTally;
  computedAt: Date;
}

/** How far the rollups have got. */
export interface RollupState {
  _id: 'rollup';
  /** Every order change made before this instant is in the rollups. */
  watermark: Date | null;
  /** Buckets before this instant are read from the rollups; later ones from the orders. */
  coveredUntil: Date | null;
  lastRunAt: Date | null;
  lastRunMs: number | null;
  /** The last run that recomputed everything (asked for, or the first). */
  lastRebuildAt: Date | null;
  lastRebuildMs: number | null;
}

export const ROLLUPS = 'report_rollups';
export const PRODUCT_ROLLUPS = 'report_product_rollups';
const STATE = 'report_state';

@Injectable()
export class ReportsRepository {
  private readonly orders: Collection<ReportedOrder & { updatedAt: Date }>;
  private readonly rollups: Collection<RollupDoc>;
  private readonly productRollups: Collection<ProductRollupDoc>;
  private readonly state: Collection<RollupState>;

  constructor(@InjectModel(Order.name) orderModel: Model<Order>) {
    this.orders = nativeCollection(orderModel);
    const db = orderModel.db.getClient().db(orderModel.db.name);
    this.rollups = db.collection(ROLLUPS);
    this.productRollups = db.collection(PRODUCT_ROLLUPS);
    this.state = db.collection(STATE);
  }

  /** Orders accepted in [start, end), oldest first, as the reports read them. */
  acceptedBetween(start: Date, end: Date): AsyncIterable<ReportedOrder> {
    return this.orders
      .find({ createdAt: { $gte: start, $lt: end } }, { projection: REPORTED_FIELDS })
      .sort({ createdAt: 1 })
      .batchSize(5000);
  }

  /**
   * The acceptance times of orders accepted before `acceptedBefore` and changed at or after
   * `since`, in the order of their change, at most `limit`. During a sale nearly every change is to
   * an order of the quarter in progress, which the rollups leave alone: those are filtered out by
   * the database, not sorted and sent.
   */
  async changedSince(
    since: Date,
    acceptedBefore: Date,
    limit: number,
  ): Promise<Array<{ createdAt: Date; updatedAt: Date }>> {
    return this.orders
      .find(
        { updatedAt: { $gte: since }, createdAt: { $lt: acceptedBefore } },
        { projection: { _id: 0, createdAt: 1, updatedAt: 1 } },
      )
      .sort({ updatedAt: 1, _id: 1 })
      .hint({ updatedAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  async firstAcceptedAt(): Promise<Date | undefined> {
    const [first] = await this.orders
      .find({}, { projection: { _id: 0, createdAt: 1 } })
      .sort({ createdAt: 1, _id: 1 })
      .limit(1)
      .toArray();
    return first?.createdAt;
  }

  async rollupsOf(ids: readonly string[]): Promise<Map<string, Tally>> {
    if (ids.length === 0) return new Map();
    // Whole documents: they hold little else, and a projection costs the offline server more than
    // it saves (1,100 documents: 90 ms projected, 45 ms whole).
    const docs = await this.rollups.find({ _id: { $in: [...ids] } }).toArray();
    return new Map(docs.map((doc) => [doc._id, doc.tally]));
  }

  async productRollupsOf(ids: readonly string[]): Promise<Map<string, ProductTally>> {
    if (ids.length === 0) return new Map();
    const docs = await this.productRollups.find({ _id: { $in: [...ids] } }).toArray();
    return new Map(docs.map((doc) => [doc._id, doc.products]));
  }

  /** Replaces the rollups of these blocks (an empty tally removes its document). */
  async writeRollups(
    blocks: ReadonlyArray<{
      id: string;
      level: Level;
      start: Date;
      tally: Tally;
      products: ProductTally;
    }>,
  ): Promise<void> {
    if (blocks.length === 0) return;
    const computedAt = new Date();
    // A block with nothing to keep has no document: replaced when it has, deleted when not.
    const write = <T extends { _id: string }>(
      id: string,
      content: Omit<T, '_id' | 'computedAt'> | undefined,
    ): AnyBulkWriteOperation<T> =>
      content
        ? {
            replaceOne: {
              filter: { _id: id } as Filter<T>,
              replacement: { ...content, computedAt } as unknown as WithoutId<T>,
              upsert: true,
            },
          }
        : { deleteOne: { filter: { _id: id } as Filter<T> } };
    await this.rollups.bulkWrite(
      blocks.map((b) =>
        write<RollupDoc>(
          b.id,
          b.tally.orders > 0 ? { level: b.level, start: b.start, tally: b.tally } : undefined,
        ),
      ),
      { ordered: false },
    );
    await this.productRollups.bulkWrite(
      blocks.map((b) =>
        write<ProductRollupDoc>(
          b.id,
          Object.keys(b.products).length > 0
            ? { level: b.level, start: b.start, products: b.products }
            : undefined,
        ),
      ),
      { ordered: false },
    );
  }

  async clearRollups(): Promise<void> {
    await this.rollups.deleteMany({});
    await this.productRollups.deleteMany({});
  }

  async readState(): Promise<RollupState> {
    return (
      (await this.state.findOne({ _id: 'rollup' })) ?? {
        _id: 'rollup',
        watermark: null,
        coveredUntil: null,
        lastRunAt: null,
        lastRunMs: null,
        lastRebuildAt: null,
        lastRebuildMs: null,
      }
    );
  }

  async saveState(state: Omit<RollupState, '_id'>): Promise<void> {
    await this.state.replaceOne({ _id: 'rollup' }, state, { upsert: true });
  }

  /** Catalog names of products that still exist. */
  async productNames(ids: readonly string[]): Promise<Map<string, string>> {
    const products = this.orders.db.collection<{ _id: ObjectId; name: string }>('products');
    const docs = await products
      .find(
        { _id: { $in: ids.filter((id) => ObjectId.isValid(id)).map((id) => new ObjectId(id)) } },
        { projection: { name: 1 } },
      )
      .toArray();
    return new Map(docs.map((doc) => [String(doc._id), doc.name]));
  }
}

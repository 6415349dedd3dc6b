/**
 * Every write to stock happens here. Holds are granted with optimistic locking: read the products
 * with their `version`, decide with the pure rules of stock/domain, write each product
 * conditionally on the version read and bump it. Committing or releasing holds is conditional on
 * the holds themselves, so each of those writes applies at most once however often a job is
 * redelivered.
 */
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { Model, Types } from 'mongoose';
import { CacheInvalidation } from '../common/cache-invalidation.js';
import { ConflictError, NotFoundError } from '../common/errors.js';
import { nativeCollection } from '../common/native-collection.js';
import { Metrics } from '../metrics/metrics.service.js';
import { CATALOG_TOPIC } from './catalog.js';
import { CONFLICT, retryOnConflict } from './conflict-retry.js';
import type { HoldGrant, Settlement, StockSnapshot } from './domain/reservation.js';
import { Product } from './product.schema.js';

export interface ProductRecord {
  id: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  active: boolean;
  available: number;
  reserved: number;
  sold: number;
  received: number;
  version: number;
}

export interface NewProduct {
  name: string;
  description: string;
  price: number;
  currency: string;
  quantity: number;
}

type ProductLean = Product & { _id: Types.ObjectId };

@Injectable()
export class StockRepository {
  private readonly productDocs: Collection<ProductLean>;

  constructor(
    @InjectModel(Product.name) private readonly products: Model<Product>,
    private readonly metrics: Metrics,
    private readonly invalidation: CacheInvalidation,
  ) {
    this.productDocs = nativeCollection<ProductLean>(products);
  }

  async create(input: NewProduct): Promise<ProductRecord> {
    const created = await this.products.create({
      name: input.name,
      description: input.description,
      price: input.price,
      currency: input.currency,
      active: true,
      available: input.quantity,
      received: input.quantity,
      reserved: 0,
      sold: 0,
      version: 0,
      holds: [],
    });
    return toRecord(created.toObject());
  }

  async findActive(id: string): Promise<ProductRecord | undefined> {
    const product = await this.products
      .findOne({ _id: id, active: true }, { holds: 0 })
      .lean<ProductLean>()
      .exec();
    return product ? toRecord(product) : undefined;
  }

  async listActive(
    page: number,
    limit: number,
  ): Promise<{ items: ProductRecord[]; total: number }> {
    const [items, total] = await Promise.all([
      this.products
        .find({ active: true }, { holds: 0 })
        .sort({ _id: 1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .lean<ProductLean[]>()
        .exec(),
      this.products.countDocuments({ active: true }).exec(),
    ]);
    return { items: items.map(toRecord), total };
  }

  /** Restock (positive delta) or correct (negative); never takes `available` below zero. */
  async adjust(id: string, delta: number): Promise<ProductRecord> {
    return retryOnConflict(
      `product ${id}`,
      async () => {
        const product = await this.products
          .findOne({ _id: id, active: true }, { holds: 0 })
          .lean<ProductLean>()
          .exec();
        if (!product) throw new NotFoundError('Product');
        if (product.available + delta < 0) {
          throw new ConflictError(
            `Stock cannot go below zero: ${product.available} available, delta ${delta}`,
          );
        }
        const updated = await this.products
          .findOneAndUpdate(
            { _id: id, version: product.version },
            { $inc: { available: delta, received: delta, version: 1 } },
            { returnDocument: 'after', projection: { holds: 0 } },
          )
          .lean<ProductLean>()
          .exec();
        return updated ? toRecord(updated) : CONFLICT;
      },
      () => this.metrics.versionConflicts.inc(),
    );
  }

  /** Takes the product off sale; orders that still need it fail with PRODUCT_UNAVAILABLE. */
  async discontinue(id: string): Promise<void> {
    const result = await this.products
      .updateOne({ _id: id, active: true }, { $set: { active: false }, $inc: { version: 1 } })
      .exec();
    if (result.matchedCount === 0) throw new NotFoundError('Product');
    await this.invalidation.publish(CATALOG_TOPIC, objectId(id).toString());
  }

  /** What a worker decides on: availability, version and holds of the given products (one read). */
  async snapshots(productIds: readonly string[]): Promise<Map<string, StockSnapshot>> {
    const found = await this.productDocs
      .find<Pick<ProductLean, '_id' | 'active' | 'available' | 'version' | 'holds'>>(
        { _id: { $in: productIds.map(objectId) } },
        { projection: { active: 1, available: 1, version: 1, holds: 1 } },
      )
      .toArray();
    return new Map(
      found.map((p) => {
        const productId = p._id.toString();
        return [
          productId,
          {
            productId,
            active: p.active,
            available: p.available,
            version: p.version,
            holds: new Map(p.holds.map((h) => [h.orderId, h.quantity])),
          },
        ];
      }),
    );
  }

  /**
   * Writes the holds of a plan, each product on the version it was read at (one command). False
   * when any product had changed since: the caller re-reads and plans again; the products that did
   * take their holds show them on the next read.
   */
  async grantHolds(grants: readonly HoldGrant[]): Promise<boolean> {
    if (grants.length === 0) return true;
    const result = await this.productDocs.bulkWrite(
      grants.map((grant): AnyBulkWriteOperation<ProductLean> => ({
        updateOne: {
          filter: { _id: objectId(grant.productId), version: grant.version },
          update: {
            $inc: { available: -grant.units, reserved: grant.units, version: 1 },
            $push: { holds: { $each: grant.holds } },
          },
        },
      })),
      { ordered: false },
    );
    return result.matchedCount === grants.length;
  }

  /**
   * Commits and releases the holds of decided orders (one command, one statement per product).
   * Each statement removes the holds of those orders that are still on the product and moves
   * exactly their quantities, read from the document in the same atomic update: a hold is settled
   * once whoever gets to it first, and a settlement that finds the hold gone (settled by another
   * run) changes nothing. Settling does not bump `version`: it never changes what a reservation
   * decides on (committing leaves `available` alone, releasing only adds to it), so it never makes
   * another worker's reservation conflict.
   */
  async settle(settlements: readonly Settlement[]): Promise<void> {
    if (settlements.length === 0) return;
    await this.productDocs.bulkWrite(
      settlements.map((s): AnyBulkWriteOperation<ProductLean> => {
        const settling = [...s.commit, ...s.release];
        const quantityOf = (orderIds: string[]) => ({
          $sum: {
            $map: {
              input: { $filter: { input: '$holds', cond: { $in: ['$$this.orderId', orderIds] } } },
              in: '$$this.quantity',
            },
          },
        });
        return {
          updateOne: {
            filter: { _id: objectId(s.productId), 'holds.orderId': { $in: settling } },
            update: [
              {
                $set: {
                  reserved: { $subtract: ['$reserved', quantityOf(settling)] },
                  sold: { $add: ['$sold', quantityOf(s.commit)] },
                  available: { $add: ['$available', quantityOf(s.release)] },
                  holds: {
                    $filter: {
                      input: '$holds',
                      cond: { $not: [{ $in: ['$$this.orderId', settling] }] },
                    },
                  },
                },
              },
            ],
          },
        };
      }),
      { ordered: false },
    );
  }

  /**
   * A cancelled order gives back everything it took, line by line, once: on each product, the
   * order's hold if it still has one (not committed yet) goes back to available; otherwise the
   * line was committed, and its quantity moves from sold back to available. One atomic update per
   * product, conditional on the product not bearing the order's return mark, which the same update
   * adds: a second attempt, by the cancelling request, a worker or the recovery sweep, finds the
   * mark and changes nothing. Marks older than RETURN_MARK_TTL_MS are dropped on the way.
   */
  async returnStock(
    orderId: string,
    lines: ReadonlyArray<{ productId: string; quantity: number }>,
    now = new Date(),
  ): Promise<void> {
    if (lines.length === 0) return;
    const ofOrder = { $eq: ['$$this.orderId', { $literal: orderId }] };
    const held = { $gt: ['$_held', 0] };
    await this.productDocs.bulkWrite(
      lines.map(({ productId, quantity }): AnyBulkWriteOperation<ProductLean> => ({
        updateOne: {
          filter: { _id: objectId(productId), 'returns.orderId': { $ne: orderId } },
          update: [
            {
              $set: {
                _held: {
                  $sum: {
                    $map: {
                      input: { $filter: { input: '$holds', cond: ofOrder } },
                      in: '$$this.quantity',
                    },
                  },
                },
              },
            },
            {
              $set: {
                reserved: { $subtract: ['$reserved', '$_held'] },
                sold: { $cond: [held, '$sold', { $subtract: ['$sold', quantity] }] },
                available: { $add: ['$available', { $cond: [held, '$_held', quantity] }] },
                holds: { $filter: { input: '$holds', cond: { $not: [ofOrder] } } },
                returns: {
                  $concatArrays: [
                    {
                      $filter: {
                        input: { $ifNull: ['$returns', []] },
                        cond: { $gt: ['$$this.at', new Date(now.getTime() - RETURN_MARK_TTL_MS)] },
                      },
                    },
                    [{ orderId: { $literal: orderId }, at: now }],
                  ],
                },
              },
            },
            { $unset: '_held' },
          ],
        },
      })),
      { ordered: false },
    );
  }
}

/** How long a product keeps the mark of a cancelled order's return (StockReturn). */
export const RETURN_MARK_TTL_MS = 24 * 3600 * 1000;

/** The processing path talks to the driver directly: mongoose's query layer was a large share of a job's CPU. */
function objectId(id: string): Types.ObjectId {
  return new Types.ObjectId(id);
}

function toRecord(p: ProductLean): ProductRecord {
  return {
    id: p._id.toString(),
    name: p.name,
    description: p.description,
    price: p.price,
    currency: p.currency,
    active: p.active,
    available: p.available,
    reserved: p.reserved,
    sold: p.sold,
    received: p.received,
    version: p.version,
  };
}

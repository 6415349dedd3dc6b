/**
 * Every write to stock happens here. Reservations use optimistic locking: read the product with
 * its `version`, decide with the pure domain rules, write conditionally on that version and bump
 * it. Committing or releasing a hold is conditional on the hold itself, so each of these writes
 * applies at most once however often a job is redelivered.
 */
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError } from '../common/errors.js';
import {
  MAX_VERSION_CONFLICTS,
  ReservationOutcome,
  conflictBackoffMs,
  decideReservation,
} from '../order/domain/reservation.js';
import type { CatalogEntry } from '../order/domain/pricing.js';
import { Metrics } from '../metrics/metrics.service.js';
import { nativeCollection } from '../common/native-collection.js';
import type { Collection } from 'mongodb';
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

/** A reservation kept losing the race for the product's version: retry the attempt later. */
export class VersionConflictError extends Error {
  constructor(productId: string, attempts: number) {
    super(`product ${productId}: version conflict persisted after ${attempts} attempts`);
    this.name = 'VersionConflictError';
  }
}

type ProductLean = Product & { _id: Types.ObjectId };

@Injectable()
export class StockRepository {
  private readonly productDocs: Collection<ProductLean>;

  constructor(
    @InjectModel(Product.name) private readonly products: Model<Product>,
    private readonly metrics: Metrics,
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

  /** Name, price and availability of the given products, for pricing an order. */
  async catalogEntries(ids: string[]): Promise<Map<string, CatalogEntry>> {
    const found = await this.products.collection
      .find<Pick<ProductLean, '_id' | 'name' | 'price' | 'currency' | 'active'>>(
        { _id: { $in: ids.map(objectId) } },
        { projection: { name: 1, price: 1, currency: 1, active: 1 } },
      )
      .toArray();
    return new Map(
      found.map((p) => [
        p._id.toString(),
        {
          id: p._id.toString(),
          name: p.name,
          price: p.price,
          currency: p.currency,
          active: p.active,
        },
      ]),
    );
  }

  /** Restock (positive delta) or correct (negative); never takes `available` below zero. */
  async adjust(id: string, delta: number): Promise<ProductRecord> {
    for (let attempt = 1; ; attempt++) {
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
      if (updated) return toRecord(updated);
      this.conflicted();
      if (attempt >= MAX_VERSION_CONFLICTS) throw new VersionConflictError(id, attempt);
      await sleep(conflictBackoffMs(attempt, Math.random()));
    }
  }

  /** Takes the product off sale; orders that still need it fail with PRODUCT_UNAVAILABLE. */
  async discontinue(id: string): Promise<void> {
    const result = await this.products
      .updateOne({ _id: id, active: true }, { $set: { active: false }, $inc: { version: 1 } })
      .exec();
    if (result.matchedCount === 0) throw new NotFoundError('Product');
  }

  /**
   * Holds `quantity` units for `orderId`: read, decide, write on the version read. Returns `held`
   * also when an earlier run of the same order already holds them.
   */
  async reserve(productId: string, orderId: string, quantity: number): Promise<ReservationOutcome> {
    for (let attempt = 1; ; attempt++) {
      const product = await this.productDocs.findOne<
        Pick<ProductLean, 'active' | 'available' | 'version' | 'holds'>
      >(
        { _id: objectId(productId) },
        { projection: { active: 1, available: 1, version: 1, holds: { $elemMatch: { orderId } } } },
      );
      const decision = decideReservation(
        product ? { ...product, heldByOrder: product.holds?.[0]?.quantity } : undefined,
        quantity,
      );
      if (decision.action === 'already-held') return { result: 'held' };
      if (decision.action === 'reject') return { result: 'rejected', reason: decision.reason };
      const written = await this.productDocs.updateOne(
        { _id: objectId(productId), version: product?.version },
        {
          $inc: { available: -quantity, reserved: quantity, version: 1 },
          $push: { holds: { orderId, quantity } },
        },
      );
      if (written.modifiedCount === 1) return { result: 'held' };
      this.conflicted();
      if (attempt >= MAX_VERSION_CONFLICTS) throw new VersionConflictError(productId, attempt);
      await sleep(conflictBackoffMs(attempt, Math.random()));
    }
  }

  /** Turns the order's hold into a sale. False when there was no such hold (already settled). */
  async commit(productId: string, orderId: string, quantity: number): Promise<boolean> {
    return this.settle(productId, orderId, quantity, { reserved: -quantity, sold: quantity });
  }

  /** Gives the order's hold back to `available`. False when there was no such hold. */
  async release(productId: string, orderId: string, quantity: number): Promise<boolean> {
    return this.settle(productId, orderId, quantity, { reserved: -quantity, available: quantity });
  }

  /** A lost optimistic-locking race: the product changed between our read and our write. */
  private conflicted(): void {
    this.metrics.versionConflicts.inc();
  }

  private async settle(
    productId: string,
    orderId: string,
    quantity: number,
    inc: Record<string, number>,
  ): Promise<boolean> {
    const result = await this.productDocs.updateOne(
      { _id: objectId(productId), holds: { $elemMatch: { orderId, quantity } } },
      { $pull: { holds: { orderId } }, $inc: { ...inc, version: 1 } },
    );
    return result.modifiedCount === 1;
  }
}

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

import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import type { Verdict } from './domain/order-state.js';
import { Order } from './order.schema.js';
import { nativeCollection } from '../common/native-collection.js';
import type { Collection } from 'mongodb';

export type OrderRecord = Order & { _id: Types.ObjectId };

/** Every query and write on orders. Status changes are conditional on the status they leave. */
@Injectable()
export class OrderRepository {
  private readonly orderDocs: Collection<OrderRecord>;

  constructor(@InjectModel(Order.name) private readonly orders: Model<Order>) {
    this.orderDocs = nativeCollection<OrderRecord>(orders);
  }

  async create(
    order: Omit<
      Order,
      | 'createdAt'
      | 'updatedAt'
      | 'status'
      | 'failureReason'
      | 'attempts'
      | 'lastError'
      | 'decidedAt'
    >,
  ): Promise<OrderRecord> {
    const now = new Date();
    const record: OrderRecord = {
      _id: new Types.ObjectId(),
      ...order,
      status: 'PENDING',
      failureReason: null,
      attempts: 0,
      lastError: null,
      decidedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    // Validated and priced already: a plain insert keeps mongoose's document machinery (casting,
    // validators, hydration) off the hottest path. The unique index still answers with 11000.
    await this.orderDocs.insertOne(record);
    return record;
  }

  async findById(id: string): Promise<OrderRecord | undefined> {
    return (await this.orderDocs.findOne({ _id: new Types.ObjectId(id) })) ?? undefined;
  }

  async findByIdempotencyKey(
    userId: string,
    idempotencyKey: string,
  ): Promise<OrderRecord | undefined> {
    return (
      (await this.orders.findOne({ userId, idempotencyKey }).lean<OrderRecord>().exec()) ??
      undefined
    );
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
        .lean<OrderRecord[]>()
        .exec(),
      this.orders.countDocuments({ userId }).exec(),
    ]);
    return { items, total };
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
    const now = new Date();
    const decided = await this.orderDocs.findOneAndUpdate(
      { _id: new Types.ObjectId(id), status: 'PENDING' },
      {
        $set: {
          status: verdict.status,
          failureReason: verdict.status === 'FAILED' ? verdict.reason : null,
          attempts,
          lastError: lastError ?? null,
          decidedAt: now,
          updatedAt: now,
        },
      },
      { returnDocument: 'after' },
    );
    return decided ?? undefined;
  }

  /** Orders still PENDING that were accepted before `acceptedBefore`, oldest first. */
  async findPendingSince(
    acceptedBefore: Date,
    limit: number,
  ): Promise<Array<Pick<OrderRecord, '_id' | 'priority'>>> {
    return this.orders
      .find({ status: 'PENDING', createdAt: { $lt: acceptedBefore } }, { priority: 1 })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<Array<Pick<OrderRecord, '_id' | 'priority'>>>()
      .exec();
  }

  /**
   * FAILED(PROCESSING_ERROR) → PENDING, so an admin can send a dead-lettered order through
   * processing again. Only a processing error reopens: a confirmation or a business failure is
   * final. Returns the reopened order, or undefined when the order was not in that state.
   */
  async reopenAfterProcessingError(id: string): Promise<OrderRecord | undefined> {
    const reopened = await this.orders
      .findOneAndUpdate(
        { _id: id, status: 'FAILED', failureReason: 'PROCESSING_ERROR' },
        { $set: { status: 'PENDING', failureReason: null, lastError: null, decidedAt: null } },
        { returnDocument: 'after' },
      )
      .lean<OrderRecord>()
      .exec();
    return reopened ?? undefined;
  }

  /** Status and failure reason of the given orders, by id; unknown ids are absent. */
  async findOutcomes(
    ids: string[],
  ): Promise<Map<string, Pick<OrderRecord, 'status' | 'failureReason'>>> {
    const found = await this.orders
      .find({ _id: { $in: ids } }, { status: 1, failureReason: 1 })
      .lean<Array<Pick<OrderRecord, '_id' | 'status' | 'failureReason'>>>()
      .exec();
    return new Map(
      found.map((o) => [o._id.toString(), { status: o.status, failureReason: o.failureReason }]),
    );
  }
}

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';
import { FAILURE_REASONS, ORDER_STATUSES, PRIORITY } from './domain/order-state.js';
import type { FailureReason, OrderStatus, PriorityLabel } from './domain/order-state.js';

@Schema({ _id: false, versionKey: false })
export class OrderLine {
  @Prop({ required: true })
  productId!: string;

  @Prop({ required: true })
  name!: string;

  /** Minor units, copied from the catalog when the order was accepted. */
  @Prop({ required: true })
  unitPrice!: number;

  @Prop({ required: true })
  quantity!: number;

  @Prop({ required: true })
  lineTotal!: number;
}

const OrderLineSchema = SchemaFactory.createForClass(OrderLine);

@Schema({ collection: 'orders', timestamps: true, versionKey: false })
export class Order {
  @Prop({ required: true })
  userId!: string;

  @Prop({ type: [OrderLineSchema], required: true })
  items!: OrderLine[];

  @Prop({ required: true })
  total!: number;

  @Prop({ required: true })
  currency!: string;

  @Prop({ type: String, required: true, enum: Object.keys(PRIORITY) })
  priority!: PriorityLabel;

  @Prop({ type: String, required: true, enum: ORDER_STATUSES, default: 'PENDING' })
  status!: OrderStatus;

  @Prop({ type: String, enum: [...FAILURE_REASONS, null], default: null })
  failureReason!: FailureReason | null;

  /** Processing attempts used when the order was decided. */
  @Prop({ required: true, default: 0 })
  attempts!: number;

  /** The last transient error, for orders that ended in the dead-letter queue. */
  @Prop({ type: String, default: null })
  lastError!: string | null;

  @Prop({ type: Date, default: null })
  decidedAt!: Date | null;

  @Prop({ type: String })
  idempotencyKey?: string;

  /** Fingerprint of the request that used `idempotencyKey`, to refuse a different body with the same key. */
  @Prop({ type: String })
  requestHash?: string;

  createdAt!: Date;
  updatedAt!: Date;
}

export type OrderDocument = HydratedDocument<Order>;
export const OrderSchema = SchemaFactory.createForClass(Order);
OrderSchema.index({ userId: 1, createdAt: -1 });
OrderSchema.index(
  { userId: 1, idempotencyKey: 1 },
  { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } },
);
OrderSchema.index({ status: 1, createdAt: 1 });
// Stock a waiting VIP order needs is kept for it from regular orders, whichever worker gets to
// the product first (stock/domain/reservation.ts). Only PENDING VIP orders are in this index.
OrderSchema.index(
  { 'items.productId': 1 },
  {
    partialFilterExpression: { status: 'PENDING', priority: 'VIP' },
    name: 'pending_vip_by_product',
  },
);

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';
import { FAILURE_REASONS, ORDER_STATUSES, PRIORITY } from './domain/order-state.js';
import type { FailureReason, OrderStatus, PriorityLabel } from './domain/order-state.js';
import { HISTORY_EVENTS } from './domain/history.js';
import type { HistoryEvent } from './domain/history.js';

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

/** One entry of the order's history (domain/history.ts). */
@Schema({ _id: false, versionKey: false })
export class OrderHistoryEntry {
  @Prop({ required: true })
  seq!: number;

  @Prop({ type: String, required: true, enum: HISTORY_EVENTS })
  event!: HistoryEvent;

  @Prop({ type: String, required: true, enum: ORDER_STATUSES })
  status!: OrderStatus;

  @Prop({ required: true })
  at!: Date;

  @Prop({ required: true })
  actor!: string;

  @Prop({ type: String })
  reason?: string;
}

const OrderHistoryEntrySchema = SchemaFactory.createForClass(OrderHistoryEntry);

@Schema({ collection: 'orders', timestamps: true, versionKey: false })
export class Order {
  /** What people read out: `ORD-2026-000123` (domain/order-number.ts, order-numbers.ts). */
  @Prop({ type: String, required: true })
  orderNumber!: string;

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

  /** The status a cancelled order left: it says whether the order can hold sold stock. */
  @Prop({ type: String, enum: [...ORDER_STATUSES, null], default: null })
  cancelledFrom!: OrderStatus | null;

  /**
   * For a cancelled order: false until everything it held or bought is back in stock, then true.
   * The recovery sweep finishes what a cancellation interrupted left false.
   */
  @Prop({ type: Boolean, default: null })
  stockReturned!: boolean | null;

  /** Every change of status, oldest first, numbered from 1 (domain/history.ts). */
  @Prop({ type: [OrderHistoryEntrySchema], default: [] })
  history!: OrderHistoryEntry[];

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
OrderSchema.index(
  { orderNumber: 1 },
  { unique: true, partialFilterExpression: { orderNumber: { $type: 'string' } } },
);
// Staff search (GET /admin/orders), newest first: one index per filter, in the walk's order.
OrderSchema.index({ createdAt: -1, _id: -1 });
OrderSchema.index({ userId: 1, createdAt: -1, _id: -1 });
OrderSchema.index({ status: 1, createdAt: -1, _id: -1 });
OrderSchema.index({ priority: 1, createdAt: -1, _id: -1 });
OrderSchema.index({ 'items.productId': 1, createdAt: -1, _id: -1 });
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
// The reports' rollup reads the orders changed since its last run (src/reports/rollup.service.ts).
OrderSchema.index({ updatedAt: 1, _id: 1 });
// Cancellations whose stock is not back yet: the recovery sweep finishes them.
OrderSchema.index(
  { updatedAt: 1 },
  { partialFilterExpression: { stockReturned: false }, name: 'cancellations_returning_stock' },
);

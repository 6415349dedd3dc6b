import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { FAILURE_REASONS, ORDER_STATUSES, PRIORITY, STAFF_TARGETS } from '../domain/order-state.js';
import type { StaffTarget } from '../domain/order-state.js';
import { HISTORY_EVENTS } from '../domain/history.js';
import type { HistoryEntry, HistoryEvent } from '../domain/history.js';
import type { OrderStatus, PriorityLabel } from '../domain/order-state.js';
import type { FailureReason } from '../domain/order-state.js';
import type { OrderRecord } from '../order.repository.js';
import { PageOf } from '../../common/pagination.js';
import { IsObjectIdField } from '../../common/object-id.pipe.js';
import { MaxItemsFromConfig } from '../../common/validation.js';

/** The configured limit (ORDER_MAX_LINES) on the lines of one order. */
export const ORDER_LINES_LIMIT = 'orderLines';
export const MAX_LINE_QUANTITY = 1000;

export class OrderItemDto {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a79', description: 'Product id (ObjectId)' })
  @IsObjectIdField()
  productId!: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: MAX_LINE_QUANTITY })
  @IsInt()
  @Min(1)
  @Max(MAX_LINE_QUANTITY)
  quantity!: number;
}

export class PlaceOrderDto {
  @ApiProperty({
    type: [OrderItemDto],
    minItems: 1,
    description: 'One line per product; at most ORDER_MAX_LINES lines (default 20)',
  })
  @IsArray()
  @ArrayMinSize(1)
  @MaxItemsFromConfig(ORDER_LINES_LIMIT)
  @ArrayUnique((item: OrderItemDto) => item?.productId, {
    message: 'items must not list the same productId twice',
  })
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items!: OrderItemDto[];
}

export class OrderLineView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a79' })
  productId!: string;

  @ApiProperty({ example: 'Espresso cup' })
  name!: string;

  @ApiProperty({ example: 1299, description: 'Catalog price at acceptance, minor units' })
  unitPrice!: number;

  @ApiProperty({ example: 2 })
  quantity!: number;

  @ApiProperty({ example: 2598 })
  lineTotal!: number;
}

export class OrderView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a80' })
  id!: string;

  @ApiProperty({
    example: 'ORD-2026-000123',
    description: 'Unique, for people: the year of acceptance and a number that grows',
  })
  orderNumber!: string;

  @ApiProperty({ enum: ORDER_STATUSES })
  status!: OrderStatus;

  @ApiProperty({ type: [OrderLineView] })
  items!: OrderLineView[];

  @ApiProperty({ example: 2598, description: 'Minor units' })
  total!: number;

  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({
    enum: Object.keys(PRIORITY),
    description: 'VIP orders are processed before regular ones',
  })
  priority!: PriorityLabel;

  @ApiPropertyOptional({ enum: FAILURE_REASONS, nullable: true })
  failureReason!: FailureReason | null;

  @ApiProperty({ example: 1, description: 'Processing attempts used to decide the order' })
  attempts!: number;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty()
  updatedAt!: Date;

  @ApiPropertyOptional({ nullable: true, description: 'When the order left PENDING' })
  decidedAt!: Date | null;

  @ApiPropertyOptional({
    enum: ORDER_STATUSES,
    nullable: true,
    description: 'For a cancelled order: the status it was cancelled from',
  })
  cancelledFrom!: OrderStatus | null;

  @ApiPropertyOptional({
    nullable: true,
    description:
      'For a cancelled order: false until everything it held or bought is back in stock (shortly after the cancellation), then true',
  })
  stockReturned!: boolean | null;
}

export class HistoryEntryView {
  @ApiProperty({
    example: 2,
    description: 'Grows by one per order from 1; resume after the last one seen',
  })
  seq!: number;

  @ApiProperty({ enum: HISTORY_EVENTS, example: 'CONFIRMED' })
  event!: HistoryEvent;

  @ApiProperty({ enum: ORDER_STATUSES, description: 'The order status once this entry applies' })
  status!: OrderStatus;

  @ApiProperty()
  at!: Date;

  @ApiProperty({
    example: 'system',
    description: 'The user id of whoever made the change, or system',
  })
  actor!: string;

  @ApiPropertyOptional({
    example: 'OUT_OF_STOCK',
    description:
      "A failure's reason; the status a cancellation left; a reopened order's former reason",
  })
  reason?: string;
}

export class OrderHistoryView {
  @ApiProperty({ type: [HistoryEntryView], description: 'Oldest first' })
  items!: HistoryEntryView[];
}

export class MoveOrderDto {
  @ApiProperty({ enum: STAFF_TARGETS, example: 'SHIPPED' })
  @IsIn(STAFF_TARGETS)
  status!: StaffTarget;
}

export function toHistoryView(history: readonly HistoryEntry[]): OrderHistoryView {
  return {
    items: history.map(({ seq, event, status, at, actor, reason }) => ({
      seq,
      event,
      status,
      at,
      actor,
      ...(reason === undefined || reason === null ? {} : { reason }),
    })),
  };
}

export class OrderPage extends PageOf(OrderView) {}

export function toOrderView(order: OrderRecord): OrderView {
  return {
    id: order.id,
    orderNumber: order.orderNumber,
    status: order.status,
    items: order.items.map((item) => ({
      productId: item.productId,
      name: item.name,
      unitPrice: item.unitPrice,
      quantity: item.quantity,
      lineTotal: item.lineTotal,
    })),
    total: order.total,
    currency: order.currency,
    priority: order.priority,
    failureReason: order.failureReason ?? null,
    attempts: order.attempts,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    decidedAt: order.decidedAt ?? null,
    cancelledFrom: order.cancelledFrom ?? null,
    stockReturned: order.stockReturned ?? null,
  };
}

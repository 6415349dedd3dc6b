import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import { IsObjectIdField } from '../../common/object-id.pipe.js';
import { CursorPageOf, CursorQueryDto } from '../../common/pagination.js';
import { ORDER_NUMBER } from '../domain/order-number.js';
import { ORDER_STATUSES, PRIORITY } from '../domain/order-state.js';
import type { OrderStatus, PriorityLabel } from '../domain/order-state.js';
import { OrderView } from './order.dto.js';

/** GET /admin/orders: every filter optional, combined with AND; newest first. */
export class OrderSearchQuery extends CursorQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @ApiPropertyOptional({ description: 'The customer (user id)' })
  @IsOptional()
  @IsObjectIdField()
  userId?: string;

  @ApiPropertyOptional({ enum: Object.keys(PRIORITY) })
  @IsOptional()
  @IsIn(Object.keys(PRIORITY))
  priority?: PriorityLabel;

  @ApiPropertyOptional({ description: 'Orders with a line of this product' })
  @IsOptional()
  @IsObjectIdField()
  productId?: string;

  @ApiPropertyOptional({
    description: 'Accepted at or after (ISO 8601)',
    example: '2026-11-30T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({
    description: 'Accepted before (ISO 8601)',
    example: '2026-12-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ description: 'One order by its number', example: 'ORD-2026-000123' })
  @IsOptional()
  @Matches(ORDER_NUMBER, { message: 'number must look like ORD-2026-000123' })
  number?: string;
}

export class OrderSearchPage extends CursorPageOf(OrderView) {}

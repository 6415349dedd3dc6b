import { ApiProperty } from '@nestjs/swagger';
import { FAILURE_REASONS, ORDER_STATUSES } from '../../order/domain/order-state.js';
import type { OrderStatus } from '../../order/domain/order-state.js';
import type { FailureReason } from '../../order/domain/order-state.js';
import { DEAD_LETTER_STATES } from '../../order/order.queue.js';
import type { DeadLetter, DeadLetterState } from '../../order/order.queue.js';
import type { OrderRecord } from '../../order/order.repository.js';
import { PageOf } from '../../common/pagination.js';

export class DeadLetterOrderView {
  @ApiProperty({ enum: ORDER_STATUSES, example: 'FAILED' })
  status!: OrderStatus;

  @ApiProperty({ enum: FAILURE_REASONS, nullable: true, example: 'PROCESSING_ERROR' })
  failureReason!: FailureReason | null;
}

export class DeadLetterView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a80', description: 'Job id (the order id)' })
  jobId!: string;

  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a80' })
  orderId!: string;

  @ApiProperty({
    example: 'connection 5 to 10.0.0.7:27017 timed out',
    description: 'The error of the last processing attempt',
  })
  lastError!: string;

  @ApiProperty({ example: 5, description: 'Processing attempts used before dead-lettering' })
  attempts!: number;

  @ApiProperty({ example: '2024-06-04T10:15:00.000Z', description: 'When the last attempt failed' })
  failedAt!: string;

  @ApiProperty({
    enum: [...DEAD_LETTER_STATES, 'unknown'],
    description:
      'The letter in the dead-letter queue: waiting/active/delayed = not handled yet; completed = ' +
      'the order was failed with PROCESSING_ERROR and its stock holds released; failed = handling it failed',
  })
  state!: DeadLetterState | 'unknown';

  @ApiProperty({
    type: DeadLetterOrderView,
    nullable: true,
    description: 'The order now; null if it no longer exists',
  })
  order!: DeadLetterOrderView | null;
}

export class DeadLetterPage extends PageOf(DeadLetterView) {}

export function toDeadLetterView(
  letter: DeadLetter,
  order: Pick<OrderRecord, 'status' | 'failureReason'> | undefined,
): DeadLetterView {
  return {
    jobId: letter.jobId,
    orderId: letter.data.orderId,
    lastError: letter.data.lastError,
    attempts: letter.data.attempts,
    failedAt: letter.data.failedAt,
    state: letter.state,
    order: order ? { status: order.status, failureReason: order.failureReason ?? null } : null,
  };
}

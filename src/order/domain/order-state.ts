/**
 * An order's life: PENDING → CONFIRMED | FAILED. The status on the order document is the single
 * point of decision; per-line holds on the product documents follow it. Every transition is a
 * conditional write naming the status it expects, so re-running one that already happened changes
 * nothing.
 */
import type {
  ReservationVerdict,
  RejectionReason,
  Settling,
} from '../../stock/domain/reservation.js';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Why an order failed: its stock could not be reserved, or processing kept failing. */
export type FailureReason = RejectionReason | 'PROCESSING_ERROR';
export const FAILURE_REASONS: readonly FailureReason[] = [
  'OUT_OF_STOCK',
  'PRODUCT_UNAVAILABLE',
  'PROCESSING_ERROR',
];

export type Verdict = { status: 'CONFIRMED' } | { status: 'FAILED'; reason: FailureReason };

/** Every line held → confirmed; a line that could not be held fails the order with its reason. */
export function verdictFor(reservation: ReservationVerdict): Verdict {
  return reservation.result === 'held'
    ? { status: 'CONFIRMED' }
    : { status: 'FAILED', reason: reservation.reason };
}

/**
 * What happens to an order's holds once its status is final: a confirmed order turns them into
 * sales, a failed one gives them back. A pending order has nothing to settle yet.
 */
export function settlementFor(status: OrderStatus): Settling | 'none' {
  switch (status) {
    case 'CONFIRMED':
      return 'commit';
    case 'FAILED':
      return 'release';
    case 'PENDING':
      return 'none';
  }
}

/** BullMQ: a lower number is a higher priority, and a job with none outruns every prioritized job. */
export const PRIORITY = { VIP: 1, REGULAR: 10 } as const;
export type PriorityLabel = keyof typeof PRIORITY;

export function priorityFor(isVip: boolean): PriorityLabel {
  return isVip ? 'VIP' : 'REGULAR';
}

/**
 * An order's life: PENDING → CONFIRMED | FAILED. The status on the order document is the single
 * point of decision; per-line holds on the product documents follow it. Every transition is a
 * conditional write naming the status it expects, so re-running one that already happened changes
 * nothing.
 */
import { FailureReason, ReservationOutcome } from './reservation.js';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FAILURE_REASONS: readonly FailureReason[] = [
  'OUT_OF_STOCK',
  'PRODUCT_UNAVAILABLE',
  'PROCESSING_ERROR',
];

export type LineOutcome = ReservationOutcome & { productId: string };

export type Verdict = { status: 'CONFIRMED' } | { status: 'FAILED'; reason: FailureReason };

/** All lines held → confirmed; the first rejected line decides the failure reason. */
export function verdictFor(outcomes: LineOutcome[]): Verdict {
  const rejected = outcomes.find((o) => o.result === 'rejected');
  return rejected && rejected.result === 'rejected'
    ? { status: 'FAILED', reason: rejected.reason }
    : { status: 'CONFIRMED' };
}

/**
 * What happens to an order's holds once its status is final: a confirmed order turns them into
 * sales, a failed one gives them back. A pending order has nothing to settle yet.
 */
export function settlementFor(status: OrderStatus): 'commit' | 'release' | 'none' {
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

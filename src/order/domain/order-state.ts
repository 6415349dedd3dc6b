/**
 * An order's life:
 *
 *   PENDING ──▶ CONFIRMED ──▶ PREPARING ──▶ SHIPPED ──▶ DELIVERED
 *     │  │          │             │
 *     │  └──────────┴─────────────┴──▶ CANCELLED
 *     └──▶ FAILED ──(dead-letter retry)──▶ PENDING
 *
 * The workers decide PENDING orders; people move them on: the owner may cancel while the order is
 * PENDING or CONFIRMED, staff (the staff and admin roles) also while it is PREPARING, and only
 * staff fulfil. The status on the order document is the single point of decision; per-line holds
 * and sales on the product documents follow it. Every transition is a conditional write naming the
 * statuses it may leave, so re-running one that already happened changes nothing.
 */
import type {
  ReservationVerdict,
  RejectionReason,
  Settling,
} from '../../stock/domain/reservation.js';

export const ORDER_STATUSES = [
  'PENDING',
  'CONFIRMED',
  'FAILED',
  'PREPARING',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Orders whose units are sold: confirmed, and on their way through fulfilment. */
export const SOLD_STATUSES = ['CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED'] as const;

/** What staff may set through the fulfilment route. */
export const STAFF_TARGETS = ['PREPARING', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;
export type StaffTarget = (typeof STAFF_TARGETS)[number];

/** Who moves an order: its owner, staff (the staff and admin roles), or the workers. */
export type Mover = 'owner' | 'staff' | 'system';

/** Every allowed transition, and who may make it. Nothing leaves DELIVERED or CANCELLED. */
const TRANSITIONS: Readonly<Record<OrderStatus, Partial<Record<OrderStatus, readonly Mover[]>>>> = {
  PENDING: { CONFIRMED: ['system'], FAILED: ['system'], CANCELLED: ['owner', 'staff'] },
  CONFIRMED: { PREPARING: ['staff'], CANCELLED: ['owner', 'staff'] },
  PREPARING: { SHIPPED: ['staff'], CANCELLED: ['staff'] },
  SHIPPED: { DELIVERED: ['staff'] },
  DELIVERED: {},
  // A dead-lettered order (PROCESSING_ERROR) is reopened by an admin's retry.
  FAILED: { PENDING: ['staff'] },
  CANCELLED: {},
};

/** Whether `mover` may move an order from `from` to `to`. */
export function mayMove(from: OrderStatus, to: OrderStatus, mover: Mover): boolean {
  return TRANSITIONS[from][to]?.includes(mover) ?? false;
}

/** The statuses `mover` may move an order to from `from`, in the order of ORDER_STATUSES. */
export function nextStatuses(from: OrderStatus, mover: Mover): OrderStatus[] {
  return ORDER_STATUSES.filter((to) => mayMove(from, to, mover));
}

/** The statuses from which `mover` may move an order to `to`: the filter of its conditional write. */
export function statusesLeadingTo(to: OrderStatus, mover: Mover): OrderStatus[] {
  return ORDER_STATUSES.filter((from) => mayMove(from, to, mover));
}

/**
 * What a request to move an order that is now `current` to `to` comes to: the move, nothing (the
 * order is there already: a repeated request answers the same), or a refusal naming what `mover`
 * may do from here.
 */
export type MoveCheck =
  { kind: 'move' } | { kind: 'already' } | { kind: 'refused'; message: string };

export function checkMove(current: OrderStatus, to: OrderStatus, mover: Mover): MoveCheck {
  if (current === to) return { kind: 'already' };
  if (mayMove(current, to, mover)) return { kind: 'move' };
  const allowed = nextStatuses(current, mover);
  return {
    kind: 'refused',
    message:
      `The order is ${current}; it cannot move to ${to}` +
      (allowed.length > 0
        ? ` (allowed: ${allowed.join(', ')})`
        : ' (no further change is allowed)'),
  };
}

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
 * What happens to an order's stock once it has been decided: a confirmed order (and one in
 * fulfilment) turns its holds into sales, a failed one gives them back. A cancelled order gives
 * back everything it took: one cancelled while PENDING can only have holds (`release`); one
 * cancelled after its confirmation may have holds or sales, line by line (`undo`, which returns
 * either, once). A pending order has nothing to settle yet.
 */
export function settlementFor(
  status: OrderStatus,
  cancelledFrom?: OrderStatus | null,
): Settling | 'undo' | 'none' {
  switch (status) {
    case 'CONFIRMED':
    case 'PREPARING':
    case 'SHIPPED':
    case 'DELIVERED':
      return 'commit';
    case 'FAILED':
      return 'release';
    case 'CANCELLED':
      return cancelledFrom === 'PENDING' ? 'release' : 'undo';
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

/**
 * The reservation decisions, as plain functions: what a worker does with one order line given the
 * product it read, how long it waits after a version conflict, and how a finished order settles
 * the stock it holds. No Nest, no mongoose: the stock repository and processor wire these up.
 */

export type FailureReason = 'OUT_OF_STOCK' | 'PRODUCT_UNAVAILABLE' | 'PROCESSING_ERROR';

/** What a worker read of a product for one order line. */
export interface ProductSnapshot {
  active: boolean;
  available: number;
  version: number;
  /** The quantity this order already holds on the product, when it holds any. */
  heldByOrder: number | undefined;
}

/** Why a line cannot be reserved: a business outcome, final for the order. */
export type RejectionReason = Exclude<FailureReason, 'PROCESSING_ERROR'>;

export type ReservationDecision =
  | { action: 'reserve' }
  | { action: 'already-held' }
  | { action: 'reject'; reason: RejectionReason };

export type ReservationOutcome =
  { result: 'held' } | { result: 'rejected'; reason: RejectionReason };

export function decideReservation(
  product: ProductSnapshot | undefined,
  quantity: number,
): ReservationDecision {
  // A hold recorded by an earlier run of the same job is kept: redelivery must not reserve twice.
  if (product?.heldByOrder !== undefined) return { action: 'already-held' };
  if (!product || !product.active) return { action: 'reject', reason: 'PRODUCT_UNAVAILABLE' };
  if (product.available < quantity) return { action: 'reject', reason: 'OUT_OF_STOCK' };
  return { action: 'reserve' };
}

/** Version conflicts retried in-process before the attempt fails as transient. */
export const MAX_VERSION_CONFLICTS = 12;

/**
 * Full-jitter backoff after the `attempt`-th conflict (1-based): spreads competing workers apart
 * so one of them wins the next round. `random` is in [0, 1).
 */
export function conflictBackoffMs(attempt: number, random: number): number {
  const ceiling = Math.min(64, 2 ** attempt);
  return Math.floor(random * ceiling);
}

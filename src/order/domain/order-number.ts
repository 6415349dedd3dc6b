/** Order numbers people read out: `ORD-2026-000123`, the year of acceptance and a sequence number. */

export const ORDER_NUMBER = /^ORD-\d{4}-\d{6,}$/;

export function formatOrderNumber(sequence: number, acceptedAt: Date): string {
  return `ORD-${acceptedAt.getUTCFullYear()}-${String(sequence).padStart(6, '0')}`;
}

/**
 * Numbers are handed out from blocks a process reserves ahead: `[first, last]` of a block whose
 * counter now reads `counter` after adding `size`.
 */
export function blockEndingAt(counter: number, size: number): { first: number; last: number } {
  return { first: counter - size + 1, last: counter };
}

/**
 * An order's history: every change of its status, in order, each with a sequence number that
 * grows by one per order from 1 (acceptance). The entries are appended by the same conditional
 * write that makes the change, so the history can neither miss a change nor record one that did
 * not happen, and a reader that saw entries up to `seq` n resumes from n + 1.
 */
import type { FailureReason, OrderStatus } from './order-state.js';

/** What happened: a status change, or the reservation of the order's stock (still PENDING). */
export const HISTORY_EVENTS = [
  'ACCEPTED',
  'RESERVED',
  'CONFIRMED',
  'FAILED',
  'PREPARING',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'REOPENED',
] as const;
export type HistoryEvent = (typeof HISTORY_EVENTS)[number];

/** The actor of an entry made by the workers or the recovery sweep. */
export const SYSTEM_ACTOR = 'system';

export interface HistoryEntry {
  seq: number;
  event: HistoryEvent;
  /** The order's status once the entry applies. */
  status: OrderStatus;
  at: Date;
  /** The user id of whoever made the change, or `system`. */
  actor: string;
  /** A failure's reason, the status a cancellation left, a reopened order's former reason. */
  reason?: string;
}

/** An entry before its sequence number is known: the write that appends it numbers it. */
export type NewHistoryEntry = Omit<HistoryEntry, 'seq'>;

/** The entry of a move to `status` made by a person (cancellation, fulfilment). */
export function moveEntry(status: OrderStatus, actor: string, at: Date): NewHistoryEntry {
  return { event: status as HistoryEvent, status, at, actor };
}

/**
 * The entries of a worker's decision: a confirmation first records the reservation of the stock
 * (when its holds were written), a failure its reason.
 */
export function decisionEntries(
  verdict: { status: 'CONFIRMED' } | { status: 'FAILED'; reason: FailureReason },
  heldAt: Date,
  decidedAt: Date,
): NewHistoryEntry[] {
  if (verdict.status === 'CONFIRMED')
    return [
      { event: 'RESERVED', status: 'PENDING', at: heldAt, actor: SYSTEM_ACTOR },
      { event: 'CONFIRMED', status: 'CONFIRMED', at: decidedAt, actor: SYSTEM_ACTOR },
    ];
  return [
    {
      event: 'FAILED',
      status: 'FAILED',
      at: decidedAt,
      actor: SYSTEM_ACTOR,
      reason: verdict.reason,
    },
  ];
}

/** A decision's entries, numbered after the history the worker read (`after`). */
export function decisionHistory(
  verdict: { status: 'CONFIRMED' } | { status: 'FAILED'; reason: FailureReason },
  heldAt: Date,
  decidedAt: Date,
  after: { length: number; lastAt?: Date | undefined },
): HistoryEntry[] {
  return numbered(after.length, decisionEntries(verdict, heldAt, decidedAt), after.lastAt);
}

/**
 * Numbers new entries after a history of `length` entries whose last one is at `lastAt`, and keeps
 * their times from going back before it: the processes that write a history read their own
 * clocks, which may disagree a little.
 */
export function numbered(
  length: number,
  entries: readonly NewHistoryEntry[],
  lastAt?: Date,
): HistoryEntry[] {
  let floor = lastAt?.getTime() ?? -Infinity;
  return entries.map((entry, i) => {
    const at = entry.at.getTime() < floor ? new Date(floor) : entry.at;
    floor = at.getTime();
    return { seq: length + i + 1, ...entry, at };
  });
}

/** Whether a history is whole: sequence numbers 1, 2, 3… and times that never go back. */
export function isGapFree(history: readonly HistoryEntry[]): boolean {
  let previous: HistoryEntry | undefined;
  for (const [i, entry] of history.entries()) {
    if (entry.seq !== i + 1 || (previous && entry.at < previous.at)) return false;
    previous = entry;
  }
  return true;
}

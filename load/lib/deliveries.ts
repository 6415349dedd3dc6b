/**
 * What the live-events sockets of a run received, held against what the database says happened:
 * every decision must reach its owner's socket exactly once, carrying the history entry the worker
 * wrote (status, seq, time), and no socket may receive another shopper's order or a staff event.
 * Plain functions: the scenario gathers both sides (load/scenarios/live.ts).
 */
import { parseEventId } from '../../src/events/domain/live-event.js';

/** One event as a socket received it, with the fields the checks read. */
export interface Arrival {
  name: string;
  /** The event's id: its stream entry's, whose first part is Redis's clock when it was published. */
  id?: string;
  orderId?: string;
  status?: string;
  seq?: number;
  at?: string;
  /** The receiving process's clock (ms since the epoch). */
  receivedAt: number;
}

export interface SocketArrivals {
  /** The shopper whose session opened the socket. */
  ownerId: string;
  events: Arrival[];
}

/** A decided order as stored: its owner and the history entry of its decision. */
export interface Decision {
  orderId: string;
  ownerId: string;
  status: string;
  seq: number;
  at: string;
}

/** Sent to a socket about itself, not about orders: never a misdelivery. */
const NOTICES = new Set(['events_ready', 'resync_required', 'session_expired']);

export interface DeliveryReport {
  expected: number;
  /** Decisions that reached their owner's socket at least once. */
  delivered: number;
  missing: string[];
  /** Decisions that reached their owner's socket more than once. */
  duplicated: string[];
  /** Events a socket received about an order not its shopper's, or meant for staff only. */
  misdelivered: Array<{ ownerId: string; name: string; orderId?: string }>;
  /** Decisions whose event differs from the stored entry (status, seq or time). */
  mismatched: string[];
  /**
   * Orders of the socket's own shopper that it heard of although they are neither a decision of
   * this collection nor expected beside them (the marker): an event of an earlier burst arriving
   * after that burst's deliveries were counted, when the sockets stay connected across bursts.
   */
  unexpected: string[];
  /** Notices other than `events_ready` (a re-sync or an expired session), by name. */
  notices: Record<string, number>;
  /**
   * Per delivered decision: its time as the worker wrote it, the delay to its first arrival, and
   * the part of it until the event was in the stream (undefined without a stream id).
   */
  delays: Array<{ decidedAt: number; ms: number; toStreamMs?: number }>;
}

export function checkDeliveries(
  decisions: readonly Decision[],
  sockets: readonly SocketArrivals[],
  /** The owner of any order id a socket received, as stored. */
  ownerOf: (orderId: string) => string | undefined,
  /** Orders whose events may arrive beside the decisions' (the marker order). */
  alsoExpected: ReadonlySet<string> = new Set(),
): DeliveryReport {
  const arrivals = new Map<string, Arrival[]>();
  const report: DeliveryReport = {
    expected: decisions.length,
    delivered: 0,
    missing: [],
    duplicated: [],
    misdelivered: [],
    mismatched: [],
    unexpected: [],
    notices: {},
    delays: [],
  };
  for (const socket of sockets) {
    for (const event of socket.events) {
      if (NOTICES.has(event.name)) {
        if (event.name !== 'events_ready')
          report.notices[event.name] = (report.notices[event.name] ?? 0) + 1;
        continue;
      }
      const own =
        event.name === 'order_status_update' &&
        event.orderId !== undefined &&
        ownerOf(event.orderId) === socket.ownerId;
      if (!own || event.orderId === undefined) {
        report.misdelivered.push({
          ownerId: socket.ownerId,
          name: event.name,
          ...(event.orderId === undefined ? {} : { orderId: event.orderId }),
        });
        continue;
      }
      const seen = arrivals.get(event.orderId) ?? [];
      seen.push(event);
      arrivals.set(event.orderId, seen);
    }
  }
  const decided = new Set(decisions.map((decision) => decision.orderId));
  for (const orderId of arrivals.keys())
    if (!decided.has(orderId) && !alsoExpected.has(orderId)) report.unexpected.push(orderId);
  for (const decision of decisions) {
    const [first, ...more] = arrivals.get(decision.orderId) ?? [];
    if (!first) {
      report.missing.push(decision.orderId);
      continue;
    }
    report.delivered++;
    if (more.length > 0) report.duplicated.push(decision.orderId);
    if (first.status !== decision.status || first.seq !== decision.seq || first.at !== decision.at)
      report.mismatched.push(decision.orderId);
    const decidedAt = Date.parse(decision.at);
    const streamedAt = parseEventId(first.id)?.entry.ms;
    report.delays.push({
      decidedAt,
      ms: first.receivedAt - decidedAt,
      ...(streamedAt === undefined ? {} : { toStreamMs: streamedAt - decidedAt }),
    });
  }
  return report;
}

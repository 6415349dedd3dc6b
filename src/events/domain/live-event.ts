/**
 * Live events as they travel: every process that changes an order appends what changed to one
 * Redis stream, and every API replica reads that stream and hands each event to the sockets it
 * should reach. A stream entry carries the events of one write (a batch of accepted orders, a
 * worker's batch of decisions), so publishing costs one Redis call per write, not per order.
 *
 * An event's `id` is its place in the stream: the entry's id and the event's index in the entry,
 * `<ms>-<n>:<index>`. Ids grow in the order events were published, so a client that reconnects
 * with the last id it saw is sent exactly the events after it (EventRelay).
 */

/** The events clients subscribe to (the Socket.IO contract, docs/STOREFRONT.md). */
export const LIVE_EVENT_NAMES = ['new_order', 'order_status_update', 'stock_changed'] as const;
export type LiveEventName = (typeof LIVE_EVENT_NAMES)[number];

/** One event: staff always receive it; the owner named by `userId` does too, where it says so. */
export interface LiveEvent {
  name: LiveEventName;
  /** The shopper who receives it besides the staff (`order_status_update` of their order). */
  ownerId?: string;
  payload: Record<string, unknown>;
}

/** `stock_changed`: `available` as the write that changed it left it, at `version` when known. */
export function stockChanged(
  productId: string,
  available: number,
  at: Date,
  version?: number,
): LiveEvent {
  return {
    name: 'stock_changed',
    payload: {
      productId,
      available,
      at: at.toISOString(),
      ...(version === undefined ? {} : { version }),
    },
  };
}

/** A stream entry's id: milliseconds and a sequence number within them. */
export interface EntryId {
  ms: number;
  n: number;
}

export interface EventPosition {
  entry: EntryId;
  /** The event's index in its entry. */
  index: number;
}

const ENTRY_ID = /^(\d{1,15})-(\d{1,15})$/;
const EVENT_ID = /^(\d{1,15}-\d{1,15}):(\d{1,6})$/;

export function parseEntryId(id: string): EntryId | undefined {
  const match = ENTRY_ID.exec(id);
  return match ? { ms: Number(match[1]), n: Number(match[2]) } : undefined;
}

export function formatEntryId(entry: EntryId): string {
  return `${entry.ms}-${entry.n}`;
}

export function compareEntryIds(a: EntryId, b: EntryId): number {
  return a.ms - b.ms || a.n - b.n;
}

export function eventId(entryId: string, index: number): string {
  return `${entryId}:${index}`;
}

/** The position an event id names; undefined for anything that is not one. */
export function parseEventId(id: unknown): EventPosition | undefined {
  if (typeof id !== 'string') return undefined;
  const match = EVENT_ID.exec(id);
  const entry = match ? parseEntryId(match[1]) : undefined;
  return match && entry ? { entry, index: Number(match[2]) } : undefined;
}

/** A stream entry's body: the events of one write, without their ids. */
export function encodeEntry(events: readonly LiveEvent[]): string {
  return JSON.stringify(events);
}

/** The events of an entry; an entry that is not ours (or is damaged) holds none. */
export function decodeEntry(body: string | undefined): LiveEvent[] {
  if (body === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(body);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (event): event is LiveEvent =>
        typeof event === 'object' &&
        event !== null &&
        (LIVE_EVENT_NAMES as readonly unknown[]).includes((event as LiveEvent).name) &&
        typeof (event as LiveEvent).payload === 'object',
    );
  } catch {
    return [];
  }
}

/**
 * What a reconnecting client is owed: the events after `last` when it is within the replay window
 * (the publishers trim only entries older than the window); otherwise some may be gone and the
 * client re-syncs over REST.
 */
export function resumption(
  last: EventPosition | undefined,
  now: number,
  windowMs: number,
): 'resume' | 'resync' {
  return last && last.entry.ms >= now - windowMs ? 'resume' : 'resync';
}

/** Larger than the index of any event in an entry: the position just after the whole entry. */
export const END_OF_ENTRY = 999_999;

/** Whether the event at (`entry`, `index`) comes after `position`. */
export function isAfter(entry: EntryId, index: number, position: EventPosition): boolean {
  const order = compareEntryIds(entry, position.entry);
  return order > 0 || (order === 0 && index > position.index);
}

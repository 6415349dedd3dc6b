/**
 * The Redis stream every live event goes through (domain/live-event.ts). Any process that
 * changes an order publishes to it; API replicas read it (EventRelay). Every stream command of the
 * application is in this file.
 *
 * Publishing follows the write it reports and never holds it up or fails it: the change is in
 * MongoDB already, and a client that missed an event reads the order's history. The stream keeps
 * what was published within the replay window (EVENTS_REPLAY_WINDOW), trimmed by the publishers.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { withDeadline } from '../common/deadline.js';
import { RedisClient } from '../common/redis.js';
import type { RedisConnection } from '../common/redis.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { decodeEntry, encodeEntry } from './domain/live-event.js';
import type { LiveEvent } from './domain/live-event.js';

/** An entry read back: its id and its events. */
export interface StreamEntry {
  id: string;
  events: LiveEvent[];
}

const BODY_FIELD = 'e';
/**
 * A publish that takes longer is given up: the new orders' enqueue waits for it (new_order comes
 * before any decision), and a Redis that neither answers nor refuses must not hold that back.
 */
const PUBLISH_TIMEOUT_MS = 1000;

@Injectable()
export class EventStream {
  private readonly logger = new Logger(EventStream.name);
  readonly key: string;
  readonly windowMs: number;

  constructor(
    private readonly client: RedisClient,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.key = `${config.redis.keyPrefix}:events`;
    this.windowMs = config.events.replayWindowSeconds * 1000;
  }

  /** Appends the events of one write as one entry (one Redis call); never throws, never hangs. */
  async publish(events: readonly LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      // Entries older than the window go on the way (`~`: whole nodes, cheaply).
      const oldest = Math.max(0, Date.now() - this.windowMs);
      await withDeadline(
        this.client.redis.xadd(
          this.key,
          'MINID',
          '~',
          oldest,
          '*',
          BODY_FIELD,
          encodeEntry(events),
        ),
        PUBLISH_TIMEOUT_MS,
      );
      this.metrics.liveEventsPublished.inc({ result: 'published' }, events.length);
    } catch (err) {
      this.metrics.liveEventsPublished.inc({ result: 'lost' }, events.length);
      this.logger.warn(
        `${events.length} live event(s) not published (${String(err)}); clients read the orders' history`,
      );
    }
  }

  /** The id of the newest entry, or `0-0` when there is none. */
  async newestId(redis: RedisConnection): Promise<string> {
    const [newest] = await redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  /** Entries from `from` (itself too when `inclusive`) up to `until`, at most `count`. */
  async range(
    redis: RedisConnection,
    from: string,
    until: string,
    count: number,
    inclusive: boolean,
  ): Promise<StreamEntry[]> {
    const found = await redis.xrange(
      this.key,
      inclusive ? from : `(${from}`,
      until,
      'COUNT',
      count,
    );
    return found.map(([id, fields]) => ({ id, events: decodeEntry(bodyOf(fields)) }));
  }

  /** Entries after `after`, waiting up to `blockMs` for the first: on a connection of its own. */
  async readAfter(
    redis: RedisConnection,
    after: string,
    blockMs: number,
    count: number,
  ): Promise<StreamEntry[]> {
    const found = await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, after);
    const entries = found?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => ({ id, events: decodeEntry(bodyOf(fields)) }));
  }
}

function bodyOf(fields: string[]): string | undefined {
  const at = fields.indexOf(BODY_FIELD);
  return at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
}

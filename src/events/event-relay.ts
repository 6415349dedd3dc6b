/**
 * Reads the event stream on an API replica and hands each event to the replica's sockets, in
 * stream order. Every replica reads every event, so a socket receives its events whichever replica
 * it is connected to and whichever process published them; no Socket.IO adapter is needed.
 *
 * A socket joins the stream at a known place (`attach`): with the id of the last event a client
 * saw, it is first sent what it missed, from the stream, and then joins its rooms, both within
 * one turn of the relay, so no event is sent twice or skipped between the replay and the live feed.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { RedisClient, connectRedis } from '../common/redis.js';
import type { RedisConnection } from '../common/redis.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { END_OF_ENTRY, eventId, isAfter, parseEntryId, resumption } from './domain/live-event.js';
import type { EventPosition, LiveEvent } from './domain/live-event.js';
import { EventStream } from './event-stream.js';

/** Hands one event, with its id, to the sockets that should receive it. */
export type Deliver = (id: string, event: LiveEvent) => void;

/** How a socket joined: what it was sent, and the id to resume from if it says nothing later. */
export interface Attached {
  replayed: number;
  /** True when what it missed cannot be sent: it re-reads over REST. */
  resync: boolean;
  lastEventId: string;
}

const READ_BLOCK_MS = 5000;
const READ_COUNT = 1000;
/** More missed events than this are not replayed: the client re-reads over REST instead. */
export const MAX_REPLAYED_EVENTS = 10_000;
const RETRY_AFTER_ERROR_MS = 1000;

@Injectable()
export class EventRelay implements OnApplicationShutdown {
  private readonly logger = new Logger(EventRelay.name);
  private readonly reader: RedisConnection;
  private cursor = '0-0';
  private turn: Promise<unknown> = Promise.resolve();
  private running?: Promise<void>;
  private stopped = false;
  /** Confirmations seen since start: the staff's queue summary reports their rate. */
  confirmationsSeen = 0;

  constructor(
    private readonly stream: EventStream,
    private readonly client: RedisClient,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Blocking reads need a connection of their own.
    this.reader = connectRedis(config.redis, { maxRetriesPerRequest: null });
    this.reader.on('error', () => undefined);
  }

  /** Starts reading from the newest entry; `deliver` receives every event published from now on. */
  start(deliver: Deliver): void {
    this.running ??= this.readLoop(deliver);
  }

  /**
   * Joins a socket to the live feed: replays the events after `last` that `visible` lets through
   * (when `last` is given and still within the window), then calls `join`, in one turn.
   */
  attach(
    last: EventPosition | undefined,
    visible: (event: LiveEvent) => boolean,
    send: Deliver,
    join: () => void,
  ): Promise<Attached> {
    return this.exclusively(async () => {
      let replayed = 0;
      let resync = false;
      if (last) {
        resync = resumption(last, Date.now(), this.stream.windowMs) === 'resync';
        const missed = resync ? [] : await this.missedSince(last, visible);
        if (missed === undefined) resync = true;
        else for (const [id, event] of missed) send(id, event);
        replayed = missed?.length ?? 0;
      }
      join();
      return { replayed, resync, lastEventId: eventId(this.cursor, END_OF_ENTRY) };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.running;
  }

  /** The events after `last` up to the cursor, or undefined when there are too many. */
  private async missedSince(
    last: EventPosition,
    visible: (event: LiveEvent) => boolean,
  ): Promise<Array<[string, LiveEvent]> | undefined> {
    const missed: Array<[string, LiveEvent]> = [];
    let from = `${last.entry.ms}-${last.entry.n}`;
    let inclusive = true;
    for (;;) {
      const entries = await this.stream.range(
        this.client.redis,
        from,
        this.cursor,
        READ_COUNT,
        inclusive,
      );
      for (const entry of entries) {
        const position = parseEntryId(entry.id);
        entry.events.forEach((event, index) => {
          if (position && isAfter(position, index, last) && visible(event))
            missed.push([eventId(entry.id, index), event]);
        });
      }
      if (missed.length > MAX_REPLAYED_EVENTS) return undefined;
      const lastEntry = entries[entries.length - 1];
      if (entries.length < READ_COUNT || !lastEntry) return missed;
      from = lastEntry.id;
      inclusive = false;
    }
  }

  private async readLoop(deliver: Deliver): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      try {
        if (this.cursor === '0-0') this.cursor = await this.stream.newestId(this.reader);
        const entries = await this.stream.readAfter(
          this.reader,
          this.cursor,
          READ_BLOCK_MS,
          READ_COUNT,
        );
        if (failing) this.logger.log('reading live events again');
        failing = false;
        if (entries.length > 0) await this.exclusively(() => this.relay(entries, deliver));
      } catch (err) {
        if (this.stopped) return;
        if (!failing) this.logger.warn(`cannot read live events (${String(err)}); retrying`);
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
      }
    }
  }

  private relay(
    entries: ReadonlyArray<{ id: string; events: LiveEvent[] }>,
    deliver: Deliver,
  ): void {
    for (const entry of entries) {
      entry.events.forEach((event, index) => {
        if (event.name === 'order_status_update' && event.payload.status === 'CONFIRMED')
          this.confirmationsSeen += 1;
        this.metrics.liveEventsDelivered.inc({ event: event.name });
        deliver(eventId(entry.id, index), event);
      });
      this.cursor = entry.id;
    }
  }

  private exclusively<T>(run: () => Promise<T> | T): Promise<T> {
    const result = this.turn.then(run);
    this.turn = result.catch(() => undefined);
    return result;
  }
}

/**
 * Keeps the rollups up to date: finds the orders changed since the last run, recomputes the
 * quarter hours they were accepted in from the orders themselves, then those quarters' hours from
 * their quarters and days from their hours. Recomputing from the orders (never adding deltas) is
 * what makes a late change land once and a replayed one change nothing: running twice, or over a
 * window that overlaps the previous run's, gives the same documents. Only quarters before the
 * coverage (`coveredUntil`) are recomputed, each again as it becomes covered: the quarter in
 * progress is read live by the reports, and recomputing it on every run during a sale re-read all
 * its orders every 10 s (docs/PERFORMANCE.md). Runs come from a BullMQ job
 * scheduler (reports.queue.ts); a Redis lease keeps two workers from running at once.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { RedisClient } from '../common/redis.js';
import { LEVEL_MS, blockId, floorTo, recomputeSpans } from './domain/blocks.js';
import type { Level, Span } from './domain/blocks.js';
import { addOrder, addOrderProducts, addProducts, addTally, emptyTally } from './domain/tally.js';
import type { ProductTally, Tally } from './domain/tally.js';
import { ReportsRepository } from './reports.repository.js';
import type { RollupState } from './reports.repository.js';

/** Changed orders read per query. */
const PAGE = 20_000;
/** A day with more dirty quarters than this is recomputed in one read of the whole day. */
const SCAN_DAY_FROM = 8;
/** A worker that dies mid-run frees the lease after this; a long run renews it as it goes. */
const LEASE_MS = 5 * 60_000;
const RENEW_LEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const RELEASE_LEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

interface Computed {
  id: string;
  level: Level;
  start: Date;
  tally: Tally;
  products: ProductTally;
}

export interface RollupRun {
  ran: boolean;
  rebuild: boolean;
  /** Quarter hours recomputed from orders. */
  quarters: number;
  ms: number;
}

@Injectable()
export class RollupService {
  private readonly logger = new Logger(RollupService.name);
  private readonly leaseKey: string;

  constructor(
    private readonly repository: ReportsRepository,
    private readonly client: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.leaseKey = `${config.redis.keyPrefix}:reports:rollup-lease`;
  }

  status(): Promise<RollupState> {
    return this.repository.readState();
  }

  async run(rebuild = false): Promise<RollupRun> {
    const token = randomUUID();
    const leased = await this.client.redis.set(this.leaseKey, token, 'PX', LEASE_MS, 'NX');
    if (leased !== 'OK') return { ran: false, rebuild, quarters: 0, ms: 0 };
    try {
      return await this.runLeased(rebuild, () => this.renewLease(token));
    } finally {
      await this.client.redis.eval(RELEASE_LEASE, 1, this.leaseKey, token).catch(() => undefined);
    }
  }

  /** Keeps the lease while a run goes on; a run that lost it stops rather than overlap another. */
  private async renewLease(token: string): Promise<void> {
    const renewed = await this.client.redis.eval(RENEW_LEASE, 1, this.leaseKey, token, LEASE_MS);
    if (renewed !== 1) throw new Error('the rollup lease was lost; another run may have started');
  }

  private async runLeased(rebuild: boolean, renew: () => Promise<void>): Promise<RollupRun> {
    const startedAt = new Date();
    const state = await this.repository.readState();
    // Changes are read up to a little before now: a write stamped earlier may still be in flight.
    const watermark = new Date(startedAt.getTime() - this.config.reports.rollupLagMs);
    const coveredUntil = new Date(floorTo(watermark.getTime(), 'quarter'));
    const { watermark: since, coveredUntil: coveredBefore } = state;
    // No coverage after a first run: a rebuild was interrupted, and the rollups are partly cleared.
    const rebuilt = rebuild || !since || !coveredBefore;
    let quarters: number;
    if (rebuild || !since || !coveredBefore) {
      await this.repository.saveState({ ...state, coveredUntil: null });
      await this.repository.clearRollups();
      quarters = await this.rebuildAll(startedAt, renew);
    } else {
      quarters = await this.catchUp(since, coveredBefore, coveredUntil, renew);
    }
    const ms = Date.now() - startedAt.getTime();
    await this.repository.saveState({
      watermark,
      coveredUntil,
      lastRunAt: startedAt,
      lastRunMs: ms,
      lastRebuildAt: rebuilt ? startedAt : state.lastRebuildAt,
      lastRebuildMs: rebuilt ? ms : state.lastRebuildMs,
    });
    if (rebuilt) this.logger.log(`rollups rebuilt: ${quarters} quarter hours in ${ms} ms`);
    return { ran: true, rebuild, quarters, ms };
  }

  /** Every day from the first order's, one read per day. */
  private async rebuildAll(until: Date, renew: () => Promise<void>): Promise<number> {
    const first = await this.repository.firstAcceptedAt();
    if (!first) return 0;
    let quarters = 0;
    for (let day = floorTo(first.getTime(), 'day'); day <= until.getTime(); day += LEVEL_MS.day) {
      quarters += await this.recompute([[day, day + LEVEL_MS.day]], true);
      await renew();
    }
    return quarters;
  }

  /** The quarters with changes since `since`, and those the coverage moves past. */
  private async catchUp(
    since: Date,
    coveredBefore: Date,
    coveredUntil: Date,
    renew: () => Promise<void>,
  ): Promise<number> {
    const changed: number[] = [];
    let from = since;
    for (;;) {
      const page = await this.repository.changedSince(from, coveredUntil, PAGE);
      await renew();
      for (const order of page) changed.push(order.createdAt.getTime());
      const last = page[page.length - 1];
      if (page.length < PAGE || !last) break;
      // A page of orders all changed in the same millisecond: move past it (rare enough).
      from =
        last.updatedAt.getTime() === from.getTime() ? new Date(from.getTime() + 1) : last.updatedAt;
    }
    const spans = recomputeSpans(
      changed,
      coveredBefore.getTime(),
      coveredUntil.getTime(),
      SCAN_DAY_FROM,
    );
    return this.recompute(spans, false);
  }

  /**
   * Recomputes the quarters of each span from the orders (one read per span), then the hours, six
   * hours and days they are in from their parts.
   */
  private async recompute(spans: readonly Span[], cleared: boolean): Promise<number> {
    const computed = new Map<string, Computed>();
    const blank = (level: Level, start: number): Computed => ({
      id: blockId(level, new Date(start)),
      level,
      start: new Date(start),
      tally: emptyTally(),
      products: {},
    });
    const read = async (start: number, end: number) => {
      for (let q = start; q < end; q += LEVEL_MS.quarter) {
        const block = blank('quarter', q);
        computed.set(block.id, block);
      }
      for await (const order of this.repository.acceptedBetween(new Date(start), new Date(end))) {
        const block = computed.get(
          blockId('quarter', new Date(floorTo(order.createdAt.getTime(), 'quarter'))),
        );
        if (!block) continue;
        addOrder(block.tally, order);
        addOrderProducts(block.products, order);
      }
    };
    for (const [start, end] of spans) await read(start, end);

    const recomputedQuarters = [...computed.values()];
    // Each level from the one below: hours from quarters, six hours from hours, days from those.
    let starts = new Set(recomputedQuarters.map((b) => b.start.getTime()));
    for (const [level, part] of [
      ['hour', 'quarter'],
      ['6h', 'hour'],
      ['day', '6h'],
    ] as const) {
      starts = new Set([...starts].map((start) => floorTo(start, level)));
      await this.sumUp(computed, starts, level, part, cleared);
    }
    // A rebuild writes only what has orders; the rest was cleared.
    const writes = [...computed.values()].filter((b) => !cleared || b.tally.orders > 0);
    for (let i = 0; i < writes.length; i += 1000)
      await this.repository.writeRollups(writes.slice(i, i + 1000));
    return recomputedQuarters.length;
  }

  /** Each of `starts` (at `level`) as the sum of its parts, computed now or read back. */
  private async sumUp(
    computed: Map<string, Computed>,
    starts: Set<number>,
    level: Level,
    part: Level,
    cleared: boolean,
  ): Promise<void> {
    const partIds = (start: number) => {
      const ids: string[] = [];
      for (let t = start; t < start + LEVEL_MS[level]; t += LEVEL_MS[part])
        ids.push(blockId(part, new Date(t)));
      return ids;
    };
    const missing = [...starts].flatMap(partIds).filter((id) => !computed.has(id));
    const [tallies, products] = cleared
      ? [new Map<string, Tally>(), new Map<string, ProductTally>()]
      : await Promise.all([
          this.repository.rollupsOf(missing),
          this.repository.productRollupsOf(missing),
        ]);
    for (const start of starts) {
      const block: Computed = {
        id: blockId(level, new Date(start)),
        level,
        start: new Date(start),
        tally: emptyTally(),
        products: {},
      };
      for (const id of partIds(start)) {
        const tally = computed.get(id)?.tally ?? tallies.get(id);
        if (tally) addTally(block.tally, tally);
        const partProducts = computed.get(id)?.products ?? products.get(id);
        if (partProducts) addProducts(block.products, partProducts);
      }
      computed.set(block.id, block);
    }
  }
}

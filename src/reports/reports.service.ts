/**
 * The reports: the rolled-up part of a range from rollups (blocks.ts decides which), the part after
 * the rollups' coverage from the orders themselves, each order in the bucket of its acceptance.
 */
import { Injectable } from '@nestjs/common';
import { bucketBounds, isoInZone } from './domain/calendar.js';
import type { Interval, ReportRange } from './domain/calendar.js';
import { blockId, cover } from './domain/blocks.js';
import type { Block } from './domain/blocks.js';
import {
  addOrder,
  addOrderProducts,
  addProducts,
  addTally,
  emptyTally,
  revenueOf,
  summaryOf,
  topProducts,
} from './domain/tally.js';
import type { ProductTally, Tally } from './domain/tally.js';
import { ReportsRepository } from './reports.repository.js';

export interface RangeView {
  from: string;
  to: string;
  tz: string;
  start: string;
  end: string;
}

function rangeView(range: ReportRange): RangeView {
  return {
    from: range.from,
    to: range.to,
    tz: range.tz,
    start: isoInZone(range.start, range.tz),
    end: isoInZone(range.end, range.tz),
  };
}

interface Part {
  tally: Tally;
  products: ProductTally;
}

@Injectable()
export class ReportsService {
  constructor(private readonly repository: ReportsRepository) {}

  async summary(range: ReportRange) {
    const { parts, asOf } = await this.tallies([range.start, range.end], { products: false });
    return { range: rangeView(range), ...summaryOf(parts[0]?.tally ?? emptyTally()), asOf };
  }

  async series(range: ReportRange, interval: Interval) {
    const bounds = bucketBounds(range, interval);
    const { parts, asOf } = await this.tallies(bounds, { products: false });
    return {
      range: rangeView(range),
      interval,
      items: parts.map((part, i) => ({
        start: isoInZone(bounds[i] ?? range.start, range.tz),
        orders: part.tally.orders,
        confirmed: part.tally.confirmed,
        revenue: revenueOf(part.tally),
      })),
      asOf,
    };
  }

  async topProducts(range: ReportRange, limit: number) {
    const { parts, asOf } = await this.tallies([range.start, range.end], { products: true });
    const items = topProducts(parts[0]?.products ?? {}, limit);
    const names = await this.repository.productNames(items.map((item) => item.productId));
    return {
      range: rangeView(range),
      items: items.map((item) => ({ ...item, name: names.get(item.productId) ?? item.name })),
      asOf,
    };
  }

  /**
   * The tally of each bucket between consecutive `bounds`: rollups before the coverage limit,
   * orders after it. `asOf`: up to when changes to older orders are counted.
   */
  private async tallies(
    bounds: Date[],
    want: { products: boolean },
  ): Promise<{ parts: Part[]; asOf: string | null }> {
    const state = await this.repository.readState();
    const limit = state.coveredUntil?.getTime() ?? -Infinity;
    const first = bounds[0]?.getTime() ?? 0;
    const last = bounds[bounds.length - 1]?.getTime() ?? 0;
    const covers: Block[][] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [a, b] = [bounds[i]?.getTime() ?? 0, bounds[i + 1]?.getTime() ?? 0];
      const rolledEnd = Math.min(b, limit);
      covers.push(a < rolledEnd ? cover(new Date(a), new Date(rolledEnd), new Date(limit)) : []);
    }
    const ids = [...new Set(covers.flat().map((block) => blockId(block.level, block.start)))];
    const [tallies, products] = await Promise.all([
      this.repository.rollupsOf(ids),
      want.products ? this.repository.productRollupsOf(ids) : new Map<string, ProductTally>(),
    ]);
    const parts: Part[] = covers.map((blocks) => {
      const part: Part = { tally: emptyTally(), products: {} };
      for (const block of blocks) {
        const id = blockId(block.level, block.start);
        const tally = tallies.get(id);
        if (tally) addTally(part.tally, tally, block.sign);
        const blockProducts = products.get(id);
        if (blockProducts) addProducts(part.products, blockProducts, block.sign);
      }
      return part;
    });
    // After the coverage: the orders themselves, each into its bucket.
    const liveFrom = Math.max(first, limit);
    if (liveFrom < last) {
      let bucket = 0;
      for await (const order of this.repository.acceptedBetween(
        new Date(liveFrom),
        new Date(last),
      )) {
        const at = order.createdAt.getTime();
        while (bucket + 1 < parts.length && at >= (bounds[bucket + 1]?.getTime() ?? 0)) bucket++;
        const part = parts[bucket];
        if (!part) continue;
        addOrder(part.tally, order);
        if (want.products) addOrderProducts(part.products, order);
      }
    }
    return { parts, asOf: state.watermark?.toISOString() ?? null };
  }
}

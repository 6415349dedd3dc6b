/**
 * Hands out order numbers without a round trip per order: each process reserves a block of
 * ORDER_NUMBER_BLOCK numbers from one counter document (`counters`, `_id: "orders"`) with one
 * atomic `$inc`, serves them in order, and reserves the next block when half of the current one is
 * used. Numbers are unique across processes and grow within each; replicas interleave by block,
 * and a process that stops leaves the rest of its block unused (numbers have gaps, never repeats).
 */
import { Inject, Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { blockEndingAt } from './domain/order-number.js';
import { withDeadline } from '../common/deadline.js';

interface CounterDoc {
  _id: string;
  value: number;
}

export const ORDER_NUMBER_COUNTER = 'orders';

@Injectable()
export class OrderNumbers {
  private readonly blockSize: number;
  /** Numbers reserved and not handed out yet, in blocks, oldest first. */
  private readonly blocks: Array<{ next: number; last: number }> = [];
  private reserving?: Promise<void>;
  private readonly timeoutMs: number;

  constructor(
    @InjectConnection() private readonly connection: Connection,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.blockSize = config.intake.orderNumberBlock;
    this.timeoutMs = config.mongodbCallTimeoutMs;
  }

  /** The next number of this process. */
  async take(): Promise<number> {
    for (;;) {
      const block = this.blocks[0];
      if (block && block.next <= block.last) {
        const number = block.next++;
        if (block.next > block.last) this.blocks.shift();
        if (this.remaining() < this.blockSize / 2) void this.reserveSoon().catch(() => undefined);
        return number;
      }
      this.blocks.shift();
      await this.reserveSoon();
    }
  }

  private remaining(): number {
    return this.blocks.reduce((sum, b) => sum + (b.last - b.next + 1), 0);
  }

  /** One reservation at a time; callers that need numbers meanwhile wait for it. */
  private reserveSoon(): Promise<void> {
    this.reserving ??= this.reserve().finally(() => (this.reserving = undefined));
    return this.reserving;
  }

  private async reserve(): Promise<void> {
    const counters = this.connection.collection<CounterDoc>('counters');
    // On the order path: a counter that does not answer fails the requests waiting for a number
    // with 503, like every MongoDB step there. A block the abandoned call reserves later is
    // never used: a gap, never a repeat.
    const after = await withDeadline(
      counters.findOneAndUpdate(
        { _id: ORDER_NUMBER_COUNTER },
        { $inc: { value: this.blockSize } },
        { upsert: true, returnDocument: 'after' },
      ),
      this.timeoutMs,
    );
    if (!after) throw new Error('the order number counter was not returned');
    const { first, last } = blockEndingAt(after.value, this.blockSize);
    this.blocks.push({ next: first, last });
  }
}

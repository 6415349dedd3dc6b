/**
 * The one place that talks to BullMQ for the reports: the `reports` queue, whose job scheduler
 * starts a rollup run every REPORTS_ROLLUP_INTERVAL_MS (BullMQ makes one job per interval, taken by
 * one worker), and the runs an admin asks for.
 */
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

export const REPORTS_QUEUE = 'reports';
export const ROLLUP_SCHEDULER = 'reports-rollup';
export const ROLLUP_JOB = 'rollup';

export interface RollupJobData {
  rebuild?: boolean;
  /** Asked for by an admin: retried while another run holds the lease, not skipped. */
  requested?: boolean;
}

@Injectable()
export class ReportsQueue {
  private readonly logger = new Logger(ReportsQueue.name);

  constructor(
    @InjectQueue(REPORTS_QUEUE) private readonly queue: Queue<RollupJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    queue.on('error', (error) => this.logger.warn(`reports queue: ${error.message}`));
  }

  /** Idempotent: every worker calls it at start-up, and there stays one scheduler. */
  async schedule(): Promise<void> {
    await this.queue.upsertJobScheduler(
      ROLLUP_SCHEDULER,
      { every: this.config.reports.rollupIntervalMs },
      {
        name: ROLLUP_JOB,
        data: {},
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
  }

  /** A run now, on a worker. */
  async runNow(rebuild: boolean): Promise<Job<RollupJobData>> {
    return this.queue.add(
      ROLLUP_JOB,
      { rebuild, requested: true },
      // Retried while another run holds the lease: exponential from 1 s over 12 attempts, longer
      // than a rebuild of a year of orders.
      {
        removeOnComplete: 100,
        removeOnFail: 100,
        attempts: 12,
        backoff: { type: 'exponential', delay: 1000 },
      },
    );
  }
}

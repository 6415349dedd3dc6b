import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { QueueWorker } from '../order/queue-worker.js';
import { REPORTS_QUEUE, ReportsQueue } from './reports.queue.js';
import type { RollupJobData } from './reports.queue.js';
import { RollupService } from './rollup.service.js';
import type { RollupRun } from './rollup.service.js';

/** Runs the rollup jobs, one at a time per worker process (the lease makes it one at a time overall). */
@Injectable()
export class RollupProcessor extends QueueWorker<RollupJobData> {
  constructor(
    private readonly rollups: RollupService,
    private readonly queue: ReportsQueue,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // A rebuild reads every order: its lock must outlive it.
    super(REPORTS_QUEUE, config, { concurrency: 1, lockDuration: 10 * 60_000 });
  }

  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    this.queue
      .schedule()
      .catch((error: unknown) => this.logger.warn(`rollup scheduler not set: ${String(error)}`));
  }

  async process(job: Job<RollupJobData>): Promise<RollupRun> {
    const run = await this.rollups.run(job.data.rebuild === true);
    // A scheduled run finding another under way has nothing to add; a requested one waits its turn.
    if (!run.ran && job.data.requested) throw new Error('another rollup run is under way');
    return run;
  }
}

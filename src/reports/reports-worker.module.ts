import { Module } from '@nestjs/common';
import { ReportsModule } from './reports.module.js';
import { RollupProcessor } from './rollup.processor.js';

/** The worker side of the reports: the scheduled rollup runs. */
@Module({ imports: [ReportsModule], providers: [RollupProcessor] })
export class ReportsWorkerModule {}

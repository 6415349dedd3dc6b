import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Order, OrderSchema } from '../order/order.schema.js';
import { REPORTS_QUEUE, ReportsQueue } from './reports.queue.js';
import { ReportsRepository } from './reports.repository.js';
import { ReportsService } from './reports.service.js';
import { RollupService } from './rollup.service.js';

/** Sales reports as both roles need them: the API reads them, the workers roll them up. */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: Order.name, schema: OrderSchema }]),
    BullModule.registerQueue({ name: REPORTS_QUEUE }),
  ],
  providers: [ReportsRepository, ReportsService, RollupService, ReportsQueue],
  exports: [ReportsService, RollupService, ReportsQueue],
})
export class ReportsModule {}

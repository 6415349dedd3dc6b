import { Module } from '@nestjs/common';
import { StockModule } from '../stock/stock.module.js';
import { OrderDeadLetterProcessor } from './order-dlq.processor.js';
import { OrderModule } from './order.module.js';
import { OrderProcessingService } from './order-processing.service.js';
import { OrderProcessor } from './order.processor.js';
import { OrderRecoveryService } from './order-recovery.service.js';

/** The worker side of orders: reserve stock, decide, dead-letter, recover. */
@Module({
  imports: [OrderModule, StockModule],
  providers: [
    OrderProcessingService,
    OrderProcessor,
    OrderDeadLetterProcessor,
    OrderRecoveryService,
  ],
  exports: [OrderProcessingService, OrderRecoveryService],
})
export class OrderWorkerModule {}

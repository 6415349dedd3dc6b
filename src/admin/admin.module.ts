import { Module } from '@nestjs/common';
import { OrderModule } from '../order/order.module.js';
import { DeadLetterService } from './dead-letter.service.js';

/**
 * Operating the system: the dead-letter queue (its controller is mounted by ApiModule; the queue
 * dashboard is mounted on Express, see queue-board.ts).
 */
@Module({
  imports: [OrderModule],
  providers: [DeadLetterService],
  exports: [DeadLetterService],
})
export class AdminModule {}

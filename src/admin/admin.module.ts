import { Module } from '@nestjs/common';
import { OrderModule } from '../order/order.module.js';
import { DeadLetterController } from './dead-letter.controller.js';
import { DeadLetterService } from './dead-letter.service.js';

/** Operating the system: the dead-letter queue. (The queue dashboard is mounted on Express, see queue-board.ts.) */
@Module({
  imports: [OrderModule],
  controllers: [DeadLetterController],
  providers: [DeadLetterService],
})
export class AdminModule {}

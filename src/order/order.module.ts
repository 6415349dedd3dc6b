import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { StockModule } from '../stock/stock.module.js';
import { UsersModule } from '../users/users.module.js';
import { DEAD_LETTER_QUEUE, ORDER_QUEUE, OrderQueue } from './order.queue.js';
import { OrderIntake } from './order-intake.js';
import { OrderRepository } from './order.repository.js';
import { Order, OrderSchema } from './order.schema.js';
import { OrderService } from './order.service.js';
import { OrderLifecycleService } from './order-lifecycle.service.js';
import { OrderNumbers } from './order-numbers.js';

/** Orders as both roles need them: accept, store, enqueue, read. */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: Order.name, schema: OrderSchema }]),
    BullModule.registerQueue({ name: ORDER_QUEUE }, { name: DEAD_LETTER_QUEUE }),
    StockModule,
    UsersModule,
  ],
  providers: [
    OrderService,
    OrderLifecycleService,
    OrderIntake,
    OrderNumbers,
    OrderRepository,
    OrderQueue,
  ],
  exports: [OrderService, OrderLifecycleService, OrderRepository, OrderQueue, BullModule],
})
export class OrderModule {}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { OrderModule } from '../order/order.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule, OrderModule],
  controllers: [HealthController],
})
export class HealthModule {}

import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { OrderModule } from '../order/order.module.js';
import { EventRelay } from './event-relay.js';
import { EventsGateway } from './events.gateway.js';

/** The Socket.IO side of live events: in the roles that serve the API (api.module.ts). */
@Module({
  imports: [AuthModule, OrderModule],
  providers: [EventRelay, EventsGateway],
  exports: [EventsGateway],
})
export class LiveEventsModule {}

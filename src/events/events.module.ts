import { Global, Module } from '@nestjs/common';
import { EventStream } from './event-stream.js';

/** Publishing live events, in every role: whoever changes an order reports it. */
@Global()
@Module({ providers: [EventStream], exports: [EventStream] })
export class EventsModule {}

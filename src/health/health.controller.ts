import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  MongooseHealthIndicator,
} from '@nestjs/terminus';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Queue } from 'bullmq';
import { Public } from '../auth/auth-user.js';
import { RedisClient } from '../common/redis.js';
import { DEAD_LETTER_QUEUE, ORDER_QUEUE } from '../order/order.queue.js';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly mongoose: MongooseHealthIndicator,
    @InjectQueue(ORDER_QUEUE) private readonly orders: Queue,
    @InjectQueue(DEAD_LETTER_QUEUE) private readonly deadLetters: Queue,
    private readonly redis: RedisClient,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves HTTP (no dependency is called)' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: MongoDB and Redis answer and the order queues are reachable',
  })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; the body names it' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.mongoose.pingCheck('mongodb').withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            if ((await this.redis.redis.ping()) !== 'PONG')
              throw new Error('unexpected PING reply');
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('queues')
          .attempt(async () => ({
            [ORDER_QUEUE]: await this.orders.getJobCounts(
              'waiting',
              'prioritized',
              'active',
              'delayed',
              'failed',
              'completed',
            ),
            [DEAD_LETTER_QUEUE]: await this.deadLetters.getJobCounts(
              'waiting',
              'active',
              'delayed',
              'failed',
              'completed',
            ),
          }))
          .withTimeout(CHECK_TIMEOUT_MS),
    ]);
  }
}

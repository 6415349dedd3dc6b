import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  MongooseHealthIndicator,
} from '@nestjs/terminus';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth-user.js';
import { RedisClient } from '../common/redis.js';
import { OrderQueue } from '../order/order.queue.js';
import { ApiErrors } from '../common/error-response.js';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
@ApiErrors(429)
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly queue: OrderQueue,
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
  async ready(
    @Res({ passthrough: true }) res: Response,
  ): Promise<HealthCheckResult & { message?: string }> {
    try {
      return await this.health.check([
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
            .attempt(() => this.queue.counts())
            .withTimeout(CHECK_TIMEOUT_MS),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      // Terminus reports per dependency; keep that body and name what is down.
      const result = err.getResponse() as HealthCheckResult;
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return {
        ...result,
        message: `Not ready: ${Object.keys(result.error ?? {}).join(', ')} down`,
      };
    }
  }
}

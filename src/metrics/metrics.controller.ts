import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { answerScrape } from './metrics-access.js';
import { Metrics } from './metrics.service.js';

export const METRICS_TOKEN_SCHEME = 'metrics_token';

/** /metrics on the process's HTTP listener, by the rule of metrics-access.ts. */
@ApiTags('operations')
// Not the access cookie: the metrics token, checked by answerScrape.
@Public()
@ApiErrors(429)
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics of this process, for operators only',
    description:
      'Served on the API port only when METRICS_TOKEN is set, to a caller that sends it as ' +
      '`Authorization: Bearer <METRICS_TOKEN>`; otherwise 404. With METRICS_PORT set, metrics ' +
      'are served on that port instead (also asking for METRICS_TOKEN when it is set) and this ' +
      'route answers 404. Nginx never forwards /metrics.',
  })
  @ApiBearerAuth(METRICS_TOKEN_SCHEME)
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrors(
    [401, 'METRICS_TOKEN is set and the request does not carry it as a bearer token'],
    [404, 'Metrics are not served on this port: no METRICS_TOKEN, or METRICS_PORT is set'],
  )
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    const answer = await answerScrape(this.metrics, this.config, 'http', {
      method: req.method,
      url: req.originalUrl,
      authorization: req.headers.authorization,
    });
    res.status(answer.status).set(answer.headers).send(answer.body);
  }
}

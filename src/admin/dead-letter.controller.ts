import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { PageQueryDto } from '../common/pagination.js';
import { OrderView, toOrderView } from '../order/dto/order.dto.js';
import { DeadLetterService } from './dead-letter.service.js';
import { DeadLetterPage } from './dto/dead-letter.dto.js';
import { CurrentUser } from '../auth/auth-user.js';
import type { AuthUser } from '../auth/auth-user.js';

@ApiTags('admin')
@ApiCookieAuth('access_token')
@ApiErrors(401, [403, 'Admins only'], 429)
@Roles('admin')
@Controller('admin/dlq')
export class DeadLetterController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({
    summary: 'Orders in the dead-letter queue, with their last error (admin)',
    description:
      'Orders whose transient processing errors outlasted their retries. Letters still to be handled come first, ' +
      'then failed ones, then handled ones (the order FAILED with PROCESSING_ERROR, its stock holds released).',
  })
  @ApiOkResponse({ type: DeadLetterPage })
  @ApiErrors(400)
  list(@Query() query: PageQueryDto): Promise<DeadLetterPage> {
    return this.deadLetters.list(query.page, query.limit);
  }

  @Post(':jobId/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send a dead-lettered order through processing again (admin)',
    description:
      'For after the cause is fixed: the order returns to PENDING and is queued with a fresh set of attempts, and ' +
      'the letter leaves the dead-letter queue. Only orders that failed with PROCESSING_ERROR (or whose letter is ' +
      'not handled yet) can be retried. Poll GET /order/{id} for the outcome.',
  })
  @ApiParam({ name: 'jobId', description: 'Dead-letter job id, which is the order id (ObjectId)' })
  @ApiAcceptedResponse({ type: OrderView, description: 'The order, PENDING again' })
  @ApiErrors(
    [400, 'Malformed job id'],
    [404, 'No such dead letter'],
    [
      409,
      'The order is CONFIRMED or failed for a business reason, or its letter is being handled right now',
    ],
  )
  async retry(
    @CurrentUser() caller: AuthUser,
    @Param('jobId', ParseObjectIdPipe) jobId: string,
  ): Promise<OrderView> {
    return toOrderView(await this.deadLetters.retry(jobId, caller.id));
  }
}

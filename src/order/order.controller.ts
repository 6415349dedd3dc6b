import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCookieAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentUser } from '../auth/auth-user.js';
import type { AuthUser } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { PageQueryDto } from '../common/pagination.js';
import {
  OrderHistoryView,
  OrderPage,
  OrderView,
  PlaceOrderDto,
  toHistoryView,
  toOrderView,
} from './dto/order.dto.js';
import { OrderLifecycleService } from './order-lifecycle.service.js';
import { OrderService } from './order.service.js';

@ApiTags('orders')
@ApiCookieAuth('access_token')
@ApiErrors(401, 429)
@Controller('order')
export class OrderController {
  constructor(
    private readonly orders: OrderService,
    private readonly lifecycle: OrderLifecycleService,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimit('orders')
  @ApiOperation({
    summary: 'Place an order',
    description:
      'Validates the lines against the catalog, stores the order as PENDING and queues it; a worker then reserves stock and ' +
      'confirms or fails it. Prices come from the catalog. Poll GET /order/{id} for the outcome.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Repeat a request safely: the same key from the same user returns the first order (1-255 visible ASCII characters)',
  })
  @ApiAcceptedResponse({ type: OrderView })
  @ApiErrors(400, [422, 'Idempotency-Key reused with a different body'])
  async place(
    @CurrentUser() caller: AuthUser,
    @Body() dto: PlaceOrderDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderView> {
    const { order, replayed } = await this.orders.place(caller, dto.items, idempotencyKey);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Location', `/order/${order.id}`);
    return toOrderView(order);
  }

  @Get()
  @ApiOperation({ summary: "The caller's orders, newest first" })
  @ApiOkResponse({ type: OrderPage })
  @ApiErrors(400)
  async list(@CurrentUser() caller: AuthUser, @Query() query: PageQueryDto): Promise<OrderPage> {
    const page = await this.orders.listForUser(caller, query.page, query.limit);
    return { ...page, items: page.items.map(toOrderView) };
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Cancel an order (its owner while PENDING or CONFIRMED; staff and admins also while PREPARING)',
    description:
      'The order becomes CANCELLED at once; what it held or bought goes back to stock shortly after, exactly once ' +
      '(`stockReturned` turns true). Cancelling a cancelled order answers it as it is.',
  })
  @ApiParam({ name: 'id', description: 'Order id (ObjectId)' })
  @ApiOkResponse({ type: OrderView })
  @ApiErrors(
    [400, 'Malformed id'],
    [404, 'No such order, or not yours'],
    [409, 'The order can no longer be cancelled; the message names its status'],
  )
  async cancel(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseObjectIdPipe) id: string,
  ): Promise<OrderView> {
    return toOrderView(await this.lifecycle.cancel(caller, id));
  }

  @Get(':id/history')
  @ApiOperation({
    summary: "An order's history, oldest first (its owner, staff and admins)",
    description:
      'Every status change with its time and actor, numbered by `seq` from 1 without gaps: a reader resumes after the last `seq` it saw.',
  })
  @ApiParam({ name: 'id', description: 'Order id (ObjectId)' })
  @ApiOkResponse({ type: OrderHistoryView })
  @ApiErrors([400, 'Malformed id'], [404, 'No such order, or not yours'])
  async history(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseObjectIdPipe) id: string,
  ): Promise<OrderHistoryView> {
    return toHistoryView(await this.lifecycle.history(caller, id));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order with its status (its owner, staff or an admin)' })
  @ApiParam({ name: 'id', description: 'Order id (ObjectId)' })
  @ApiOkResponse({ type: OrderView })
  @ApiErrors([400, 'Malformed id'], 404)
  async get(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseObjectIdPipe) id: string,
  ): Promise<OrderView> {
    return toOrderView(await this.orders.getForCaller(caller, id));
  }
}

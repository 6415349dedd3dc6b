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
import { OrderPage, OrderView, PlaceOrderDto, toOrderView } from './dto/order.dto.js';
import { OrderService } from './order.service.js';

@ApiTags('orders')
@ApiCookieAuth('access_token')
@ApiErrors(401, 429)
@Controller('order')
export class OrderController {
  constructor(private readonly orders: OrderService) {}

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

  @Get(':id')
  @ApiOperation({ summary: 'One order with its status (its owner or an admin)' })
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

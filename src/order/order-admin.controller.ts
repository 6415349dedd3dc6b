import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, Roles } from '../auth/auth-user.js';
import type { AuthUser } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { MoveOrderDto, OrderView, toOrderView } from './dto/order.dto.js';
import { OrderLifecycleService } from './order-lifecycle.service.js';
import { OrderService } from './order.service.js';
import { OrderSearchPage, OrderSearchQuery } from './dto/order-search.dto.js';

/** Staff tools: find orders, move them through fulfilment. */
@ApiTags('staff')
@ApiCookieAuth('access_token')
@ApiErrors(401, [403, 'Staff and admins only'], 429)
@Roles('staff', 'admin')
@Controller('admin/orders')
export class OrderAdminController {
  constructor(
    private readonly lifecycle: OrderLifecycleService,
    private readonly orders: OrderService,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Find orders by status, customer, priority, product, acceptance time or number (staff, admin)',
    description:
      'Newest first. Pages by cursor: pass `nextCursor` back as `cursor`; a walk sees every order that existed when it ' +
      'started exactly once, however many are accepted meanwhile.',
  })
  @ApiOkResponse({ type: OrderSearchPage })
  @ApiErrors(400)
  async search(@Query() query: OrderSearchQuery): Promise<OrderSearchPage> {
    const page = await this.orders.search(query);
    return { items: page.items.map(toOrderView), nextCursor: page.nextCursor };
  }

  @Patch(':id/status')
  @ApiOperation({
    summary:
      'Move an order: CONFIRMED → PREPARING → SHIPPED → DELIVERED, or cancel it before it ships (staff, admin)',
    description:
      'Setting the status an order already has answers it as it is. Cancelling gives its stock back, exactly once, ' +
      'shortly after (`stockReturned`).',
  })
  @ApiParam({ name: 'id', description: 'Order id (ObjectId)' })
  @ApiBody({ type: MoveOrderDto })
  @ApiOkResponse({ type: OrderView })
  @ApiErrors(
    400,
    [404, 'No such order'],
    [409, 'Not allowed from the current status; the message names it and what is allowed'],
  )
  async move(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseObjectIdPipe) id: string,
    @Body() body: MoveOrderDto,
  ): Promise<OrderView> {
    return toOrderView(await this.lifecycle.move(caller, id, body.status));
  }
}

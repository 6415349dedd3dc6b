import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Public, Roles } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { NotFoundError } from '../common/errors.js';
import { ParseObjectIdPipe } from '../common/object-id.pipe.js';
import { PageQueryDto } from '../common/pagination.js';
import {
  AdjustStockDto,
  CreateProductDto,
  ProductPage,
  ProductView,
  toProductPage,
  toProductView,
} from './dto/product.dto.js';
import { EventStream } from '../events/event-stream.js';
import { stockChanged } from '../events/domain/live-event.js';
import { StockRepository } from './stock.repository.js';

@ApiTags('stock')
@ApiErrors(429)
@Controller('stock')
export class StockController {
  constructor(
    private readonly stock: StockRepository,
    private readonly events: EventStream,
  ) {}

  @Get('products-with-stock')
  @Public()
  @ApiOperation({ summary: 'The catalog with live stock levels (public)' })
  @ApiOkResponse({ type: ProductPage })
  @ApiErrors(400)
  async list(@Query() query: PageQueryDto): Promise<ProductPage> {
    const { items, total } = await this.stock.listActive(query.page, query.limit);
    return toProductPage({ items, total, page: query.page, limit: query.limit });
  }

  @Get('products-with-stock/:id')
  @Public()
  @ApiOperation({ summary: 'One product with its live stock level (public)' })
  @ApiParam({ name: 'id', description: 'Product id (ObjectId)' })
  @ApiOkResponse({ type: ProductView })
  @ApiErrors([400, 'Malformed id'], 404)
  async get(@Param('id', ParseObjectIdPipe) id: string): Promise<ProductView> {
    const product = await this.stock.findActive(id);
    if (!product) throw new NotFoundError('Product');
    return toProductView(product);
  }

  @Post('products')
  @Roles('admin')
  @ApiCookieAuth('access_token')
  @ApiOperation({ summary: 'Add a product to the catalog (admin)' })
  @ApiCreatedResponse({ type: ProductView })
  @ApiErrors(400, 401, 403)
  async create(@Body() dto: CreateProductDto): Promise<ProductView> {
    return toProductView(await this.stock.create(dto));
  }

  @Patch('products/:id/stock')
  @Roles('admin')
  @ApiCookieAuth('access_token')
  @ApiOperation({
    summary: 'Restock or correct a product (admin); available stock never goes below zero',
  })
  @ApiParam({ name: 'id', description: 'Product id (ObjectId)' })
  @ApiOkResponse({ type: ProductView })
  @ApiErrors(400, 401, 403, 404, [409, 'The correction would take available stock below zero'])
  async adjust(
    @Param('id', ParseObjectIdPipe) id: string,
    @Body() dto: AdjustStockDto,
  ): Promise<ProductView> {
    const adjusted = await this.stock.adjust(id, dto.delta);
    void this.events.publish([
      stockChanged(adjusted.id, adjusted.available, new Date(), adjusted.version),
    ]);
    return toProductView(adjusted);
  }

  @Delete('products/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Roles('admin')
  @ApiCookieAuth('access_token')
  @ApiOperation({
    summary: 'Stop selling a product (admin)',
    description:
      'The product leaves the catalog; orders still waiting for it fail with PRODUCT_UNAVAILABLE.',
  })
  @ApiParam({ name: 'id', description: 'Product id (ObjectId)' })
  @ApiNoContentResponse()
  @ApiErrors(400, 401, 403, 404)
  async discontinue(@Param('id', ParseObjectIdPipe) id: string): Promise<void> {
    await this.stock.discontinue(id);
  }
}

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
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Public, Roles } from '../auth/auth-user.js';
import { ApiRateLimitedResponse, ErrorResponse } from '../common/error-response.js';
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
import { StockRepository } from './stock.repository.js';

@ApiTags('stock')
@ApiRateLimitedResponse()
@Controller('stock')
export class StockController {
  constructor(private readonly stock: StockRepository) {}

  @Get('products-with-stock')
  @Public()
  @ApiOperation({ summary: 'The catalog with live stock levels (public)' })
  @ApiOkResponse({ type: ProductPage })
  @ApiBadRequestResponse({ type: ErrorResponse })
  async list(@Query() query: PageQueryDto): Promise<ProductPage> {
    const { items, total } = await this.stock.listActive(query.page, query.limit);
    return toProductPage({ items, total, page: query.page, limit: query.limit });
  }

  @Get('products-with-stock/:id')
  @Public()
  @ApiOperation({ summary: 'One product with its live stock level (public)' })
  @ApiParam({ name: 'id', description: 'Product id (ObjectId)' })
  @ApiOkResponse({ type: ProductView })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'Malformed id' })
  @ApiNotFoundResponse({ type: ErrorResponse })
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
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiUnauthorizedResponse({ type: ErrorResponse })
  @ApiForbiddenResponse({ type: ErrorResponse })
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
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiUnauthorizedResponse({ type: ErrorResponse })
  @ApiForbiddenResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiConflictResponse({
    type: ErrorResponse,
    description: 'The correction would take available stock below zero',
  })
  async adjust(
    @Param('id', ParseObjectIdPipe) id: string,
    @Body() dto: AdjustStockDto,
  ): Promise<ProductView> {
    return toProductView(await this.stock.adjust(id, dto.delta));
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
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiUnauthorizedResponse({ type: ErrorResponse })
  @ApiForbiddenResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  async discontinue(@Param('id', ParseObjectIdPipe) id: string): Promise<void> {
    await this.stock.discontinue(id);
  }
}

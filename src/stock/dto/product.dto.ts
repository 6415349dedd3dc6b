import { ApiProperty } from '@nestjs/swagger';
import { Trim } from '../../common/trim.js';
import {
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  NotEquals,
} from 'class-validator';
import { Page, PageOf } from '../../common/pagination.js';
import type { ProductRecord } from '../stock.repository.js';
import { PlainName } from '../../common/validation.js';

export const MAX_PRICE = 100_000_000;
export const MAX_QUANTITY = 1_000_000;

export class CreateProductDto {
  @ApiProperty({ example: 'Espresso cup', minLength: 1, maxLength: 200 })
  @Trim()
  @IsString()
  @Length(1, 200)
  @PlainName()
  name!: string;

  @ApiProperty({ example: 'Porcelain, 80 ml', maxLength: 2000, required: false, default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description: string = '';

  @ApiProperty({
    example: 1299,
    minimum: 0,
    maximum: MAX_PRICE,
    description: 'Unit price in minor units of the currency (cents)',
  })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price!: number;

  @ApiProperty({ example: 'USD', description: 'ISO 4217 currency code' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter ISO 4217 code such as USD' })
  currency!: string;

  @ApiProperty({ example: 100, minimum: 0, maximum: MAX_QUANTITY, description: 'Units in stock' })
  @IsInt()
  @Min(0)
  @Max(MAX_QUANTITY)
  quantity!: number;
}

export class AdjustStockDto {
  @ApiProperty({
    example: 25,
    minimum: -MAX_QUANTITY,
    maximum: MAX_QUANTITY,
    description:
      'Units to add (restock) or remove (correction); available stock never goes below zero',
  })
  @IsInt()
  @NotEquals(0)
  @Min(-MAX_QUANTITY)
  @Max(MAX_QUANTITY)
  delta!: number;
}

export class ProductView {
  @ApiProperty({ example: '665f1c2e9b1e8a3d4c5b6a79' })
  id!: string;

  @ApiProperty({ example: 'Espresso cup' })
  name!: string;

  @ApiProperty({ example: 'Porcelain, 80 ml' })
  description!: string;

  @ApiProperty({ example: 1299, description: 'Unit price in minor units of the currency' })
  price!: number;

  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({ example: 97, description: 'Units that can still be ordered' })
  available!: number;

  @ApiProperty({ example: 3, description: 'Units held by orders being processed' })
  reserved!: number;

  @ApiProperty({
    example: 42,
    description: 'Increments on every stock change (optimistic locking)',
  })
  version!: number;
}

export class ProductPage extends PageOf(ProductView) {}

export function toProductView(p: ProductRecord): ProductView {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    price: p.price,
    currency: p.currency,
    available: p.available,
    reserved: p.reserved,
    version: p.version,
  };
}

export function toProductPage(page: Page<ProductRecord>): ProductPage {
  return { ...page, items: page.items.map(toProductView) };
}

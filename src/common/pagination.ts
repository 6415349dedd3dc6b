import { applyDecorators } from '@nestjs/common';
import type { Type as Class } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const MAX_PAGE_SIZE = 100;
export const MAX_PAGE = 10_000;

/** A query number written as plain decimal digits only: `1e300`, `0x10`, `1.0` and ` 1` stay strings and fail IsInt. */
export const Digits = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : value,
  );

/** `limit`: items per page, 1 to MAX_PAGE_SIZE in decimal digits, 20 when absent. */
const PageSize = () =>
  applyDecorators(
    ApiPropertyOptional({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: 20,
      description: 'Items per page, in decimal digits',
    }),
    IsOptional(),
    Digits(),
    IsInt(),
    Min(1),
    Max(MAX_PAGE_SIZE),
  );

export class PageQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PAGE,
    default: 1,
    description: 'Page number, from 1, in decimal digits',
  })
  @IsOptional()
  @Digits()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page: number = 1;

  @PageSize()
  limit: number = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

/** The documented class of a page of `item`s: `export class OrderPage extends PageOf(OrderView) {}`. */
export function PageOf<T>(item: Class<T>): Class<Page<T>> {
  class PageOfItems implements Page<T> {
    @ApiProperty({ type: [item] })
    items!: T[];

    @ApiProperty({ example: 12, description: 'Items on all pages' })
    total!: number;

    @ApiProperty({ example: 1 })
    page!: number;

    @ApiProperty({ example: 20 })
    limit!: number;
  }
  return PageOfItems;
}

/** A page of a keyset-paginated list: pass `nextCursor` back as `cursor` for the next page. */
export interface CursorPage<T> {
  items: T[];
  /** Null on the last page. */
  nextCursor: string | null;
}

/** `limit` and `cursor` of a keyset-paginated list. */
export class CursorQueryDto {
  @PageSize()
  limit: number = 20;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page, unchanged' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

/** The documented class of a cursor page of `item`s. */
export function CursorPageOf<T>(item: Class<T>): Class<CursorPage<T>> {
  class CursorPageOfItems implements CursorPage<T> {
    @ApiProperty({ type: [item] })
    items!: T[];

    @ApiProperty({ type: String, nullable: true, description: 'Null on the last page' })
    nextCursor!: string | null;
  }
  return CursorPageOfItems;
}

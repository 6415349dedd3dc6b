import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MaxLength } from 'class-validator';
import { Digits } from '../../common/pagination.js';
import type { Interval } from '../domain/calendar.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The range every report takes: days `from`…`to` (both included) in `tz`. */
export class ReportRangeQuery {
  @ApiPropertyOptional({
    description: 'First day (YYYY-MM-DD) in `tz`; default: `to`',
    example: '2026-11-01',
  })
  @IsOptional()
  @IsString()
  @Matches(DATE, { message: 'from must be a date, YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({
    description: 'Last day (YYYY-MM-DD) in `tz`, included; default: today in `tz`',
    example: '2026-11-30',
  })
  @IsOptional()
  @IsString()
  @Matches(DATE, { message: 'to must be a date, YYYY-MM-DD' })
  to?: string;

  @ApiPropertyOptional({
    description: 'IANA time zone; days are cut at its local midnight',
    example: 'Europe/Berlin',
    default: 'UTC',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tz?: string;
}

export class SeriesQuery extends ReportRangeQuery {
  @ApiPropertyOptional({ enum: ['day', 'hour'], default: 'day' })
  @IsOptional()
  @IsIn(['day', 'hour'])
  interval: Interval = 'day';
}

export class TopProductsQuery extends ReportRangeQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @Digits()
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 10;
}

export class RollupQuery {
  @ApiPropertyOptional({
    description: 'Recompute every rollup from the orders instead of catching up',
    enum: ['true', 'false'],
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  rebuild?: 'true' | 'false';
}

import { Readable } from 'node:stream';
import { Controller, Get, HttpCode, Post, Query, Req, StreamableFile } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { Roles } from '../auth/auth-user.js';
import { ApiErrors } from '../common/error-response.js';
import { RequestValidationError } from '../common/validation.js';
import { RangeProblem, reportRange } from './domain/calendar.js';
import type { Interval, ReportRange } from './domain/calendar.js';
import { csvLine } from './domain/csv.js';
import type { Cell } from './domain/csv.js';
import type { Money } from './domain/tally.js';
import {
  ReportRangeQuery,
  RollupQuery,
  SeriesQuery,
  TopProductsQuery,
} from './dto/report-query.dto.js';
import { ReportsQueue } from './reports.queue.js';
import { ReportsService } from './reports.service.js';
import { RollupService } from './rollup.service.js';

const CSV_NOTE =
  ' With `Accept: text/csv` the answer is CSV (RFC 4180, a header row; text cells that a spreadsheet would take ' +
  "for a formula start with '). See docs/REPORTS.md.";

/** Sales reports over a range of days in a time zone (docs/REPORTS.md). */
@ApiTags('reports')
@ApiCookieAuth('access_token')
@ApiErrors(401, [403, 'Staff and admins only'], 429)
@Roles('staff', 'admin')
@Controller('admin/reports')
export class ReportsController {
  constructor(
    private readonly reports: ReportsService,
    private readonly rollups: RollupService,
    private readonly queue: ReportsQueue,
  ) {}

  @Get('summary')
  @ApiOperation({
    summary: 'Orders by status and failure reason, revenue, VIP service level, decision times',
    description:
      'Orders count on the day they were accepted, with their current status.' + CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ description: 'The summary (JSON or CSV `metric,value`)' })
  @ApiErrors(400)
  async summary(@Query() query: ReportRangeQuery, @Req() req: Request) {
    const range = rangeOf(query);
    const summary = await this.reports.summary(range);
    if (!wantsCsv(req)) return summary;
    const rows: Cell[][] = [
      ['from', range.from],
      ['to', range.to],
      ['tz', range.tz],
      ['orders.total', summary.orders.total],
      ...Object.entries(summary.orders.byStatus).map(([k, n]) => [`orders.byStatus.${k}`, n]),
      ...Object.entries(summary.orders.byFailureReason).map(([k, n]) => [
        `orders.byFailureReason.${k}`,
        n,
      ]),
      ...summary.revenue.map((m) => [`revenue.${m.currency}`, m.amount]),
      ...summary.averageOrderValue.map((m) => [`averageOrderValue.${m.currency}`, m.amount]),
      ...(['vip', 'regular'] as const).flatMap((group) => [
        [`${group}.orders`, summary[group].orders],
        [`${group}.confirmed`, summary[group].confirmed],
        [`${group}.rate`, summary[group].rate],
      ]),
      ['cancellations.total', summary.cancellations.total],
      ...Object.entries(summary.cancellations.byPreviousStatus).map(([k, n]) => [
        `cancellations.byPreviousStatus.${k}`,
        n,
      ]),
      ['decisionMs.p50', summary.decisionMs.p50],
      ['decisionMs.p95', summary.decisionMs.p95],
      ['decisionMs.count', summary.decisionMs.count],
    ];
    return csvFile(`sales-summary-${range.from}-${range.to}.csv`, ['metric', 'value'], rows);
  }

  @Get('series')
  @ApiOperation({
    summary: 'Orders, confirmations and revenue per day or hour',
    description:
      'Every day or hour of the range, empty ones included; `start` carries the zone offset of that instant.' +
      CSV_NOTE,
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    description: 'The series (JSON, or CSV `start,orders,confirmed,revenue_<CUR>…`)',
  })
  @ApiErrors(400)
  async series(@Query() query: SeriesQuery, @Req() req: Request) {
    const range = rangeOf(query, query.interval);
    const series = await this.reports.series(range, query.interval);
    if (!wantsCsv(req)) return series;
    const currencies = currenciesOf(series.items.map((item) => item.revenue));
    return csvFile(
      `sales-${query.interval}s-${range.from}-${range.to}.csv`,
      ['start', 'orders', 'confirmed', ...currencies.map((c) => `revenue_${c}`)],
      series.items.map((item) => [
        item.start,
        item.orders,
        item.confirmed,
        ...amountsIn(currencies, item.revenue),
      ]),
    );
  }

  @Get('top-products')
  @ApiOperation({
    summary: 'Products by units sold in kept orders, with their revenue',
    description: CSV_NOTE.trim(),
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    description: 'The products (JSON, or CSV `productId,name,units,revenue_<CUR>…`)',
  })
  @ApiErrors(400)
  async topProducts(@Query() query: TopProductsQuery, @Req() req: Request) {
    const range = rangeOf(query);
    const top = await this.reports.topProducts(range, query.limit);
    if (!wantsCsv(req)) return top;
    const currencies = currenciesOf(top.items.map((item) => item.revenue));
    return csvFile(
      `top-products-${range.from}-${range.to}.csv`,
      ['productId', 'name', 'units', ...currencies.map((c) => `revenue_${c}`)],
      top.items.map((item) => [
        item.productId,
        item.name,
        item.units,
        ...amountsIn(currencies, item.revenue),
      ]),
    );
  }

  @Get('status')
  @ApiOperation({
    summary: 'How far the rollups have got',
    description:
      'Changes made before `watermark` are in the reports; buckets before `coveredUntil` come from the rollups, ' +
      'later ones straight from the orders.',
  })
  async status() {
    const state = await this.rollups.status();
    return {
      watermark: state.watermark?.toISOString() ?? null,
      coveredUntil: state.coveredUntil?.toISOString() ?? null,
      lastRunAt: state.lastRunAt?.toISOString() ?? null,
      lastRunMs: state.lastRunMs,
      lastRebuildAt: state.lastRebuildAt?.toISOString() ?? null,
      lastRebuildMs: state.lastRebuildMs,
    };
  }

  @Post('rollup')
  @Roles('admin')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Run the rollup now, on a worker (admin)',
    description:
      '`rebuild=true` recomputes every rollup from the orders (after a restore, or to check).',
  })
  @ApiAcceptedResponse({ description: 'Queued: `{ jobId }`' })
  @ApiErrors(400)
  async rollup(@Query() query: RollupQuery) {
    const job = await this.queue.runNow(query.rebuild === 'true');
    return { jobId: job.id };
  }
}

function rangeOf(query: ReportRangeQuery, interval?: Interval): ReportRange {
  try {
    return reportRange(query, new Date(), interval);
  } catch (error) {
    if (error instanceof RangeProblem)
      throw new RequestValidationError([{ field: error.parameter, problem: error.problem }]);
    throw error;
  }
}

function wantsCsv(req: Request): boolean {
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

function currenciesOf(lists: Money[][]): string[] {
  return [...new Set(lists.flat().map((m) => m.currency))].sort();
}

function amountsIn(currencies: string[], money: Money[]): number[] {
  return currencies.map((c) => money.find((m) => m.currency === c)?.amount ?? 0);
}

/** The rows as a CSV download, written as they are read. */
function csvFile(name: string, header: Cell[], rows: Iterable<Cell[]>): StreamableFile {
  function* lines() {
    yield csvLine(header);
    for (const row of rows) yield csvLine(row);
  }
  return new StreamableFile(Readable.from(lines()), {
    type: 'text/csv; charset=utf-8',
    disposition: `attachment; filename="${name}"`,
  });
}

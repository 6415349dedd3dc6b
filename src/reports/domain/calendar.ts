/**
 * A report's range and its buckets, in the caller's time zone: days cut at local midnight (23 or 25
 * hours across a DST change; where a zone skips midnight, the day starts at its first instant), hours
 * as the zone's clock shows them (a fall-back hour appears twice, with two offsets).
 */
import { DateTime, IANAZone } from 'luxon';

export type Interval = 'day' | 'hour';

export interface ReportRange {
  /** The first and last day, as asked (`YYYY-MM-DD`, in `tz`). */
  from: string;
  to: string;
  tz: string;
  /** The first instant of `from` and of the day after `to`. */
  start: Date;
  end: Date;
}

export const MAX_RANGE_DAYS = 1096;
export const MAX_HOUR_SERIES_DAYS = 92;
/** Years a range may fall in: every zone's offset is then a whole number of quarter hours. */
const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;

/** A parameter the caller got wrong, and why (`problem` reads after its name). */
export class RangeProblem extends Error {
  constructor(
    readonly parameter: string,
    readonly problem: string,
  ) {
    super(`${parameter} ${problem}`);
  }
}

export function isTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

/** The range of `from`…`to` (both included) in `tz`; defaults: today in `tz`, `from` = `to`. */
export function reportRange(
  query: { from?: string; to?: string; tz?: string },
  now: Date,
  interval?: Interval,
): ReportRange {
  const tz = query.tz ?? 'UTC';
  if (!isTimeZone(tz))
    throw new RangeProblem('tz', `must be an IANA time zone such as Europe/Berlin (got "${tz}")`);
  const to = query.to ?? DateTime.fromJSDate(now, { zone: tz }).toISODate() ?? '';
  const from = query.from ?? to;
  // `to` first: `from` defaults to it, and a bad `to` is the caller's mistake to name.
  const last = localDay('to', to, tz);
  const first = localDay('from', from, tz);
  if (first > last) throw new RangeProblem('from', `must not be after to (${from} > ${to})`);
  const days = Math.round(last.diff(first, 'days').days) + 1;
  const maxDays = interval === 'hour' ? MAX_HOUR_SERIES_DAYS : MAX_RANGE_DAYS;
  if (days > maxDays)
    throw new RangeProblem(
      'to',
      `makes a range of ${days} days; at most ${maxDays}${interval === 'hour' ? ' for an hour series' : ''}`,
    );
  return { from, to, tz, start: startOfDay(first), end: startOfDay(last.plus({ days: 1 })) };
}

function localDay(parameter: string, date: string, tz: string): DateTime {
  const day = DateTime.fromISO(date, { zone: tz });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !day.isValid)
    throw new RangeProblem(parameter, `must be a calendar date, YYYY-MM-DD (got "${date}")`);
  if (day.year < FIRST_YEAR || day.year > LAST_YEAR)
    throw new RangeProblem(parameter, `must be between ${FIRST_YEAR} and ${LAST_YEAR}`);
  return day.startOf('day');
}

/** The first instant of a local day: midnight, or the first instant after a skipped midnight. */
function startOfDay(day: DateTime): Date {
  return day.startOf('day').toJSDate();
}

/** The buckets' first instants, and the range's end after the last: n buckets, n + 1 instants. */
export function bucketBounds(range: ReportRange, interval: Interval): Date[] {
  const bounds: Date[] = [];
  let at = DateTime.fromJSDate(range.start, { zone: range.tz });
  const end = range.end.getTime();
  while (at.toMillis() < end) {
    bounds.push(at.toJSDate());
    // A day is a calendar step (23 or 25 hours across DST); an hour is 60 real minutes.
    at = interval === 'day' ? at.plus({ days: 1 }).startOf('day') : at.plus({ hours: 1 });
  }
  bounds.push(range.end);
  return bounds;
}

/** An instant as ISO 8601 with the zone's offset then: `2026-03-29T00:00:00+01:00`. */
export function isoInZone(at: Date, tz: string): string {
  const iso =
    DateTime.fromJSDate(at, { zone: tz }).toISO({ suppressMilliseconds: true }) ?? at.toISOString();
  // Luxon writes UTC's offset as Z; every start carries a numeric offset.
  return iso.replace(/Z$/, '+00:00');
}

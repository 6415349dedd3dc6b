/**
 * Local calendars for the report tests, from Intl alone: the wall-clock date, hour and offset of an
 * instant in a time zone, the first instant of a local day, and the days and hours of a range.
 * Deliberately naive (a scan on a 15-minute grid), so it shares nothing with src/reports but the
 * time-zone database. Every offset of the zones the tests use is a multiple of 15 minutes, so every
 * local midnight, hour and DST change falls on that grid; `dayStart` checks it.
 */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
const GRID = 15 * MINUTE;

export interface LocalTime {
  /** `YYYY-MM-DD` */
  date: string;
  /** `00`–`23` */
  hour: string;
  minute: string;
  second: string;
  /** `+05:45`, `-04:00`, `+00:00` */
  offset: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}

export function localTime(instant: number, tz: string): LocalTime {
  const parts = formatterFor(tz).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): string => {
    const found = parts.find((p) => p.type === type);
    if (!found) throw new Error(`Intl gave no ${type} for ${new Date(instant).toISOString()}`);
    return found.value;
  };
  // 'GMT+05:45', 'GMT-04:00', or plain 'GMT' for a zero offset.
  const zoneName = part('timeZoneName');
  const offset = zoneName === 'GMT' ? '+00:00' : zoneName.replace(/^GMT/, '');
  if (!/^[+-]\d{2}:\d{2}$/.test(offset)) throw new Error(`unexpected offset ${zoneName}`);
  return {
    date: `${part('year')}-${part('month')}-${part('day')}`,
    hour: part('hour'),
    minute: part('minute'),
    second: part('second'),
    offset,
  };
}

/** The instant as ISO 8601 with the zone's offset at that instant: `2026-03-29T00:00:00+01:00`. */
export function isoWithOffset(instant: number, tz: string): string {
  const t = localTime(instant, tz);
  if (instant % 1000 !== 0) throw new Error('bucket starts are whole seconds');
  return `${t.date}T${t.hour}:${t.minute}:${t.second}${t.offset}`;
}

/** The calendar day after `date` (`YYYY-MM-DD`). */
export function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
}

/** How many calendar days `from`..`to` holds, both included. */
export function daysIn(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY + 1;
}

/** The first instant whose local date is `date` (or later, where the zone skips the day). */
export function dayStart(date: string, tz: string): number {
  // No zone is 15 hours or more ahead of UTC: this instant is still on an earlier local day.
  let t = Date.parse(`${date}T00:00:00Z`) - 15 * HOUR;
  while (localTime(t, tz).date < date) t += GRID;
  if (localTime(t - 1, tz).date >= date)
    throw new Error(`${tz}: the day ${date} does not start on the 15-minute grid`);
  return t;
}

export interface Bucket {
  /** What an order's local time maps to: `YYYY-MM-DD` for a day, date, hour and offset for an hour. */
  key: string;
  start: number;
  end: number;
}

/** The key of the bucket that holds `instant`. */
export function bucketKey(instant: number, tz: string, interval: 'day' | 'hour'): string {
  const t = localTime(instant, tz);
  return interval === 'day' ? t.date : `${t.date}T${t.hour}${t.offset}`;
}

/**
 * Every day or hour of the local dates `from`..`to`, in order: a walk over the grid that opens a
 * bucket wherever the local date (or date, hour and offset) changes. A fall-back's repeated hour
 * differs in its offset, so it is two buckets; a spring-forward's missing hour is none.
 */
export function bucketsOf(
  from: string,
  to: string,
  tz: string,
  interval: 'day' | 'hour',
): Bucket[] {
  // The calendar does not change: each range is walked once per run.
  const id = `${from} ${to} ${tz} ${interval}`;
  const known = walked.get(id);
  if (known) return known.map((b) => ({ ...b }));
  const buckets = walk(from, to, tz, interval);
  walked.set(id, buckets);
  return buckets.map((b) => ({ ...b }));
}

const walked = new Map<string, Bucket[]>();

function walk(from: string, to: string, tz: string, interval: 'day' | 'hour'): Bucket[] {
  const start = dayStart(from, tz);
  const end = dayStart(nextDate(to), tz);
  const buckets: Bucket[] = [];
  for (let t = start; t < end; t += GRID) {
    const key = bucketKey(t, tz, interval);
    const last = buckets[buckets.length - 1];
    if (last?.key === key) continue;
    if (last) last.end = t;
    buckets.push({ key, start: t, end });
  }
  return buckets;
}

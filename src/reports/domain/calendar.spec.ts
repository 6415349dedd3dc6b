import { RangeProblem, bucketBounds, isoInZone, reportRange } from './calendar.js';

const NOW = new Date('2026-11-30T23:30:00Z');

describe('reportRange', () => {
  it('cuts days at local midnight and defaults to today in the zone', () => {
    const range = reportRange({ tz: 'Europe/Berlin' }, NOW);
    expect(range).toMatchObject({ from: '2026-12-01', to: '2026-12-01', tz: 'Europe/Berlin' });
    expect(range.start.toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(range.end.toISOString()).toBe('2026-12-01T23:00:00.000Z');
    expect(reportRange({}, NOW).from).toBe('2026-11-30');
  });

  it('gives a spring-forward day 23 hours and a fall-back day 25', () => {
    const spring = reportRange({ from: '2026-03-29', to: '2026-03-29', tz: 'Europe/Berlin' }, NOW);
    expect((spring.end.getTime() - spring.start.getTime()) / 3_600_000).toBe(23);
    const fall = reportRange({ from: '2026-11-01', to: '2026-11-01', tz: 'America/New_York' }, NOW);
    expect((fall.end.getTime() - fall.start.getTime()) / 3_600_000).toBe(25);
    expect(bucketBounds(fall, 'hour')).toHaveLength(26);
  });

  it('starts a day whose midnight is skipped at its first instant', () => {
    // Santiago moved its clocks from 00:00 to 01:00 on 6 September 2026.
    const range = reportRange({ from: '2026-09-06', tz: 'America/Santiago' }, NOW);
    expect(isoInZone(range.start, 'America/Santiago')).toBe('2026-09-06T01:00:00-03:00');
  });

  it('names the parameter of every refusal', () => {
    const problem = (query: Parameters<typeof reportRange>[0], interval?: 'day' | 'hour') => {
      try {
        reportRange(query, NOW, interval);
      } catch (error) {
        return error instanceof RangeProblem ? error.parameter : 'other';
      }
      return 'none';
    };
    expect(problem({ tz: 'Mars/Olympus' })).toBe('tz');
    expect(problem({ from: '2026-02-30' })).toBe('from');
    expect(problem({ to: '2026-13-01' })).toBe('to');
    expect(problem({ from: '1999-12-31' })).toBe('from');
    expect(problem({ from: '2026-12-02', to: '2026-12-01' })).toBe('from');
    expect(problem({ from: '2024-01-01', to: '2026-12-31' })).toBe('none');
    expect(problem({ from: '2023-12-31', to: '2026-12-31' })).toBe('to');
    expect(problem({ from: '2026-01-01', to: '2026-06-30' }, 'hour')).toBe('to');
    expect(problem({ from: '2026-01-01', to: '2026-03-31' }, 'hour')).toBe('none');
  });
});

describe('bucketBounds and isoInZone', () => {
  it('shows the repeated hour of a fall-back with both offsets', () => {
    const range = reportRange({ from: '2026-10-25', tz: 'Europe/Berlin' }, NOW);
    const starts = bucketBounds(range, 'hour').map((at) => isoInZone(at, 'Europe/Berlin'));
    expect(starts.slice(2, 4)).toEqual(['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00']);
  });

  it('cuts Kathmandu hours at a quarter past, and writes UTC as +00:00', () => {
    const range = reportRange({ from: '2026-06-01', tz: 'Asia/Kathmandu' }, NOW);
    expect(bucketBounds(range, 'hour')[1]?.toISOString()).toBe('2026-05-31T19:15:00.000Z');
    expect(isoInZone(new Date('2026-06-01T00:00:00Z'), 'UTC')).toBe('2026-06-01T00:00:00+00:00');
  });

  it('counts days across a month end', () => {
    const range = reportRange({ from: '2026-01-30', to: '2026-02-02', tz: 'Asia/Kolkata' }, NOW);
    expect(bucketBounds(range, 'day').map((at) => isoInZone(at, 'Asia/Kolkata'))).toEqual([
      '2026-01-30T00:00:00+05:30',
      '2026-01-31T00:00:00+05:30',
      '2026-02-01T00:00:00+05:30',
      '2026-02-02T00:00:00+05:30',
      '2026-02-03T00:00:00+05:30',
    ]);
  });
});

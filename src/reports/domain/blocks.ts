/**
 * Which rollups add up to a span of time. Rollups exist per UTC day, six hours, hour and quarter
 * hour; a span [a, b) whose ends are quarter hours is covered by whole days, corrected at each end by
 * six-hour blocks, hours and quarters, added or subtracted, whichever needs fewer: a New York day
 * (05:00–05:00 UTC) is one UTC day, minus 00:00–06:00 plus 05:00–06:00 at its start, and the same
 * the other way at its end: five documents, not twenty-four hours. Every figure of a rollup is a
 * count or a sum, so subtracting one is exact.
 */

export const LEVELS = ['day', '6h', 'hour', 'quarter'] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_MS: Record<Level, number> = {
  day: 86_400_000,
  '6h': 21_600_000,
  hour: 3_600_000,
  quarter: 900_000,
};

export interface Block {
  level: Level;
  start: Date;
  /** +1 to add the rollup, -1 to subtract it. */
  sign: 1 | -1;
}

export function isQuarterAligned(at: Date): boolean {
  return at.getTime() % LEVEL_MS.quarter === 0;
}

export function floorTo(at: number, level: Level): number {
  return Math.floor(at / LEVEL_MS[level]) * LEVEL_MS[level];
}

/** The rollup id of a block: its level and start (`hour:2026-11-30T10:00:00.000Z`). */
export function blockId(level: Level, start: Date): string {
  return `${level}:${start.toISOString()}`;
}

/**
 * Blocks whose signed sum is [a, b), using only blocks that end by `limit` (the rollups are complete
 * up to there; a, b ≤ limit). a and b must be quarter hours.
 */
export function cover(a: Date, b: Date, limit: Date = b): Block[] {
  if (!isQuarterAligned(a) || !isQuarterAligned(b))
    throw new Error(
      `spans start and end on quarter hours (${a.toISOString()}, ${b.toISOString()})`,
    );
  return coverAt(a.getTime(), b.getTime(), 0, limit.getTime());
}

function coverAt(a: number, b: number, levelIndex: number, limit: number): Block[] {
  if (a >= b) return [];
  const level = LEVELS[levelIndex];
  if (level === 'quarter') return units(a, b, 'quarter', 1);
  const size = LEVEL_MS[level];
  const nearest = (t: number) => Math.round(t / size) * size;
  const start = nearest(a);
  // The end may round up only to a block that is complete.
  const end = nearest(b) <= limit ? nearest(b) : floorTo(b, level);
  if (start >= end) return coverAt(a, b, levelIndex + 1, limit);
  const finer = (from: number, to: number, sign: 1 | -1) =>
    coverAt(from, to, levelIndex + 1, limit).map((block) => ({
      ...block,
      sign: (block.sign * sign) as 1 | -1,
    }));
  return [
    ...units(start, end, level, 1),
    ...(start < a ? finer(start, a, -1) : finer(a, start, 1)),
    ...(end > b ? finer(b, end, -1) : finer(end, b, 1)),
  ];
}

function units(from: number, to: number, level: Level, sign: 1 | -1): Block[] {
  const blocks: Block[] = [];
  for (let t = from; t < to; t += LEVEL_MS[level]) blocks.push({ level, start: new Date(t), sign });
  return blocks;
}

/** A span of time [start, end) whose quarter hours a rollup run recomputes in one read. */
export type Span = readonly [start: number, end: number];

/**
 * The quarter hours a run recomputes: those with orders changed since the last run, and those the
 * coverage moves past (`coveredBefore` → `coveredUntil`), which earlier runs left alone. None at or
 * after `coveredUntil`: reports read those from the orders, and during a sale the quarter in
 * progress changes before every run (recomputing it re-read all its orders each time). Quarters
 * are read one span each, or a day's in one span when it has more than `scanDayFrom` of them.
 */
export function recomputeSpans(
  changedAt: Iterable<number>,
  coveredBefore: number,
  coveredUntil: number,
  scanDayFrom: number,
): Span[] {
  const days = new Map<number, Set<number>>();
  const add = (quarter: number) => {
    if (quarter >= coveredUntil) return;
    const day = floorTo(quarter, 'day');
    days.set(day, (days.get(day) ?? new Set()).add(quarter));
  };
  for (const at of changedAt) add(floorTo(at, 'quarter'));
  // A long pause between runs makes whole days of these.
  for (let q = floorTo(coveredBefore, 'quarter'); q < coveredUntil; q += LEVEL_MS.quarter) add(q);
  const spans: Span[] = [];
  for (const [day, quarters] of days) {
    if (quarters.size > scanDayFrom) spans.push([day, Math.min(day + LEVEL_MS.day, coveredUntil)]);
    else for (const quarter of quarters) spans.push([quarter, quarter + LEVEL_MS.quarter]);
  }
  return spans;
}

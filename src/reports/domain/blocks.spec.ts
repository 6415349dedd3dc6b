import fc from 'fast-check';
import { LEVEL_MS, cover, recomputeSpans } from './blocks.js';

const Q = LEVEL_MS.quarter;
const BASE = Date.UTC(2026, 0, 1);

/** What a set of signed blocks adds up to, per quarter hour: 1 inside the span, 0 outside. */
function weights(blocks: ReturnType<typeof cover>): Map<number, number> {
  const w = new Map<number, number>();
  for (const block of blocks)
    for (let t = block.start.getTime(); t < block.start.getTime() + LEVEL_MS[block.level]; t += Q)
      w.set(t, (w.get(t) ?? 0) + block.sign);
  return w;
}

describe('cover', () => {
  it('adds up to every quarter of the span once and nothing else, using only complete blocks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 * 24 * 40 }),
        fc.integer({ min: 0, max: 4 * 24 * 40 }),
        fc.integer({ min: 0, max: 4 * 24 * 3 }),
        (x, length, slack) => {
          const a = BASE + x * Q;
          const b = a + length * Q;
          const limit = b + slack * Q;
          const blocks = cover(new Date(a), new Date(b), new Date(limit));
          const weighed = weights(blocks);
          // Every difference at once (one expect per quarter made the property take a minute).
          const wrong: string[] = [];
          for (const [t, weight] of weighed)
            if (weight !== (t >= a && t < b ? 1 : 0)) wrong.push(`weight ${weight} at ${t}`);
          for (let t = a; t < b; t += Q)
            if (weighed.get(t) !== 1) wrong.push(`no weight 1 at ${t} in the span`);
          for (const block of blocks)
            if (block.start.getTime() + LEVEL_MS[block.level] > limit)
              wrong.push(`${block.level} at ${block.start.toISOString()} ends after the limit`);
          expect(wrong).toEqual([]);
        },
      ),
    );
  });

  it('covers a New York day with five documents, not twenty-four hours', () => {
    const a = new Date('2026-11-30T05:00:00Z');
    const b = new Date('2026-12-01T05:00:00Z');
    const blocks = cover(a, b, new Date('2026-12-31T00:00:00Z'));
    const count = (level: string) => blocks.filter((x) => x.level === level).length;
    expect([count('day'), count('6h'), count('hour'), count('quarter')]).toEqual([1, 2, 2, 0]);
  });

  it('covers a Kathmandu day (+05:45) with quarters only at its ends', () => {
    const blocks = cover(
      new Date('2026-11-29T18:15:00Z'),
      new Date('2026-11-30T18:15:00Z'),
      new Date('2026-12-31T00:00:00Z'),
    );
    expect(blocks.filter((x) => x.level === 'quarter').length).toBeLessThanOrEqual(2);
    expect(blocks.length).toBeLessThanOrEqual(1 + 2 * (1 + 3 + 2));
  });

  it('never reads past the limit: an open day is read by its parts', () => {
    const blocks = cover(
      new Date('2026-11-30T00:00:00Z'),
      new Date('2026-11-30T18:00:00Z'),
      new Date('2026-11-30T18:00:00Z'),
    );
    expect(blocks.every((x) => x.level === '6h' && x.sign === 1)).toBe(true);
    expect(blocks).toHaveLength(3);
  });

  it('refuses spans that do not start and end on quarter hours', () => {
    expect(() => cover(new Date(BASE + 1), new Date(BASE + Q))).toThrow(/quarter hours/);
  });
});

describe('recomputeSpans', () => {
  /** The quarters the spans read, each once. */
  function quartersOf(spans: ReturnType<typeof recomputeSpans>): number[] {
    const quarters: number[] = [];
    for (const [start, end] of spans) for (let t = start; t < end; t += Q) quarters.push(t);
    return quarters;
  }

  it('reads every changed and newly covered quarter once, and none the coverage has not reached', () => {
    const minute = 60_000;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 * 24 * 60 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 3 * 24 * 4 }),
        fc.integer({ min: 0, max: 2 * 24 * 4 }),
        fc.integer({ min: 1, max: 12 }),
        (changedMinutes, before, advance, scanDayFrom) => {
          const coveredBefore = BASE + before * Q;
          const coveredUntil = coveredBefore + advance * Q;
          const changed = changedMinutes.map((m) => BASE + m * minute + 1234);
          const read = quartersOf(
            recomputeSpans(changed, coveredBefore, coveredUntil, scanDayFrom),
          );
          expect(new Set(read).size).toBe(read.length);
          const must = new Set(changed.map((at) => at - (at % Q)).filter((q) => q < coveredUntil));
          for (let q = coveredBefore; q < coveredUntil; q += Q) must.add(q);
          for (const q of must) expect(read).toContain(q);
          for (const q of read) expect(q).toBeLessThan(coveredUntil);
        },
      ),
    );
  });

  it('reads a day with many quarters to recompute in one span, up to the coverage', () => {
    const day = BASE + 24 * 60 * 60_000;
    const changed = Array.from({ length: 10 }, (_, i) => day + i * Q + 5);
    const coveredUntil = day + 40 * Q;
    expect(recomputeSpans(changed, coveredUntil, coveredUntil, 8)).toEqual([[day, coveredUntil]]);
    // The quarter in progress alone changed: nothing to read.
    expect(recomputeSpans([coveredUntil + 60_000], coveredUntil, coveredUntil, 8)).toEqual([]);
    // The coverage moved past one quarter: that quarter.
    expect(recomputeSpans([], coveredUntil, coveredUntil + Q, 8)).toEqual([
      [coveredUntil, coveredUntil + Q],
    ]);
  });
});

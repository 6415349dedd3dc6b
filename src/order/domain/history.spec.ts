import { decisionEntries, isGapFree, moveEntry, numbered } from './history.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0, ms));

describe('order history', () => {
  it('records a confirmation as the reservation, then the confirmation', () => {
    expect(decisionEntries({ status: 'CONFIRMED' }, at(1), at(2))).toEqual([
      { event: 'RESERVED', status: 'PENDING', at: at(1), actor: 'system' },
      { event: 'CONFIRMED', status: 'CONFIRMED', at: at(2), actor: 'system' },
    ]);
  });

  it('records a failure with its reason', () => {
    expect(decisionEntries({ status: 'FAILED', reason: 'OUT_OF_STOCK' }, at(1), at(2))).toEqual([
      { event: 'FAILED', status: 'FAILED', at: at(2), actor: 'system', reason: 'OUT_OF_STOCK' },
    ]);
  });

  it('records a move by whoever made it', () => {
    expect(moveEntry('SHIPPED', 'staff-1', at(3))).toEqual({
      event: 'SHIPPED',
      status: 'SHIPPED',
      at: at(3),
      actor: 'staff-1',
    });
  });

  it('numbers new entries after the ones there are', () => {
    const entries = decisionEntries({ status: 'CONFIRMED' }, at(1), at(2));
    expect(numbered(1, entries).map((e) => e.seq)).toEqual([2, 3]);
  });

  it('never numbers an entry with a time before the previous one', () => {
    const entries = decisionEntries({ status: 'CONFIRMED' }, at(1), at(5));
    expect(numbered(1, entries, at(3)).map((e) => e.at)).toEqual([at(3), at(5)]);
    expect(numbered(1, entries, at(9)).map((e) => e.at)).toEqual([at(9), at(9)]);
  });

  it('tells a whole history from one with a gap, a repeat or time going back', () => {
    const accepted = numbered(0, [{ event: 'ACCEPTED', status: 'PENDING', at: at(0), actor: 'u' }]);
    const whole = [
      ...accepted,
      ...numbered(1, decisionEntries({ status: 'CONFIRMED' }, at(1), at(2))),
    ];
    expect(isGapFree(whole)).toBe(true);
    expect(isGapFree([])).toBe(true);
    expect(isGapFree([whole[0], whole[2]])).toBe(false);
    expect(isGapFree([whole[0], whole[0]])).toBe(false);
    expect(isGapFree([whole[0], { ...whole[1], at: at(-1) }])).toBe(false);
  });
});

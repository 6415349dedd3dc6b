import { PRIORITY, priorityFor, settlementFor, verdictFor } from './order-state.js';

describe('verdictFor', () => {
  it('confirms an order whose every line is held', () => {
    expect(verdictFor({ result: 'held' })).toEqual({ status: 'CONFIRMED' });
  });

  it('fails an order with the reason its reservation was refused', () => {
    expect(verdictFor({ result: 'rejected', reason: 'PRODUCT_UNAVAILABLE' })).toEqual({
      status: 'FAILED',
      reason: 'PRODUCT_UNAVAILABLE',
    });
    expect(verdictFor({ result: 'rejected', reason: 'OUT_OF_STOCK' })).toEqual({
      status: 'FAILED',
      reason: 'OUT_OF_STOCK',
    });
  });
});

describe('settlementFor', () => {
  it('commits confirmed orders, releases failed ones and leaves pending ones alone', () => {
    expect(settlementFor('CONFIRMED')).toBe('commit');
    expect(settlementFor('FAILED')).toBe('release');
    expect(settlementFor('PENDING')).toBe('none');
  });
});

describe('priorities', () => {
  it('gives VIP orders a higher BullMQ priority (a lower number) than regular ones, never none', () => {
    expect(priorityFor(true)).toBe('VIP');
    expect(priorityFor(false)).toBe('REGULAR');
    expect(PRIORITY.VIP).toBeGreaterThan(0);
    expect(PRIORITY.VIP).toBeLessThan(PRIORITY.REGULAR);
  });
});

import { ORDER_NUMBER, blockEndingAt, formatOrderNumber } from './order-number.js';

describe('order numbers', () => {
  it('reads as ORD-<year of acceptance>-<sequence of at least six digits>', () => {
    const accepted = new Date('2026-11-30T23:59:59Z');
    expect(formatOrderNumber(123, accepted)).toBe('ORD-2026-000123');
    expect(formatOrderNumber(1_234_567, accepted)).toBe('ORD-2026-1234567');
    expect(formatOrderNumber(1, new Date('2027-01-01T00:00:00Z'))).toBe('ORD-2027-000001');
    expect(ORDER_NUMBER.test('ORD-2026-000123')).toBe(true);
    expect(ORDER_NUMBER.test('ORD-26-1')).toBe(false);
  });

  it('takes the block that ends at the counter after the increment', () => {
    expect(blockEndingAt(100, 100)).toEqual({ first: 1, last: 100 });
    expect(blockEndingAt(300, 100)).toEqual({ first: 201, last: 300 });
  });
});

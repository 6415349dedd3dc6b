import {
  Mover,
  ORDER_STATUSES,
  OrderStatus,
  PRIORITY,
  checkMove,
  mayMove,
  nextStatuses,
  priorityFor,
  settlementFor,
  statusesLeadingTo,
  verdictFor,
} from './order-state.js';

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

  it('commits orders in fulfilment: a retry that finds them there still turns holds into sales', () => {
    for (const status of ['PREPARING', 'SHIPPED', 'DELIVERED'] as const)
      expect(settlementFor(status)).toBe('commit');
  });

  it('gives back what a cancelled order took: holds only if it was PENDING, holds or sales after', () => {
    expect(settlementFor('CANCELLED', 'PENDING')).toBe('release');
    expect(settlementFor('CANCELLED', 'CONFIRMED')).toBe('undo');
    expect(settlementFor('CANCELLED', 'PREPARING')).toBe('undo');
    // Unknown origin: giving back once, holds or sales, is the safe reading.
    expect(settlementFor('CANCELLED', null)).toBe('undo');
  });
});

/** The whole table, written out: [from, to, movers allowed]. Every other triple is refused. */
const ALLOWED: Array<[OrderStatus, OrderStatus, Mover[]]> = [
  ['PENDING', 'CONFIRMED', ['system']],
  ['PENDING', 'FAILED', ['system']],
  ['PENDING', 'CANCELLED', ['owner', 'staff']],
  ['CONFIRMED', 'PREPARING', ['staff']],
  ['CONFIRMED', 'CANCELLED', ['owner', 'staff']],
  ['PREPARING', 'SHIPPED', ['staff']],
  ['PREPARING', 'CANCELLED', ['staff']],
  ['SHIPPED', 'DELIVERED', ['staff']],
  ['FAILED', 'PENDING', ['staff']],
];
const MOVERS: Mover[] = ['owner', 'staff', 'system'];

describe('the transition table', () => {
  it('allows exactly the listed moves, for exactly the listed movers', () => {
    for (const from of ORDER_STATUSES)
      for (const to of ORDER_STATUSES)
        for (const mover of MOVERS) {
          const listed = ALLOWED.some(([f, t, m]) => f === from && t === to && m.includes(mover));
          expect({ from, to, mover, allowed: mayMove(from, to, mover) }).toEqual({
            from,
            to,
            mover,
            allowed: listed,
          });
        }
  });

  it('never leaves DELIVERED or CANCELLED, and never goes back from SHIPPED to cancellation', () => {
    for (const mover of MOVERS) {
      expect(nextStatuses('DELIVERED', mover)).toEqual([]);
      expect(nextStatuses('CANCELLED', mover)).toEqual([]);
      expect(mayMove('SHIPPED', 'CANCELLED', mover)).toBe(false);
    }
  });

  it('lists where a mover may go from a status, and where a status may be reached from', () => {
    expect(nextStatuses('CONFIRMED', 'staff')).toEqual(['PREPARING', 'CANCELLED']);
    expect(nextStatuses('CONFIRMED', 'owner')).toEqual(['CANCELLED']);
    expect(statusesLeadingTo('CANCELLED', 'owner')).toEqual(['PENDING', 'CONFIRMED']);
    expect(statusesLeadingTo('CANCELLED', 'staff')).toEqual(['PENDING', 'CONFIRMED', 'PREPARING']);
    expect(statusesLeadingTo('SHIPPED', 'staff')).toEqual(['PREPARING']);
  });
});

describe('checkMove', () => {
  it('moves where the table allows it', () => {
    expect(checkMove('CONFIRMED', 'PREPARING', 'staff')).toEqual({ kind: 'move' });
  });

  it('answers a repeated request as already done', () => {
    expect(checkMove('CANCELLED', 'CANCELLED', 'owner')).toEqual({ kind: 'already' });
    expect(checkMove('SHIPPED', 'SHIPPED', 'staff')).toEqual({ kind: 'already' });
  });

  it('refuses naming the current status and what is allowed from it', () => {
    expect(checkMove('SHIPPED', 'CANCELLED', 'staff')).toEqual({
      kind: 'refused',
      message: 'The order is SHIPPED; it cannot move to CANCELLED (allowed: DELIVERED)',
    });
    expect(checkMove('PREPARING', 'CANCELLED', 'owner')).toEqual({
      kind: 'refused',
      message: 'The order is PREPARING; it cannot move to CANCELLED (no further change is allowed)',
    });
    expect(checkMove('CONFIRMED', 'SHIPPED', 'staff')).toEqual({
      kind: 'refused',
      message: 'The order is CONFIRMED; it cannot move to SHIPPED (allowed: PREPARING, CANCELLED)',
    });
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

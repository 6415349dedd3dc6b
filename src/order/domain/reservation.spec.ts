import { MAX_VERSION_CONFLICTS, conflictBackoffMs, decideReservation } from './reservation.js';

const product = { active: true, available: 5, version: 3, heldByOrder: undefined };

describe('decideReservation', () => {
  it('reserves when enough stock is available', () => {
    expect(decideReservation(product, 5)).toEqual({ action: 'reserve' });
  });

  it('rejects with OUT_OF_STOCK when fewer units are available than asked', () => {
    expect(decideReservation(product, 6)).toEqual({ action: 'reject', reason: 'OUT_OF_STOCK' });
    expect(decideReservation({ ...product, available: 0 }, 1)).toEqual({
      action: 'reject',
      reason: 'OUT_OF_STOCK',
    });
  });

  it('rejects with PRODUCT_UNAVAILABLE when the product is gone or discontinued', () => {
    expect(decideReservation(undefined, 1)).toEqual({
      action: 'reject',
      reason: 'PRODUCT_UNAVAILABLE',
    });
    expect(decideReservation({ ...product, active: false }, 1)).toEqual({
      action: 'reject',
      reason: 'PRODUCT_UNAVAILABLE',
    });
  });

  it('keeps a hold the same order already has, whatever the stock now says (redelivery)', () => {
    expect(decideReservation({ ...product, available: 0, heldByOrder: 2 }, 2)).toEqual({
      action: 'already-held',
    });
    expect(decideReservation({ ...product, active: false, heldByOrder: 2 }, 2)).toEqual({
      action: 'already-held',
    });
  });
});

describe('conflictBackoffMs', () => {
  it('stays within a growing, capped window', () => {
    expect(conflictBackoffMs(1, 0)).toBe(0);
    expect(conflictBackoffMs(1, 0.999)).toBeLessThan(2);
    expect(conflictBackoffMs(3, 0.999)).toBeLessThan(8);
    expect(conflictBackoffMs(MAX_VERSION_CONFLICTS, 0.999)).toBeLessThan(64);
    expect(conflictBackoffMs(40, 0.5)).toBe(32);
  });
});

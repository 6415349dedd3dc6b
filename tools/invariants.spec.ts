import { conservationProblems, settledProblems } from './invariants.js';

const product = (fields: Partial<Parameters<typeof conservationProblems>[0]> = {}) => ({
  _id: 'p1',
  available: 7,
  reserved: 2,
  sold: 1,
  received: 10,
  holds: [{ orderId: 'o1', quantity: 2 }],
  ...fields,
});

describe('stock invariants', () => {
  it('accepts a product whose units add up and whose holds make its reserved units', () => {
    expect(conservationProblems(product())).toEqual([]);
  });

  it('names every broken rule', () => {
    expect(conservationProblems(product({ available: 8 }))).toEqual([
      'available 8 + reserved 2 + sold 1 != received 10',
    ]);
    expect(conservationProblems(product({ holds: [] }))).toEqual([
      'holds sum to 0 but reserved is 2',
    ]);
    expect(conservationProblems(product({ available: -1, sold: 9, reserved: 2 }))).toContain(
      'available is -1',
    );
  });

  it('once settled, requires no hold left and sold = the units of confirmed orders', () => {
    const settled = product({ available: 9, reserved: 0, holds: [] });
    expect(settledProblems(settled, 1)).toEqual([]);
    expect(settledProblems(settled, 2)).toEqual(['sold 1 but confirmed orders hold 2']);
    expect(settledProblems(product(), 1)).toEqual(['2 units still reserved by 1 hold(s)']);
  });
});

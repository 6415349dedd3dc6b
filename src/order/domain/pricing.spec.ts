import { CatalogEntry, priceOrder } from './pricing.js';

const catalog = new Map<string, CatalogEntry>([
  ['a', { id: 'a', name: 'Cup', price: 1299, currency: 'USD', active: true }],
  ['b', { id: 'b', name: 'Saucer', price: 500, currency: 'USD', active: true }],
  ['e', { id: 'e', name: 'Teapot', price: 4000, currency: 'EUR', active: true }],
  ['x', { id: 'x', name: 'Old', price: 100, currency: 'USD', active: false }],
]);

describe('priceOrder', () => {
  it('prices every line from the catalog and totals in minor units', () => {
    const result = priceOrder(
      [
        { productId: 'a', quantity: 2 },
        { productId: 'b', quantity: 3 },
      ],
      catalog,
    );
    expect(result).toEqual({
      ok: true,
      currency: 'USD',
      total: 2 * 1299 + 3 * 500,
      items: [
        { productId: 'a', name: 'Cup', unitPrice: 1299, quantity: 2, lineTotal: 2598 },
        { productId: 'b', name: 'Saucer', unitPrice: 500, quantity: 3, lineTotal: 1500 },
      ],
    });
  });

  it('names the line of a product that does not exist or is discontinued', () => {
    expect(
      priceOrder(
        [
          { productId: 'a', quantity: 1 },
          { productId: 'zz', quantity: 1 },
        ],
        catalog,
      ),
    ).toEqual({
      ok: false,
      field: 'items.1.productId',
      problem: expect.stringContaining('does not exist') as unknown,
    });
    expect(priceOrder([{ productId: 'x', quantity: 1 }], catalog)).toMatchObject({ ok: false });
  });

  it('refuses to mix currencies in one order', () => {
    const result = priceOrder(
      [
        { productId: 'a', quantity: 1 },
        { productId: 'e', quantity: 1 },
      ],
      catalog,
    );
    expect(result).toEqual({
      ok: false,
      field: expect.stringMatching(/^items\.\d+\.productId$/) as unknown,
      problem: expect.stringContaining('same currency') as unknown,
    });
  });
});

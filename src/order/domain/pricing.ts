/** Prices an order from the catalog at acceptance time: a client never sets a price. */

export interface CatalogEntry {
  id: string;
  name: string;
  /** Minor units of `currency` (cents for USD). */
  price: number;
  currency: string;
  active: boolean;
}

export interface RequestedLine {
  productId: string;
  quantity: number;
}

export interface PricedLine {
  productId: string;
  name: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

export type PricingResult =
  | { ok: true; items: PricedLine[]; total: number; currency: string }
  | { ok: false; field: string; problem: string };

export function priceOrder(
  lines: RequestedLine[],
  catalog: ReadonlyMap<string, CatalogEntry>,
): PricingResult {
  const items: PricedLine[] = [];
  let currency: string | undefined;
  for (const [index, line] of lines.entries()) {
    const product = catalog.get(line.productId);
    if (!product || !product.active) {
      return {
        ok: false,
        field: `items.${index}.productId`,
        problem: `names product ${line.productId}, which does not exist or is no longer sold`,
      };
    }
    if (currency !== undefined && product.currency !== currency) {
      return {
        ok: false,
        field: `items.${index}.productId`,
        problem: `is priced in ${product.currency}, but all products of one order must be priced in the same currency (${currency})`,
      };
    }
    currency = product.currency;
    items.push({
      productId: product.id,
      name: product.name,
      unitPrice: product.price,
      quantity: line.quantity,
      lineTotal: product.price * line.quantity,
    });
  }
  if (currency === undefined)
    return { ok: false, field: 'items', problem: 'must contain at least 1 line' };
  return { ok: true, items, total: items.reduce((sum, item) => sum + item.lineTotal, 0), currency };
}

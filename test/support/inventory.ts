/** Stock invariants read straight from MongoDB, for the processing and load tests. */
import type { Model } from 'mongoose';
import type { Product } from '../../src/stock/product.schema.js';
import { waitFor } from '../../tools/harness/wait.js';
import { conservationProblems as stockProblems } from '../../tools/invariants.js';

export interface StockLevels {
  available: number;
  reserved: number;
  sold: number;
  received: number;
  version: number;
  holds: number;
}

export async function stockLevels(products: Model<Product>, id: string): Promise<StockLevels> {
  const p = await products.findById(id).lean().exec();
  if (!p) throw new Error(`product ${id} not found`);
  return {
    available: p.available,
    reserved: p.reserved,
    sold: p.sold,
    received: p.received,
    version: p.version,
    holds: p.holds.length,
  };
}

/**
 * The product's levels once no order holds stock on it any more. An order is decided first and
 * then commits or releases its holds, so right after an order leaves PENDING its hold may still
 * be there for a moment.
 */
export async function settledStock(products: Model<Product>, id: string): Promise<StockLevels> {
  return waitFor(
    async () => {
      const levels = await stockLevels(products, id);
      return levels.holds === 0 ? levels : undefined;
    },
    { what: `product ${id} to hold no stock` },
  );
}

/** The conservation problems of one product (tools/invariants.ts), read from MongoDB. */
export async function conservationProblems(
  products: Model<Product>,
  id: string,
): Promise<string[]> {
  const p = await products.findById(id).lean().exec();
  return p ? stockProblems(p) : [`product ${id} not found`];
}

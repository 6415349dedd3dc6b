/**
 * The stock invariants, written once for every suite, load scenario and drill that checks them.
 * Plain functions over product documents as MongoDB stores them.
 */

export interface ProductStockDoc {
  _id: { toString(): string };
  available: number;
  reserved: number;
  sold: number;
  received: number;
  holds: ReadonlyArray<{ orderId: string; quantity: number }>;
}

/**
 * Conservation at any moment: available + reserved + sold = received (initial stock plus
 * adjustments), reserved equals the sum of the holds, and nothing is negative.
 */
export function conservationProblems(p: ProductStockDoc): string[] {
  const problems: string[] = [];
  if (p.available + p.reserved + p.sold !== p.received) {
    problems.push(
      `available ${p.available} + reserved ${p.reserved} + sold ${p.sold} != received ${p.received}`,
    );
  }
  const held = p.holds.reduce((sum, hold) => sum + hold.quantity, 0);
  if (held !== p.reserved) problems.push(`holds sum to ${held} but reserved is ${p.reserved}`);
  for (const field of ['available', 'reserved', 'sold'] as const)
    if (p[field] < 0) problems.push(`${field} is ${p[field]}`);
  return problems;
}

/**
 * Once every order is decided and settled: conservation, nothing held any more, and every unit
 * sold belongs to a CONFIRMED order (no stock change lost or applied twice).
 */
export function settledProblems(p: ProductStockDoc, confirmedUnits: number): string[] {
  const problems = conservationProblems(p);
  if (p.reserved !== 0 || p.holds.length !== 0)
    problems.push(`${p.reserved} units still reserved by ${p.holds.length} hold(s)`);
  if (p.sold !== confirmedUnits)
    problems.push(`sold ${p.sold} but confirmed orders hold ${confirmedUnits}`);
  return problems;
}

/** Fault injection for e2e tests: real code everywhere except the one failure being provoked. */
import type { HoldGrant } from '../../src/stock/domain/reservation.js';
import { StockRepository } from '../../src/stock/stock.repository.js';

export const SIMULATED_FAULT = 'simulated MongoDB network timeout';

/**
 * A stock repository whose hold writes on one product (while `flakyProductId` names it) fail with
 * a transient error, as a MongoDB timeout would: the holds on the other products of the same write
 * are applied, then the call fails. Install with
 * `override: (b) => b.overrideProvider(StockRepository).useClass(FlakyStockRepository)`.
 */
export class FlakyStockRepository extends StockRepository {
  static flakyProductId = '';

  override async grantHolds(grants: readonly HoldGrant[]): Promise<boolean> {
    const flaky = grants.filter((g) => g.productId === FlakyStockRepository.flakyProductId);
    if (flaky.length === 0) return super.grantHolds(grants);
    await super.grantHolds(grants.filter((g) => !flaky.includes(g)));
    throw new Error(SIMULATED_FAULT);
  }
}

/** Fault injection for e2e tests: real code everywhere except the one failure being provoked. */
import { StockRepository } from '../../src/stock/stock.repository.js';

export const SIMULATED_FAULT = 'simulated MongoDB network timeout';

/**
 * A stock repository whose reservations of one product (while `flakyProductId` names it) fail
 * with a transient error, as a MongoDB timeout would. Install with
 * `override: (b) => b.overrideProvider(StockRepository).useClass(FlakyStockRepository)`.
 */
export class FlakyStockRepository extends StockRepository {
  static flakyProductId = '';

  override async reserve(productId: string, orderId: string, quantity: number) {
    if (productId === FlakyStockRepository.flakyProductId) throw new Error(SIMULATED_FAULT);
    return super.reserve(productId, orderId, quantity);
  }
}

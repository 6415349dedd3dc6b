/**
 * Small versions of the load scenario and the worker-kill drill (load/), so every `npm test` run
 * guards their invariants: exact stock under contention, nothing pending, nothing applied twice.
 * The full-size runs and their figures are `npm run load:*` / `npm run chaos:*` (docs/PERFORMANCE.md).
 */
import { workerKill } from '../load/scenarios/chaos.js';
import { CONTENTION_DEFAULTS, runContention } from '../load/scenarios/contention.js';

const small = {
  shoppers: 150,
  stock: 30,
  connections: 20,
  baseline: false,
  settleTimeoutMs: 60_000,
};

describe('load smoke', () => {
  it('contention: concurrent one-unit orders sell exactly the stock and leave nothing pending', async () => {
    // Priority under a real backlog is shown by the full run and proven by the priority e2e test.
    const result = await runContention({ ...CONTENTION_DEFAULTS, ...small, checkPriority: false });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.figures).toMatchObject({ accepted: 150, confirmed: 30, pending: 0 });
  });

  it('worker-kill: SIGKILLed workers lose nothing and apply nothing twice', async () => {
    const result = await workerKill({ ...small, shoppers: 200, stock: 40, kills: 2, everyMs: 400 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.figures).toMatchObject({ confirmed: 40, pending: 0 });
  });
});

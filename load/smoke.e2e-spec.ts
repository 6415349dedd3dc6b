/**
 * Small versions of the load scenario, the work count, the worker-kill drills and the live events
 * under contention (load/), so every `npm test` run guards their invariants: exact stock under
 * contention, nothing pending, nothing applied twice, the hot path's work per order within its
 * targets, and every outcome (or event) on its owner's socket exactly once. The full-size runs and
 * their figures are `npm run load:*` / `npm run chaos:*` (docs/PERFORMANCE.md).
 */
import { cancelRace } from './scenarios/cancel-race.js';
import { batchKill, workerKill } from './scenarios/chaos.js';
import { CONTENTION_DEFAULTS, runContention } from './scenarios/contention.js';
import { LIVE_DEFAULTS, runLive } from './scenarios/live.js';
import { runLiveCost } from './scenarios/live-cost.js';
import { WORK_DEFAULTS, runWork } from './scenarios/work.js';

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

  it.each([
    ['once', 50],
    ['per-burst', 200],
  ] as const)(
    "live, sockets connected %s: every outcome reaches its owner's socket exactly once and no other socket, with and without sockets the burst stays exact",
    async (connect, handshakes) => {
      // Exactness only: the timings of 50 sockets on a busy test machine say nothing.
      const result = await runLive({
        ...LIVE_DEFAULTS,
        shoppers: 50,
        stock: 10,
        connections: 10,
        settleTimeoutMs: small.settleTimeoutMs,
        connect,
      });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      // Four measured bursts with sockets (ABBA BAAB), 50 outcomes each; 50 sockets connected once
      // for the run, or before each of the four.
      expect(result.figures).toMatchObject({
        sockets: { connect, connected: handshakes, disconnects: 0 },
        delivery: {
          expected: 200,
          delivered: 200,
          duplicated: 0,
          misdelivered: 0,
          mismatched: 0,
          unexpected: 0,
        },
      });
    },
    180_000,
  );

  it("live-cost: events published straight into the stream each reach their owner's socket once", async () => {
    const result = await runLiveCost({ shoppers: 50, events: 1000, rounds: 1 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.figures).toMatchObject({ received: 1000 });
  }, 120_000);

  it('worker-kill: SIGKILLed workers lose nothing and apply nothing twice', async () => {
    const result = await workerKill({ ...small, shoppers: 200, stock: 40, kills: 2, everyMs: 400 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.figures).toMatchObject({ confirmed: 40, pending: 0 });
  });

  it('batch-kill: a worker SIGKILLed mid-batch loses no hold and grants none twice', async () => {
    const result = await batchKill({ ...small, shoppers: 300, stock: 200, kills: 2 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.figures).toMatchObject({ confirmed: 200, pending: 0 });
  });

  it('cancel-race: owners cancel a third of the orders at random moments while workers are SIGKILLed; stock comes back exactly once', async () => {
    const result = await cancelRace({
      shoppers: 300,
      stock: 60,
      connections: 20,
      kills: 2,
      killEveryMs: 400,
      settleTimeoutMs: 60_000,
    });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const figures = result.figures as { cancelledFrom: Record<string, number> };
    // The cancels landed on both sides of the decision.
    expect(figures.cancelledFrom.PENDING ?? 0).toBeGreaterThan(0);
    expect(figures.cancelledFrom.CONFIRMED ?? 0).toBeGreaterThan(0);
  });

  it('work: MongoDB and Redis commands per order stay within the hot-path targets', async () => {
    const result = await runWork({
      ...WORK_DEFAULTS,
      shoppers: 100,
      orders: 800,
      connections: 32,
      stock: 200,
      concurrency: 10,
    });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const { api, worker } = result.figures as {
      api: { mongoPerOrder: number; redisPerOrder: number };
      worker: { mongoPerOrder: number; redisPerOrder: number };
    };
    expect(api.mongoPerOrder).toBeLessThanOrEqual(0.5);
    expect(api.redisPerOrder).toBeLessThanOrEqual(1.5);
    expect(worker.mongoPerOrder).toBeLessThanOrEqual(2);
    expect(worker.redisPerOrder).toBeLessThanOrEqual(2);
  });
});

/**
 * Fault drills: the contention run while something breaks, with the same invariants afterwards.
 * Workers use short job locks here (2 s) so a killed worker's jobs come back within the drill;
 * production keeps BullMQ's 30 s default (ORDER_LOCK_DURATION_MS).
 */
import { Check, RunResult } from '../lib/report.js';
import type { MongoCountingProxy } from '../../tools/counting-proxy/counting-proxy.js';
import type { Stack } from '../../tools/harness/stack.js';
import { CONTENTION_DEFAULTS, ContentionOptions, runContention } from './contention.js';

export const FAST_RECOVERY = {
  ORDER_LOCK_DURATION_MS: '2000',
  ORDER_STALLED_INTERVAL_MS: '500',
  ORDER_MAX_STALLED_COUNT: '10',
  ORDER_SWEEP_INTERVAL_MS: '2000',
  ORDER_BACKOFF_MS: '300',
};

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process the stack started is still running: nothing crashed on the fault. */
function stillRunning(stack: Stack, label: string): Check {
  const dead = stack.apis.filter(
    (p) => p.process.child.exitCode !== null || p.process.child.signalCode !== null,
  );
  return {
    name: `${label}: API processes survived`,
    ok: dead.length === 0,
    detail: `${stack.apis.length - dead.length} of ${stack.apis.length} running`,
  };
}

async function drill(
  options: ContentionOptions,
  label: string,
  finalChecks?: (stack: Stack) => Check[],
): Promise<RunResult> {
  const result = await runContention({
    ...options,
    checkPriority: false,
    ...(finalChecks ? { finalChecks } : {}),
  });
  // Processes were replaced during the drill, so per-process CPU figures would mislead.
  const lines = result.lines.filter((line) => !line.startsWith('- cores used'));
  return { ...result, lines: [`Drill: ${label}.`, '', ...lines] };
}

/** SIGKILLs the oldest worker `kills` times, `everyMs` apart, each replaced; answers how many died. */
export async function killWorkers(stack: Stack, kills: number, everyMs: number): Promise<number> {
  let killed = 0;
  for (let i = 0; i < kills; i++) {
    await pause(everyMs);
    const victim = stack.workers.shift();
    if (!victim) break;
    await victim.stop('SIGKILL');
    killed++;
    await stack.startWorker();
  }
  return killed;
}

export interface WorkerKillOptions extends ContentionOptions {
  kills: number;
  everyMs: number;
}

/** SIGKILL a worker process several times during the run, starting a fresh one each time. */
export function workerKill(options: Partial<WorkerKillOptions> = {}): Promise<RunResult> {
  const o: WorkerKillOptions = {
    ...CONTENTION_DEFAULTS,
    baseline: false,
    workers: 2,
    kills: 4,
    everyMs: 700,
    ...options,
  };
  let killed = 0;
  return drill(
    {
      ...o,
      stack: { env: FAST_RECOVERY },
      during: async (stack) => {
        killed = await killWorkers(stack, o.kills, o.everyMs);
      },
    },
    `${o.kills} SIGKILLs of a worker process, ${o.everyMs} ms apart, each replaced by a new worker`,
    () => [{ name: 'workers were killed', ok: killed === o.kills, detail: `${killed} SIGKILLs` }],
  );
}

/** Where in a reservation batch the worker dies. */
export type BatchMoment = 'holds written' | 'orders decided';

/**
 * Lets the worker's MongoDB traffic run until the write of `moment` has gone through, then holds
 * every later command of that worker (on any connection) for good: the worker is frozen mid-batch,
 * its holds (or decisions) in the database and the rest of the batch not. Resolves once frozen.
 *   - holds written: an `update` of products right after the batch's reads (the hold write; the
 *     settle write follows an `update` of orders instead);
 *   - orders decided: an `update` of orders (the batch's decisions), before they settle.
 */
function freezeAfter(
  proxy: MongoCountingProxy,
  moment: BatchMoment,
): { frozen: Promise<void>; release: () => void } {
  let thaw: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (thaw = resolve));
  let reachedMoment: () => void = () => undefined;
  const frozen = new Promise<void>((resolve) => (reachedMoment = resolve));
  let previous = '';
  let isFrozen = false;
  proxy.setCommandHook((command) => {
    if (isFrozen) return held;
    if (command.kind !== 'data') return undefined;
    const current = `${command.name} ${command.collection ?? ''}`;
    const reached =
      moment === 'holds written'
        ? current === 'update products' && previous.startsWith('find ')
        : current === 'update orders';
    previous = current;
    if (reached) {
      isFrozen = true;
      reachedMoment();
    }
    return undefined;
  });
  return {
    frozen,
    release: () => {
      proxy.setCommandHook(undefined);
      thaw();
    },
  };
}

export interface BatchKillOptions extends ContentionOptions {
  kills: number;
  /** How long to wait for a worker to reach the moment before the drill gives up on that kill. */
  momentTimeoutMs: number;
}

/**
 * SIGKILL a worker in the middle of a reservation batch, alternately right after its holds were
 * written and right after its orders were decided, replacing it each time. Its jobs come back as
 * stalled on the other worker, which must find the holds (already held) or the decisions (settle
 * only): no hold is lost or granted twice.
 */
export function batchKill(options: Partial<BatchKillOptions> = {}): Promise<RunResult> {
  const o: BatchKillOptions = {
    ...CONTENTION_DEFAULTS,
    baseline: false,
    workers: 2,
    stock: 800,
    kills: 4,
    momentTimeoutMs: 15_000,
    ...options,
  };
  const kills: BatchMoment[] = [];
  return drill(
    {
      ...o,
      stack: { env: FAST_RECOVERY, countCommands: true },
      during: async (stack) => {
        // Replacements start in the background: the next kill should not wait for them while the
        // surviving worker does the work.
        const replacements: Array<Promise<unknown>> = [];
        for (let i = 0; i < o.kills; i++) {
          const moment: BatchMoment = i % 2 === 0 ? 'holds written' : 'orders decided';
          const running = () =>
            stack.counted.filter((p) => p.role === 'worker' && stack.workers.includes(p.app));
          while (running().length === 0 && replacements.length > 0)
            await Promise.race(replacements);
          // Whichever running worker gets there first is the victim; the others go on.
          const watched = running().map((p) => ({ p, freeze: freezeAfter(p.mongo, moment) }));
          const first = await Promise.race([
            ...watched.map((w) => w.freeze.frozen.then(() => w)),
            pause(o.momentTimeoutMs).then(() => undefined),
          ]);
          for (const w of watched) if (w !== first) w.freeze.release();
          if (!first) break;
          stack.workers.splice(stack.workers.indexOf(first.p.app), 1);
          await first.p.app.stop('SIGKILL');
          kills.push(moment);
          const replacement = stack.startWorker();
          replacements.push(
            replacement.finally(() => replacements.splice(replacements.indexOf(replacement), 1)),
          );
        }
        await Promise.all(replacements);
      },
    },
    `${o.kills} SIGKILLs of a worker in the middle of a reservation batch (alternately after its holds were written and after its orders were decided), each replaced by a new worker`,
    () => [
      {
        name: 'workers were killed mid-batch',
        ok: kills.length === o.kills,
        detail: kills.length ? kills.join(', ') : 'no kill',
      },
    ],
  );
}

type Outage = { downMs?: number } & Partial<ContentionOptions>;

/** Stop a data store the scenario owns 400 ms into the run, for `downMs`, then start it on its data. */
function outageDrill(
  store: 'Redis' | 'MongoDB',
  options: Outage,
  defaultDownMs: number,
): Promise<RunResult> {
  const downMs = options.downMs ?? defaultDownMs;
  return drill(
    {
      ...CONTENTION_DEFAULTS,
      baseline: false,
      ...options,
      tolerated: [503],
      stack: {
        ...(store === 'Redis' ? { ownRedis: true } : { ownMongo: true }),
        env: FAST_RECOVERY,
      },
      during: async (stack) => {
        await pause(400);
        await (store === 'Redis' ? stack.restartRedis?.(downMs) : stack.restartMongo?.(downMs));
      },
    },
    `${store} stopped 400 ms into the run for ${downMs} ms, then restarted on the same data`,
    (stack) => [stillRunning(stack, `${store} outage`)],
  );
}

/** Stop the scenario's own Redis (SIGTERM, AOF flushed) mid-run and start it again. */
export function redisRestart(options: Outage = {}): Promise<RunResult> {
  return outageDrill('Redis', options, 2000);
}

/** Stop the MongoDB server mid-run and start it again on the same data. */
export function mongoOutage(options: Outage = {}): Promise<RunResult> {
  return outageDrill('MongoDB', options, 3000);
}

/**
 * Fault drills: the contention run while something breaks, with the same invariants afterwards.
 * Workers use short job locks here (2 s) so a killed worker's jobs come back within the drill;
 * production keeps BullMQ's 30 s default (ORDER_LOCK_DURATION_MS).
 */
import { Check } from '../lib/report.js';
import type { Stack } from '../lib/stack.js';
import { CONTENTION_DEFAULTS, ContentionOptions, RunResult, runContention } from './contention.js';

const FAST_RECOVERY = {
  ORDER_LOCK_DURATION_MS: '2000',
  ORDER_STALLED_INTERVAL_MS: '500',
  ORDER_MAX_STALLED_COUNT: '10',
  ORDER_SWEEP_INTERVAL_MS: '2000',
  ORDER_BACKOFF_MS: '300',
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
        for (let i = 0; i < o.kills; i++) {
          await pause(o.everyMs);
          const victim = stack.workers.shift();
          if (!victim) break;
          await victim.stop('SIGKILL');
          killed++;
          await stack.startWorker();
        }
      },
    },
    `${o.kills} SIGKILLs of a worker process, ${o.everyMs} ms apart, each replaced by a new worker`,
    () => [{ name: 'workers were killed', ok: killed === o.kills, detail: `${killed} SIGKILLs` }],
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

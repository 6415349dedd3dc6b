/**
 * `npm run load:<scenario>` / `npm run chaos:<drill>`: runs one scenario, prints and writes its
 * report (load/results/), and exits non-zero when an invariant failed.
 */
import { median, RunResult, writeReport } from './lib/report.js';
import { build } from '../tools/harness/stack.js';
import { BACKLOG_DEFAULTS, runBacklog } from './scenarios/backlog.js';
import { BASELINE_DEFAULTS, runBaseline } from './scenarios/baseline.js';
import { batchKill, mongoOutage, redisRestart, workerKill } from './scenarios/chaos.js';
import { CANCEL_RACE_DEFAULTS, cancelRace } from './scenarios/cancel-race.js';
import { CONTENTION_DEFAULTS, runContention } from './scenarios/contention.js';
import { HOSTILE_DEFAULTS, runHostile } from './scenarios/hostile.js';
import { LIVE_DEFAULTS, runLive } from './scenarios/live.js';
import { LIVE_COST_DEFAULTS, runLiveCost } from './scenarios/live-cost.js';
import { PACED_DEFAULTS, runPaced } from './scenarios/paced.js';
import { REPORTS_DEFAULTS, runReports } from './scenarios/reports.js';
import { THROUGHPUT_DEFAULTS, runThroughput } from './scenarios/throughput.js';
import { WORK_DEFAULTS, runWork } from './scenarios/work.js';

/** `run` counts from 1 within `--runs N`: a scenario comparing two variants alternates their order. */
type Scenario = (args: Record<string, string | undefined>, run: number) => Promise<RunResult>;

const number = (value: string | undefined, fallback: number) =>
  value === undefined ? fallback : Number(value);

/** An option with a fixed set of values: the first when absent, an error when unknown. */
function oneOf<T extends string>(
  value: string | undefined,
  values: readonly [T, ...T[]],
  name: string,
): T {
  if (value === undefined) return values[0];
  const found = values.find((v) => v === value);
  if (found === undefined)
    throw new Error(`--${name} is one of ${values.join(', ')}, not "${value}"`);
  return found;
}

/** The scenarios run as `npm run chaos:<name>`; the rest as `npm run load:<name>`. */
const CHAOS_DRILLS = new Set([
  'worker-kill',
  'batch-kill',
  'cancel-race',
  'redis-restart',
  'mongo-outage',
]);

const SCENARIOS: Record<string, Scenario> = {
  contention: (args) =>
    runContention({
      ...CONTENTION_DEFAULTS,
      shoppers: number(args.shoppers, CONTENTION_DEFAULTS.shoppers),
      stock: number(args.stock, CONTENTION_DEFAULTS.stock),
      connections: number(args.connections, CONTENTION_DEFAULTS.connections),
      workers: number(args.workers, CONTENTION_DEFAULTS.workers),
    }),
  live: (args, run) =>
    runLive(
      {
        ...LIVE_DEFAULTS,
        shoppers: number(args.shoppers, LIVE_DEFAULTS.shoppers),
        stock: number(args.stock, LIVE_DEFAULTS.stock),
        connections: number(args.connections, LIVE_DEFAULTS.connections),
        workers: number(args.workers, LIVE_DEFAULTS.workers),
        countCommands: args.count === 'true',
        socketReplica: oneOf(args['socket-replica'], ['shared', 'dedicated'], 'socket-replica'),
        connect: oneOf(args.connect, ['once', 'per-burst'], 'connect'),
      },
      run,
    ),
  'live-cost': (args) =>
    runLiveCost({
      shoppers: number(args.shoppers, LIVE_COST_DEFAULTS.shoppers),
      events: number(args.events, LIVE_COST_DEFAULTS.events),
      rounds: number(args.rounds, LIVE_COST_DEFAULTS.rounds),
    }),
  throughput: (args) =>
    runThroughput({
      seconds: number(args.seconds, THROUGHPUT_DEFAULTS.seconds),
      shoppers: number(args.shoppers, THROUGHPUT_DEFAULTS.shoppers),
      products: number(args.products, THROUGHPUT_DEFAULTS.products),
      connections: number(args.connections, THROUGHPUT_DEFAULTS.connections),
      workers: number(args.workers, THROUGHPUT_DEFAULTS.workers),
      baseline: args.baseline !== 'false',
    }),
  paced: (args) =>
    runPaced({
      rate: number(args.rate, PACED_DEFAULTS.rate),
      seconds: number(args.seconds, PACED_DEFAULTS.seconds),
      connections: number(args.connections, PACED_DEFAULTS.connections),
      workers: number(args.workers, PACED_DEFAULTS.workers),
    }),
  work: (args) =>
    runWork({
      ...WORK_DEFAULTS,
      shoppers: number(args.shoppers, WORK_DEFAULTS.shoppers),
      orders: number(args.orders, WORK_DEFAULTS.orders),
      connections: number(args.connections, WORK_DEFAULTS.connections),
      stock: number(args.stock, WORK_DEFAULTS.stock),
      concurrency: number(args.concurrency, WORK_DEFAULTS.concurrency),
    }),
  reports: (args) =>
    runReports({
      ...REPORTS_DEFAULTS,
      orders: number(args.orders, REPORTS_DEFAULTS.orders),
      days: number(args.days, REPORTS_DEFAULTS.days),
      requests: number(args.requests, REPORTS_DEFAULTS.requests),
    }),
  backlog: (args) =>
    runBacklog({
      orders: number(args.orders, BACKLOG_DEFAULTS.orders),
      shoppers: number(args.shoppers, BACKLOG_DEFAULTS.shoppers),
      products: number(args.products, BACKLOG_DEFAULTS.products),
      stock: number(args.stock, BACKLOG_DEFAULTS.stock),
      connections: number(args.connections, BACKLOG_DEFAULTS.connections),
      concurrency: number(args.concurrency, BACKLOG_DEFAULTS.concurrency),
      baseline: args.baseline !== 'false',
    }),
  'worker-kill': (args) =>
    workerKill({
      shoppers: number(args.shoppers, CONTENTION_DEFAULTS.shoppers),
      stock: number(args.stock, CONTENTION_DEFAULTS.stock),
      kills: number(args.kills, 4),
    }),
  'batch-kill': (args) =>
    batchKill({
      shoppers: number(args.shoppers, CONTENTION_DEFAULTS.shoppers),
      stock: number(args.stock, 800),
      kills: number(args.kills, 4),
    }),
  'cancel-race': (args) =>
    cancelRace({
      shoppers: number(args.shoppers, CANCEL_RACE_DEFAULTS.shoppers),
      stock: number(args.stock, CANCEL_RACE_DEFAULTS.stock),
      kills: number(args.kills, CANCEL_RACE_DEFAULTS.kills),
      cancelShare: number(args.share, CANCEL_RACE_DEFAULTS.cancelShare),
    }),
  'redis-restart': (args) =>
    redisRestart({
      shoppers: number(args.shoppers, CONTENTION_DEFAULTS.shoppers),
      stock: number(args.stock, CONTENTION_DEFAULTS.stock),
      downMs: number(args.down, 2000),
    }),
  'mongo-outage': (args) =>
    mongoOutage({
      shoppers: number(args.shoppers, CONTENTION_DEFAULTS.shoppers),
      stock: number(args.stock, CONTENTION_DEFAULTS.stock),
      downMs: number(args.down, 3000),
    }),
  hostile: (args) =>
    runHostile({
      rate: number(args.rate, HOSTILE_DEFAULTS.rate),
      seconds: number(args.seconds, HOSTILE_DEFAULTS.seconds),
      attackers: number(args.attackers, HOSTILE_DEFAULTS.attackers),
    }),
  baseline: (args) =>
    runBaseline({
      connections: number(args.connections, BASELINE_DEFAULTS.connections),
      seconds: number(args.seconds, BASELINE_DEFAULTS.seconds),
      jobs: number(args.jobs, BASELINE_DEFAULTS.jobs),
      concurrency: number(args.concurrency, BASELINE_DEFAULTS.concurrency),
    }),
};

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const scenario = name ? SCENARIOS[name] : undefined;
  if (!name || !scenario)
    throw new Error(`usage: load/cli.ts <${Object.keys(SCENARIOS).join('|')}> [--option value]`);
  const values: Record<string, string | undefined> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i];
    if (!key.startsWith('--') || rest[i + 1] === undefined)
      throw new Error(`options are --name value pairs, got "${rest.join(' ')}"`);
    values[key.slice(2)] = rest[i + 1];
  }
  const runs = Number(values.runs ?? 1);
  build();
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    const result = await scenario(values, run);
    results.push(result);
    process.stdout.write(
      `\n${writeReport(runs > 1 ? `${name}-run${run}` : name, result.figures, result.checks, result.lines)}\n`,
    );
  }
  if (runs > 1) {
    const medians = medianFigures(results.map((r) => r.figures));
    const lines = [
      `Median of ${runs} runs of \`npm run ${CHAOS_DRILLS.has(name) ? 'chaos' : 'load'}:${name}\` (each run's report is beside this one).`,
      '',
      '```json',
      JSON.stringify(medians, null, 2),
      '```',
    ];
    process.stdout.write(
      `\n${writeReport(
        `${name}-median`,
        medians,
        results.flatMap((r) => r.checks),
        lines,
      )}\n`,
    );
  }
  process.exit(results.every((r) => r.checks.every((c) => c.ok)) ? 0 : 1);
}

/** The median of every numeric figure (nested objects included) across runs. */
function medianFigures(figures: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(figures[0] ?? {})) {
    const values = figures.map((f) => f[key]);
    if (values.every((v): v is number => typeof v === 'number')) out[key] = median(values);
    else if (values.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      out[key] = medianFigures(values as Array<Record<string, unknown>>);
    } else out[key] = values[0];
  }
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});

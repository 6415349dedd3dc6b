/** Figures, ratios and the results folder (load/results, ignored by git). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../../tools/harness/processes.js';

export const RESULTS_DIR = path.join(ROOT, 'load', 'results');

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** p50, p90, p99 and max of latencies in ms (nearest rank), to 0.1 ms. */
export function histogramOf(values: number[]): {
  p50: number;
  p90: number;
  p99: number;
  max: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0
      ? Number.NaN
      : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function machine(): Record<string, string | number> {
  let redisVersion = 'unknown';
  try {
    redisVersion =
      execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2] ??
      'unknown';
  } catch {
    // not installed locally: the run used REDIS_URL
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 0),
    node: process.version,
    redis: redisVersion,
  };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a scenario run reports: its figures, the invariants it checked, and readable lines. */
export interface RunResult {
  figures: Record<string, unknown>;
  checks: Check[];
  lines: string[];
}

/** Writes `<name>-<time>.json` and `.md`; returns the markdown for the console. */
export function writeReport(
  name: string,
  figures: Record<string, unknown>,
  checks: Check[],
  lines: string[],
): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = path.join(RESULTS_DIR, `${name}-${stamp}`);
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), figures, checks }, null, 2)}\n`,
  );
  const markdown = [
    `# ${name}`,
    '',
    ...lines,
    '',
    '| check | result | detail |',
    '| --- | --- | --- |',
    ...checks.map((c) => `| ${c.name} | ${c.ok ? 'pass' : 'FAIL'} | ${c.detail} |`),
    '',
    `Results: ${path.relative(ROOT, base)}.json`,
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, markdown);
  return markdown;
}

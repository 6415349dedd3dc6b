/**
 * How late a process's event loop ran over a phase: a load generator whose loop falls behind sends
 * late and timestamps late, so its figures would measure itself. Node samples with a timer every
 * RESOLUTION_MS and records each interval; the lag is what exceeds the interval.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round } from './report.js';

const RESOLUTION_MS = 5;

export interface EventLoopLag {
  p99: number;
  max: number;
}

/** Starts watching; `stop` answers the lag since, in ms. */
export function watchEventLoop(): { stop(): EventLoopLag } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const lagMs = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS));
  return {
    stop: () => {
      histogram.disable();
      return { p99: lagMs(histogram.percentile(99)), max: lagMs(histogram.max) };
    },
  };
}

/**
 * CPU time per process over a phase, from /proc (Linux): where the machine's two cores went.
 * Processes that are gone or not on this machine are left out.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may contain spaces): utime is the 14th, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  at: number;
  seconds: Record<string, number>;
}

export function sampleCpu(pids: Record<string, number | undefined>): CpuSample {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const value = pid === undefined ? undefined : cpuSeconds(pid);
    if (value !== undefined) seconds[name] = value;
  }
  return { at: Date.now(), seconds };
}

/** CPU seconds each process used between two samples. */
export function cpuSecondsUsed(from: CpuSample, to: CpuSample): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, end] of Object.entries(to.seconds)) {
    const start = from.seconds[name];
    if (start !== undefined) out[name] = end - start;
  }
  return out;
}

/** Share of one core each process used between two samples (1 = a whole core). */
export function coresUsed(from: CpuSample, to: CpuSample): Record<string, number> {
  const wall = (to.at - from.at) / 1000;
  return Object.fromEntries(
    Object.entries(cpuSecondsUsed(from, to)).map(([name, seconds]) => [
      name,
      Math.round((seconds / wall) * 100) / 100,
    ]),
  );
}

export function describeCores(cores: Record<string, number>): string {
  return Object.entries(cores)
    .map(([name, used]) => `${name} ${used}`)
    .join(', ');
}

/**
 * Waits until every process uses less than `maxCores` of a core over a `windowMs` window (the
 * processes are done with what came before: a burst's aftermath, a storm of socket handshakes and
 * the garbage it left), at most `timeoutMs`. Answers how long it waited, and whether it got quiet.
 */
export async function untilQuiet(
  pids: Record<string, number | undefined>,
  { maxCores = 0.1, windowMs = 200, timeoutMs = 10_000 } = {},
): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = Date.now();
  let before = sampleCpu(pids);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = sampleCpu(pids);
    const quiet = Object.values(coresUsed(before, after)).every((cores) => cores < maxCores);
    const waitedMs = Date.now() - started;
    if (quiet || waitedMs >= timeoutMs) return { waitedMs, quiet };
    before = after;
  }
}

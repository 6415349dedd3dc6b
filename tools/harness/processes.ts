/**
 * Child processes for tests and scripts: start with a readiness line on stdout, stop with a signal
 * and wait for the exit. Shared by the service harness, the load scripts and the fault drills.
 */
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root: scripts and tests run from it or below it (npm and jest set the cwd). */
export const ROOT = findRoot(process.cwd());

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'order-backend'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`run from inside the repository (cwd ${from})`);
  }
}

/**
 * Where a test environment collects the children its test file starts
 * (test/support/test-environment.cjs): it stops whatever is still running when the file ends, so a
 * suite whose set-up failed half-way leaves no process behind and jest never waits on one.
 * Outside such an environment (load scripts, the dev runner) there is none.
 */
function childRegistry(): Set<ChildProcess> | undefined {
  return (globalThis as { __STARTED_PROCESSES__?: Set<ChildProcess> }).__STARTED_PROCESSES__;
}

export interface StartedProcess {
  child: ChildProcess;
  /** The first stdout line that matched the readiness pattern (empty without a pattern). */
  ready: RegExpMatchArray | [];
  /** Everything the process wrote so far, for diagnostics. */
  output(): string;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Spawns `command` and resolves once a stdout line matches `readyPattern` (or at once when the
 * pattern is null); rejects with the process output if it exits or stays silent past `timeoutMs`.
 */
export function startProcess(
  command: string,
  args: string[],
  readyPattern: RegExp | null,
  options: SpawnOptions & { timeoutMs?: number; label?: string } = {},
): Promise<StartedProcess> {
  const { timeoutMs = 30_000, label = path.basename(command), ...spawnOptions } = options;
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...spawnOptions,
  });
  const registry = childRegistry();
  registry?.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      registry?.delete(child);
      resolve(code);
    }),
  );

  const stop = async (
    signal: NodeJS.Signals = 'SIGTERM',
    stopTimeoutMs = 10_000,
  ): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not become ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = readyPattern ? line.match(readyPattern) : null;
        if (match) {
          clearTimeout(timer);
          resolve({ child, ready: match, output: () => output, stop });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (!readyPattern) {
      child.once('spawn', () => {
        clearTimeout(timer);
        resolve({ child, ready: [], output: () => output, stop });
      });
    }
    child.once('error', (err) => {
      registry?.delete(child);
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${label} exited with code ${String(code)} before it was ready:\n${output}`),
      );
    });
  });
}

/** Runs a TypeScript entry point of this repository in its own Node process. */
export function startTsProcess(
  entry: string,
  args: string[],
  readyPattern: RegExp,
  options: SpawnOptions & { timeoutMs?: number; label?: string; nodeArgs?: string[] } = {},
): Promise<StartedProcess> {
  const { nodeArgs = [], ...spawnOptions } = options;
  return startProcess(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(ROOT, entry), ...args],
    readyPattern,
    {
      label: entry,
      ...spawnOptions,
    },
  );
}

/**
 * The built application (`node dist/main.js`) as a separate process in a given role, as in
 * production: for tests of roles, signals, crashes and outages.
 */
import * as path from 'node:path';
import { ROOT, StartedProcess, startProcess } from './processes.js';
import { freePort } from './services.js';
import { waitFor } from './wait.js';

export interface AppProcess {
  process: StartedProcess;
  /** Base URL of its HTTP listener: the API, or a worker's health port. */
  url: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts one process of the app with `env` (a full environment as `testEnv` builds it) and waits
 * until its /health answers. Workers get a health port so readiness can be seen.
 */
export async function startAppProcess(
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<AppProcess> {
  const role = env.APP_ROLE ?? 'all';
  const portVariable = role === 'worker' ? 'WORKER_HEALTH_PORT' : 'PORT';
  const port = env[portVariable] ?? String(await freePort());
  const started = await startProcess(
    process.execPath,
    [...nodeArgs, path.join(ROOT, 'dist', 'main.js')],
    null,
    {
      env: { PATH: process.env.PATH ?? '', ...env, [portVariable]: port },
      label: `app (${role})`,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (started.child.exitCode !== null)
        throw new Error(`app (${role}) exited:\n${started.output()}`);
      return (await fetch(`${url}/health`)).ok;
    },
    { timeoutMs: 30_000, what: `app (${role}) to answer /health` },
  );
  return {
    process: started,
    url,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => started.stop(signal),
  };
}

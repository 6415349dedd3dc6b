/**
 * `npm test` on a machine that lacks a system program the suites need: the run stops at once with
 * one line naming what is missing and the command that installs it, and leaves no process behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { ROOT } from '../tools/harness/processes.js';
import { onPath } from '../tools/harness/system.js';

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('system dependencies', () => {
  it('without nginx on PATH, npm test ends within a minute, says what is missing and how to install it, and leaves no process', async () => {
    const nginx = onPath('nginx');
    if (!nginx) throw new Error('this suite runs where nginx is installed (npm run setup)');
    const withoutNginx = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => !onPath('nginx', dir))
      .join(path.delimiter);
    expect(onPath('nginx', withoutNginx)).toBeUndefined();

    const env: NodeJS.ProcessEnv = { ...process.env, PATH: withoutNginx };
    delete env.JEST_WORKER_ID;
    const started = Date.now();
    // Unit project only: even if the check failed to stop the run, it could not reach this suite.
    const run = spawn('npm', ['test', '--', '--selectProjects', 'unit'], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    run.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const pgid = run.pid ?? 0;
    const deadline = setTimeout(() => process.kill(-pgid, 'SIGKILL'), 60_000);
    const [code] = (await once(run, 'exit')) as [number | null];
    clearTimeout(deadline);

    expect(Date.now() - started).toBeLessThan(60_000);
    expect(code).not.toBe(0);
    expect(output).toContain(
      'MissingSystemDependency: nginx is not installed (not found on PATH): run `npm run setup`',
    );
    expect(groupAlive(pgid)).toBe(false);
  }, 90_000);
});

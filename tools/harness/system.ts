/**
 * The system programs the tests and the dev run need besides Node: nginx (the Nginx suite), chromium
 * (the browser suites), and a
 * Redis (a server answering on 127.0.0.1:6379, REDIS_URL, or redis-server to start one).
 * `npm run setup` (tools/setup.sh) installs them; `.ci/run` calls it too.
 */
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';

export const SETUP_COMMAND = 'npm run setup';

/** The full path of `command` on PATH, or undefined. */
export function onPath(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export class MissingSystemDependency extends Error {
  constructor(what: string) {
    super(
      `${what}: run \`${SETUP_COMMAND}\` (Debian/Ubuntu; it installs redis-server, nginx and chromium)`,
    );
    this.name = 'MissingSystemDependency';
    // One line says it all: what is missing and the command that installs it.
    this.stack = `${this.name}: ${this.message}`;
  }
}

export function nginxBinary(): string {
  const found = onPath('nginx');
  if (!found) throw new MissingSystemDependency('nginx is not installed (not found on PATH)');
  return found;
}

/** The Chromium the browser suites drive (Debian's `chromium`, or CHROMIUM_PATH). */
export function chromiumBinary(): string {
  const found = process.env.CHROMIUM_PATH ?? onPath('chromium') ?? onPath('chromium-browser');
  if (!found) throw new MissingSystemDependency('chromium is not installed (not found on PATH)');
  return found;
}

/**
 * Names for the Lua scripts a Redis counting proxy saw by SHA1: BullMQ's own scripts by their name
 * (ioredis runs each as EVALSHA of the SHA1 of its text), others by the start of their text when
 * the proxy saw it (EVAL, SCRIPT LOAD), otherwise by their SHA1.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT } from '../harness/processes.js';

let bullmq: Map<string, string> | undefined;

/** SHA1 → name ("moveToActive") for every script of the installed BullMQ. */
export function bullmqScripts(): Map<string, string> {
  if (bullmq) return bullmq;
  // BullMQ does not export its scripts; its CommonJS build has them as { name, content } objects.
  const load = createRequire(path.join(ROOT, 'package.json'));
  const scripts = load('bullmq/dist/cjs/scripts/index.js') as Record<string, unknown>;
  bullmq = new Map();
  for (const script of Object.values(scripts)) {
    if (typeof script !== 'object' || script === null) continue;
    const { name, content } = script as { name?: unknown; content?: unknown };
    if (typeof name === 'string' && typeof content === 'string')
      bullmq.set(createHash('sha1').update(content).digest('hex'), name);
  }
  return bullmq;
}

/** A readable name for the script with this SHA1. */
export function scriptName(sha: string, previews: ReadonlyMap<string, string>): string {
  const known = bullmqScripts().get(sha);
  if (known) return known;
  const firstLine = previews
    .get(sha)
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('--'));
  const short = sha.slice(0, 8);
  return firstLine ? `${short} "${firstLine.slice(0, 60)}"` : short;
}

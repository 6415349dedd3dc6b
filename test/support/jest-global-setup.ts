/**
 * Jest global setup: checks the system programs the suites need (tools/harness/system.ts),
 * compiles the application (the multi-process tests run the built `dist/`,
 * exactly as production does), chooses MongoDB and Redis once per run (see services.ts), says
 * which, and hands their addresses to the test workers through the environment.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../../tools/harness/processes.js';
import { Service, resolveMongo, resolveRedis } from '../../tools/harness/services.js';
import { chromiumBinary, nginxBinary } from '../../tools/harness/system.js';

declare global {
  var __TEST_SERVICES__: Service[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Before anything starts: a missing system program fails the run at once, in one line.
  nginxBinary();
  chromiumBinary();
  const redis = await resolveRedis();
  let mongo: Service;
  try {
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    mongo = await resolveMongo();
  } catch (err) {
    // The teardown does not run when the set-up fails: stop what was started here.
    await redis.stop();
    throw err;
  }
  globalThis.__TEST_SERVICES__ = [mongo, redis];
  process.env.TEST_MONGODB_URI = mongo.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_RUN_ID = `t${Date.now().toString(36)}`;
  process.stdout.write(
    `\nTest services\n  MongoDB: ${mongo.description}\n  Redis:   ${redis.description}\n\n`,
  );
}

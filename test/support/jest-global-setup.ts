/**
 * Jest global setup: compiles the application (the multi-process tests run the built `dist/`,
 * exactly as production does), chooses MongoDB and Redis once per run (see services.ts), says
 * which, and hands their addresses to the test workers through the environment.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../../tools/harness/processes.js';
import { Service, resolveMongo, resolveRedis } from '../../tools/harness/services.js';

declare global {
  var __TEST_SERVICES__: Service[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const mongo = await resolveMongo();
  const redis = await resolveRedis();
  globalThis.__TEST_SERVICES__ = [mongo, redis];
  process.env.TEST_MONGODB_URI = mongo.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_RUN_ID = `t${Date.now().toString(36)}`;
  process.stdout.write(
    `\nTest services\n  MongoDB: ${mongo.description}\n  Redis:   ${redis.description}\n\n`,
  );
}
